/**
 * RaftNode's Ready contract, flow control (batching, the inflight window, probe/replicate),
 * status(), config validation and restarts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MemoryStorage,
  RaftNode,
  validateConfig,
  type RaftConfig,
} from '../../../src/raft/index.js';
import { acceptAndReply, becomeLeader, drain, ids, isMsgApp, newTestNode } from './helpers.js';
import { bytes, Network, seededRandom } from './network.js';

describe('Ready contract', () => {
  test('hardState and softState appear only when they change; mustSync follows', () => {
    const t = newTestNode('1');
    assert.equal(t.node.hasReady(), false);
    t.node.campaign();
    const rd = t.node.ready();
    assert.deepEqual(rd.hardState, { term: 1, vote: '1', commit: 0 });
    assert.deepEqual(rd.softState, { leader: '', role: 'candidate' });
    assert.equal(rd.mustSync, true);
    assert.equal(rd.messages.length, 2);
    t.storage.setHardState(rd.hardState ?? { term: 0, vote: '', commit: 0 });
    t.node.advance(rd);
    assert.equal(t.node.hasReady(), false);
    t.node.step({ type: 'MsgVoteResp', from: '2', to: '1', term: 1, reject: false });
    const rd2 = t.node.ready();
    assert.deepEqual(rd2.softState, { leader: '1', role: 'leader' });
    assert.equal(rd2.hardState, undefined);
    assert.equal(rd2.entries.length, 1);
    assert.equal(rd2.mustSync, true);
    t.storage.append(rd2.entries);
    t.node.advance(rd2);
    // Commit-only changes do not need an fsync.
    for (const m of rd2.messages) t.node.step(acceptAndReply(m));
    const rd3 = t.node.ready();
    assert.deepEqual(rd3.hardState, { term: 1, vote: '1', commit: 1 });
    assert.equal(rd3.mustSync, false);
    assert.equal(rd3.committedEntries.length, 1);
    t.node.advance(rd3);
    assert.equal(t.node.status().applied, 1);
  });

  test('messages produced between ready() and advance() go out in the next Ready', () => {
    const t = newTestNode('1');
    becomeLeader(t);
    const rd = t.node.ready();
    t.node.propose(bytes('x'));
    t.node.advance(rd);
    assert.ok(t.node.hasReady());
    assert.equal(t.node.ready().entries.length, 1);
  });

  test('status() reports progress on the leader only', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    const st = net.node('a').status();
    assert.equal(st.role, 'leader');
    assert.equal(st.leader, 'a');
    assert.deepEqual([...st.progress.keys()], ['a', 'b', 'c']);
    assert.equal(st.progress.get('b')?.state, 'replicate');
    assert.equal(st.progress.get('b')?.match, st.commit);
    assert.equal(net.node('b').status().progress.size, 0);
    assert.equal(net.node('b').status().leader, 'a');
  });

  test('a node restarted from storage keeps term, vote and log', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.propose('a', 'x');
    const before = net.node('b').status();
    net.restart('b');
    const after = net.node('b').status();
    assert.equal(after.term, before.term);
    assert.equal(after.vote, before.vote);
    assert.equal(after.commit, before.commit);
    assert.equal(after.role, 'follower');
    net.stabilize();
    assert.deepEqual(net.peer('b').fsm, ['x']);
  });
});

describe('flow control', () => {
  test('MsgApp batches respect maxSizePerMsg', () => {
    const t = newTestNode('1', { maxSizePerMsg: 100 });
    const first = becomeLeader(t);
    for (const m of first.messages) t.node.step(acceptAndReply(m));
    drain(t);
    for (let i = 0; i < 10; i++) t.node.propose(new Uint8Array(40));
    // Followers are in replicate: each proposal is sent right away as its own message.
    const msgs = drain(t).messages.filter(isMsgApp);
    assert.ok(msgs.every((m) => m.entries.length <= 2));
    // A probe after a rejection re-sends the backlog in batches of at most 100 bytes.
    const t2 = newTestNode('1', { maxSizePerMsg: 100 });
    becomeLeader(t2);
    for (let i = 0; i < 10; i++) t2.node.propose(new Uint8Array(40));
    drain(t2);
    t2.node.step({
      type: 'MsgAppResp',
      from: '2',
      to: '1',
      term: 1,
      index: 0,
      reject: false,
      rejectHint: 0,
      logTerm: 0,
    });
    t2.node.step({ type: 'MsgHeartbeatResp', from: '2', to: '1', term: 1, ctx: new Uint8Array(0) });
    const batch = drain(t2)
      .messages.filter(isMsgApp)
      .filter((m) => m.to === '2');
    assert.ok(batch.length >= 1);
    for (const m of batch) assert.ok(m.entries.length <= 2, `batch of ${m.entries.length}`);
  });

  test('the inflight window bounds unacknowledged MsgApps in the replicate state', () => {
    const t = newTestNode('1', { maxInflightMsgs: 3 });
    const first = becomeLeader(t);
    for (const m of first.messages) t.node.step(acceptAndReply(m));
    drain(t);
    for (let i = 0; i < 10; i++) t.node.propose(bytes(`p${i}`));
    const toB = drain(t).messages.filter((m) => isMsgApp(m) && m.to === '2');
    assert.equal(toB.length, 3);
    // An ack frees the window; the leader pipelines the rest.
    const last = toB[2];
    assert.ok(last !== undefined);
    t.node.step(acceptAndReply(last));
    const more = drain(t).messages.filter((m) => isMsgApp(m) && m.to === '2');
    assert.ok(more.length >= 1);
    const total = more.flatMap((m) => (isMsgApp(m) ? m.entries : [])).length;
    assert.equal(total, 7);
  });

  test('a probing follower gets one MsgApp until it answers', () => {
    const t = newTestNode('1');
    becomeLeader(t);
    for (let i = 0; i < 5; i++) t.node.propose(bytes(`p${i}`));
    const toB = drain(t).messages.filter((m) => isMsgApp(m) && m.to === '2');
    assert.equal(toB.length, 0); // the probe carrying the empty entry is still unanswered
    assert.equal(t.node.status().progress.get('2')?.state, 'probe');
  });

  test('an unreachable follower falls back to probe, then replicate on its next ack', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.propose('a', 'x');
    net.node('a').reportUnreachable('b');
    assert.equal(net.node('a').status().progress.get('b')?.state, 'probe');
    net.tickAll(2);
    net.propose('a', 'y');
    assert.equal(net.node('a').status().progress.get('b')?.state, 'replicate');
    assert.deepEqual(net.peer('b').fsm, ['x', 'y']);
  });
});

describe('config', () => {
  const base: RaftConfig = {
    id: 'a',
    storage: new MemoryStorage(),
    electionTicks: 10,
    heartbeatTicks: 1,
    maxSizePerMsg: 1024,
    maxInflightMsgs: 16,
    preVote: true,
    checkQuorum: true,
    random: seededRandom(1),
  };

  test('validateConfig rejects bad values', () => {
    validateConfig(base);
    assert.throws(() => {
      validateConfig({ ...base, id: '' });
    }, RangeError);
    assert.throws(() => {
      validateConfig({ ...base, electionTicks: 1 });
    }, RangeError);
    assert.throws(() => {
      validateConfig({ ...base, heartbeatTicks: 0 });
    }, RangeError);
    assert.throws(() => {
      validateConfig({ ...base, maxInflightMsgs: 0 });
    }, RangeError);
    assert.throws(() => new RaftNode({ ...base, maxSizePerMsg: -1 }), RangeError);
  });

  test('a node with no membership never campaigns (a joining node waits for the leader)', () => {
    const node = new RaftNode({ ...base, storage: new MemoryStorage() });
    for (let i = 0; i < 100; i++) node.tick();
    assert.equal(node.status().role, 'follower');
    assert.equal(node.hasReady(), false);
    assert.deepEqual(ids(2), ['1', '2']);
  });
});
