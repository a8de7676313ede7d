/**
 * Configuration of one Raft peer. Time is counted in ticks (the driver calls `tick()` from its
 * own timer) and randomness is injected, so a node is deterministic given its inputs.
 */
import type { Storage } from './storage.js';
import type { Index, PeerId } from './types.js';

/** Structured logger; a pino child logger satisfies it as-is. */
export interface RaftLogger {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

/** A logger that drops everything (the default). */
export const NOOP_LOGGER: RaftLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
};

export interface RaftConfig {
  /** This peer's id; must not be ''. */
  readonly id: PeerId;
  /**
   * The log and hard state as persisted so far. The membership at start comes from
   * `storage.initialState().confState` (see `bootstrap()` for a brand-new cluster).
   */
  readonly storage: Storage;
  /**
   * Raft §5.2 election timeout in ticks. A follower campaigns after a random timeout in
   * [electionTicks, 2*electionTicks) without hearing from a leader. Must exceed heartbeatTicks.
   */
  readonly electionTicks: number;
  /** A leader sends heartbeats every `heartbeatTicks` ticks. */
  readonly heartbeatTicks: number;
  /**
   * The last index already applied to the state machine (e.g. the snapshot the driver restored).
   * Committed entries are handed out from `applied + 1`. Defaults to the storage's snapshot index.
   */
  readonly applied?: Index;
  /** Soft byte limit of the entries in one MsgApp (at least one entry is always sent). */
  readonly maxSizePerMsg: number;
  /** Max MsgApp in flight to one follower in the replicate state (flow control window). */
  readonly maxInflightMsgs: number;
  /** Thesis §9.6: probe with MsgPreVote before bumping the term, so a rejoining node cannot disrupt. */
  readonly preVote: boolean;
  /**
   * Thesis §6.2: a leader steps down when it has not heard from a quorum within an election
   * timeout, and followers ignore votes while a leader's lease holds.
   */
  readonly checkQuorum: boolean;
  /** Uniform in [0, 1): `Math.random` in production, a seeded generator in tests. */
  readonly random: () => number;
  readonly logger?: RaftLogger;
}

/** Defaults for the tunables: fast failover (10 ticks of ~100 ms), PreVote and CheckQuorum on. */
export const DEFAULT_RAFT_CONFIG = {
  electionTicks: 10,
  heartbeatTicks: 1,
  maxSizePerMsg: 1024 * 1024,
  maxInflightMsgs: 256,
  preVote: true,
  checkQuorum: true,
} as const satisfies Partial<RaftConfig>;

function isPositiveInt(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0;
}

/** Throws RangeError describing the first invalid field of `c`. */
export function validateConfig(c: RaftConfig): void {
  if (typeof c.id !== 'string' || c.id === '') throw new RangeError('raft: id must not be empty');
  if (!isPositiveInt(c.heartbeatTicks)) {
    throw new RangeError(
      `raft: heartbeatTicks must be a positive integer, got ${c.heartbeatTicks}`,
    );
  }
  if (!isPositiveInt(c.electionTicks) || c.electionTicks <= c.heartbeatTicks) {
    throw new RangeError(
      `raft: electionTicks (${c.electionTicks}) must be an integer greater than heartbeatTicks (${c.heartbeatTicks})`,
    );
  }
  if (!Number.isSafeInteger(c.maxSizePerMsg) || c.maxSizePerMsg < 0) {
    throw new RangeError(`raft: maxSizePerMsg must be a non-negative integer`);
  }
  if (!isPositiveInt(c.maxInflightMsgs)) {
    throw new RangeError(`raft: maxInflightMsgs must be a positive integer`);
  }
  if (c.applied !== undefined && (!Number.isSafeInteger(c.applied) || c.applied < 0)) {
    throw new RangeError(`raft: applied must be a non-negative integer`);
  }
  if (typeof c.random !== 'function') throw new RangeError('raft: random must be a function');
}
