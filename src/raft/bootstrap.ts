/**
 * Bootstrapping a brand-new cluster. Every founding member runs this on its own empty storage
 * with the same voter list before constructing its RaftNode; nodes that join later start with an
 * empty storage and learn everything (snapshot, membership, log) from the leader.
 */
import { RaftInvariantError } from './errors.js';
import type { MemoryStorage } from './storage.js';
import type { PeerId, Snapshot } from './types.js';

/** Index (and term) of the bootstrap snapshot; the first real entry is index 2. */
export const BOOTSTRAP_INDEX = 1;

/**
 * Writes the initial membership into an empty `storage`: a snapshot at index 1, term 1 whose
 * ConfState lists `voters` and whose data is empty, plus the hard state {term 1, commit 1}.
 * Returns that snapshot. The driver must persist it like a received snapshot (Snapshotter.save,
 * Wal.saveSnapshotMeta, Wal.save(hardState)) so a restart finds the same state, and its state
 * machine must treat zero-length snapshot data as "empty state" in restore().
 *
 * Throws if `storage` is not empty or `voters` is empty or has duplicates.
 */
export function bootstrap(storage: MemoryStorage, voters: readonly PeerId[]): Snapshot {
  if (voters.length === 0 || new Set(voters).size !== voters.length || voters.includes('')) {
    throw new RangeError('bootstrap: voters must be non-empty, distinct ids');
  }
  if (storage.lastIndex() !== 0 || storage.snapshot().meta.index !== 0) {
    throw new RaftInvariantError('bootstrap: storage is not empty');
  }
  const snap: Snapshot = {
    meta: {
      index: BOOTSTRAP_INDEX,
      term: 1,
      confState: { voters: [...voters], learners: [] },
    },
    data: new Uint8Array(0),
  };
  storage.applySnapshot(snap);
  storage.setHardState({ term: 1, vote: '', commit: BOOTSTRAP_INDEX });
  return snap;
}
