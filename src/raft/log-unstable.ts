/**
 * The unstable part of the log: entries (and at most one snapshot) the core has accepted but the
 * driver has not yet confirmed persisted. `entries[i]` has index `offset + i`. They move to
 * Storage when the driver calls `advance()` for the Ready that carried them.
 */
import { RaftInvariantError } from './errors.js';
import type { Entry, Index, Snapshot, Term } from './types.js';

export class UnstableLog {
  snapshot: Snapshot | undefined = undefined;
  entries: Entry[] = [];
  offset: Index;

  constructor(offset: Index) {
    this.offset = offset;
  }

  /** The first index if a snapshot is pending, else undefined. */
  maybeFirstIndex(): Index | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.meta.index + 1;
  }

  /** The last index held here (entries, else snapshot), or undefined. */
  maybeLastIndex(): Index | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.meta.index;
  }

  /** Term of `i` if this part of the log knows it. */
  maybeTerm(i: Index): Term | undefined {
    if (i < this.offset) {
      if (this.snapshot !== undefined && this.snapshot.meta.index === i) {
        return this.snapshot.meta.term;
      }
      return undefined;
    }
    return this.entries[i - this.offset]?.term;
  }

  /** Entries up to `(i, t)` were persisted: drop them (unless they were replaced meanwhile). */
  stableTo(i: Index, t: Term): void {
    const gt = this.maybeTerm(i);
    if (gt === undefined || gt !== t || i < this.offset) return;
    this.entries = this.entries.slice(i + 1 - this.offset);
    this.offset = i + 1;
  }

  /** The snapshot at index `i` was persisted. */
  stableSnapTo(i: Index): void {
    if (this.snapshot !== undefined && this.snapshot.meta.index === i) this.snapshot = undefined;
  }

  restore(s: Snapshot): void {
    this.offset = s.meta.index + 1;
    this.entries = [];
    this.snapshot = s;
  }

  /** Appends `ents`, first truncating any unstable suffix that they replace. */
  truncateAndAppend(ents: readonly Entry[]): void {
    const first = ents[0];
    if (first === undefined) return;
    const after = first.index;
    if (after === this.offset + this.entries.length) {
      this.entries = this.entries.concat(ents);
    } else if (after <= this.offset) {
      // Replaces everything unstable (and the caller already checked storage).
      this.offset = after;
      this.entries = ents.slice();
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(ents);
    }
  }

  /** Entries [lo, hi), which must lie within this unstable part. */
  slice(lo: Index, hi: Index): Entry[] {
    const upper = this.offset + this.entries.length;
    if (lo > hi || lo < this.offset || hi > upper) {
      throw new RaftInvariantError(
        `unstable.slice[${lo},${hi}) out of bounds [${this.offset},${upper})`,
      );
    }
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
