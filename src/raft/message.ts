/**
 * Messages exchanged between Raft peers. Every variant carries `from`, `to` and `term`; the
 * union is discriminated by `type`. Local events (tick, propose, campaign) are methods on
 * `RaftNode`, not messages. `encodeMessage`/`decodeMessage` (codec.ts) serialize every variant.
 */
import type { Entry, Index, PeerId, Snapshot, Term } from './types.js';

interface Envelope {
  readonly from: PeerId;
  readonly to: PeerId;
  readonly term: Term;
}

/** Raft §5.3 AppendEntries: `index`/`logTerm` identify the entry preceding `entries`. */
export interface MsgApp extends Envelope {
  readonly type: 'MsgApp';
  readonly index: Index;
  readonly logTerm: Term;
  readonly entries: readonly Entry[];
  /** The leader's commit index. */
  readonly commit: Index;
}

/**
 * Reply to MsgApp (and to MsgSnap). On success `index` is the last index known to match.
 * On rejection `index` echoes the rejected MsgApp's index and `rejectHint`/`logTerm` point the
 * leader at a likely match (etcd's fast log backtracking).
 */
export interface MsgAppResp extends Envelope {
  readonly type: 'MsgAppResp';
  readonly index: Index;
  readonly reject: boolean;
  readonly rejectHint: Index;
  readonly logTerm: Term;
}

/** Raft §5.2 RequestVote, and the thesis §9.6 PreVote (same fields; `term` is the future term). */
export interface MsgVoteRequest extends Envelope {
  readonly type: 'MsgVote' | 'MsgPreVote';
  /** Last log index of the candidate. */
  readonly index: Index;
  /** Term of the candidate's last entry. */
  readonly logTerm: Term;
  /** Set when the election follows MsgTimeoutNow: voters ignore their leader lease. */
  readonly transfer: boolean;
}

export interface MsgVoteResponse extends Envelope {
  readonly type: 'MsgVoteResp' | 'MsgPreVoteResp';
  readonly reject: boolean;
}

/** Leader heartbeat; `ctx` non-empty when the heartbeat confirms leadership for a ReadIndex. */
export interface MsgHeartbeat extends Envelope {
  readonly type: 'MsgHeartbeat';
  readonly commit: Index;
  readonly ctx: Uint8Array;
}

export interface MsgHeartbeatResp extends Envelope {
  readonly type: 'MsgHeartbeatResp';
  readonly ctx: Uint8Array;
}

/** Raft §7 InstallSnapshot (whole snapshot in one message). */
export interface MsgSnap extends Envelope {
  readonly type: 'MsgSnap';
  readonly snapshot: Snapshot;
}

/** Leadership transfer (thesis §3.10): tells the transferee to campaign now. */
export interface MsgTimeoutNow extends Envelope {
  readonly type: 'MsgTimeoutNow';
}

/** A follower forwards a ReadIndex request to its leader. */
export interface MsgReadIndex extends Envelope {
  readonly type: 'MsgReadIndex';
  readonly ctx: Uint8Array;
}

/** The leader's answer to MsgReadIndex: reads at `ctx` may be served once applied >= `index`. */
export interface MsgReadIndexResp extends Envelope {
  readonly type: 'MsgReadIndexResp';
  readonly ctx: Uint8Array;
  readonly index: Index;
}

/** A follower forwards a leadership-transfer request to its leader. */
export interface MsgTransferLeader extends Envelope {
  readonly type: 'MsgTransferLeader';
  readonly transferee: PeerId;
}

/** Every message a peer can send. */
export type Message =
  | MsgApp
  | MsgAppResp
  | MsgVoteRequest
  | MsgVoteResponse
  | MsgHeartbeat
  | MsgHeartbeatResp
  | MsgSnap
  | MsgTimeoutNow
  | MsgReadIndex
  | MsgReadIndexResp
  | MsgTransferLeader;

export type MessageType = Message['type'];

/** All message types, in codec tag order (append only: the position is the wire tag). */
export const MESSAGE_TYPES: readonly MessageType[] = [
  'MsgApp',
  'MsgAppResp',
  'MsgVote',
  'MsgVoteResp',
  'MsgPreVote',
  'MsgPreVoteResp',
  'MsgHeartbeat',
  'MsgHeartbeatResp',
  'MsgSnap',
  'MsgTimeoutNow',
  'MsgReadIndex',
  'MsgReadIndexResp',
  'MsgTransferLeader',
];

/** Compile-time exhaustiveness guard for switches over unions. */
export function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}
