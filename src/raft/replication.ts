/**
 * Leader-side log replication (Raft §5.3, §7): MsgApp with batching, pipelining within the
 * inflight window, snapshots for followers behind the compacted log, heartbeats, and the
 * commit rule of §5.4.2. Also answers ReadIndex requests once they are safe.
 */
import type { RaftCore } from './core.js';
import { isStorageError, RaftInvariantError } from './errors.js';
import type { ReadRequest } from './read-only.js';
import type { Entry, EntryType, Index, PeerId } from './types.js';

const EMPTY = new Uint8Array(0);

/**
 * Sends a MsgApp (or a MsgSnap when the needed entries are compacted) to `to`, unless its
 * progress is paused. With `sendIfEmpty` false, nothing is sent when there are no new entries.
 * Returns true if a message was sent.
 */
export function maybeSendAppend(r: RaftCore, to: PeerId, sendIfEmpty: boolean): boolean {
  const pr = r.tracker.progress.get(to);
  if (pr === undefined || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = r.log.term(prevIndex);
  const ents = prevTerm === undefined ? undefined : r.log.entries(pr.next, r.maxSizePerMsg);
  if (prevTerm !== undefined && ents !== undefined) {
    if (ents.length === 0 && !sendIfEmpty) return false;
    const last = ents[ents.length - 1];
    pr.sentEntries(ents.length, last === undefined ? prevIndex : last.index);
    r.send({
      type: 'MsgApp',
      from: r.id,
      to,
      term: r.term,
      index: prevIndex,
      logTerm: prevTerm,
      entries: ents,
      commit: r.log.committed,
    });
    return true;
  }
  return sendSnapshot(r, to);
}

function sendSnapshot(r: RaftCore, to: PeerId): boolean {
  const pr = r.tracker.progress.get(to);
  if (pr === undefined) return false;
  if (!pr.recentActive) {
    r.logger.debug({ id: r.id, to }, 'raft: not sending snapshot to an inactive peer');
    return false;
  }
  let snapshot;
  try {
    snapshot = r.log.snapshot();
  } catch (err) {
    if (isStorageError(err, 'SNAPSHOT_TEMPORARILY_UNAVAILABLE')) {
      r.logger.debug({ id: r.id, to }, 'raft: snapshot temporarily unavailable');
      return false;
    }
    throw err;
  }
  if (snapshot.meta.index === 0) throw new RaftInvariantError('need a non-empty snapshot');
  r.logger.info(
    { id: r.id, to, index: snapshot.meta.index, match: pr.match },
    'raft: sending snapshot',
  );
  pr.becomeSnapshot(snapshot.meta.index);
  r.send({ type: 'MsgSnap', from: r.id, to, term: r.term, snapshot });
  return true;
}

/** Sends MsgApp (possibly empty, to carry the commit index) to every peer that is not paused. */
export function bcastAppend(r: RaftCore): void {
  for (const id of r.tracker.peers(r.id)) maybeSendAppend(r, id, true);
}

/** Heartbeat to one peer; commit is capped at its match so it never commits what it lacks. */
export function sendHeartbeat(r: RaftCore, to: PeerId, ctx: Uint8Array): void {
  const pr = r.tracker.progress.get(to);
  const commit = Math.min(pr?.match ?? 0, r.log.committed);
  r.send({ type: 'MsgHeartbeat', from: r.id, to, term: r.term, commit, ctx });
}

/** Heartbeat to every peer, carrying the newest pending ReadIndex context (if any). */
export function bcastHeartbeat(r: RaftCore, ctx?: Uint8Array): void {
  const c = ctx ?? r.readOnly.lastPendingCtx() ?? EMPTY;
  for (const id of r.tracker.peers(r.id)) sendHeartbeat(r, id, c);
}

/** Leader: appends new entries of the current term; returns the index of the last one. */
export function appendEntries(
  r: RaftCore,
  items: readonly { type: EntryType; data: Uint8Array }[],
): Index {
  let index = r.log.lastIndex();
  const ents: Entry[] = items.map((it) => ({ term: r.term, index: ++index, ...it }));
  const last = r.log.append(ents);
  r.tracker.progress.get(r.id)?.maybeUpdate(last);
  maybeCommit(r);
  return last;
}

/**
 * Raft §5.3/§5.4.2: advances the commit index to what a majority of voters has, if that entry
 * is from the current term. Releases ReadIndex requests that waited for a commit in this term.
 */
export function maybeCommit(r: RaftCore): boolean {
  const committed = r.log.maybeCommit(r.tracker.committed(), r.term);
  if (committed && r.pendingReadIndex.length > 0 && r.committedEntryInCurrentTerm()) {
    const reqs = r.pendingReadIndex;
    r.pendingReadIndex = [];
    for (const req of reqs) handleReadIndex(r, req.from, req.ctx);
  }
  return committed;
}

/** Delivers a ReadIndex answer to its requester (this node, or a follower). */
export function respondReadIndex(r: RaftCore, req: ReadRequest): void {
  if (req.from === r.id) {
    r.readStates.push({ index: req.index, ctx: req.ctx });
  } else {
    r.send({
      type: 'MsgReadIndexResp',
      from: r.id,
      to: req.from,
      term: r.term,
      ctx: req.ctx,
      index: req.index,
    });
  }
}

/**
 * Leader side of ReadIndex (thesis §6.4): a single voter answers at once; otherwise the request
 * waits for an entry of this term to commit, then for a heartbeat round acknowledged by a quorum.
 */
export function handleReadIndex(r: RaftCore, from: PeerId, ctx: Uint8Array): void {
  if (r.tracker.isSingleton() && r.tracker.isVoter(r.id)) {
    respondReadIndex(r, { index: r.log.committed, from, ctx });
    return;
  }
  if (!r.committedEntryInCurrentTerm()) {
    r.pendingReadIndex.push({ index: 0, from, ctx });
    return;
  }
  if (ctx.length === 0) {
    r.logger.warn({ id: r.id, from }, 'raft: dropping ReadIndex with an empty context');
    return;
  }
  r.readOnly.add({ index: r.log.committed, from, ctx });
  r.readOnly.recvAck(r.id, ctx);
  bcastHeartbeat(r, ctx);
}
