/**
 * Storage: the read side of the persisted log, in etcd's style. The core only reads it; the driver
 * writes it (after persisting each Ready, it appends `entries`, sets `hardState`, applies
 * `snapshot`). All calls are synchronous: the driver loads the WAL into memory before starting.
 */
import { StorageError } from './errors.js';
import type { ConfState, Entry, HardState, Index, Snapshot, Term } from './types.js';
import { EMPTY_HARD_STATE } from './types.js';

/**
 * What the core reads. Errors: methods throw `StorageError` with code `COMPACTED` for an index at
 * or below the last snapshot, `UNAVAILABLE` for an index past the last entry, and `snapshot()` may
 * throw `SNAPSHOT_TEMPORARILY_UNAVAILABLE`. Any other exception is treated as fatal.
 */
export interface Storage {
  /** The persisted hard state, and the membership as of the last snapshot. */
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), limited to about `maxBytes` (but at least one entry). */
  entries(lo: Index, hi: Index, maxBytes?: number): Entry[];
  /** Term of entry `i`; also answers for the snapshot index itself (`firstIndex() - 1`). */
  term(i: Index): Term;
  /** Index of the first entry still available (snapshot index + 1). */
  firstIndex(): Index;
  /** Index of the last entry (the snapshot index when the log is empty). */
  lastIndex(): Index;
  /** The most recent snapshot. */
  snapshot(): Snapshot;
}

/** Approximate wire size of an entry, used for `maxSizePerMsg` batching. */
export function entrySize(e: Entry): number {
  return e.data.length + 12;
}

/** Longest prefix of `ents` whose size stays within `maxBytes`, but at least one entry. */
export function limitSize(ents: Entry[], maxBytes: number | undefined): Entry[] {
  if (maxBytes === undefined || ents.length === 0) return ents;
  let size = 0;
  let n = 0;
  for (const e of ents) {
    size += entrySize(e);
    if (n > 0 && size > maxBytes) break;
    n++;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

const EMPTY_DATA = new Uint8Array(0);

/** The empty membership. */
export const EMPTY_CONF_STATE: ConfState = { voters: [], learners: [] };

/**
 * An in-memory `Storage`. `ents[0]` is a dummy entry holding the snapshot's index and term,
 * so `term(snapshotIndex)` answers and the log-matching check works right after compaction.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot = {
    meta: { index: 0, term: 0, confState: EMPTY_CONF_STATE },
    data: EMPTY_DATA,
  };
  private ents: Entry[] = [{ index: 0, term: 0, type: 'normal', data: EMPTY_DATA }];

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.meta.confState };
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  private offset(): Index {
    return this.dummy().index;
  }

  private dummy(): Entry {
    const d = this.ents[0];
    if (d === undefined) throw new Error('MemoryStorage: lost its dummy entry');
    return d;
  }

  firstIndex(): Index {
    return this.offset() + 1;
  }

  lastIndex(): Index {
    return this.offset() + this.ents.length - 1;
  }

  term(i: Index): Term {
    const off = this.offset();
    if (i < off) throw new StorageError('COMPACTED', `term(${i}): compacted (first ${off + 1})`);
    const e = this.ents[i - off];
    if (e === undefined) {
      throw new StorageError('UNAVAILABLE', `term(${i}): unavailable (last ${this.lastIndex()})`);
    }
    return e.term;
  }

  entries(lo: Index, hi: Index, maxBytes?: number): Entry[] {
    const off = this.offset();
    if (lo <= off) throw new StorageError('COMPACTED', `entries(${lo}): compacted`);
    if (hi > this.lastIndex() + 1) {
      throw new StorageError('UNAVAILABLE', `entries(${lo}, ${hi}): last is ${this.lastIndex()}`);
    }
    if (lo >= hi) return [];
    return limitSize(this.ents.slice(lo - off, hi - off), maxBytes);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with `snap` (a follower installing the leader's snapshot). */
  applySnapshot(snap: Snapshot): void {
    if (snap.meta.index <= this.snap.meta.index) {
      throw new StorageError(
        'SNAPSHOT_OUT_OF_DATE',
        `applySnapshot(${snap.meta.index}): have ${this.snap.meta.index}`,
      );
    }
    this.snap = snap;
    this.ents = [
      { index: snap.meta.index, term: snap.meta.term, type: 'normal', data: EMPTY_DATA },
    ];
  }

  /**
   * Records a snapshot of the state machine at `index` (<= lastIndex), taken by the driver after
   * applying up to `index`. Does not compact; call `compact()` afterwards to drop old entries.
   */
  createSnapshot(index: Index, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.meta.index) {
      throw new StorageError(
        'SNAPSHOT_OUT_OF_DATE',
        `createSnapshot(${index}): have ${this.snap.meta.index}`,
      );
    }
    if (index > this.lastIndex()) {
      throw new StorageError(
        'UNAVAILABLE',
        `createSnapshot(${index}): last is ${this.lastIndex()}`,
      );
    }
    this.snap = { meta: { index, term: this.term(index), confState }, data };
    return this.snap;
  }

  /** Drops entries before `index`; `index` becomes the dummy (so `firstIndex()` = index + 1). */
  compact(index: Index): void {
    const off = this.offset();
    if (index <= off) throw new StorageError('COMPACTED', `compact(${index}): already compacted`);
    if (index > this.lastIndex()) {
      throw new StorageError('UNAVAILABLE', `compact(${index}): last is ${this.lastIndex()}`);
    }
    const rest = this.ents.slice(index - off);
    const head = rest[0];
    if (head === undefined) throw new Error('MemoryStorage: compact lost the head');
    rest[0] = { index: head.index, term: head.term, type: 'normal', data: EMPTY_DATA };
    this.ents = rest;
  }

  /**
   * Appends `entries` (consecutive indexes). Entries already compacted are skipped; an existing
   * suffix that conflicts (starts at or after the first new index) is overwritten.
   */
  append(entries: readonly Entry[]): void {
    const firstNew = entries[0];
    const lastNew = entries[entries.length - 1];
    if (firstNew === undefined || lastNew === undefined) return;
    const first = this.firstIndex();
    if (lastNew.index < first) return;
    const ents = first > firstNew.index ? entries.slice(first - firstNew.index) : entries;
    const head = ents[0];
    if (head === undefined) return;
    const at = head.index - this.offset();
    if (at > this.ents.length) {
      throw new StorageError(
        'UNAVAILABLE',
        `append: missing entries between ${this.lastIndex()} and ${head.index}`,
      );
    }
    this.ents = this.ents.slice(0, at).concat(ents);
  }
}
