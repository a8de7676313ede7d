import { randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  DEFAULT_RAFT_CONFIG,
  MemoryStorage,
  RaftNode,
  bootstrap,
  decodeConfChange,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Index,
  type Message,
  type PeerId,
  type RaftLogger,
  type Ready,
  type Snapshot,
  type Status,
  type Term,
} from '../../raft/index.js';
import { Snapshotter } from '../../raft/snapshot/index.js';
import { coalesceMessages, type Transport } from '../../raft/transport/index.js';
import { Wal } from '../../raft/wal/index.js';
import { TswarmError, messages } from '../../shared/errors.js';
import { decodeSnapshotEnvelope, encodeSnapshotEnvelope } from './snapshot-envelope.js';

/**
 * The replicated state machine the driver feeds. apply() must be deterministic: every
 * replica applies the same entries in the same order. Its return value resolves the
 * proposer's promise on the node that proposed the entry.
 */
export interface StateMachine {
  /** One committed normal entry (never an empty leader no-op, never a conf change). */
  apply(entry: Entry): unknown;
  /** An image of everything applied so far. */
  snapshot(): Uint8Array;
  /** Replaces the whole state with an image taken by snapshot() (maybe on another node). */
  restore(data: Uint8Array): void;
}

/** A pino Logger satisfies this (RaftLogger plus error). */
export interface DriverLogger extends RaftLogger {
  error(fields: object, msg: string): void;
}

/** A raft member and its transport address ("host:port"). */
export interface RaftPeer {
  readonly id: PeerId;
  readonly addr: string;
}

export interface RaftDriverOptions {
  readonly id: PeerId;
  /** Holds wal/ and snap/. */
  readonly dataDir: string;
  readonly transport: Transport;
  readonly fsm: StateMachine;
  /**
   * Only for the first node(s) of a new cluster, and only used when dataDir holds no state
   * yet: the initial voters (including this node). Ignored on restart.
   */
  readonly bootstrapVoters?: readonly RaftPeer[];
  /**
   * Addresses known from outside raft (e.g. the join response). A joining node needs its
   * leader's address before it can answer; members learn the rest from conf-change entries
   * and snapshots.
   */
  readonly peers?: readonly RaftPeer[];
  /** Default 50 ms. */
  readonly tickMs?: number;
  /** Default 10 (election timeout 500-1000 ms with tickMs 50). */
  readonly electionTicks?: number;
  /** Default 1. */
  readonly heartbeatTicks?: number;
  /** Take a snapshot after this many applied entries. Default 10,000. */
  readonly snapshotEvery?: number;
  /** Entries kept in memory behind a snapshot so slow followers avoid a snapshot. Default 1,000. */
  readonly snapshotCatchUpEntries?: number;
  /** A learner is promoted once its match is within this many entries of the leader's last. */
  readonly promoteLag?: number;
  /** Default timeout of propose/readBarrier/membership calls. Default 5,000 ms. */
  readonly defaultTimeoutMs?: number;
  readonly maxSizePerMsg?: number;
  /** Flow-control window per follower, in MsgApps (about one per proposal). Default 4,096. */
  readonly maxInflightMsgs?: number;
  /**
   * Let the leader send MsgApp/heartbeats before its own fdatasync returns instead of after
   * (Raft thesis §10.2.1; etcd does this). Off by default: the team contract orders
   * persist-then-send for every node. See canSendEarly() for why it is safe.
   */
  readonly parallelLeaderPersist?: boolean;
  readonly random?: () => number;
  readonly logger: DriverLogger;
}

/** What status() returns: the core's Status plus the driver's view. */
export interface DriverStatus extends Status {
  readonly appliedIndex: Index;
  readonly snapshotIndex: Index;
  readonly peers: ReadonlyMap<PeerId, string>;
  readonly pendingProposals: number;
}

/** Counters for benchmarks and metrics. */
export interface DriverStats {
  readies: number;
  walSaves: number;
  entriesPersisted: number;
  entriesApplied: number;
  messagesSent: number;
  snapshotsTaken: number;
  snapshotsRestored: number;
}

type LeaderListener = (leader: PeerId, term: Term) => void;

interface Pending {
  readonly term: Term;
  readonly deadline: number;
  readonly resolve: (v: { index: Index; result: unknown }) => void;
  readonly reject: (err: unknown) => void;
}

