import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Entry, HardState, Snapshot } from '../../raft/index.js';
import { Snapshotter } from '../../raft/snapshot/index.js';
import { Wal } from '../../raft/wal/index.js';
import type { DriverLogger, StateMachine } from './driver.js';
import { decodeSnapshotEnvelope, encodeSnapshotEnvelope } from './snapshot-envelope.js';

/**
 * `swarm init --force-new-cluster`: turns a manager's Raft state into a one-member cluster
 * that keeps everything it holds. The newest snapshot plus every entry in the WAL
 * (committed or not, as etcd's force-new-cluster) are applied to `fsm`, and the data dir is
 * rewritten as one snapshot at the last index whose membership is this node alone. The old
 * files are kept beside it (`wal.old-<time>`, `snap.old-<time>`) until the rewrite is
 * durable, then removed.
 */
export async function forceNewCluster(o: {
  dataDir: string;
  id: string;
  addr: string;
  fsm: StateMachine;
  logger: DriverLogger;
}): Promise<{ index: number; term: number; entries: number }> {
  const walDir = path.join(o.dataDir, 'wal');
  const snapDir = path.join(o.dataDir, 'snap');
  const opened = await Wal.open(walDir, { logger: o.logger });
  const { hardState, entries } = opened.state;
  await opened.wal.close();
  // The snapshot the WAL continues from (not merely the newest file: see RaftDriver.open).
  const snap = await new Snapshotter(snapDir).loadForWal(opened.state.snapshot);
  let index = snap?.meta.index ?? 0;
  let term = snap?.meta.term ?? 0;
  if (snap) o.fsm.restore(decodeSnapshotEnvelope(snap.data).fsm);
  const applied: Entry[] = entries.filter((e) => e.index > index);
  for (const e of applied) {
    if (e.type === 'normal' && e.data.length > 0) o.fsm.apply(e);
    index = e.index;
    term = e.term;
  }
  term = Math.max(term, hardState.term);
  const stamp = Date.now();
  await rename(walDir, `${walDir}.old-${stamp}`).catch(() => undefined);
  await rename(snapDir, `${snapDir}.old-${stamp}`).catch(() => undefined);
  const fresh: Snapshot = {
    meta: { index, term, confState: { voters: [o.id], learners: [] } },
    data: encodeSnapshotEnvelope({ peers: new Map([[o.id, o.addr]]), fsm: o.fsm.snapshot() }),
  };
  await new Snapshotter(snapDir).save(fresh);
  const wal = (await Wal.open(walDir, { logger: o.logger })).wal;
  await wal.saveSnapshotMeta(fresh.meta);
  const hs: HardState = { term, vote: o.id, commit: index };
  await wal.save(hs, []);
  await wal.close();
  await rm(`${walDir}.old-${stamp}`, { recursive: true, force: true });
  await rm(`${snapDir}.old-${stamp}`, { recursive: true, force: true });
  o.logger.info({ index, term, entries: applied.length }, 'raft: forced a new one-member cluster');
  return { index, term, entries: applied.length };
}
