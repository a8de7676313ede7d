import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../../src/raft/index.js';
import { RAFT_CODEC, SimNetwork } from '../../../src/raft/transport/index.js';
import { waitFor } from '../../helpers/wait.js';

function hb(from: string, to: string): Message {
  return { type: 'MsgHeartbeat', from, to, term: 1, commit: 0, ctx: new Uint8Array(0) };
}

function setup(net: SimNetwork, ids: string[]) {
  const got = new Map<string, Message[]>();
  const unreachable = new Map<string, string[]>();
  const snaps = new Map<string, [string, boolean][]>();
  const ts = ids.map((id) => {
    const t = net.transport(id);
    got.set(id, []);
    unreachable.set(id, []);
    snaps.set(id, []);
    t.onMessage((m) => got.get(id)?.push(m));
    t.onUnreachable((p) => unreachable.get(id)?.push(p));
    t.onSnapshotStatus((p, ok) => snaps.get(id)?.push([p, ok]));
    for (const other of ids) t.setPeer(other, `sim:${other}`);
    return t;
  });
  return { ts, got, unreachable, snaps };
}

describe('SimNetwork', () => {
  it('delivers asynchronously, never inside send()', async () => {
    const net = new SimNetwork({ codec: RAFT_CODEC });
    const { ts, got } = setup(net, ['a', 'b']);
    for (const t of ts) await t.start();
    const [a] = ts;
    a?.send([hb('a', 'b'), hb('a', 'b')]);
    assert.equal(got.get('b')?.length, 0);
    await waitFor('delivery', () => got.get('b')?.length === 2);
    assert.equal(net.stats.delivered, 2);
  });

  it('drops across a cut and reports the peer unreachable', async () => {
    const net = new SimNetwork();
    const { ts, got, unreachable } = setup(net, ['a', 'b', 'c']);
    for (const t of ts) await t.start();
    const [a] = ts;
    net.cut('a', 'b');
    a?.send([hb('a', 'b'), hb('a', 'c')]);
    await waitFor('c receives', () => got.get('c')?.length === 1);
    await waitFor('b reported', () => unreachable.get('a')?.includes('b'));
    assert.equal(got.get('b')?.length, 0);
    net.heal();
    a?.send([hb('a', 'b')]);
    await waitFor('b receives after heal', () => got.get('b')?.length === 1);
  });

  it('fails a snapshot to a stopped node and succeeds to a running one', async () => {
    const net = new SimNetwork();
    const { ts, snaps, got } = setup(net, ['a', 'b', 'c']);
    for (const t of ts) await t.start();
    const [a, , c] = ts;
    await c?.stop();
    const snap = (to: string): Message => ({
      type: 'MsgSnap',
      from: 'a',
      to,
      term: 2,
      snapshot: {
        meta: { index: 5, term: 2, confState: { voters: ['a'], learners: [] } },
        data: Uint8Array.from([1, 2]),
      },
    });
    a?.send([snap('b'), snap('c')]);
    await waitFor('two statuses', () => snaps.get('a')?.length === 2);
    assert.deepEqual([...(snaps.get('a') ?? [])].sort(), [
      ['b', true],
      ['c', false],
    ]);
    const m = got.get('b')?.[0];
    assert.ok(m?.type === 'MsgSnap');
    assert.deepEqual([...m.snapshot.data], [1, 2]);
  });

  it('loses messages at the seeded drop rate', async () => {
    let x = 12345;
    const random = (): number => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x / 2147483648;
    };
    const net = new SimNetwork({ dropRate: 0.5, random });
    const { ts, got } = setup(net, ['a', 'b']);
    for (const t of ts) await t.start();
    ts[0]?.send(Array.from({ length: 1000 }, () => hb('a', 'b')));
    await waitFor('all settled', () => net.stats.delivered + net.stats.dropped === 1000);
    const n = got.get('b')?.length ?? 0;
    assert.ok(n > 400 && n < 600, `${n} of 1000 delivered at dropRate 0.5`);
  });
});
