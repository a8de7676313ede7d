/**
 * Conformance with the Raft paper, property by property, after the checklist of etcd-io/raft's
 * raft_paper_test.go (26 cases; §5.1-§5.2 here, §5.3-§5.4 in
 * raft-paper-replication.test.ts). Each case drives one node through its public API and checks
 * its messages and state.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PeerId } from '../../../src/raft/index.js';
import {
  becomeCandidate,
  becomeFollower,
  becomeLeader,
  drain,
  entries,
  ids,
  msgApp,
  newTestNode,
  sortMessages,
  type TestNode,
} from './helpers.js';
import { bytes } from './network.js';

const EMPTY = new Uint8Array(0);
type Role = 'follower' | 'candidate' | 'leader';

function setRole(t: TestNode, role: Role): void {
  if (role === 'follower') becomeFollower(t, 1, '2');
  else if (role === 'candidate') becomeCandidate(t);
  else becomeLeader(t);
}

describe('Raft §5.1 terms', () => {
  for (const role of ['follower', 'candidate', 'leader'] as const) {
    // Raft §5.1: a server with a smaller term adopts the larger one; a candidate or leader
    // that learns its term is out of date reverts to follower.
    test(`${role} updates its term from a message`, () => {
      const t = newTestNode('1');
      setRole(t, role);
      t.node.step(msgApp('2', '1', 2));
      assert.equal(t.node.status().term, 2);
      assert.equal(t.node.status().role, 'follower');
    });
  }

  // Raft §5.1: a request with a stale term is rejected (here: ignored, with no side effect).
  test('stale-term message is ignored', () => {
    const t = newTestNode('1', { hardState: { term: 2, vote: '', commit: 0 } });
    t.node.step(msgApp('2', '1', 1, { entries: entries(1, 1) }));
    const out = drain(t);
    assert.deepEqual(out.messages, []);
    assert.deepEqual(out.entries, []);
    assert.equal(t.node.status().term, 2);
    assert.equal(t.node.status().leader, '');
  });
});

describe('Raft §5.2 leader election', () => {
  // Raft §5.2: servers start up as followers.
  test('starts as follower', () => {
    assert.equal(newTestNode('1').node.status().role, 'follower');
  });

  // Raft §5.2: on a heartbeat tick the leader sends empty heartbeats to every follower.
  test('leader broadcasts heartbeats', () => {
    const t = newTestNode('1', { heartbeatTicks: 1 });
    becomeLeader(t);
    for (let i = 0; i < 10; i++) assert.ok(t.node.propose(bytes(`e${i}`)).ok);
    drain(t);
    t.node.tick();
    assert.deepEqual(sortMessages(drain(t).messages), [
      { type: 'MsgHeartbeat', from: '1', to: '2', term: 1, commit: 0, ctx: EMPTY },
      { type: 'MsgHeartbeat', from: '1', to: '3', term: 1, commit: 0, ctx: EMPTY },
    ]);
  });

  for (const role of ['follower', 'candidate'] as const) {
    // Raft §5.2: after an election timeout without communication a follower (or a candidate
    // that failed to win) increments its term, votes for itself and requests votes in parallel.
    test(`${role} starts a new election after the election timeout`, () => {
      const et = 10;
      const t = newTestNode('1', { electionTicks: et });
      setRole(t, role);
      for (let i = 1; i < 2 * et; i++) t.node.tick();
      const msgs = drain(t).messages;
      const st = t.node.status();
      assert.equal(st.term, 2);
      assert.equal(st.role, 'candidate');
      assert.equal(st.vote, '1');
      const vote = { type: 'MsgVote', from: '1', term: 2, index: 0, logTerm: 0, transfer: false };
      assert.deepEqual(sortMessages(msgs), [
        { ...vote, to: '2' },
        { ...vote, to: '3' },
      ]);
    });
  }

  // Raft §5.2: in one round of RequestVote a candidate wins (majority granted), loses
  // (majority denied, back to follower) or stays undecided.
  test('election outcome after one round of RequestVote', () => {
    const cases: { size: number; votes: [PeerId, boolean][]; role: Role | 'candidate' }[] = [
      { size: 1, votes: [], role: 'leader' },
      {
        size: 3,
        votes: [
          ['2', true],
          ['3', true],
        ],
        role: 'leader',
      },
      { size: 3, votes: [['2', true]], role: 'leader' },
      {
        size: 5,
        votes: [
          ['2', true],
          ['3', true],
          ['4', true],
          ['5', true],
        ],
        role: 'leader',
      },
      {
        size: 5,
        votes: [
          ['2', true],
          ['3', true],
          ['4', true],
        ],
        role: 'leader',
      },
      {
        size: 5,
        votes: [
          ['2', true],
          ['3', true],
        ],
        role: 'leader',
      },
      {
        size: 3,
        votes: [
          ['2', false],
          ['3', false],
        ],
        role: 'follower',
      },
      {
        size: 5,
        votes: [
          ['2', false],
          ['3', false],
          ['4', false],
          ['5', false],
        ],
        role: 'follower',
      },
      {
        size: 5,
        votes: [
          ['2', true],
          ['3', false],
          ['4', false],
          ['5', false],
        ],
        role: 'follower',
      },
      { size: 3, votes: [], role: 'candidate' },
      { size: 5, votes: [['2', true]], role: 'candidate' },
      {
        size: 5,
        votes: [
          ['2', false],
          ['3', false],
        ],
        role: 'candidate',
      },
      { size: 5, votes: [], role: 'candidate' },
    ];
    for (const [i, c] of cases.entries()) {
      const t = newTestNode('1', { peers: ids(c.size) });
      t.node.campaign();
      drain(t);
      for (const [from, granted] of c.votes) {
        t.node.step({ type: 'MsgVoteResp', from, to: '1', term: 1, reject: !granted });
      }
      assert.equal(t.node.status().role, c.role, `case ${i}`);
      assert.equal(t.node.status().term, 1, `case ${i}`);
    }
  });

  // Raft §5.2: a follower votes for at most one candidate per term, first come first served.
  test('follower votes at most once per term', () => {
    const cases: { vote: PeerId; nvote: PeerId; reject: boolean }[] = [
      { vote: '', nvote: '2', reject: false },
      { vote: '', nvote: '3', reject: false },
      { vote: '2', nvote: '2', reject: false },
      { vote: '3', nvote: '3', reject: false },
      { vote: '2', nvote: '3', reject: true },
      { vote: '3', nvote: '2', reject: true },
    ];
    for (const [i, c] of cases.entries()) {
      const t = newTestNode('1', { hardState: { term: 1, vote: c.vote, commit: 0 } });
      t.node.step({
        type: 'MsgVote',
        from: c.nvote,
        to: '1',
        term: 1,
        index: 0,
        logTerm: 0,
        transfer: false,
      });
      assert.deepEqual(
        drain(t).messages,
        [{ type: 'MsgVoteResp', from: '1', to: c.nvote, term: 1, reject: c.reject }],
        `case ${i}`,
      );
    }
  });

  // Raft §5.2: a candidate that receives AppendEntries from a leader whose term is at least
  // its own recognizes the leader and returns to follower.
  test('candidate falls back to follower on AppendEntries from a leader', () => {
    for (const term of [1, 2]) {
      const t = newTestNode('1');
      t.node.campaign();
      assert.equal(t.node.status().role, 'candidate');
      t.node.step(msgApp('2', '1', term));
      assert.equal(t.node.status().role, 'follower');
      assert.equal(t.node.status().term, term);
      assert.equal(t.node.status().leader, '2');
    }
  });

  for (const role of ['follower', 'candidate'] as const) {
    // Raft §5.2: election timeouts are chosen randomly from a fixed interval.
    test(`${role} election timeout is randomized over [et, 2et)`, () => {
      const et = 10;
      const t = newTestNode('1', { electionTicks: et });
      const seen = new Set<number>();
      for (let round = 0; round < 50 * et; round++) {
        const term = t.node.status().term;
        if (role === 'follower') becomeFollower(t, term + 1, '2');
        else becomeCandidate(t);
        let ticks = 0;
        for (;;) {
          t.node.tick();
          ticks++;
          if (drain(t).messages.length > 0) break;
          assert.ok(ticks < 2 * et, 'timed out later than 2*et');
        }
        seen.add(ticks);
      }
      for (let d = et; d < 2 * et; d++) assert.ok(seen.has(d), `timeout ${d} never happened`);
      for (const d of seen) assert.ok(d >= et && d < 2 * et, `timeout ${d} out of range`);
    });
  }

  for (const role of ['follower', 'candidate'] as const) {
    // Raft §5.2: randomized timeouts make it likely that only one server times out at once,
    // which avoids split votes.
    test(`${role}s rarely time out at the same tick`, () => {
      const et = 10;
      const all = ids(5);
      const nodes = all.map((id, i) => newTestNode(id, { peers: all, seed: 100 + i }));
      let conflicts = 0;
      const rounds = 1000;
      for (let round = 0; round < rounds; round++) {
        for (const t of nodes) {
          if (role === 'follower') {
            becomeFollower(t, t.node.status().term + 1, t.id === '1' ? '2' : '1');
          } else {
            becomeCandidate(t);
          }
        }
        let timedOut = 0;
        while (timedOut === 0) {
          for (const t of nodes) {
            t.node.tick();
            if (drain(t).messages.length > 0) timedOut++;
          }
        }
        if (timedOut > 1) conflicts++;
      }
      assert.ok(conflicts / rounds <= 0.3, `conflict rate ${conflicts / rounds}`);
      assert.equal(et, 10);
    });
  }
});
