/**
 * Regression (found by the simulator, test/sim, e.g. `npm run sim -- --seed 9` before the fix):
 * a restart whose durable hard state commits less than the durable snapshot.
 *
 * The Ready contract lets a commit-only hard state go unsynced (mustSync false; the daemon's
 * driver does not write it at all), and the driver snapshots its applied index. A leader that
 * commits and applies entries 2..4, snapshots at 4 and crashes therefore restarts with the
 * snapshot at 4 and a hard state that still says commit 1. The same happens when a follower's
 * crash falls between persisting a received snapshot and the hard state that follows it. The
 * core used to reject that state ("hard state commit 1 outside [4, 5]"), so the node could
 * never start again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bootstrap,
  MemoryStorage,
  RaftInvariantError,
  RaftNode,
  type Entry,
} from '../../../src/raft/index.js';
import { bytes, seededRandom } from './network.js';

const IDS = ['a', 'b', 'c'];

function entry(index: number, term: number): Entry {
  return {
    index,
    term,
    type: 'normal',
    data: index === 2 ? new Uint8Array(0) : bytes(`v${index}`),
  };
}

/** What the crashed leader's disk holds: snapshot 4/2, entry 5, hard state {2, a, commit 1}. */
function crashedDisk(commit: number): MemoryStorage {
  // Before the crash: bootstrap, entries 2..5 of term 2, then a snapshot of the applied index 4.
  const before = new MemoryStorage();
  bootstrap(before, IDS);
  before.append([entry(2, 2), entry(3, 2), entry(4, 2), entry(5, 2)]);
  const snap = before.createSnapshot(4, { voters: IDS, learners: [] }, bytes('state@4'));
  // Recovery, as the driver does it: snapshot, hard state, entries after the snapshot.
  const s = new MemoryStorage();
  s.applySnapshot(snap);
  s.setHardState({ term: 2, vote: 'a', commit });
  s.append([entry(5, 2)]);
  return s;
}

function restart(storage: MemoryStorage): RaftNode {
  return new RaftNode({
    id: 'a',
    storage,
    electionTicks: 10,
    heartbeatTicks: 1,
    maxSizePerMsg: 1024 * 1024,
    maxInflightMsgs: 256,
    preVote: false,
    checkQuorum: false,
    random: seededRandom(1),
  });
}

test('a node restarts when its durable commit trails its snapshot', () => {
  const node = restart(crashedDisk(1));
  const st = node.status();
  // The snapshot is committed by definition: commit and applied start at its index.
  assert.equal(st.commit, 4);
  assert.equal(st.applied, 4);
  assert.equal(st.term, 2);
  assert.equal(st.vote, 'a');
  // Nothing at or below the snapshot is handed out again, and the node still works.
  assert.equal(node.hasReady(), false);
  node.step({
    type: 'MsgHeartbeat',
    from: 'b',
    to: 'a',
    term: 3,
    commit: 5,
    ctx: new Uint8Array(0),
  });
  const rd = node.ready();
  assert.deepEqual(
    rd.committedEntries.map((e) => e.index),
    [5],
  );
  assert.equal(rd.hardState?.commit, 5);
});

test('a hard state committing beyond the durable log is still refused', () => {
  assert.throws(() => restart(crashedDisk(6)), RaftInvariantError);
});