interface ReadWait {
  index: Index;
  readonly deadline: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

interface LeaderWait {
  readonly deadline: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Largest proposal accepted. An entry travels whole inside one gRPC message, and the daemon's
 * shared server may keep gRPC's default 4 MB receive limit; big state belongs in snapshots.
 */
export const MAX_PROPOSAL_BYTES = 3 * 1024 * 1024;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function notLeader(leader: PeerId): TswarmError {
  return new TswarmError(
    'NOT_LEADER',
    leader ? `this node is not the raft leader; the leader is ${leader}` : messages.noLeader,
  );
}

/** A proposal lost its leader: NOT_LEADER naming the new one if known, else NO_QUORUM. */
function lostLeader(leader: PeerId, self: PeerId): TswarmError {
  return leader && leader !== self ? notLeader(leader) : noQuorum();
}

function noQuorum(): TswarmError {
  return new TswarmError('NO_QUORUM', messages.noLeader);
}

/**
 * Runs one raft member: owns its timer, WAL, snapshots, transport and state machine, and is
 * the only place the pure core (src/raft) meets I/O.
 *
 * One drain loop handles every Ready in the order the core requires: persist (snapshot, then
 * hard state + entries in one Wal.save, i.e. one fdatasync), send, apply, advance. Only one
 * drain runs at a time; proposals and messages arriving while it waits on the disk are taken
 * up by the next Ready, so many proposals share one fdatasync (group commit).
 */
export class RaftDriver {
  private readonly log: DriverLogger;
  private readonly opts: RaftDriverOptions;
  private readonly tickMs: number;
  private readonly snapshotEvery: number;
  private readonly catchUp: number;
  private readonly promoteLag: number;
  private readonly defaultTimeoutMs: number;
  private readonly parallelLeaderPersist: boolean;
  /** Term and vote as last synced to the WAL. */
  private durable: HardState;
  private readonly peerBook = new Map<PeerId, string>();
  private readonly pending = new Map<Index, Pending>();
  private readonly reads = new Map<string, ReadWait>();
  private readonly appliedWaits: ReadWait[] = [];
  private readonly leaderWaits = new Set<LeaderWait>();
  private readonly leaderListeners = new Set<LeaderListener>();
  readonly stats: DriverStats = {
    readies: 0,
    walSaves: 0,
    entriesPersisted: 0,
    entriesApplied: 0,
    messagesSent: 0,
    snapshotsTaken: 0,
    snapshotsRestored: 0,
  };
  private confState: ConfState;
  private applied: Index;
  private snapshotIndex: Index;
  private leader: PeerId = '';
  private leading = false;
  private draining = false;
  private drainDone: Promise<void> = Promise.resolve();
  private snapshotJob: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failed: unknown;
  private readSeq = 0;
  private readonly readPrefix = randomBytes(8).toString('hex');

  private constructor(
    opts: RaftDriverOptions,
    private readonly node: RaftNode,
    private readonly storage: MemoryStorage,
    private readonly wal: Wal,
    private readonly snapshotter: Snapshotter,
    restored: { applied: Index; confState: ConfState; peers: ReadonlyMap<PeerId, string> },
  ) {
    this.opts = opts;
    this.log = opts.logger;
    this.tickMs = opts.tickMs ?? 50;
    this.snapshotEvery = opts.snapshotEvery ?? 10_000;
    this.catchUp = opts.snapshotCatchUpEntries ?? 1_000;
    this.promoteLag = opts.promoteLag ?? 100;
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? 5_000;
    this.parallelLeaderPersist = opts.parallelLeaderPersist ?? false;
    this.durable = storage.initialState().hardState;
    this.applied = restored.applied;
    this.snapshotIndex = restored.applied;
    this.confState = restored.confState;
    for (const [id, addr] of restored.peers) this.learnPeer(id, addr);
    for (const p of opts.bootstrapVoters ?? []) this.learnPeer(p.id, p.addr);
    for (const p of opts.peers ?? []) this.learnPeer(p.id, p.addr);
  }

