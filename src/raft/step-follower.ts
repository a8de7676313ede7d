/**
 * Follower behaviour (Raft §5.2, §5.3, §7): accept entries, heartbeats and snapshots from the
 * leader, forward ReadIndex and transfer requests to it, campaign on MsgTimeoutNow.
 */
import type { RaftCore } from './core.js';
import { hup } from './election.js';
import type { Message, MsgApp, MsgHeartbeat, MsgSnap } from './message.js';
import { assertNever } from './message.js';

export function stepFollower(r: RaftCore, m: Message): void {
  switch (m.type) {
    case 'MsgApp':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleAppendEntries(r, m);
      return;
    case 'MsgHeartbeat':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleHeartbeat(r, m);
      return;
    case 'MsgSnap':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleSnapshot(r, m);
      return;
    case 'MsgTransferLeader':
      if (r.lead === '') {
        r.logger.info({ id: r.id }, 'raft: no leader, dropping leader transfer');
        return;
      }
      r.send({ ...m, from: r.id, to: r.lead, term: r.term });
      return;
    case 'MsgTimeoutNow':
      r.logger.info({ id: r.id, from: m.from }, 'raft: MsgTimeoutNow, campaigning now');
      // Thesis §3.10: the transferee campaigns at once, skipping PreVote and leases.
      hup(r, true);
      return;
    case 'MsgReadIndex':
      if (r.lead === '') return;
      r.send({ ...m, from: m.from, to: r.lead, term: r.term });
      return;
    case 'MsgReadIndexResp':
      r.readStates.push({ index: m.index, ctx: m.ctx });
      return;
    case 'MsgAppResp':
    case 'MsgVote':
    case 'MsgPreVote':
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
    case 'MsgHeartbeatResp':
      return;
    default:
      assertNever(m);
  }
}

/** Raft §5.3 AppendEntries receiver: consistency check, append, commit, reply. */
export function handleAppendEntries(r: RaftCore, m: MsgApp): void {
  const base = { type: 'MsgAppResp', from: r.id, to: m.from, term: r.term } as const;
  if (m.index < r.log.committed) {
    // Already committed here: tell the leader how far we are.
    r.send({ ...base, index: r.log.committed, reject: false, rejectHint: 0, logTerm: 0 });
    return;
  }
  const lastNew = r.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastNew !== undefined) {
    r.send({ ...base, index: lastNew, reject: false, rejectHint: 0, logTerm: 0 });
    return;
  }
  // Reject, hinting the largest index whose term is <= the leader's logTerm, so the leader
  // can skip a whole conflicting term per round trip.
  const hint = r.log.findConflictByTerm(Math.min(m.index, r.log.lastIndex()), m.logTerm);
  r.logger.debug(
    { id: r.id, index: m.index, logTerm: m.logTerm, hint: hint.index },
    'raft: rejecting MsgApp',
  );
  r.send({ ...base, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term });
}

export function handleHeartbeat(r: RaftCore, m: MsgHeartbeat): void {
  r.log.commitTo(Math.min(m.commit, r.log.lastIndex()));
  r.send({ type: 'MsgHeartbeatResp', from: r.id, to: m.from, term: r.term, ctx: m.ctx });
}

/** Raft §7 InstallSnapshot receiver. */
export function handleSnapshot(r: RaftCore, m: MsgSnap): void {
  const base = { type: 'MsgAppResp', from: r.id, to: m.from, term: r.term } as const;
  const { index, term } = m.snapshot.meta;
  if (restoreSnapshot(r, m)) {
    r.logger.info({ id: r.id, index, term }, 'raft: restored snapshot');
    r.send({ ...base, index: r.log.lastIndex(), reject: false, rejectHint: 0, logTerm: 0 });
  } else {
    r.send({ ...base, index: r.log.committed, reject: false, rejectHint: 0, logTerm: 0 });
  }
}

/**
 * Installs the snapshot unless we already have its index committed. If our log already
 * contains the snapshot's last entry, only the commit index moves. The membership is taken
 * from the snapshot, even one that does not list us yet (a joining node learns the rest of
 * its configuration from the conf-change entries that follow).
 */
function restoreSnapshot(r: RaftCore, m: MsgSnap): boolean {
  const s = m.snapshot;
  if (s.meta.index <= r.log.committed) return false;
  if (r.log.matchTerm(s.meta.index, s.meta.term)) {
    r.log.commitTo(s.meta.index);
    return false;
  }
  r.log.restore(s);
  r.tracker.restore(s.meta.confState, r.log.lastIndex());
  return true;
}
