import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeSnapshotEnvelope } from '../../../src/daemon/raft/snapshot-envelope.js';
import { Snapshotter } from '../../../src/raft/snapshot/index.js';
import { TswarmError } from '../../../src/shared/errors.js';
import { waitFor } from '../../helpers/wait.js';
import { TestCluster, makeBlob, sha } from './cluster.js';

// Three RaftDrivers in this process over GrpcTransport on 127.0.10.1/.2/.3 with real WAL
// and snapshot dirs (fsync on).

const enc = new TextEncoder();

async function proposeMany(
  c: TestCluster,
  leader: string,
  prefix: string,
  n: number,
  concurrency = 32,
): Promise<void> {
  const d = c.driver(leader);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await d.propose(enc.encode(`${prefix}${i}`));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

for (const parallelLeaderPersist of [false, true]) {
  describe(`RaftDriver: three members over gRPC (parallelLeaderPersist ${parallelLeaderPersist})`, () => {
    const c = new TestCluster({
      snapshotEvery: 500,
      snapshotCatchUpEntries: 50,
      parallelLeaderPersist,
    });

    before(async () => {
      for (const n of [1, 2, 3]) await c.add(n);
      const voters = c.peers();
      await Promise.all(['n1', 'n2', 'n3'].map((id) => c.open(id, { bootstrapVoters: voters })));
    });

    after(async () => {
      await c.cleanup();
    });

    it('elects a leader and replicates 1,000 proposals to every member', async () => {
      const leader = await c.waitLeader();
      const d = c.driver(leader);
      const first = await d.propose(enc.encode('hello'));
      assert.equal(first.result, 1);
      await proposeMany(c, leader, 'a', 1_000);
      const want = c.get(leader).fsm.values;
      assert.equal(want.length, 1_001);
      await waitFor('all members applied 1,001 entries', () =>
        c.running().every((m) => m.fsm.values.length === 1_001),
      );
      for (const m of c.running()) assert.deepEqual(m.fsm.values, want, `${m.id} diverged`);
      // Group commit: far fewer fsyncs than entries on the leader.
      assert.ok(d.stats.walSaves < 1_001, `${d.stats.walSaves} WAL saves for 1,001 entries`);
    });

    it('refuses proposals on a follower with NOT_LEADER naming the leader', async () => {
      const leader = await c.waitLeader();
      const follower = c.running().find((m) => m.id !== leader);
      assert.ok(follower?.driver);
      await assert.rejects(
        follower.driver.propose(enc.encode('x')),
        (err: unknown) =>
          err instanceof TswarmError && err.code === 'NOT_LEADER' && err.message.includes(leader),
      );
    });

    it('serves a read barrier on leader and follower', async () => {
      const leader = await c.waitLeader();
      await c.driver(leader).propose(enc.encode('before-read'));
      for (const m of c.running()) {
        await m.driver?.readBarrier();
        assert.equal(m.fsm.values.at(-1), 'before-read', `${m.id} read stale state`);
      }
    });

    it('restarts a stopped follower from disk and catches it up', async () => {
      const leader = await c.waitLeader();
      const victim = c.running().find((m) => m.id !== leader);
      assert.ok(victim);
      await c.stop(victim.id);
      await proposeMany(c, leader, 'b', 200);
      await c.restart(victim.id);
      const want = c.get(leader).fsm.values;
      await waitFor(
        `${victim.id} caught up after restart`,
        () => c.get(victim.id).fsm.values.length === want.length,
        10_000,
      );
      assert.deepEqual(c.get(victim.id).fsm.values, want);
    });

    it('elects a new leader within 2 s after the leader stops abruptly', async () => {
      const old = await c.waitLeader();
      const survivors = c.running().filter((m) => m.id !== old);
      const t0 = performance.now();
      await c.stop(old);
      const next = await waitFor(
        'a new leader known to a survivor',
        () => {
          for (const m of survivors) {
            const l = m.driver?.leaderId();
            if (l && l !== old) return l;
          }
          return undefined;
        },
        5_000,
        5,
      );
      const ms = performance.now() - t0;
      assert.ok(ms < 2_000, `failover took ${ms.toFixed(0)} ms`);
      await c.driver(next).propose(enc.encode('after-failover'));
      await c.restart(old);
      await waitFor(`${old} caught up after failover`, () =>
        c.get(old).fsm.values.includes('after-failover'),
      );
    });

    it('adds a 4th member that catches up through a 20 MB snapshot sent in chunks', async () => {
      const leader = await c.waitLeader();
      const d = c.driver(leader);
      const size = 20 * 1024 * 1024;
      await d.propose(enc.encode(`blob:${size}`));
      // Enough entries to pass snapshotEvery, so the leader's log is compacted past the blob.
      await proposeMany(c, leader, 'c', 600);
      await waitFor('leader snapshot past the blob', () => d.status().snapshotIndex > 0);
      const wantBlob = sha(makeBlob(size));
      assert.equal(sha(c.get(leader).fsm.blob), wantBlob);

      // n4 serves on a server built with grpc-js defaults (4 MB receive limit): the 20 MB
      // snapshot can only get there in chunks.
      const server = new grpc.Server();
      const port = await new Promise<number>((resolve, reject) => {
        server.bindAsync('127.0.10.4:0', grpc.ServerCredentials.createInsecure(), (err, p) => {
          if (err) reject(err);
          else resolve(p);
        });
      });
      after(() => {
        server.forceShutdown();
      });
      const m4 = await c.add(4, { server }, port);
      const n4 = await c.open('n4', { peers: c.peers().filter((p) => p.id !== 'n4') });
      assert.equal(n4.leaderId(), '');
      await d.addMember('n4', m4.addr, 30_000);
      assert.ok(d.status().confState.voters.includes('n4'), 'n4 was not promoted to voter');
      await waitFor(
        'n4 applied the leader state',
        () => m4.fsm.values.length === c.get(leader).fsm.values.length,
        20_000,
      );
      assert.ok(n4.stats.snapshotsRestored >= 1, 'n4 did not catch up by snapshot');
      assert.equal(sha(m4.fsm.blob), wantBlob);
      assert.deepEqual(m4.fsm.values, c.get(leader).fsm.values);
      // The new voter takes part: a proposal still commits with it in the quorum.
      await d.propose(enc.encode('with-n4'));
      await waitFor('n4 applied with-n4', () => m4.fsm.values.at(-1) === 'with-n4');
      assert.equal(n4.leaderId(), leader);
    });

    it('removes a member and transfers leadership', async () => {
      const leader = await c.waitLeader();
      const d = c.driver(leader);
      await d.removeMember('n4');
      assert.ok(!d.status().confState.voters.includes('n4'));
      await c.stop('n4');
      const target = c.running().find((m) => m.id !== leader)?.id;
      assert.ok(target);
      await d.transferLeadership(target);
      assert.equal(await c.waitLeader(), target);
    });
  });
}

describe('RaftDriver without a quorum', () => {
  const c = new TestCluster();

  before(async () => {
    for (const n of [1, 2, 3]) await c.add(n);
    const voters = c.peers();
    await Promise.all(['n1', 'n2', 'n3'].map((id) => c.open(id, { bootstrapVoters: voters })));
  });

  after(async () => {
    await c.cleanup();
  });

  it('fails proposals and reads with NO_QUORUM once a majority is gone', async () => {
    const leader = await c.waitLeader();
    const d = c.driver(leader);
    await d.propose(enc.encode('ok'));
    for (const m of c.running()) if (m.id !== leader) await c.stop(m.id);
    const isNoQuorum = (err: unknown): boolean =>
      err instanceof TswarmError && err.code === 'NO_QUORUM';
    await assert.rejects(d.propose(enc.encode('lost'), 1_500), isNoQuorum);
    await assert.rejects(d.readBarrier(1_000), isNoQuorum);
    // CheckQuorum: the isolated leader steps down within an election timeout or so.
    await waitFor('leader stepped down', () => !d.isLeader() && d.leaderId() === '', 5_000);
    await assert.rejects(d.propose(enc.encode('lost'), 500), isNoQuorum);
    assert.ok(!c.get(leader).fsm.values.includes('lost'));
  });
});

describe('RaftDriver: swarm init then joins', () => {
  const c = new TestCluster();

  after(async () => {
    await c.cleanup();
  });

  it('bootstraps one voter, which leads at once, then brings in two empty members', async () => {
    const m1 = await c.add(1);
    const n1 = await c.open('n1', { bootstrapVoters: [{ id: 'n1', addr: m1.addr }] });
    await waitFor('single voter leads', () => n1.isLeader(), 2_000);
    await n1.propose(enc.encode('first'));
    for (const n of [2, 3]) {
      const m = await c.add(n);
      await c.open(m.id, { peers: [{ id: 'n1', addr: m1.addr }] });
      await n1.addMember(m.id, m.addr);
    }
    assert.deepEqual([...n1.status().confState.voters].sort(), ['n1', 'n2', 'n3']);
    await n1.propose(enc.encode('second'));
    await waitFor('everyone applied both', () =>
      c.running().every((m) => m.fsm.values.join() === 'first,second'),
    );
    // The joiners learned every address (from the snapshot and the conf changes).
    for (const id of ['n2', 'n3']) {
      assert.deepEqual(
        [...c.driver(id).peerAddresses().keys()].sort(),
        ['n1', 'n2', 'n3'],
        `${id} address book`,
      );
    }
  });
});

describe('RaftDriver: a crash between saving a snapshot file and its WAL marker', () => {
  const c = new TestCluster();

  after(async () => {
    await c.cleanup();
  });

  it('restores the snapshot the WAL names, drops the orphan file and keeps taking writes', async () => {
    const m1 = await c.add(1);
    let n1 = await c.open('n1', { bootstrapVoters: [{ id: 'n1', addr: m1.addr }] });
    await waitFor('single voter leads', () => n1.isLeader(), 2_000);
    for (const v of ['a', 'b', 'c']) await n1.propose(enc.encode(v));
    const { commit, term } = n1.status();
    await c.stop('n1');
    // What a follower holds after saving a leader's snapshot and dying before the WAL
    // marker: a verified file, past the end of the WAL's log.
    const snapDir = path.join(m1.dir, 'snap');
    await new Snapshotter(snapDir).save({
      meta: { index: commit + 50, term, confState: { voters: ['n1'], learners: [] } },
      data: encodeSnapshotEnvelope({
        peers: new Map([['n1', m1.addr]]),
        fsm: enc.encode('not the WAL state'),
      }),
    });
    const before = readdirSync(snapDir).length;
    n1 = await c.restart('n1');
    assert.equal(readdirSync(snapDir).length, before - 1, 'the orphan snapshot file is removed');
    await waitFor('leads again', () => n1.isLeader(), 5_000);
    await waitFor('re-applied the WAL', () => c.get('n1').fsm.values.join() === 'a,b,c', 5_000);
    await n1.propose(enc.encode('d'));
    await c.stop('n1');
    n1 = await c.restart('n1');
    await waitFor(
      'every write survives a second restart',
      () => c.get('n1').fsm.values.join() === 'a,b,c,d',
      5_000,
    );
  });
});
