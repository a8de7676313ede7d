/**
 * Regression (found by the simulator, test/sim): WAL replay resurrected a replaced log.
 *
 * A follower holding a long uncommitted tail from a deposed leader (entries 2..10 of term 1)
 * gets a snapshot from the new leader at index 8, term 2. The core replaces its whole log with
 * the snapshot (its entry 8 disagrees), the driver persists the snapshot file, the WAL marker
 * and the hard state, and the MemoryStorage drops every entry. But WAL replay only dropped the
 * entries up to the marker, so after a restart entries 9 and 10 of term 1 came back after the
 * snapshot of term 2: a log whose terms go down, which log matching forbids (the simulator saw
 * "entry 37 has term 9 after an entry of term 10").
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  bootstrap,
  MemoryStorage,
  RaftNode,
  type Entry,
  type Snapshot,
} from '../../../src/raft/index.js';
import { Wal } from '../../../src/raft/wal/index.js';
import { tempDir } from '../raft-storage/fixtures.js';
import { bytes, seededRandom } from './network.js';

const IDS = ['a', 'b', 'c'];
const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});

function entries(lo: number, hi: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = lo; i <= hi; i++) out.push({ index: i, term, type: 'normal', data: bytes(`${i}`) });
  return out;
}

test('a snapshot received over a conflicting longer log survives a restart alone', async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  // Follower 'c': bootstrap snapshot at 1, then the deposed leader's tail 2..10 (term 1).
  const storage = new MemoryStorage();
  const boot = bootstrap(storage, IDS);
  storage.append(entries(2, 10, 1));
  storage.setHardState({ term: 1, vote: 'a', commit: 1 });
  const { wal } = await Wal.open(t.dir);
  await wal.saveSnapshotMeta(boot.meta);
  await wal.save({ term: 1, vote: 'a', commit: 1 }, entries(2, 10, 1));
  const node = new RaftNode({
    id: 'c',
    storage,
    electionTicks: 10,
    heartbeatTicks: 1,
    maxSizePerMsg: 1024 * 1024,
    maxInflightMsgs: 256,
    preVote: false,
    checkQuorum: false,
    random: seededRandom(3),
  });

  // The new leader 'b' of term 2 compacted past index 8 and sends its snapshot.
  const snap: Snapshot = {
    meta: { index: 8, term: 2, confState: { voters: IDS, learners: [] } },
    data: bytes('state@8'),
  };
  node.step({ type: 'MsgSnap', from: 'b', to: 'c', term: 2, snapshot: snap });
  const rd = node.ready();
  assert.deepEqual(rd.snapshot?.meta, snap.meta);
  assert.equal(rd.entries.length, 0);
  // Persist as the driver does: (snapshot file,) WAL marker, then hard state and entries.
  await wal.saveSnapshotMeta(snap.meta);
  await wal.save(rd.hardState, rd.entries);
  storage.applySnapshot(snap);
  if (rd.hardState) storage.setHardState(rd.hardState);
  node.advance(rd);
  assert.equal(storage.lastIndex(), 8);
  await wal.close();

  // Crash before the leader's next MsgApp: the restart must see exactly what was persisted.
  const { wal: reopened, state } = await Wal.open(t.dir);
  await reopened.close();
  assert.deepEqual(state.snapshot, snap.meta);
  assert.deepEqual(state.entries, [], 'no entry of the replaced log comes back');
  assert.deepEqual(state.hardState, { term: 2, vote: '', commit: 8 });
});

test('a snapshot agreeing with the log at its index keeps the entries after it', async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const { wal } = await Wal.open(t.dir);
  await wal.save({ term: 2, vote: 'a', commit: 8 }, [...entries(1, 5, 1), ...entries(6, 10, 2)]);
  await wal.saveSnapshotMeta({ index: 8, term: 2, confState: { voters: IDS, learners: [] } });
  await wal.close();
  const { wal: reopened, state } = await Wal.open(t.dir);
  await reopened.close();
  assert.deepEqual(state.entries, entries(9, 10, 2));
});
