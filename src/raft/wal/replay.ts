/**
 * Rebuilds Raft's durable state from verified WAL records, in log order.
 *
 * Rules (mirrored by the checks in Wal.save):
 * - hardState: the last record wins.
 * - entry i: the log must stay contiguous. i <= last replaces the suffix from i on (Raft log
 *   truncation, §5.3); i > last + 1 is a gap. The very first entry seen may start anywhere:
 *   earlier segments may have been released after a snapshot.
 * - snapshotMeta s: the last record wins; entries <= s.index are dropped, and a snapshot at or
 *   past the end of the log, or whose term differs from the logged entry at its index (a
 *   snapshot from the leader over a conflicting log), empties it.
 * At the end, the entries must begin right after the snapshot (or at 1 without one).
 */
import { EMPTY_HARD_STATE } from '../types.js';
import type { Entry, HardState, Index, SnapshotMeta } from '../types.js';
import { decodeEntry, decodeHardState, decodeSnapshotMeta } from './codec.js';
import { RecordType } from './record.js';
import type { GoodRecord } from './record.js';

/** Durable Raft state as found in the WAL. */
export interface WalState {
  readonly hardState: HardState;
  /** Entries after the snapshot (index > snapshot.index), contiguous. */
  readonly entries: Entry[];
  /** The most recent snapshot metadata saved, if any. */
  readonly snapshot?: SnapshotMeta;
}

/** A replay rule was broken; `offset` is the record's. */
export class ReplayError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

/** Folds verified records, in log order, into the durable state (rules above). */
export class Replay {
  hardState: HardState = EMPTY_HARD_STATE;
  snapshot: SnapshotMeta | undefined;
  private entries: Entry[] = [];
  /** Logical last index; undefined until the first entry is seen. */
  private last: Index | undefined;

  /** Applies one verified record; returns the entry index for entry records, else 0. */
  apply(r: GoodRecord): Index {
    switch (r.type) {
      case RecordType.hardState:
        this.hardState = decodeHardState(r.payload);
        return 0;
      case RecordType.snapshotMeta:
        this.applySnapshot(decodeSnapshotMeta(r.payload));
        return 0;
      case RecordType.entry: {
        const e = decodeEntry(r.payload);
        this.applyEntry(e, r.offset);
        return e.index;
      }
      case RecordType.crc:
        throw new ReplayError(r.offset, 'unexpected crc record');
    }
  }

  private applySnapshot(s: SnapshotMeta): void {
    this.snapshot = s;
    if (this.last === undefined) return;
    const first = this.entries[0]?.index;
    const at = first === undefined || s.index < first ? undefined : this.entries[s.index - first];
    // A snapshot from the leader replaces a log that disagrees with it at its index (Raft §7):
    // what follows in that log belongs to the replaced history, as in MemoryStorage.applySnapshot.
    if (s.index >= this.last || (at !== undefined && at.term !== s.term)) {
      this.entries = [];
      this.last = s.index;
      return;
    }
    this.dropThrough(s.index);
  }

  private dropThrough(index: Index): void {
    const first = this.entries[0]?.index;
    if (first !== undefined && index >= first) this.entries = this.entries.slice(index - first + 1);
  }

  private applyEntry(e: Entry, offset: number): void {
    if (e.index < 1) throw new ReplayError(offset, `entry index ${e.index} is below 1`);
    if (this.last !== undefined && e.index > this.last + 1) {
      throw new ReplayError(offset, `gap in the log: entry ${e.index} follows ${this.last}`);
    }
    const first = this.entries[0]?.index;
    if (first !== undefined && this.last !== undefined && e.index <= this.last) {
      // Overwrite: keep entries before e.index.
      this.entries.length = Math.max(0, e.index - first);
    }
    this.entries.push(e);
    this.last = e.index;
  }

  /** The final state; throws ReplayError(-1, ...) if the log does not join the snapshot. */
  finish(): WalState {
    const base = this.snapshot?.index ?? 0;
    this.dropThrough(base);
    const first = this.entries[0];
    if (first !== undefined && first.index !== base + 1) {
      throw new ReplayError(
        -1,
        `the log starts at entry ${first.index} but ${this.snapshot ? `the snapshot ends at ${base}` : 'there is no snapshot'}: a segment is missing`,
      );
    }
    return this.snapshot === undefined
      ? { hardState: this.hardState, entries: this.entries }
      : { hardState: this.hardState, entries: this.entries, snapshot: this.snapshot };
  }
}
