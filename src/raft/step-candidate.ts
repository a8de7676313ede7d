/**
 * Candidate and pre-candidate behaviour (Raft §5.2): count votes, and fall back to follower
 * when a leader of at least our term shows up.
 */
import type { RaftCore } from './core.js';
import { poll } from './election.js';
import type { Message } from './message.js';
import { assertNever } from './message.js';
import { handleAppendEntries, handleHeartbeat, handleSnapshot } from './step-follower.js';

export function stepCandidate(r: RaftCore, m: Message): void {
  switch (m.type) {
    case 'MsgApp':
      r.becomeFollower(m.term, m.from);
      handleAppendEntries(r, m);
      return;
    case 'MsgHeartbeat':
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return;
    case 'MsgSnap':
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return;
    case 'MsgVoteResp':
    case 'MsgPreVoteResp': {
      // Only count replies to the round we are running.
      const expected = r.role === 'pre-candidate' ? 'MsgPreVoteResp' : 'MsgVoteResp';
      if (m.type !== expected) return;
      r.logger.debug(
        { id: r.id, from: m.from, type: m.type, reject: m.reject },
        'raft: received vote',
      );
      poll(r, m.from, !m.reject);
      return;
    }
    case 'MsgTimeoutNow':
      r.logger.debug({ id: r.id, from: m.from }, 'raft: ignoring MsgTimeoutNow as candidate');
      return;
    case 'MsgTransferLeader':
    case 'MsgReadIndex':
      r.logger.debug({ id: r.id, type: m.type }, 'raft: no leader, dropping');
      return;
    case 'MsgAppResp':
    case 'MsgVote':
    case 'MsgPreVote':
    case 'MsgHeartbeatResp':
    case 'MsgReadIndexResp':
      return;
    default:
      assertNever(m);
  }
}
