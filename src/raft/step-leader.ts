/**
 * Leader behaviour (Raft §5.3, §5.4, thesis §3.10, §6.2, §6.4): process replies, move
 * followers between probe/replicate/snapshot, commit, check quorum, transfer leadership and
 * answer ReadIndex.
 */
import type { RaftCore } from './core.js';
import type { Message, MsgAppResp, MsgHeartbeatResp } from './message.js';
import { assertNever } from './message.js';
import {
  bcastAppend,
  bcastHeartbeat,
  handleReadIndex,
  maybeCommit,
  maybeSendAppend,
  respondReadIndex,
} from './replication.js';
import { hasQuorum } from './quorum.js';
import type { PeerId } from './types.js';

/**
 * Leader tick: heartbeats every heartbeatTicks. With check-quorum, a leader that has not heard
 * from a majority of voters for a full election timeout steps down (checked every tick, so it
 * steps down at most electionTicks after losing its quorum). A leadership transfer that has not
 * finished within an election timeout is aborted.
 */
export function tickHeartbeat(r: RaftCore): void {
  r.heartbeatElapsed++;
  r.electionElapsed++;
  for (const [id, pr] of r.tracker.progress) {
    if (id === r.id) continue;
    pr.inactiveTicks++;
    if (pr.inactiveTicks >= r.electionTicks) pr.recentActive = false;
  }
  if (r.checkQuorum && !r.tracker.quorumActive()) {
    r.logger.warn({ id: r.id, term: r.term }, 'raft: lost quorum, stepping down');
    r.becomeFollower(r.term, '');
    return;
  }
  if (r.electionElapsed >= r.electionTicks) {
    r.electionElapsed = 0;
    if (r.leadTransferee !== '') {
      r.logger.info({ id: r.id, to: r.leadTransferee }, 'raft: leader transfer timed out');
      r.abortLeaderTransfer();
    }
  }
  if (r.heartbeatElapsed >= r.heartbeatTicks) {
    r.heartbeatElapsed = 0;
    bcastHeartbeat(r);
  }
}

export function stepLeader(r: RaftCore, m: Message): void {
  switch (m.type) {
    case 'MsgAppResp':
      handleAppendResponse(r, m);
      return;
    case 'MsgHeartbeatResp':
      handleHeartbeatResponse(r, m);
      return;
    case 'MsgTransferLeader':
      transferLeadership(r, m.transferee);
      return;
    case 'MsgReadIndex':
      handleReadIndex(r, m.from, m.ctx);
      return;
    case 'MsgApp':
    case 'MsgHeartbeat':
    case 'MsgSnap':
      r.logger.warn({ id: r.id, from: m.from, term: m.term }, 'raft: second leader in term');
      return;
    case 'MsgVote':
    case 'MsgPreVote':
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
    case 'MsgTimeoutNow':
    case 'MsgReadIndexResp':
      return;
    default:
      assertNever(m);
  }
}

function handleAppendResponse(r: RaftCore, m: MsgAppResp): void {
  const pr = r.tracker.progress.get(m.from);
  if (pr === undefined) return;
  pr.markActive();
  if (m.reject) {
    let hint = m.rejectHint;
    if (m.logTerm > 0) hint = r.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
    if (pr.maybeDecrTo(m.index, hint)) {
      r.logger.debug({ id: r.id, from: m.from, next: pr.next }, 'raft: decreased next');
      if (pr.state === 'replicate') pr.becomeProbe();
      maybeSendAppend(r, m.from, true);
    }
    return;
  }
  const wasPaused = pr.isPaused();
  if (pr.maybeUpdate(m.index)) {
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match + 1 >= r.log.firstIndex()) {
      // The follower caught up through the snapshot; the log takes it from here.
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
    if (maybeCommit(r)) {
      bcastAppend(r);
    } else if (wasPaused) {
      maybeSendAppend(r, m.from, true);
    }
    // Pipelining: fill the window with whatever else is ready.
    while (maybeSendAppend(r, m.from, false)) {
      // keep sending
    }
  }
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) {
    r.logger.info({ id: r.id, to: m.from }, 'raft: transferee caught up, sending MsgTimeoutNow');
    sendTimeoutNow(r, m.from);
  }
}

function handleHeartbeatResponse(r: RaftCore, m: MsgHeartbeatResp): void {
  const pr = r.tracker.progress.get(m.from);
  if (pr === undefined) return;
  pr.markActive();
  pr.probeSent = false;
  if (pr.state === 'replicate' && pr.inflights.isFull()) pr.inflights.freeFirstOne();
  if (pr.match < r.log.lastIndex()) maybeSendAppend(r, m.from, true);

  if (m.ctx.length === 0) return;
  const acks = r.readOnly.recvAck(m.from, m.ctx);
  if (acks === undefined) return;
  if (!hasQuorum(r.tracker.voters, (id) => acks.has(id))) return;
  for (const req of r.readOnly.advance(m.ctx)) respondReadIndex(r, req);
}

function sendTimeoutNow(r: RaftCore, to: PeerId): void {
  r.send({ type: 'MsgTimeoutNow', from: r.id, to, term: r.term });
}

/** Thesis §3.10: bring the transferee up to date, then tell it to campaign. */
export function transferLeadership(r: RaftCore, transferee: PeerId): void {
  const pr = r.tracker.progress.get(transferee);
  if (pr === undefined || pr.isLearner) {
    r.logger.info({ id: r.id, to: transferee }, 'raft: transferee is not a voter, ignoring');
    return;
  }
  if (transferee === r.id) return;
  if (r.leadTransferee !== '') {
    if (r.leadTransferee === transferee) return;
    r.abortLeaderTransfer();
  }
  // The transfer must finish within one election timeout or it is aborted.
  r.electionElapsed = 0;
  r.leadTransferee = transferee;
  r.logger.info({ id: r.id, to: transferee }, 'raft: transferring leadership');
  if (pr.match === r.log.lastIndex()) sendTimeoutNow(r, transferee);
  else maybeSendAppend(r, transferee, true);
}

/** The driver could not reach `id`: stop pipelining to it until it answers again. */
export function reportUnreachable(r: RaftCore, id: PeerId): void {
  const pr = r.tracker.progress.get(id);
  if (r.role !== 'leader' || pr === undefined) return;
  if (pr.state === 'replicate') pr.becomeProbe();
}

/** The driver finished (or failed) sending a MsgSnap to `id`. */
export function reportSnapshot(r: RaftCore, id: PeerId, ok: boolean): void {
  const pr = r.tracker.progress.get(id);
  if (r.role !== 'leader' || pr === undefined || pr.state !== 'snapshot') return;
  if (!ok) pr.pendingSnapshot = 0;
  pr.becomeProbe();
  // Wait for the follower's reply (MsgAppResp or heartbeat response) before probing again.
  pr.probeSent = true;
}
