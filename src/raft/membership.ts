/**
 * Single-server membership changes (thesis §4.1): add-learner, add-voter (also promotes a
 * learner; add-learner on a voter demotes it), remove-node. A change takes effect when the
 * driver applies its committed entry and calls `RaftNode.applyConfChange`.
 */
import type { RaftCore } from './core.js';
import { maybeCommit, bcastAppend } from './replication.js';
import type { ConfChange, ConfState } from './types.js';

/** Applies `cc` to the membership; a change that would leave no voter is refused (logged). */
export function applyConfChange(r: RaftCore, cc: ConfChange): ConfState {
  const t = r.tracker;
  const last = r.log.lastIndex();
  const wouldEmpty = t.voters.size === 1 && t.voters.has(cc.nodeId) && cc.type !== 'add-voter';
  if (wouldEmpty) {
    r.logger.warn(
      { id: r.id, cc: cc.type, node: cc.nodeId },
      'raft: refusing to remove the last voter',
    );
    return t.confState();
  }
  let changed: boolean;
  switch (cc.type) {
    case 'add-voter':
      changed = t.addVoter(cc.nodeId, last);
      break;
    case 'add-learner':
      changed = t.addLearner(cc.nodeId, last);
      break;
    case 'remove-node':
      changed = t.remove(cc.nodeId);
      break;
  }
  r.logger.info(
    {
      id: r.id,
      cc: cc.type,
      node: cc.nodeId,
      changed,
      voters: [...t.voters],
      learners: [...t.learners],
    },
    'raft: applied conf change',
  );
  if (r.role !== 'leader' || !changed) return t.confState();

  if (!t.isVoter(r.id)) {
    stepDownRemovedLeader(r);
    return t.confState();
  }
  if (r.leadTransferee !== '' && !t.isVoter(r.leadTransferee)) r.abortLeaderTransfer();
  // The quorum changed: something may now be committed; new members need their first probe.
  maybeCommit(r);
  bcastAppend(r);
  return t.confState();
}

/**
 * A leader that is no longer a voter steps down. If a remaining voter is fully caught up, it
 * hands leadership to it with MsgTimeoutNow so the cluster does not wait an election timeout
 * (the commit of the removal already went out with the MsgApps that followed it).
 */
function stepDownRemovedLeader(r: RaftCore): void {
  const last = r.log.lastIndex();
  let heir = '';
  for (const id of r.tracker.voters) {
    if (r.tracker.progress.get(id)?.match === last) {
      heir = id;
      break;
    }
  }
  if (heir !== '') r.send({ type: 'MsgTimeoutNow', from: r.id, to: heir, term: r.term });
  r.logger.info({ id: r.id, term: r.term, heir }, 'raft: removed from the cluster, stepping down');
  r.becomeFollower(r.term, '');
}
