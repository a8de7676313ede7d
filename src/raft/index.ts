/**
 * The Raft core's public surface: the only import path other folders use.
 * See README.md in this folder for the design, the Ready contract and the bootstrap procedure.
 */
export type {
  ConfChange,
  ConfChangeType,
  ConfState,
  Entry,
  EntryType,
  HardState,
  Index,
  PeerId,
  Snapshot,
  SnapshotMeta,
  Term,
} from './types.js';
export { EMPTY_HARD_STATE } from './types.js';
export type {
  Message,
  MessageType,
  MsgApp,
  MsgAppResp,
  MsgHeartbeat,
  MsgHeartbeatResp,
  MsgReadIndex,
  MsgReadIndexResp,
  MsgSnap,
  MsgTimeoutNow,
  MsgTransferLeader,
  MsgVoteRequest,
  MsgVoteResponse,
} from './message.js';
export { MESSAGE_TYPES } from './message.js';
export {
  decodeConfChange,
  decodeEntry,
  decodeMessage,
  encodeConfChange,
  encodeEntry,
  encodeMessage,
} from './codec.js';
export type { Storage } from './storage.js';
export { EMPTY_CONF_STATE, MemoryStorage } from './storage.js';
export type { RaftConfig, RaftLogger } from './config.js';
export { DEFAULT_RAFT_CONFIG, NOOP_LOGGER, validateConfig } from './config.js';
export type { Role } from './core.js';
export type { ReadState } from './read-only.js';
export type { ProgressStatus, ProposeResult, Ready, SoftState, Status } from './ready.js';
export { RaftNode } from './node.js';
export { BOOTSTRAP_INDEX, bootstrap } from './bootstrap.js';
export type { StorageErrorCode } from './errors.js';
export { isStorageError, RaftInvariantError, StorageError } from './errors.js';
