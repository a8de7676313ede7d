/**
 * Raft snapshot files. The public surface of src/raft/snapshot.
 */
export {
  Snapshotter,
  snapshotFileName,
  parseSnapshotFileName,
  encodeSnapshotFile,
  decodeSnapshotFile,
} from './snapshotter.js';
export type { SkippedSnapshot, SnapshotterOptions } from './snapshotter.js';
