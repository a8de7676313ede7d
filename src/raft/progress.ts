/**
 * Progress: the leader's view of one follower (Raft §5.3 nextIndex/matchIndex), with etcd's
 * three states:
 *
 *   probe      — next is a guess; send one MsgApp and wait for the answer (or a heartbeat reply)
 *   replicate  — the follower is in sync; pipeline MsgApps optimistically within the window
 *   snapshot   — a MsgSnap is on its way; send nothing until reportSnapshot or a matching reply
 */
import { Inflights } from './inflights.js';
import type { Index } from './types.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  /** Highest index known to be replicated on the follower (matchIndex). */
  match: Index;
  /** Index of the next entry to send (nextIndex). */
  next: Index;
  state: ProgressState = 'probe';
  /** In the snapshot state: the index of the snapshot being sent. */
  pendingSnapshot: Index = 0;
  /** Heard from within the last election timeout (leader only). */
  recentActive = false;
  /** Leader ticks since this peer last answered. */
  inactiveTicks = 0;
  /** In the probe state: a probe is outstanding, so stop sending until it is answered. */
  probeSent = false;
  readonly inflights: Inflights;
  isLearner: boolean;

  constructor(match: Index, next: Index, maxInflight: number, isLearner: boolean) {
    this.match = match;
    this.next = next;
    this.inflights = new Inflights(maxInflight);
    this.isLearner = isLearner;
  }

  /** The peer answered: it counts as active for check-quorum. */
  markActive(): void {
    this.recentActive = true;
    this.inactiveTicks = 0;
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: Index): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** A MsgApp ending at `last` was sent (`entries` of them). */
  sentEntries(entries: number, last: Index): void {
    if (this.state === 'replicate') {
      if (entries > 0) {
        this.next = last + 1;
        this.inflights.add(last);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /** The follower acknowledged `n`; returns false when the ack is stale. */
  maybeUpdate(n: Index): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * The follower rejected a MsgApp at `rejected`, hinting it may match at `matchHint`.
   * Returns false when the rejection is stale (answers an older probe).
   */
  maybeDecrTo(rejected: Index, matchHint: Index): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  /** Should the leader hold back MsgApps to this follower? */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.isFull();
      case 'snapshot':
        return true;
    }
  }
}
