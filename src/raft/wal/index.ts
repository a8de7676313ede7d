/**
 * Raft's durable log. The public surface of src/raft/wal.
 */
export { Wal, DEFAULT_SEGMENT_BYTES } from './wal.js';
export type { WalOptions, WalOpenResult, WalStats } from './wal.js';
export type { WalState } from './replay.js';
export { WalCorruptError } from './errors.js';
export type { StorageLogger } from './logger.js';
export { NOOP_LOGGER } from './logger.js';
export { fsyncDir, ensureDir, removeFile, writeFully, errnoCode } from './fs.js';
export {
  ByteReader,
  ByteWriter,
  CodecError,
  encodeSnapshotMeta,
  decodeSnapshotMeta,
} from './codec.js';
