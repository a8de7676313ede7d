/**
 * Ready: everything the core asks its driver to do, handed out as one batch.
 *
 * The contract (etcd's), for each `rd = node.ready()`:
 *   1. Persist `rd.snapshot` (if any), then `rd.hardState` (if any) and `rd.entries`, to stable
 *      storage (fsync when `rd.mustSync`), and mirror them into the MemoryStorage:
 *      `applySnapshot`, `setHardState`, `append`.
 *   2. Only then send `rd.messages` (they may promise what step 1 persisted, e.g. a vote).
 *   3. Apply `rd.snapshot` (if any) and then `rd.committedEntries` to the state machine, in order;
 *      for each applied conf-change entry call `node.applyConfChange(decodeConfChange(e.data))`.
 *      Answer reads from `rd.readStates` once the applied index reaches their `index`.
 *   4. Call `node.advance(rd)`; only then ask for the next Ready.
 */
import type { Role } from './core.js';
import type { Message } from './message.js';
import type { ReadState } from './read-only.js';
import type { ConfState, Entry, HardState, Index, PeerId, Snapshot, Term } from './types.js';

/** Volatile state worth telling the driver about (leader changes). */
export interface SoftState {
  readonly leader: PeerId;
  readonly role: Role;
}

export interface Ready {
  /** Present when the leader or the role changed since the previous Ready. */
  readonly softState?: SoftState;
  /** Present when term, vote or commit changed; persist before sending `messages`. */
  readonly hardState?: HardState;
  /** New log entries to persist (they may replace a persisted suffix at the same indexes). */
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader: persist it, then restore the state machine from it. */
  readonly snapshot?: Snapshot;
  /** Committed entries to apply, in order, after persisting. */
  readonly committedEntries: readonly Entry[];
  /** Messages to send after persisting. MsgSnap: report the outcome with `reportSnapshot`. */
  readonly messages: readonly Message[];
  /** Answered ReadIndex requests made by this node. */
  readonly readStates: readonly ReadState[];
  /** True when `hardState`/`entries` must be fsynced before sending (entries, or term/vote changed). */
  readonly mustSync: boolean;
}

export type ProposeResult =
  | { readonly ok: true; readonly index: Index; readonly term: Term }
  | { readonly ok: false; readonly reason: 'NOT_LEADER' | 'TRANSFERRING' | 'CONF_CHANGE_PENDING' };

/** What a leader knows about one peer. */
export interface ProgressStatus {
  readonly match: Index;
  readonly next: Index;
  readonly state: 'probe' | 'replicate' | 'snapshot';
  readonly recentActive: boolean;
}

export interface Status {
  readonly id: PeerId;
  readonly term: Term;
  readonly vote: PeerId;
  readonly commit: Index;
  readonly applied: Index;
  readonly leader: PeerId;
  readonly role: Role;
  readonly confState: ConfState;
  /** Leader only (includes itself); empty otherwise. */
  readonly progress: ReadonlyMap<PeerId, ProgressStatus>;
  readonly leadTransferee: PeerId;
}
