/**
 * RaftCore: the state of one peer and its role transitions (Raft Fig. 2, etcd's `raft` struct).
 * Internal to src/raft; the public face is RaftNode (node.ts). Step logic lives in step-*.ts,
 * replication in replication.ts, elections in election.ts.
 */
import type { RaftConfig, RaftLogger } from './config.js';
import { NOOP_LOGGER } from './config.js';
import { RaftInvariantError } from './errors.js';
import { RaftLog } from './log.js';
import type { Message } from './message.js';
import type { ReadRequest, ReadState } from './read-only.js';
import { ReadOnly } from './read-only.js';
import { ProgressTracker } from './tracker.js';
import type { HardState, Index, PeerId, Term } from './types.js';

/** The role of a peer. 'pre-candidate' is the PreVote phase (thesis §9.6). */
export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

export class RaftCore {
  readonly id: PeerId;
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  readonly logger: RaftLogger;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly maxSizePerMsg: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  private readonly random: () => number;

  /** Raft Fig. 2 persistent state: currentTerm and votedFor. */
  term: Term = 0;
  vote: PeerId = '';
  /** The leader this peer follows in `term` ('' if unknown). */
  lead: PeerId = '';
  role: Role = 'follower';

  /** Ticks since the last reset (leader: since the last check-quorum round). */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  /** In [electionTicks, 2*electionTicks), re-drawn on every role change. */
  randomizedElectionTimeout = 0;

  /**
   * Follower: a MsgTimeoutNow arrived while committed conf changes were still unapplied; the
   * transfer campaign starts as soon as they are applied (see RaftNode.advance).
   */
  pendingTransferCampaign = false;
  /** Leader only: the peer leadership is being transferred to, '' if none. */
  leadTransferee: PeerId = '';
  /** Leader only: index of the latest conf-change entry; a new one waits until it is applied. */
  pendingConfIndex: Index = 0;
  readonly readOnly = new ReadOnly();
  /** Leader only: read requests postponed until an entry of this term is committed. */
  pendingReadIndex: ReadRequest[] = [];

  /** Outgoing messages, drained by RaftNode.ready(). */
  msgs: Message[] = [];
  /** Answered ReadIndex requests of this node, drained by RaftNode.ready(). */
  readStates: ReadState[] = [];

  constructor(c: RaftConfig) {
    this.id = c.id;
    this.logger = c.logger ?? NOOP_LOGGER;
    this.electionTicks = c.electionTicks;
    this.heartbeatTicks = c.heartbeatTicks;
    this.maxSizePerMsg = c.maxSizePerMsg;
    this.preVote = c.preVote;
    this.checkQuorum = c.checkQuorum;
    this.random = c.random;
    this.log = new RaftLog(c.storage);
    this.tracker = new ProgressTracker(c.maxInflightMsgs);
    const { hardState, confState } = c.storage.initialState();
    this.tracker.restore(confState, this.log.lastIndex());
    if (hardState.term !== 0 || hardState.vote !== '' || hardState.commit !== 0) {
      this.loadState(hardState);
    }
    if (c.applied !== undefined && c.applied > 0) this.log.appliedTo(c.applied);
    this.becomeFollower(this.term, '');
  }

  private loadState(hs: HardState): void {
    if (hs.commit > this.log.lastIndex()) {
      throw new RaftInvariantError(
        `hard state commit ${hs.commit} is beyond the last index ${this.log.lastIndex()}`,
      );
    }
    // A commit behind the snapshot (log.committed starts at its index) is stale, not corrupt:
    // a commit-only hard state need not be synced (mustSync false), and the driver may snapshot
    // its applied index or persist a received snapshot before the hard state, so after a crash
    // the durable commit can trail the snapshot, which is committed by definition.
    if (hs.commit > this.log.committed) this.log.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  send(m: Message): void {
    this.msgs.push(m);
  }

  /** Only a voter that is not installing a snapshot may campaign. */
  isPromotable(): boolean {
    return this.tracker.isVoter(this.id) && !this.log.hasPendingSnapshot();
  }

  resetRandomizedElectionTimeout(): void {
    const r = this.random();
    const jitter = Math.min(
      this.electionTicks - 1,
      Math.max(0, Math.floor(r * this.electionTicks)),
    );
    this.randomizedElectionTimeout = this.electionTicks + jitter;
  }

  /** Has the election timeout (randomized) passed without hearing from a leader? */
  isPastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  /** Resets volatile state for `term` (clearing the vote if the term changes). */
  reset(term: Term): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = '';
    }
    this.lead = '';
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = '';
    this.pendingTransferCampaign = false;
    this.tracker.resetVotes();
    const last = this.log.lastIndex();
    for (const [id, pr] of this.tracker.progress) {
      pr.becomeProbe();
      pr.match = id === this.id ? last : 0;
      pr.next = last + 1;
      // Every peer gets one election timeout to answer a new leader before check-quorum.
      pr.markActive();
    }
    this.pendingConfIndex = 0;
    this.readOnly.reset();
    this.pendingReadIndex = [];
  }

  becomeFollower(term: Term, lead: PeerId): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
    this.logger.debug({ id: this.id, term, lead }, 'raft: became follower');
  }

  /** PreVote phase: neither the term nor the vote changes. */
  becomePreCandidate(): void {
    if (this.role === 'leader') throw new RaftInvariantError('leader cannot become pre-candidate');
    this.tracker.resetVotes();
    this.lead = '';
    this.role = 'pre-candidate';
    this.logger.debug({ id: this.id, term: this.term }, 'raft: became pre-candidate');
  }

  becomeCandidate(): void {
    if (this.role === 'leader') throw new RaftInvariantError('leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
    this.logger.debug({ id: this.id, term: this.term }, 'raft: became candidate');
  }

  /** Abandons a leadership transfer in progress. */
  abortLeaderTransfer(): void {
    this.leadTransferee = '';
  }

  /** Has an entry of the current term been committed (needed before serving ReadIndex)? */
  committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  /** Are there conf-change entries committed but not yet applied? */
  hasUnappliedConfChanges(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    const ents = this.log.slice(this.log.applied + 1, this.log.committed + 1) ?? [];
    return ents.some((e) => e.type === 'conf-change');
  }
}
