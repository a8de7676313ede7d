/**
 * Snapshots (Raft §7): followers behind a compacted log, restoring on a follower, restarts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MsgSnap, Snapshot } from '../../../src/raft/index.js';
import { drain, newTestNode } from './helpers.js';
import { bytes, Network } from './network.js';

describe('snapshots', () => {
  // Raft §7: a follower that needs entries the leader has compacted receives InstallSnapshot.
  test('a follower behind a compacted log catches up with MsgSnap', () => {
    const net = new Network(['a', 'b', 'c'], { preVote: true, checkQuorum: true });
    net.elect('a');
    net.isolate('c');
    for (let i = 0; i < 10; i++) net.propose('a', `e${i}`);
    net.snapshotAndCompact('a');
    net.heal();
    net.tickAll(3);
    const c = net.peer('c');
    assert.equal(c.snapshotsRestored, 1);
    assert.ok(net.sent.some((m) => m.type === 'MsgSnap' && m.to === 'c'));
    net.propose('a', 'after');
    assert.deepEqual(c.fsm, [...Array.from({ length: 10 }, (_, i) => `e${i}`), 'after']);
    assert.equal(net.node('a').status().progress.get('c')?.state, 'replicate');
    assert.equal(net.leader(), 'a');
  });

  test('a failed snapshot send is retried', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('c');
    for (let i = 0; i < 3; i++) net.propose('a', `e${i}`);
    net.snapshotAndCompact('a');
    net.heal();
    let dropped = 0;
    const undrop = net.drop((m) => m.type === 'MsgSnap' && dropped++ < 1);
    net.tickAll(5);
    undrop();
    net.tickAll(5);
    assert.equal(dropped, 2); // one dropped, one delivered
    assert.deepEqual(net.peer('c').fsm, ['e0', 'e1', 'e2']);
  });

  test('a follower restores a snapshot: log, commit and membership', () => {
    const t = newTestNode('1', { peers: ['1', '2'] });
    const snapshot: Snapshot = {
      meta: { index: 11, term: 11, confState: { voters: ['1', '2', '3'], learners: ['4'] } },
      data: bytes('state'),
    };
    const m: MsgSnap = { type: 'MsgSnap', from: '2', to: '1', term: 11, snapshot };
    t.node.step(m);
    const rd = t.node.ready();
    assert.deepEqual(rd.snapshot, snapshot);
    assert.deepEqual(rd.committedEntries, []);
    assert.deepEqual(rd.messages, [
      {
        type: 'MsgAppResp',
        from: '1',
        to: '2',
        term: 11,
        index: 11,
        reject: false,
        rejectHint: 0,
        logTerm: 0,
      },
    ]);
    t.storage.applySnapshot(snapshot);
    t.node.advance(rd);
    const st = t.node.status();
    assert.equal(st.commit, 11);
    assert.equal(st.applied, 11);
    assert.deepEqual(st.confState, { voters: ['1', '2', '3'], learners: ['4'] });
    // A stale snapshot (index <= commit) is ignored; the reply reports the commit index.
    t.node.step({ ...m, snapshot: { ...snapshot, meta: { ...snapshot.meta, index: 5 } } });
    const out = drain(t);
    assert.equal(out.messages.length, 1);
    assert.equal(out.messages[0]?.type, 'MsgAppResp');
  });

  test('a restarted node recovers from its snapshot and log', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    for (let i = 0; i < 4; i++) net.propose('a', `e${i}`);
    net.snapshotAndCompact('b');
    net.propose('a', 'e4');
    net.restart('b');
    net.stabilize();
    assert.deepEqual(net.peer('b').fsm, ['e0', 'e1', 'e2', 'e3', 'e4']);
    net.restart('a');
    for (let i = 0; i < 40 && net.leader() === ''; i++) net.tickAll();
    const leader = net.leader();
    net.propose(leader, 'e5');
    for (const id of ['a', 'b', 'c']) {
      assert.deepEqual(net.peer(id).fsm, ['e0', 'e1', 'e2', 'e3', 'e4', 'e5'], id);
    }
  });
});