  /**
   * Opens (or creates) the member's state in dataDir, starts the transport and the ticker.
   *
   * Recovery: the newest readable snapshot is restored into the state machine and the
   * MemoryStorage, then the WAL's hard state and the entries after the snapshot are loaded;
   * committed entries are re-applied through the normal Ready path. A fresh dataDir with
   * bootstrapVoters starts a new cluster; a fresh dataDir without them waits to be brought
   * in by a leader (join).
   */
  static async open(opts: RaftDriverOptions): Promise<RaftDriver> {
    const log = opts.logger;
    const snapshotter = new Snapshotter(path.join(opts.dataDir, 'snap'));
    const opened = await Wal.open(path.join(opts.dataDir, 'wal'), { logger: log });
    const { wal, state } = opened;
    if (opened.repaired) {
      log.warn({ ...opened.repaired }, 'raft WAL tail repaired');
    }
    // The snapshot to restore is the one the WAL's last marker names, not the newest file: a
    // crash between Snapshotter.save and Wal.saveSnapshotMeta leaves a newer file that the
    // WAL's entries need not continue (for a snapshot received from the leader they end
    // below it), and restoring it would leave a gap at the next append.
    let snap: Snapshot | undefined;
    try {
      snap = await snapshotter.loadForWal(state.snapshot);
    } catch (err) {
      await wal.close();
      throw new TswarmError(
        'INTERNAL',
        `raft: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const storage = new MemoryStorage();
    let peers: ReadonlyMap<PeerId, string> = new Map();
    let applied: Index = 0;
    let confState: ConfState = { voters: [], learners: [] };
    const fresh = !snap && state.entries.length === 0 && state.hardState.term === 0;
    try {
      if (snap) {
        const env = decodeSnapshotEnvelope(snap.data);
        storage.applySnapshot(snap);
        opts.fsm.restore(env.fsm);
        peers = env.peers;
        applied = snap.meta.index;
        confState = snap.meta.confState;
      }
      const entries = state.entries.filter((e) => e.index > applied);
      if (entries.length > 0 && (entries[0] as Entry).index !== applied + 1) {
        throw new TswarmError(
          'INTERNAL',
          `raft: WAL entries start at ${(entries[0] as Entry).index} but the snapshot ends at ${applied}`,
        );
      }
      storage.setHardState(state.hardState);
      storage.append(entries);
      if (fresh && opts.bootstrapVoters && opts.bootstrapVoters.length > 0) {
        const voters = opts.bootstrapVoters.map((p) => p.id);
        if (!voters.includes(opts.id)) {
          throw new TswarmError('INVALID_ARGUMENT', `bootstrap voters must include ${opts.id}`);
        }
        // bootstrap() on a scratch storage gives the initial snapshot meta and hard state;
        // the real storage gets the same snapshot with data: the address book travels with
        // it, like with every later snapshot, so the leader can hand it to a joining node.
        const scratch = new MemoryStorage();
        const boot = bootstrap(scratch, voters);
        const bootSnap: Snapshot = {
          meta: boot.meta,
          data: encodeSnapshotEnvelope({
            peers: new Map(opts.bootstrapVoters.map((p) => [p.id, p.addr])),
            fsm: opts.fsm.snapshot(),
          }),
        };
        const hs = scratch.initialState().hardState;
        await snapshotter.save(bootSnap);
        await wal.saveSnapshotMeta(bootSnap.meta);
        await wal.save(hs, []);
        storage.applySnapshot(bootSnap);
        storage.setHardState(hs);
        applied = bootSnap.meta.index;
        confState = bootSnap.meta.confState;
        log.info({ voters }, 'raft cluster bootstrapped');
      }
    } catch (err) {
      await wal.close();
      throw err;
    }
    const node = new RaftNode({
      ...DEFAULT_RAFT_CONFIG,
      id: opts.id,
      storage,
      applied,
      electionTicks: opts.electionTicks ?? 10,
      heartbeatTicks: opts.heartbeatTicks ?? 1,
      maxSizePerMsg: opts.maxSizePerMsg ?? DEFAULT_RAFT_CONFIG.maxSizePerMsg,
      // One MsgApp per proposal leaves the core (the transport coalesces them later), so the
      // window counts proposals: 256 would throttle a leader under 256 concurrent proposers.
      maxInflightMsgs: opts.maxInflightMsgs ?? 4096,
      preVote: true,
      checkQuorum: true,
      random: opts.random ?? Math.random,
      logger: log,
    });
    const driver = new RaftDriver(opts, node, storage, wal, snapshotter, {
      applied,
      confState,
      peers,
    });
    try {
      await driver.start();
    } catch (err) {
      await driver.stop().catch(() => undefined);
      throw err;
    }
    return driver;
  }

  // ---- public API ---------------------------------------------------------------------

  /**
   * Proposes `data` (must not be empty). Resolves once the entry is applied locally, with
   * fsm.apply's return value. Rejects with NOT_LEADER (message names the leader) when this
   * node is not the leader or loses leadership before the entry applies, or when the entry
   * is superseded; with NO_QUORUM when no leader appears or the entry does not commit
   * within timeoutMs. Without a known leader it waits (up to timeoutMs) for one.
   */
  async propose(data: Uint8Array, timeoutMs?: number): Promise<{ index: Index; result: unknown }> {
    if (data.length === 0) throw new TswarmError('INVALID_ARGUMENT', 'empty raft proposal');
    if (data.length > MAX_PROPOSAL_BYTES) {
      throw new TswarmError(
        'INVALID_ARGUMENT',
        `raft proposal of ${data.length} bytes exceeds the ${MAX_PROPOSAL_BYTES}-byte limit`,
      );
    }
    const deadline = Date.now() + (timeoutMs ?? this.defaultTimeoutMs);
    for (;;) {
      this.assertRunning();
      const res = this.node.propose(data);
      if (res.ok) return this.track(res.index, res.term, deadline);
      if (res.reason === 'NOT_LEADER' && this.leader !== '' && this.leader !== this.opts.id) {
        throw notLeader(this.leader);
      }
      // No leader yet, or a transfer in progress: wait for the next leader.
      await this.waitLeaderChange(deadline);
    }
  }

  /**
   * Linearizable read barrier (Raft §6.4 ReadIndex): resolves once this node has applied
   * everything committed before the call. Works on followers (forwarded to the leader).
   */
  async readBarrier(timeoutMs?: number): Promise<void> {
    this.assertRunning();
    const deadline = Date.now() + (timeoutMs ?? this.defaultTimeoutMs);
    const ctx = `${this.readPrefix}-${++this.readSeq}`;
    const index = await new Promise<Index>((resolve, reject) => {
      this.reads.set(ctx, {
        index: 0,
        deadline,
        resolve: () => {
          resolve(this.reads.get(ctx)?.index ?? 0);
        },
        reject,
      });
      this.node.readIndex(utf8.encode(ctx));
      this.kick();
    }).finally(() => this.reads.delete(ctx));
    await this.waitApplied(index, deadline);
  }

  /**
   * Adds a member: proposes it as a learner, waits until its log is within promoteLag
   * entries of the leader's, then promotes it to voter. Leader only (NOT_LEADER otherwise).
   */
  async addMember(id: PeerId, addr: string, timeoutMs?: number): Promise<void> {
    const deadline = Date.now() + (timeoutMs ?? Math.max(this.defaultTimeoutMs, 30_000));
    if (this.confState.voters.includes(id)) {
      if (this.peerBook.get(id) === addr) return;
      throw new TswarmError('ALREADY_EXISTS', `raft member ${id} already exists`);
    }
    this.transportSetPeer(id, addr);
    const context = utf8.encode(addr);
    if (!this.confState.learners.includes(id)) {
      await this.confChange({ type: 'add-learner', nodeId: id, context }, deadline);
    }
    await this.waitUntil(
      () => {
        const st = this.node.status();
        if (st.role !== 'leader') throw lostLeader(st.leader, this.opts.id);
        const pr = st.progress.get(id);
        return pr !== undefined && pr.match + this.promoteLag >= this.storage.lastIndex();
      },
      deadline,
      `learner ${id} did not catch up`,
    );
    await this.confChange({ type: 'add-voter', nodeId: id, context }, deadline);
    this.log.info({ member: id, addr }, 'raft member added');
  }

  /** Removes a member (voter or learner). Leader only. */
  async removeMember(id: PeerId, timeoutMs?: number): Promise<void> {
    const deadline = Date.now() + (timeoutMs ?? this.defaultTimeoutMs);
    if (!this.confState.voters.includes(id) && !this.confState.learners.includes(id)) {
      throw new TswarmError('NOT_FOUND', `raft member ${id} not found`);
    }
    await this.confChange(
      { type: 'remove-node', nodeId: id, context: new Uint8Array(0) },
      deadline,
    );
    this.log.info({ member: id }, 'raft member removed');
  }

  /**
   * Hands leadership to `to` (default: the most up-to-date other voter) and resolves once
   * it leads. Leader only.
   */
  async transferLeadership(to?: PeerId, timeoutMs?: number): Promise<void> {
    this.assertRunning();
    const deadline = Date.now() + (timeoutMs ?? this.defaultTimeoutMs);
    const st = this.node.status();
    if (st.role !== 'leader') throw lostLeader(st.leader, this.opts.id);
    let target = to;
    if (target === undefined) {
      let best = -1;
      for (const [id, pr] of st.progress) {
        if (id === this.opts.id || !this.confState.voters.includes(id)) continue;
        if (pr.match > best) {
          best = pr.match;
          target = id;
        }
      }
    }
    if (target === undefined || !this.confState.voters.includes(target)) {
      throw new TswarmError('INVALID_ARGUMENT', `no voter to transfer raft leadership to`);
    }
    if (target === this.opts.id) return;
    this.node.transferLeadership(target);
    this.kick();
    const want = target;
    await this.waitUntil(
      () => this.leader === want,
      deadline,
      `leadership did not move to ${want}`,
    );
  }

  status(): DriverStatus {
    return {
      ...this.node.status(),
      appliedIndex: this.applied,
      snapshotIndex: this.snapshotIndex,
      peers: new Map(this.peerBook),
      pendingProposals: this.pending.size,
    };
  }

  /** The current leader's id as this node knows it; '' when none. */
  leaderId(): PeerId {
    return this.leader;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The address book (members' transport addresses). */
  peerAddresses(): ReadonlyMap<PeerId, string> {
    return new Map(this.peerBook);
  }

  /** Calls cb(leader, term) whenever the known leader changes ('' = none). Returns an unsubscribe. */
  onLeaderChange(cb: LeaderListener): () => void {
    this.leaderListeners.add(cb);
    return () => {
      this.leaderListeners.delete(cb);
    };
  }

  /**
   * Stops ticking, fails every waiting call (UNAVAILABLE), waits for the drain in progress to
   * finish its step and for a snapshot being written, stops the transport (the driver owns
   * it once opened) and closes the WAL. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.failAll(new TswarmError('UNAVAILABLE', `raft member ${this.opts.id} is stopping`));
    await this.drainDone.catch(() => undefined);
    await this.snapshotJob;
    await this.opts.transport.stop();
    await this.wal.close();
    this.log.info({}, 'raft driver stopped');
  }

  // ---- the loop -----------------------------------------------------------------------

  private async start(): Promise<void> {
    const t = this.opts.transport;
    t.onMessage((m: Message) => {
      if (this.stopped) return;
      this.node.step(m);
      this.kick();
    });
    t.onUnreachable((id) => {
      if (this.stopped) return;
      this.node.reportUnreachable(id);
    });
    t.onSnapshotStatus((id, ok) => {
      if (this.stopped) return;
      this.node.reportSnapshot(id, ok);
      this.kick();
    });
    await t.start();
    this.timer = setInterval(() => {
      this.onTick();
    }, this.tickMs);
    // A single-voter cluster elects itself without waiting for a timeout.
    if (this.confState.voters.length === 1 && this.confState.voters[0] === this.opts.id) {
      this.node.campaign();
    }
    this.kick();
  }

  private onTick(): void {
    if (this.stopped) return;
    this.node.tick();
    this.expire(Date.now());
    this.kick();
  }

  /** Starts a drain unless one is running (that one re-checks hasReady before it ends). */
  private kick(): void {
    if (this.draining || this.stopped) return;
    if (!this.node.hasReady()) return;
    this.draining = true;
    this.drainDone = this.drain();
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        if (this.isStopped() || !this.node.hasReady()) {
          this.draining = false;
          return;
        }
        const rd = this.node.ready();
        await this.handleReady(rd);
        if (
          !this.isStopped() &&
          this.snapshotJob === undefined &&
          this.applied - this.snapshotIndex >= this.snapshotEvery
        ) {
          this.startSnapshot();
        }
      }
    } catch (err) {
      this.draining = false;
      this.fail(err);
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    this.stats.readies++;
    // 0. Committed entries that were already durable here before this Ready (below its first
    // new entry) are applied while the disk works, as etcd does: they are on a quorum's
    // disks, this one included. Committed entries among rd.entries (a follower told the
    // commit along with the entries, or a single-voter leader) wait for the fdatasync.
    const committed = rd.committedEntries;
    const firstNew = rd.entries[0]?.index ?? Number.POSITIVE_INFINITY;
    let early = 0;
    if (!rd.snapshot) {
      while (early < committed.length && (committed[early] as Entry).index < firstNew) early++;
      for (let i = 0; i < early; i++) this.applyEntry(committed[i] as Entry);
      if (early > 0) this.wakeApplied();
    }
    // 1b. Optionally (parallelLeaderPersist), a leader sends its replication traffic before
    // its own fdatasync, so its disk write overlaps the followers' (Raft thesis §10.2.1).
    let messages = rd.messages;
    if (this.parallelLeaderPersist && this.canSendEarly(rd)) {
      const now: Message[] = [];
      const later: Message[] = [];
      for (const m of messages) {
        if (m.type === 'MsgApp' || m.type === 'MsgHeartbeat') now.push(m);
        else later.push(m);
      }
      this.send(now);
      messages = later;
    }
    // 1. Durable first: snapshot, then hard state + entries (one fdatasync).
    if (rd.snapshot) {
      // A local snapshot still being written must land first: the WAL refuses an older
      // snapshot marker after a newer one.
      await this.snapshotJob;
      await this.snapshotter.save(rd.snapshot);
      await this.wal.saveSnapshotMeta(rd.snapshot.meta);
    }
    if (rd.entries.length > 0 || rd.mustSync || rd.snapshot) {
      await this.wal.save(rd.hardState, rd.entries);
      this.stats.walSaves++;
      this.stats.entriesPersisted += rd.entries.length;
      if (rd.hardState) this.durable = rd.hardState;
    }
    // NOTE(driver): a Ready that only moves the commit index is not synced (etcd's
    // MustSync): the commit index is recoverable from the leader. It is written with the
    // next synced Ready, whose hardState supersedes it.
    if (this.stopped) return;
    if (rd.snapshot) this.storage.applySnapshot(rd.snapshot);
    if (rd.hardState) this.storage.setHardState(rd.hardState);
    if (rd.entries.length > 0) this.storage.append(rd.entries);
    // 2. Then the network.
    this.send(messages);
    // 3. Then the state machine.
    if (rd.snapshot) this.restoreSnapshot(rd.snapshot);
    for (let i = early; i < committed.length; i++) this.applyEntry(committed[i] as Entry);
    if (committed.length > early) this.wakeApplied();
    for (const rs of rd.readStates) {
      const w = this.reads.get(fromUtf8.decode(rs.ctx));
      if (w) {
        w.index = rs.index;
        w.resolve();
      }
    }
    if (rd.softState) this.onSoftState(rd.softState.leader, rd.softState.role);
    // 4. Hand back.
    this.node.advance(rd);
  }

  private send(messages: readonly Message[]): void {
    if (messages.length === 0) return;
    const out = coalesceMessages(messages);
    this.stats.messagesSent += out.length;
    this.opts.transport.send(out);
  }

  /**
   * May this Ready's MsgApp/MsgHeartbeat leave before its fdatasync? Only on a leader, and
   * only when the Ready changes neither term nor vote (a vote or a new term must be durable
   * before anyone hears of it). Entries this leader has not yet synced cannot become visible
   * as committed before they are synced: its commit index only reaches other nodes and the
   * state machine through later Readies, and the next Ready is taken only after this one's
   * fdatasync returned.
   */
  private canSendEarly(rd: Ready): boolean {
    const role = rd.softState?.role ?? (this.leading ? 'leader' : 'follower');
    if (role !== 'leader' || rd.snapshot) return false;
    const hs = rd.hardState;
    return hs === undefined || (hs.term === this.durable.term && hs.vote === this.durable.vote);
  }

  private applyEntry(e: Entry): void {
    let result: unknown;
    let error: unknown;
    if (e.type === 'conf-change') {
      const cc = decodeConfChange(e.data);
      this.confState = this.node.applyConfChange(cc);
      this.onConfChangeApplied(cc);
    } else if (e.data.length > 0) {
      try {
        result = this.opts.fsm.apply(e);
      } catch (err) {
        // apply() is deterministic, so every replica failed the same way: the entry is a
        // no-op everywhere and its proposer gets the error.
        error = err;
        this.log.error(
          { index: e.index, err: err instanceof Error ? err.message : String(err) },
          'state machine refused a committed entry',
        );
      }
    }
    this.applied = e.index;
    this.stats.entriesApplied++;
    const p = this.pending.get(e.index);
    if (!p) return;
    this.pending.delete(e.index);
    if (p.term !== e.term) p.reject(lostLeader(this.leader, this.opts.id));
    else if (error !== undefined) p.reject(error);
    else p.resolve({ index: e.index, result });
  }

  private onConfChangeApplied(cc: ConfChange): void {
    if (cc.type === 'remove-node') {
      this.peerBook.delete(cc.nodeId);
      if (cc.nodeId !== this.opts.id) this.opts.transport.removePeer(cc.nodeId);
      else this.log.warn({}, 'this node was removed from the raft cluster');
      return;
    }
    const addr = fromUtf8.decode(cc.context);
    if (addr) this.learnPeer(cc.nodeId, addr);
  }

  private restoreSnapshot(snap: Snapshot): void {
    const env = decodeSnapshotEnvelope(snap.data);
    this.opts.fsm.restore(env.fsm);
    for (const [id, addr] of env.peers) this.learnPeer(id, addr);
    this.confState = snap.meta.confState;
    this.applied = snap.meta.index;
    this.snapshotIndex = snap.meta.index;
    this.stats.snapshotsRestored++;
    // Proposals at or below the snapshot have an unknown fate here.
    for (const [index, p] of this.pending) {
      if (index <= snap.meta.index) {
        this.pending.delete(index);
        p.reject(lostLeader(this.leader, this.opts.id));
      }
    }
    this.log.info(
      { index: snap.meta.index, bytes: snap.data.length },
      'raft snapshot restored into the state machine',
    );
  }

  /**
   * Takes a snapshot of the state machine at the applied index. The image and the
   * MemoryStorage snapshot are made here, between Readies; writing the file, recording it in
   * the WAL, compacting and releasing WAL segments continue in the background so the loop
   * (and the heartbeats it sends) never stalls on a large snapshot write.
   */
  private startSnapshot(): void {
    const index = this.applied;
    const data = encodeSnapshotEnvelope({
      peers: this.memberBook(),
      fsm: this.opts.fsm.snapshot(),
    });
    const snap = this.storage.createSnapshot(index, this.confState, data);
    this.snapshotIndex = index;
    this.snapshotJob = this.persistSnapshot(snap).then(
      () => {
        this.snapshotJob = undefined;
      },
      (err: unknown) => {
        this.snapshotJob = undefined;
        this.fail(err);
      },
    );
  }

  private async persistSnapshot(snap: Snapshot): Promise<void> {
    const t0 = performance.now();
    await this.snapshotter.save(snap);
    await this.wal.saveSnapshotMeta(snap.meta);
    const compactTo = snap.meta.index - this.catchUp;
    if (compactTo > this.storage.firstIndex()) this.storage.compact(compactTo);
    await this.wal.releaseTo(snap.meta.index);
    await this.snapshotter.prune(2);
    this.stats.snapshotsTaken++;
    this.log.info(
      { index: snap.meta.index, bytes: snap.data.length, ms: Math.round(performance.now() - t0) },
      'raft snapshot taken',
    );
  }

  private onSoftState(leader: PeerId, role: string): void {
    const wasLeading = this.leading;
    this.leading = role === 'leader';
    if (wasLeading && !this.leading) {
      for (const [index, p] of this.pending) {
        this.pending.delete(index);
        p.reject(lostLeader(leader, this.opts.id));
      }
    }
    if (leader === this.leader) return;
    this.leader = leader;
    const term = this.node.status().term;
    this.log.info({ leader, term }, leader ? 'raft leader changed' : 'raft leader lost');
    if (leader !== '') {
      for (const w of this.leaderWaits) w.resolve();
      this.leaderWaits.clear();
      // ReadIndex requests made without a leader were dropped by the core: ask again.
      for (const [ctx, w] of this.reads) if (w.index === 0) this.node.readIndex(utf8.encode(ctx));
    }
    for (const cb of this.leaderListeners) {
      try {
        cb(leader, term);
      } catch (err) {
        this.log.error({ err: String(err) }, 'leader-change listener threw');
      }
    }
  }

  // ---- helpers ------------------------------------------------------------------------

  private track(
    index: Index,
    term: Term,
    deadline: number,
  ): Promise<{ index: Index; result: unknown }> {
    return new Promise((resolve, reject) => {
      this.pending.set(index, { term, deadline, resolve, reject });
      this.kick();
    });
  }

  private async confChange(cc: ConfChange, deadline: number): Promise<void> {
    for (;;) {
      this.assertRunning();
      const res = this.node.proposeConfChange(cc);
      if (res.ok) {
        await this.track(res.index, res.term, deadline);
        return;
      }
      if (res.reason === 'NOT_LEADER') {
        if (this.leader !== '' && this.leader !== this.opts.id) throw notLeader(this.leader);
        await this.waitLeaderChange(deadline);
        continue;
      }
      // CONF_CHANGE_PENDING or TRANSFERRING: try again shortly.
      await this.sleepUntil(Math.min(deadline, Date.now() + this.tickMs));
      if (Date.now() >= deadline) throw noQuorum();
    }
  }

  private waitLeaderChange(deadline: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.leaderWaits.add({ deadline, resolve, reject });
    });
  }

  private waitApplied(index: Index, deadline: number): Promise<void> {
    if (this.applied >= index) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.appliedWaits.push({ index, deadline, resolve, reject });
    });
  }

  private wakeApplied(): void {
    if (this.appliedWaits.length === 0) return;
    for (let i = this.appliedWaits.length - 1; i >= 0; i--) {
      const w = this.appliedWaits[i] as ReadWait;
      if (w.index <= this.applied) {
        this.appliedWaits.splice(i, 1);
        w.resolve();
      }
    }
  }

  /** Polls `cond` every tick until it holds (or throws), failing with NO_QUORUM at the deadline. */
  private async waitUntil(cond: () => boolean, deadline: number, what: string): Promise<void> {
    for (;;) {
      this.assertRunning();
      if (cond()) return;
      if (Date.now() >= deadline) {
        throw new TswarmError('NO_QUORUM', `${what} within the timeout`);
      }
      await this.sleepUntil(Math.min(deadline, Date.now() + this.tickMs));
    }
  }

  private sleepUntil(t: number): Promise<void> {
    return new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
  }

  /** Fails whatever waited past its deadline (checked once per tick). */
  private expire(now: number): void {
    for (const [index, p] of this.pending) {
      if (p.deadline <= now) {
        this.pending.delete(index);
        p.reject(lostLeader(this.leading ? '' : this.leader, this.opts.id));
      }
    }
    for (const w of this.leaderWaits) {
      if (w.deadline <= now) {
        this.leaderWaits.delete(w);
        w.reject(noQuorum());
      }
    }
    for (const [ctx, w] of this.reads) {
      if (w.deadline <= now) {
        this.reads.delete(ctx);
        w.reject(noQuorum());
      }
    }
    for (let i = this.appliedWaits.length - 1; i >= 0; i--) {
      const w = this.appliedWaits[i] as ReadWait;
      if (w.deadline <= now) {
        this.appliedWaits.splice(i, 1);
        w.reject(noQuorum());
      }
    }
  }

  private failAll(err: unknown): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const w of this.leaderWaits) w.reject(err);
    this.leaderWaits.clear();
    for (const w of this.reads.values()) w.reject(err);
    this.reads.clear();
    for (const w of this.appliedWaits) w.reject(err);
    this.appliedWaits.length = 0;
  }

  private fail(err: unknown): void {
    this.failed = err;
    this.log.error(
      { err: err instanceof Error ? (err.stack ?? err.message) : String(err) },
      'raft driver failed; stopping',
    );
    this.failAll(new TswarmError('INTERNAL', 'raft driver failed', { cause: err }));
    void this.stop();
  }

  /** A method, not the field: the field's narrowing does not survive an await. */
  private isStopped(): boolean {
    return this.stopped;
  }

  private assertRunning(): void {
    if (this.failed !== undefined) {
      throw new TswarmError('INTERNAL', 'raft driver failed', { cause: this.failed });
    }
    if (this.stopped) throw new TswarmError('UNAVAILABLE', 'raft driver stopped');
  }

  private learnPeer(id: PeerId, addr: string): void {
    this.peerBook.set(id, addr);
    this.transportSetPeer(id, addr);
  }

  private transportSetPeer(id: PeerId, addr: string): void {
    if (id !== this.opts.id) this.opts.transport.setPeer(id, addr);
  }

  /** The address book restricted to current members, for snapshots. */
  private memberBook(): Map<PeerId, string> {
    const out = new Map<PeerId, string>();
    for (const id of [...this.confState.voters, ...this.confState.learners]) {
      const addr = this.peerBook.get(id);
      if (addr !== undefined) out.set(id, addr);
    }
    return out;
  }
}
