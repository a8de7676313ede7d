/**
 * RaftLog: the log as the core sees it, stable entries in Storage followed by unstable ones,
 * with the commit and apply positions (Raft §5.3, Fig. 2).
 */
import { isStorageError, RaftInvariantError } from './errors.js';
import { UnstableLog } from './log-unstable.js';
import type { Storage } from './storage.js';
import { limitSize } from './storage.js';
import type { Entry, Index, Snapshot, Term } from './types.js';

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: UnstableLog;
  /** Highest index known to be committed. */
  committed: Index;
  /** Highest index handed out in Ready.committedEntries (and acknowledged by advance). */
  applied: Index;

  constructor(storage: Storage) {
    this.storage = storage;
    const first = storage.firstIndex();
    this.unstable = new UnstableLog(storage.lastIndex() + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): Index {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): Index {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Term of `i`, or undefined when compacted or beyond the log. Term of index 0 is 0. */
  term(i: Index): Term | undefined {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return i === 0 ? 0 : undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    try {
      return this.storage.term(i);
    } catch (err) {
      if (isStorageError(err, 'COMPACTED') || isStorageError(err, 'UNAVAILABLE')) return undefined;
      throw err;
    }
  }

  lastTerm(): Term {
    const t = this.term(this.lastIndex());
    if (t === undefined) throw new RaftInvariantError('term of the last index is unknown');
    return t;
  }

  matchTerm(i: Index, t: Term): boolean {
    const own = this.term(i);
    return own !== undefined && own === t;
  }

  /** Raft §5.4.1: is a log ending at (lastIndex, term) at least as up-to-date as ours? */
  isUpToDate(lastIndex: Index, term: Term): boolean {
    const ours = this.lastTerm();
    return term > ours || (term === ours && lastIndex >= this.lastIndex());
  }

  /**
   * Follower side of AppendEntries: if (index, logTerm) matches, append `ents` (dropping a
   * conflicting suffix), advance commit to min(committed, last new index), and return the last
   * new index; undefined when the consistency check fails.
   */
  maybeAppend(
    index: Index,
    logTerm: Term,
    committed: Index,
    ents: readonly Entry[],
  ): Index | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new RaftInvariantError(`entry ${ci} conflicts with committed ${this.committed}`);
      }
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /** Appends after truncating any conflicting suffix; returns the new last index. */
  append(ents: readonly Entry[]): Index {
    const first = ents[0];
    if (first === undefined) return this.lastIndex();
    if (first.index - 1 < this.committed) {
      throw new RaftInvariantError(`append at ${first.index} is below commit ${this.committed}`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** Index of the first entry in `ents` whose term differs from ours (or that is new), else 0. */
  findConflict(ents: readonly Entry[]): Index {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term` (with that term), used to skip a whole
   * term per rejected probe. Compacted indexes stop the search with term 0.
   */
  findConflictByTerm(index: Index, term: Term): { index: Index; term: Term } {
    for (let i = index; i > 0; i--) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
    return { index: 0, term: 0 };
  }

  commitTo(toCommit: Index): void {
    if (toCommit <= this.committed) return;
    if (toCommit > this.lastIndex()) {
      throw new RaftInvariantError(`commit ${toCommit} is beyond last index ${this.lastIndex()}`);
    }
    this.committed = toCommit;
  }

  /** Raft §5.4.2: commit `maxIndex` only if that entry is from the current `term`. */
  maybeCommit(maxIndex: Index, term: Term): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  appliedTo(i: Index): void {
    if (i === 0) return;
    if (i > this.committed || i < this.applied) {
      throw new RaftInvariantError(`applied ${i} outside [${this.applied}, ${this.committed}]`);
    }
    this.applied = i;
  }

  /** Entries [lo, hi) from storage and unstable, limited to `maxBytes`; undefined if compacted. */
  slice(lo: Index, hi: Index, maxBytes?: number): Entry[] | undefined {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) return undefined;
    if (hi > this.lastIndex() + 1) {
      throw new RaftInvariantError(`slice[${lo},${hi}) beyond last ${this.lastIndex()}`);
    }
    let ents: Entry[] = [];
    const uoff = this.unstable.offset;
    if (lo < uoff) {
      try {
        ents = this.storage.entries(lo, Math.min(hi, uoff), maxBytes);
      } catch (err) {
        if (isStorageError(err, 'COMPACTED')) return undefined;
        throw err;
      }
      if (ents.length < Math.min(hi, uoff) - lo) return ents; // hit the size limit
    }
    if (hi > uoff) ents = ents.concat(this.unstable.slice(Math.max(lo, uoff), hi));
    return limitSize(ents, maxBytes);
  }

  /** Entries from `i` to the end, limited to `maxBytes`; undefined if `i` is compacted. */
  entries(i: Index, maxBytes?: number): Entry[] | undefined {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxBytes);
  }

  /** Whole log from firstIndex (tests, debugging). */
  allEntries(): Entry[] {
    return this.entries(this.firstIndex()) ?? [];
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** Committed entries not yet handed out; none while a snapshot waits to be applied. */
  nextCommittedEntries(): Entry[] {
    if (this.hasPendingSnapshot()) return [];
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 <= lo) return [];
    return this.slice(lo, this.committed + 1) ?? [];
  }

  hasNextCommittedEntries(): boolean {
    if (this.hasPendingSnapshot()) return false;
    return this.committed > Math.max(this.applied, this.firstIndex() - 1);
  }

  /** The snapshot to hand out: the pending unstable one, else storage's. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Replaces the log with snapshot `s` (the follower side of Raft §7). */
  restore(s: Snapshot): void {
    this.committed = s.meta.index;
    this.unstable.restore(s);
  }
}
