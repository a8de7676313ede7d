/**
 * Errors of the Raft core.
 *
 * Expected outcomes are return values (see `ProposeResult`); exceptions are for two cases:
 * - `StorageError`: a `Storage` tells the log that an index is compacted or not yet available.
 *   The core catches these; a `Storage` implementation must throw exactly this class.
 * - `RaftInvariantError`: a broken invariant (a committed entry would be overwritten, the driver
 *   broke the Ready contract). Like etcd's panics: crash the process, never map it to a status.
 */

/** Why a `Storage` call could not answer. */
export type StorageErrorCode =
  /** The index is at or below the last snapshot: the entry was compacted away. */
  | 'COMPACTED'
  /** The index is beyond the last entry in storage. */
  | 'UNAVAILABLE'
  /** `applySnapshot`/`createSnapshot` with an index not newer than the current snapshot. */
  | 'SNAPSHOT_OUT_OF_DATE'
  /** `snapshot()` cannot produce a snapshot right now; the leader retries later. */
  | 'SNAPSHOT_TEMPORARILY_UNAVAILABLE';

/** Thrown by `Storage` implementations (and `MemoryStorage`); caught by the core where expected. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly code: StorageErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A broken invariant inside the core or of the Ready contract. Not recoverable. */
export class RaftInvariantError extends Error {
  override readonly name = 'RaftInvariantError';
}

/** True when `err` is a `StorageError` with the given code. */
export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code);
}
