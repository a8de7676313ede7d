/**
 * ProgressTracker: the membership (voters, learners) and, on a leader, one Progress per peer,
 * plus the votes of the current election.
 */
import { Progress } from './progress.js';
import { committedIndex, hasQuorum, voteResult } from './quorum.js';
import type { VoteResult } from './quorum.js';
import type { ConfState, Index, PeerId } from './types.js';

export class ProgressTracker {
  readonly voters = new Set<PeerId>();
  readonly learners = new Set<PeerId>();
  readonly progress = new Map<PeerId, Progress>();
  readonly votes = new Map<PeerId, boolean>();

  constructor(readonly maxInflight: number) {}

  /** Resets the membership to `cs`, with fresh progress starting at `lastIndex + 1`. */
  restore(cs: ConfState, lastIndex: Index): void {
    this.voters.clear();
    this.learners.clear();
    this.progress.clear();
    for (const id of cs.voters) this.addVoter(id, lastIndex);
    for (const id of cs.learners) this.addLearner(id, lastIndex);
  }

  confState(): ConfState {
    return { voters: [...this.voters], learners: [...this.learners] };
  }

  private newProgress(lastIndex: Index, learner: boolean): Progress {
    const pr = new Progress(0, lastIndex + 1, this.maxInflight, learner);
    // A new member counts as active so check-quorum gives it a chance to catch up.
    pr.markActive();
    return pr;
  }

  /** Adds `id` as a voter, promoting it if it is a learner. Returns false if already a voter. */
  addVoter(id: PeerId, lastIndex: Index): boolean {
    if (this.voters.has(id)) return false;
    this.learners.delete(id);
    this.voters.add(id);
    const pr = this.progress.get(id);
    if (pr === undefined) this.progress.set(id, this.newProgress(lastIndex, false));
    else pr.isLearner = false;
    return true;
  }

  /** Adds `id` as a learner, demoting it if it is a voter. Returns false if already a learner. */
  addLearner(id: PeerId, lastIndex: Index): boolean {
    if (this.learners.has(id)) return false;
    this.voters.delete(id);
    this.learners.add(id);
    const pr = this.progress.get(id);
    if (pr === undefined) this.progress.set(id, this.newProgress(lastIndex, true));
    else pr.isLearner = true;
    return true;
  }

  remove(id: PeerId): boolean {
    const had = this.voters.delete(id) || this.learners.delete(id);
    this.progress.delete(id);
    this.votes.delete(id);
    return had;
  }

  isVoter(id: PeerId): boolean {
    return this.voters.has(id);
  }

  isSingleton(): boolean {
    return this.voters.size === 1;
  }

  /** The index replicated on a majority of voters. */
  committed(): Index {
    const ci = committedIndex(this.voters, (id) => this.progress.get(id)?.match ?? 0);
    return Number.isFinite(ci) ? ci : 0;
  }

  /** Check-quorum: have a majority of voters been recently active? */
  quorumActive(): boolean {
    return hasQuorum(this.voters, (id) => this.progress.get(id)?.recentActive === true);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records the first vote from `id` (later ones are ignored) and returns the tally. */
  recordVote(id: PeerId, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return voteResult(this.voters, this.votes);
  }

  tally(): VoteResult {
    return voteResult(this.voters, this.votes);
  }

  /** Peers to replicate to (voters then learners), excluding `self`, in a stable order. */
  peers(self: PeerId): PeerId[] {
    return [...this.progress.keys()].filter((id) => id !== self);
  }
}
