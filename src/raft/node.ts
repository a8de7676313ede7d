/**
 * RaftNode: the public face of the core. Synchronous and deterministic: the driver feeds it
 * ticks, peer messages and proposals, and drains `ready()` batches (see ready.ts for the
 * persist → send → apply → advance contract).
 */
import { encodeConfChange } from './codec.js';
import type { RaftConfig } from './config.js';
import { validateConfig } from './config.js';
import { RaftCore } from './core.js';
import { hup, tickElection } from './election.js';
import { applyConfChange } from './membership.js';
import type { Message } from './message.js';
import type { ProgressStatus, ProposeResult, Ready, SoftState, Status } from './ready.js';
import { appendEntries, bcastAppend, handleReadIndex } from './replication.js';
import { stepMessage } from './step.js';
import {
  reportSnapshot,
  reportUnreachable,
  tickHeartbeat,
  transferLeadership,
} from './step-leader.js';
import type { ConfChange, ConfState, EntryType, HardState, PeerId } from './types.js';

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export class RaftNode {
  private readonly r: RaftCore;
  private prevSoft: SoftState;
  private prevHard: HardState;

  /** Restores the node from `config.storage`; it starts as a follower. Throws RangeError on a bad config. */
  constructor(config: RaftConfig) {
    validateConfig(config);
    this.r = new RaftCore(config);
    this.prevSoft = this.softState();
    this.prevHard = this.r.hardState();
  }

  private softState(): SoftState {
    return { leader: this.r.lead, role: this.r.role };
  }

  /** Advances logical time by one tick (elections, heartbeats, check-quorum). */
  tick(): void {
    if (this.r.role === 'leader') tickHeartbeat(this.r);
    else tickElection(this.r);
  }

  /** Steps a message received from a peer. Stale, foreign or misaddressed ones are ignored. */
  step(m: Message): void {
    stepMessage(this.r, m);
  }

  /** Starts an election now (PreVote first when enabled). No-op on a leader or non-voter. */
  campaign(): void {
    hup(this.r, false);
  }

  private proposeEntry(type: EntryType, data: Uint8Array): ProposeResult {
    const r = this.r;
    if (r.role !== 'leader') return { ok: false, reason: 'NOT_LEADER' };
    if (r.leadTransferee !== '') return { ok: false, reason: 'TRANSFERRING' };
    const index = appendEntries(r, [{ type, data }]);
    bcastAppend(r);
    return { ok: true, index, term: r.term };
  }

  /** Appends `data` to the log if this node is the leader; the driver forwards otherwise. */
  propose(data: Uint8Array): ProposeResult {
    return this.proposeEntry('normal', data);
  }

  /**
   * Proposes a single-server membership change. Only one may be pending: a new one is refused
   * until the previous conf-change entry has been applied (and on a new leader, until every
   * entry it inherited has been applied).
   */
  proposeConfChange(cc: ConfChange): ProposeResult {
    const r = this.r;
    if (r.role === 'leader' && r.leadTransferee === '' && r.pendingConfIndex > r.log.applied) {
      return { ok: false, reason: 'CONF_CHANGE_PENDING' };
    }
    const res = this.proposeEntry('conf-change', encodeConfChange(cc));
    if (res.ok) r.pendingConfIndex = res.index;
    return res;
  }

  /**
   * Applies a committed conf change (call when applying its entry) and returns the new
   * membership. A leader that is no longer a voter steps down.
   */
  applyConfChange(cc: ConfChange): ConfState {
    return applyConfChange(this.r, cc);
  }

  /**
   * Asks the leader to hand leadership to `to` (thesis §3.10). On a follower the request is
   * forwarded to the leader. While it runs, proposals are refused with TRANSFERRING; it is
   * aborted after an election timeout.
   */
  transferLeadership(to: PeerId): void {
    const r = this.r;
    if (r.role === 'leader') {
      transferLeadership(r, to);
    } else if (r.lead !== '') {
      r.send({ type: 'MsgTransferLeader', from: r.id, to: r.lead, term: r.term, transferee: to });
    } else {
      r.logger.info({ id: r.id, to }, 'raft: no leader, dropping leader transfer');
    }
  }

  /**
   * Requests a linearizable read point (thesis §6.4). The answer arrives in a later
   * `Ready.readStates` entry with the same `ctx` (non-empty, unique per request). Without a
   * known leader the request is dropped; the caller retries on its own timeout.
   */
  readIndex(ctx: Uint8Array): void {
    const r = this.r;
    if (r.role === 'leader') {
      handleReadIndex(r, r.id, ctx);
    } else if (r.lead !== '') {
      r.send({ type: 'MsgReadIndex', from: r.id, to: r.lead, term: r.term, ctx });
    } else {
      r.logger.info({ id: r.id }, 'raft: no leader, dropping ReadIndex');
    }
  }

  /** The transport failed to reach `id`: the leader falls back to probing it. */
  reportUnreachable(id: PeerId): void {
    reportUnreachable(this.r, id);
  }

  /** The transport finished sending a MsgSnap to `id` (`ok` false: it failed). */
  reportSnapshot(id: PeerId, ok: boolean): void {
    reportSnapshot(this.r, id, ok);
  }

  /** Is there anything in a Ready to process? */
  hasReady(): boolean {
    const r = this.r;
    const soft = this.softState();
    return (
      soft.leader !== this.prevSoft.leader ||
      soft.role !== this.prevSoft.role ||
      !sameHardState(r.hardState(), this.prevHard) ||
      r.log.unstable.snapshot !== undefined ||
      r.log.unstable.entries.length > 0 ||
      r.log.hasNextCommittedEntries() ||
      r.msgs.length > 0 ||
      r.readStates.length > 0
    );
  }

  /** Takes the next batch of work; follow the contract in ready.ts, then call `advance(rd)`. */
  ready(): Ready {
    const r = this.r;
    const soft = this.softState();
    const hard = r.hardState();
    const entries = r.log.unstable.entries.slice();
    const rd: Ready = {
      entries,
      committedEntries: r.log.nextCommittedEntries(),
      messages: r.msgs,
      readStates: r.readStates,
      mustSync:
        entries.length > 0 || hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote,
      ...(soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role
        ? { softState: soft }
        : {}),
      ...(sameHardState(hard, this.prevHard) ? {} : { hardState: hard }),
      ...(r.log.unstable.snapshot === undefined ? {} : { snapshot: r.log.unstable.snapshot }),
    };
    r.msgs = [];
    r.readStates = [];
    if (rd.softState !== undefined) this.prevSoft = rd.softState;
    return rd;
  }

  /** Acknowledges that `rd` was persisted, sent and applied. */
  advance(rd: Ready): void {
    const log = this.r.log;
    if (rd.hardState !== undefined) this.prevHard = rd.hardState;
    if (rd.snapshot !== undefined) {
      log.unstable.stableSnapTo(rd.snapshot.meta.index);
      if (rd.snapshot.meta.index > log.applied) log.appliedTo(rd.snapshot.meta.index);
    }
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) log.unstable.stableTo(last.index, last.term);
    const applied = rd.committedEntries[rd.committedEntries.length - 1];
    if (applied !== undefined) log.appliedTo(applied.index);
    const r = this.r;
    if (r.pendingTransferCampaign && r.role !== 'leader' && !r.hasUnappliedConfChanges()) {
      r.pendingTransferCampaign = false;
      hup(r, true);
    }
  }

  /** A snapshot of the node's state for monitoring and the driver. */
  status(): Status {
    const r = this.r;
    const progress = new Map<PeerId, ProgressStatus>();
    if (r.role === 'leader') {
      for (const [id, pr] of r.tracker.progress) {
        progress.set(id, {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          recentActive: pr.recentActive,
        });
      }
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      leader: r.lead,
      role: r.role,
      confState: r.tracker.confState(),
      progress,
      leadTransferee: r.leadTransferee,
    };
  }
}
