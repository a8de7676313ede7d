/**
 * Conformance with the Raft paper, property by property, after the checklist of etcd-io/raft's
 * raft_paper_test.go (26 cases; §5.3-§5.4 here, §5.1-§5.2 in
 * raft-paper-election.test.ts). Each case drives one node through its public API and checks
 * its messages and state.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Entry, Message, PeerId } from '../../../src/raft/index.js';
import {
  acceptAndReply,
  becomeFollower,
  becomeLeader,
  commitNoopEntry,
  drain,
  entries,
  ids,
  isMsgApp,
  msgApp,
  newTestNode,
  sortMessages,
  type TestNode,
} from './helpers.js';
import { bytes, Network } from './network.js';

const EMPTY = new Uint8Array(0);

function lastIndex(t: TestNode): number {
  return t.storage.lastIndex();
}

describe('Raft §5.3 log replication', () => {
  function leaderWithNoop(size = 3): TestNode {
    const t = newTestNode('1', { peers: ids(size) });
    const out = becomeLeader(t, ids(size));
    commitNoopEntry(t, out.messages.filter(isMsgApp));
    return t;
  }

  // Raft §5.3: the leader appends a proposal to its log (to be persisted) and sends
  // AppendEntries with the preceding entry's index and term to every follower in parallel.
  test('leader starts replication of a proposal', () => {
    const t = leaderWithNoop();
    const li = lastIndex(t);
    const res = t.node.propose(bytes('some data'));
    assert.deepEqual(res, { ok: true, index: li + 1, term: 1 });
    const rd = t.node.ready();
    const want: Entry = { index: li + 1, term: 1, type: 'normal', data: bytes('some data') };
    assert.deepEqual(rd.entries, [want]);
    assert.equal(t.node.status().commit, li);
    const app = { type: 'MsgApp', from: '1', term: 1, index: li, logTerm: 1, commit: li };
    assert.deepEqual(sortMessages(rd.messages), [
      { ...app, to: '2', entries: [want] },
      { ...app, to: '3', entries: [want] },
    ]);
  });

  // Raft §5.3: once replicated on a majority the entry is committed and handed out for
  // applying; the leader tells followers the new commit index in later AppendEntries.
  test('leader commits a replicated entry and announces it', () => {
    const t = leaderWithNoop();
    const li = lastIndex(t);
    t.node.propose(bytes('some data'));
    for (const m of drain(t).messages) t.node.step(acceptAndReply(m));
    const out = drain(t);
    assert.equal(t.node.status().commit, li + 1);
    assert.deepEqual(out.committed, [
      { index: li + 1, term: 1, type: 'normal', data: bytes('some data') },
    ]);
    const msgs = sortMessages(out.messages);
    assert.equal(msgs.length, 2);
    for (const [i, m] of msgs.entries()) {
      assert.equal(m.to, String(i + 2));
      assert.ok(isMsgApp(m));
      assert.equal(m.commit, li + 1);
    }
  });

  // Raft §5.3: an entry is committed once the leader has replicated it on a majority.
  test('leader acknowledges commit only with a majority', () => {
    const cases: { size: number; acceptors: PeerId[]; committed: boolean }[] = [
      { size: 1, acceptors: [], committed: true },
      { size: 3, acceptors: [], committed: false },
      { size: 3, acceptors: ['2'], committed: true },
      { size: 3, acceptors: ['2', '3'], committed: true },
      { size: 5, acceptors: [], committed: false },
      { size: 5, acceptors: ['2'], committed: false },
      { size: 5, acceptors: ['2', '3'], committed: true },
      { size: 5, acceptors: ['2', '3', '4'], committed: true },
      { size: 5, acceptors: ['2', '3', '4', '5'], committed: true },
    ];
    for (const [i, c] of cases.entries()) {
      const t = leaderWithNoop(c.size);
      const li = lastIndex(t);
      t.node.propose(bytes('some data'));
      for (const m of drain(t).messages) {
        if (c.acceptors.includes(m.to)) t.node.step(acceptAndReply(m));
      }
      assert.equal(t.node.status().commit > li, c.committed, `case ${i}`);
    }
  });

  // Raft §5.3: committing an entry also commits all preceding entries, including those
  // created by previous leaders, and they are applied in log order.
  test('leader commits preceding entries of earlier terms', () => {
    const cases: Entry[][] = [[], entries(1, 2), entries(1, 1, 2), entries(1, 1)];
    for (const [i, ents] of cases.entries()) {
      const t = newTestNode('1', { entries: ents, hardState: { term: 2, vote: '', commit: 0 } });
      const first = becomeLeader(t);
      t.node.propose(bytes('some data'));
      const committed: Entry[] = [...first.committed];
      let msgs: Message[] = first.messages;
      for (;;) {
        const apps = msgs.filter(isMsgApp).filter((m) => m.entries.length > 0);
        if (apps.length === 0) break;
        for (const m of apps) t.node.step(acceptAndReply(m));
        const out = drain(t);
        committed.push(...out.committed);
        msgs = out.messages;
      }
      committed.push(...drain(t).committed);
      const li = ents.length;
      assert.deepEqual(
        committed,
        [
          ...ents,
          { index: li + 1, term: 3, type: 'normal', data: EMPTY },
          { index: li + 2, term: 3, type: 'normal', data: bytes('some data') },
        ],
        `case ${i}`,
      );
    }
  });

  // Raft §5.3: once a follower learns an entry is committed it applies it, in log order.
  test('follower applies entries it learns are committed', () => {
    const d = (s: string): Uint8Array => bytes(s);
    const cases: { ents: Entry[]; commit: number }[] = [
      { ents: [{ index: 1, term: 1, type: 'normal', data: d('some data') }], commit: 1 },
      {
        ents: [
          { index: 1, term: 1, type: 'normal', data: d('some data') },
          { index: 2, term: 1, type: 'normal', data: d('some data2') },
        ],
        commit: 2,
      },
      {
        ents: [
          { index: 1, term: 1, type: 'normal', data: d('some data2') },
          { index: 2, term: 1, type: 'normal', data: d('some data') },
        ],
        commit: 2,
      },
      {
        ents: [
          { index: 1, term: 1, type: 'normal', data: d('some data') },
          { index: 2, term: 1, type: 'normal', data: d('some data2') },
        ],
        commit: 1,
      },
    ];
    for (const [i, c] of cases.entries()) {
      const t = newTestNode('1');
      becomeFollower(t, 1, '2');
      t.node.step(msgApp('2', '1', 1, { entries: c.ents, commit: c.commit }));
      assert.equal(t.node.status().commit, c.commit, `case ${i}`);
      assert.deepEqual(drain(t).committed, c.ents.slice(0, c.commit), `case ${i}`);
    }
  });

  // Raft §5.3: the follower refuses entries when it has no entry matching the preceding
  // index and term; otherwise it accepts (with a hint for fast backtracking on refusal).
  test('follower checks the preceding entry of AppendEntries', () => {
    const cases = [
      { term: 0, index: 0, windex: 1, reject: false, hint: 0, logTerm: 0 },
      { term: 1, index: 1, windex: 1, reject: false, hint: 0, logTerm: 0 },
      { term: 2, index: 2, windex: 2, reject: false, hint: 0, logTerm: 0 },
      { term: 1, index: 2, windex: 2, reject: true, hint: 1, logTerm: 1 },
      { term: 3, index: 3, windex: 3, reject: true, hint: 2, logTerm: 2 },
    ];
    for (const [i, c] of cases.entries()) {
      const t = newTestNode('1', {
        entries: entries(1, 1, 2),
        hardState: { term: 0, vote: '', commit: 1 },
      });
      becomeFollower(t, 2, '2');
      t.node.step(msgApp('2', '1', 2, { logTerm: c.term, index: c.index }));
      assert.deepEqual(
        drain(t).messages,
        [
          {
            type: 'MsgAppResp',
            from: '1',
            to: '2',
            term: 2,
            index: c.windex,
            reject: c.reject,
            rejectHint: c.hint,
            logTerm: c.logTerm,
          },
        ],
        `case ${i}`,
      );
    }
  });

  // Raft §5.3: on a valid AppendEntries the follower deletes a conflicting entry and all
  // that follow it, appends the new entries, and persists them.
  test('follower appends entries, truncating conflicts', () => {
    const cases = [
      {
        index: 2,
        term: 2,
        ents: entries(3, 3),
        want: entries(1, 1, 2, 3),
        unstable: entries(3, 3),
      },
      {
        index: 1,
        term: 1,
        ents: entries(2, 3, 4),
        want: entries(1, 1, 3, 4),
        unstable: entries(2, 3, 4),
      },
      { index: 0, term: 0, ents: entries(1, 1), want: entries(1, 1, 2), unstable: [] },
      { index: 0, term: 0, ents: entries(1, 3), want: entries(1, 3), unstable: entries(1, 3) },
    ];
    for (const [i, c] of cases.entries()) {
      const t = newTestNode('1', { entries: entries(1, 1, 2) });
      becomeFollower(t, 2, '2');
      t.node.step(msgApp('2', '1', 2, { logTerm: c.term, index: c.index, entries: c.ents }));
      const out = drain(t);
      assert.deepEqual(out.entries, c.unstable, `case ${i} unstable`);
      assert.deepEqual(t.storage.entries(1, t.storage.lastIndex() + 1), c.want, `case ${i} log`);
    }
  });

  // Raft §5.3, Figure 7: the leader brings any follower's log into consistency with its own.
  test('leader syncs follower logs (Figure 7)', () => {
    const leaderLog = entries(1, 1, 1, 1, 4, 4, 5, 5, 6, 6, 6);
    const term = 8;
    const followerLogs = [
      entries(1, 1, 1, 1, 4, 4, 5, 5, 6, 6),
      entries(1, 1, 1, 1, 4, 4),
      entries(1, 1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6),
      entries(1, 1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7),
      entries(1, 1, 1, 1, 4, 4, 4, 4),
      entries(1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3),
    ];
    for (const [i, flog] of followerLogs.entries()) {
      const lead = newTestNode('1', {
        entries: leaderLog,
        hardState: { term, vote: '', commit: leaderLog.length },
      });
      const follower = newTestNode('2', {
        entries: flog,
        hardState: { term: term - 1, vote: '', commit: 0 },
      });
      // Peer 3 exists only to grant the vote that the (possibly more up-to-date) follower refuses.
      const net = new Network([]);
      net.addPeer('1', lead.storage);
      net.addPeer('2', follower.storage);
      net.elect('1');
      net.deliver({ type: 'MsgVoteResp', from: '3', to: '1', term: term + 1, reject: false });
      net.stabilize();
      assert.equal(net.leader(), '1', `case ${i}`);
      net.propose('1', '');
      const log = (id: PeerId): Entry[] => {
        const s = net.peer(id).storage;
        return s.entries(s.firstIndex(), s.lastIndex() + 1);
      };
      assert.deepEqual(log('2'), log('1'), `case ${i}`);
    }
  });
});

describe('Raft §5.4 safety', () => {
  // Raft §5.4.1: RequestVote carries the candidate's last log index and term, to every peer.
  test('vote request describes the candidate log', () => {
    for (const [j, c] of [
      { ents: entries(1, 1), wterm: 2 },
      { ents: entries(1, 1, 2), wterm: 3 },
    ].entries()) {
      const t = newTestNode('1');
      t.node.step(msgApp('2', '1', c.wterm - 1, { entries: c.ents }));
      drain(t);
      for (let i = 1; i < 2 * 10; i++) t.node.tick();
      const msgs = sortMessages(drain(t).messages);
      assert.equal(msgs.length, 2, `case ${j}`);
      const last = c.ents[c.ents.length - 1];
      for (const [i, m] of msgs.entries()) {
        assert.equal(m.type, 'MsgVote');
        assert.equal(m.to, String(i + 2));
        assert.equal(m.term, c.wterm);
        assert.equal(m.index, last?.index);
        assert.equal(m.logTerm, last?.term);
      }
    }
  });

  // Raft §5.4.1: a voter denies its vote when its own log is more up-to-date.
  test('voter denies a candidate with a less up-to-date log', () => {
    const cases = [
      { ents: entries(1, 1), logTerm: 1, index: 1, reject: false },
      { ents: entries(1, 1), logTerm: 1, index: 2, reject: false },
      { ents: entries(1, 1, 1), logTerm: 1, index: 1, reject: true },
      { ents: entries(1, 1), logTerm: 2, index: 1, reject: false },
      { ents: entries(1, 1), logTerm: 2, index: 2, reject: false },
      { ents: entries(1, 1, 1), logTerm: 2, index: 1, reject: false },
      { ents: entries(1, 2), logTerm: 1, index: 1, reject: true },
      { ents: entries(1, 2), logTerm: 1, index: 2, reject: true },
      { ents: entries(1, 2, 2), logTerm: 1, index: 1, reject: true },
      { ents: entries(1, 1, 1), logTerm: 1, index: 1, reject: true },
    ];
    for (const [i, c] of cases.entries()) {
      const t = newTestNode('1', { peers: ids(2), entries: c.ents });
      t.node.step({
        type: 'MsgVote',
        from: '2',
        to: '1',
        term: 3,
        index: c.index,
        logTerm: c.logTerm,
        transfer: false,
      });
      const msgs = drain(t).messages;
      assert.equal(msgs.length, 1, `case ${i}`);
      const m = msgs[0];
      assert.ok(m?.type === 'MsgVoteResp', `case ${i}`);
      assert.equal(m.reject, c.reject, `case ${i}`);
    }
  });

  // Raft §5.4.2: only entries of the leader's current term are committed by counting replicas.
  test('leader only commits entries of its current term by counting', () => {
    for (const [i, c] of [
      { index: 1, commit: 0 },
      { index: 2, commit: 0 },
      { index: 3, commit: 3 },
    ].entries()) {
      const t = newTestNode('1', {
        peers: ids(2),
        entries: entries(1, 1, 2),
        hardState: { term: 2, vote: '', commit: 0 },
      });
      becomeLeader(t, ids(2));
      assert.equal(t.node.status().term, 3);
      t.node.propose(EMPTY);
      t.node.step({
        type: 'MsgAppResp',
        from: '2',
        to: '1',
        term: 3,
        index: c.index,
        reject: false,
        rejectHint: 0,
        logTerm: 0,
      });
      assert.equal(t.node.status().commit, c.commit, `case ${i}`);
    }
  });
});
