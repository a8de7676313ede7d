/**
 * Seeded fault schedules over a 5-node cluster: partitions, message loss, reordering,
 * compaction and restarts. The network checks safety on every round (one leader per term,
 * applied entries agree); after healing, the cluster must elect a leader and converge.
 * A failure message names its seed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Network, seededRandom } from './network.js';

const IDS = ['a', 'b', 'c', 'd', 'e'];

function runSchedule(seed: number): {
  applied: number;
  term: number;
  snaps: number;
  rejects: number;
} {
  const rand = seededRandom(seed);
  const pick = (): string => IDS[Math.floor(rand() * IDS.length)] ?? 'a';
  const net = new Network(IDS, { preVote: rand() < 0.7, checkQuorum: rand() < 0.7, seed });
  net.reorder = rand;
  let lossRate = 0;
  net.drop(() => rand() < lossRate);
  const proposed: string[] = [];
  for (let step = 0; step < 300; step++) {
    const x = rand();
    if (x < 0.55) {
      net.tickAll();
    } else if (x < 0.75) {
      const leader = net.leader();
      if (leader !== '' && net.node(leader).propose(new TextEncoder().encode(`s${step}`)).ok) {
        proposed.push(`s${step}`);
        net.stabilize();
      }
    } else if (x < 0.8) {
      net.isolate(pick());
    } else if (x < 0.85) {
      net.heal();
      lossRate = 0;
      net.drop(() => rand() < lossRate);
    } else if (x < 0.9) {
      lossRate = rand() * 0.3;
    } else if (x < 0.95) {
      const id = pick();
      if (net.peer(id).appliedIndex > net.peer(id).storage.snapshot().meta.index) {
        net.snapshotAndCompact(id);
      }
    } else {
      net.restart(pick());
    }
  }
  net.heal();
  // Liveness after healing: within a few election timeouts some leader commits a final entry
  // (a rejoining node may still force one more election, e.g. with CheckQuorum but no PreVote).
  let final = '';
  for (let attempt = 0; attempt < 20 && final === ''; attempt++) {
    for (let i = 0; i < 100 && net.leader() === ''; i++) net.tickAll();
    const leader = net.leader();
    const tag = `final${attempt}`;
    if (leader !== '' && net.node(leader).propose(new TextEncoder().encode(tag)).ok) {
      proposed.push(tag);
    }
    net.tickAll(10);
    if (IDS.every((id) => net.peer(id).fsm.includes(tag))) final = tag;
  }
  assert.notEqual(final, '', `seed ${seed}: no final entry committed after healing`);
  const fsm = net.peer(IDS[0] ?? 'a').fsm;
  for (const id of IDS) assert.deepEqual(net.peer(id).fsm, fsm, `seed ${seed}: ${id} diverged`);
  // Every applied payload was proposed, each at most once.
  assert.equal(new Set(fsm).size, fsm.length, `seed ${seed}: duplicate apply`);
  for (const v of fsm) assert.ok(proposed.includes(v), `seed ${seed}: ${v}`);
  const count = (t: string): number => net.sent.filter((m) => m.type === t).length;
  return {
    applied: fsm.length,
    term: Math.max(...IDS.map((id) => net.node(id).status().term)),
    snaps: count('MsgSnap'),
    rejects: net.sent.filter((m) => m.type === 'MsgAppResp' && m.reject).length,
  };
}

test('seeded fault schedules keep safety and converge after healing', (t) => {
  const totals = { applied: 0, term: 0, snaps: 0, rejects: 0 };
  for (let seed = 1; seed <= 40; seed++) {
    const r = runSchedule(seed);
    totals.applied += r.applied;
    totals.term += r.term;
    totals.snaps += r.snaps;
    totals.rejects += r.rejects;
  }
  // The schedules must actually exercise elections, snapshots and log repair.
  assert.ok(totals.snaps > 0 && totals.rejects > 0 && totals.term > 40 * 3, JSON.stringify(totals));
  t.diagnostic(`fuzz totals ${JSON.stringify(totals)}`);
});
