/**
 * A seeded, deterministic cluster simulator for the Raft core (src/raft).
 *
 * One seed fixes everything: the cluster size (3 or 5), the Raft options, the driver options,
 * the fault rates and every random choice along the way (`Rng`, no Math.random). Time advances
 * in steps; each step may inject faults, lets clients call, ticks the live nodes, completes disk
 * writes and delivers the messages due.
 *
 * Each node is driven the way src/daemon/raft/driver.ts drives it, following the Ready
 * contract: take a Ready; (optionally apply what was already durable, and as a leader send
 * replication traffic early); persist the snapshot file and its WAL marker, then the entries
 * and the hard state, fsync; mirror into the MemoryStorage; send; apply; advance. A write may
 * take several steps (disk latency), during which the node keeps stepping messages and ticks
 * (the core must cope with input between ready() and advance()). Persistence is a `Disk`
 * (WAL records folded by the real WAL replay rules, snapshot files): a crash keeps what was
 * synced, and of the rest only a prefix — a crash in the middle of a Ready's write tears it
 * before its messages went out. Restart rebuilds the node from the disk alone.
 *
 * Faults: message loss, duplication, delay and reordering; partitions (splits, isolation,
 * one-way links) and heals; crashes (process kill, power loss, torn Ready) and restarts;
 * clock skew (nodes miss ticks); forced campaigns and leadership transfers. Nodes snapshot and
 * compact their logs; lagging followers get MsgSnap.
 *
 * Clients run put/append/get against a replicated KV store; gets go through the log or
 * through ReadIndex. Their calls and returns form a history checked for linearizability.
 * Ghost (ghost.ts) checks the safety invariants after every step; at the end the network is
 * healed and a leader must commit a final entry on every node within a bound.
 */
import {
  bootstrap,
  decodeMessage,
  encodeMessage,
  isStorageError,
  MemoryStorage,
  RaftNode,
  type Entry,
  type HardState,
  type Message,
  type PeerId,
  type Ready,
  type Role,
  type Snapshot,
} from '../../src/raft/index.js';
import { Disk, RecoveryError } from './disk.js';
import { entryKey, Ghost, InvariantViolation, storageTerm } from './ghost.js';
import {
  decodeCommand,
  encodeCommand,
  EMPTY_HASH,
  hashString,
  KvStore,
  kvModel,
  type KvInput,
  type KvOperation,
} from './kv.js';
import { checkOperations, describeHistory } from './linearizability.js';
import { Rng } from './prng.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** How gets are served. 'stale' (local read, no ReadIndex) is unsafe on purpose, for tests. */
export type ReadMode = 'mixed' | 'log' | 'read-index' | 'stale';

export interface SimOptions {
  readonly seed: number;
  readonly reads?: ReadMode;
  /** Record a trace of events (printed on failure by the CLI). */
  readonly trace?: boolean;
  /** Override the number of fault-phase steps (default: drawn from the seed). */
  readonly steps?: number;
  /**
   * A driver bug to inject, for testing that the checks catch it: 'forget-vote' restarts
   * without the durable vote; 'unsynced-entries' sends before entries are fsynced.
   */
  readonly bug?: 'forget-vote' | 'unsynced-entries';
}

/** Everything drawn from the seed before the run starts. */
export interface SimConfig {
  readonly nodes: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  readonly snapshotEvery: number;
  readonly catchUp: number;
  readonly parallelLeaderPersist: boolean;
  readonly earlyApply: boolean;
  /** 'skip': like the daemon, a Ready that only moves the commit index writes nothing. */
  readonly commitOnlyHardState: 'write' | 'skip';
  readonly wireCodec: boolean;
  readonly steps: number;
  readonly maxDelay: number;
  readonly dropRate: number;
  readonly dupRate: number;
  readonly partitionRate: number;
  readonly crashRate: number;
  readonly clients: number;
  readonly keys: number;
  /** Chance per step that each node believing it leads gets a burst of background writes. */
  readonly load: number;
}

export interface SimStats {
  steps: number;
  messages: number;
  delivered: number;
  elections: number;
  maxTerm: number;
  crashes: number;
  torn: number;
  snapshotsTaken: number;
  snapshotsSent: number;
  /** Snapshots installed over a longer (conflicting) log. */
  snapshotsOverLog: number;
  committed: number;
  ops: number;
  unknownOps: number;
  linSteps: number;
}

export interface SimFailure {
  readonly invariant: string;
  readonly detail: string;
  readonly step: number;
}

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failure?: SimFailure;
  readonly config: SimConfig;
  readonly stats: SimStats;
  readonly trace: readonly string[];
}

/** Steps allowed after healing for a leader to commit a final entry everywhere. */
export const LIVENESS_STEPS = 600;
/** Client operations give up (outcome unknown) after this many steps. */
const CLIENT_TIMEOUT = 60;

function drawConfig(rng: Rng, opts: SimOptions): SimConfig {
  return {
    nodes: rng.chance(0.5) ? 3 : 5,
    preVote: rng.chance(0.6),
    checkQuorum: rng.chance(0.6),
    electionTicks: rng.pick([8, 10, 10, 12]),
    heartbeatTicks: rng.pick([1, 1, 2]),
    maxSizePerMsg: rng.pick([0, 120, 1024 * 1024]),
    maxInflightMsgs: rng.pick([1, 2, 8, 256]),
    snapshotEvery: rng.pick([2, 4, 8, 16, 1e9]),
    catchUp: rng.pick([0, 0, 1, 3, 10]),
    parallelLeaderPersist: rng.chance(0.3),
    earlyApply: rng.chance(0.5),
    commitOnlyHardState: rng.chance(0.5) ? 'write' : 'skip',
    wireCodec: rng.chance(0.15),
    steps: opts.steps ?? rng.range(250, 450),
    maxDelay: rng.pick([0, 1, 2, 3]),
    dropRate: rng.pick([0, 0.01, 0.05, 0.15]),
    dupRate: rng.pick([0, 0.01, 0.05]),
    partitionRate: rng.pick([0.003, 0.01, 0.02]),
    crashRate: rng.pick([0.002, 0.006, 0.015]),
    clients: rng.range(2, 4),
    keys: rng.range(1, 3),
    load: rng.pick([0, 0.1, 0.5]),
  };
}

type OpVia = 'log' | 'read-index' | 'stale';

interface ClientOp {
  readonly id: number;
  readonly client: Client;
  readonly input: KvInput;
  readonly call: number;
  readonly via: OpVia;
  readonly node: PeerId;
  readonly deadline: number;
  done: boolean;
}

interface Client {
  readonly id: number;
  op: ClientOp | undefined;
  target: PeerId;
}

interface PendingProposal {
  readonly term: number;
  readonly op: ClientOp;
}

interface PendingRead {
  readonly op: ClientOp;
  /** The read index once the ReadIndex answer arrived. */
  index: number | undefined;
}

/** One step of persisting a Ready (a crash may stop between any two). */
type DiskAction = () => void;

interface InflightReady {
  readonly rd: Ready;
  readonly doneAt: number;
  readonly actions: DiskAction[];
  /** How many actions already ran. */
  done: number;
  /** Messages still to send after persisting. */
  readonly messages: readonly Message[];
  /** Committed entries applied before persisting (earlyApply). */
  readonly early: number;
}

class SimNode {
  up = true;
  incarnation = 0;
  raft!: RaftNode;
  storage!: MemoryStorage;
  kv = new KvStore();
  applied = 0;
  hash = EMPTY_HASH;
  role: Role = 'follower';
  leader: PeerId = '';
  /** The hard state as of the last Ready (term/vote for decisions, commit for the observer). */
  hs: HardState = { term: 0, vote: '', commit: 0 };
  /** The hard state known durable (parallelLeaderPersist may only send when term/vote are). */
  durable: HardState = { term: 0, vote: '', commit: 0 };
  /** Highest commit index the observer has checked for this incarnation. */
  commitSeen = 0;
  inflight: InflightReady | undefined;
  tornArmed = false;
  /** When a down node comes back. */
  restartAt = 0;
  /** Index of the last entry this incarnation proposed (for the background load's window). */
  lastProposed = 0;
  readonly proposals = new Map<number, PendingProposal>();
  readonly reads = new Map<string, PendingRead>();

  constructor(
    readonly id: PeerId,
    readonly disk: Disk,
    readonly diskLatency: number,
    readonly tickProb: number,
  ) {}
}

interface WireMessage {
  readonly m: Message;
  /** The sender's incarnation (for MsgSnap reports). */
  readonly inc: number;
  /** Lost on the way (random loss); partitions are checked at delivery. */
  readonly lost: boolean;
}

export class Simulation {
  readonly rng: Rng;
  readonly cfg: SimConfig;
  readonly stats: SimStats = {
    steps: 0,
    messages: 0,
    delivered: 0,
    elections: 0,
    maxTerm: 0,
    crashes: 0,
    torn: 0,
    snapshotsTaken: 0,
    snapshotsSent: 0,
    snapshotsOverLog: 0,
    committed: 0,
    ops: 0,
    unknownOps: 0,
    linSteps: 0,
  };
  readonly trace: string[] = [];
  private readonly tracing: boolean;
  private readonly readMode: ReadMode;
  private readonly bug: SimOptions['bug'];
  readonly nodes: SimNode[] = [];
  private readonly byId = new Map<PeerId, SimNode>();
  readonly ghost: Ghost;
  now = 0;
  /** Client events so far in this step (orders calls and returns within a step). */
  private eventsInStep = 0;
  private opSeq = 0;
  private readonly slots = new Map<number, WireMessage[]>();
  private readonly cut = new Set<string>();
  private partitioned = false;
  private dropRate: number;
  private dupRate: number;
  private faults = true;
  private clientsActive = true;
  private readonly clients: Client[] = [];
  readonly history: KvOperation[] = [];
  private lossCheckDue = false;
  private readonly keys: string[];

  constructor(opts: SimOptions) {
    this.rng = new Rng(opts.seed);
    this.cfg = drawConfig(this.rng, opts);
    this.tracing = opts.trace ?? false;
    this.readMode = opts.reads ?? 'mixed';
    this.bug = opts.bug;
    this.dropRate = this.cfg.dropRate;
    this.dupRate = this.cfg.dupRate;
    this.ghost = new Ghost(Math.floor(this.cfg.nodes / 2) + 1);
    this.keys = ['x', 'y', 'z'].slice(0, this.cfg.keys);
    const ids = Array.from({ length: this.cfg.nodes }, (_, i) => `n${i + 1}`);
    for (const id of ids) {
      const n = new SimNode(
        id,
        new Disk(),
        this.rng.pick([0, 0, 1, 2]),
        this.rng.chance(0.5) ? 1 : 0.85 + 0.15 * this.rng.next(),
      );
      // Bootstrap as the daemon does: snapshot file, WAL marker and hard state, all durable.
      const storage = new MemoryStorage();
      const snap = bootstrap(storage, ids);
      n.disk.saveSnapshotFile(snap);
      n.disk.writeSnapshotMeta(snap.meta);
      n.disk.writeHardState(storage.initialState().hardState);
      n.disk.sync();
      this.nodes.push(n);
      this.byId.set(id, n);
      this.boot(n);
    }
    for (let i = 0; i < this.cfg.clients; i++) {
      this.clients.push({ id: i, op: undefined, target: this.rng.pick(ids) });
    }
  }

  /**
   * The time of a client call or return: the step, plus a fraction that orders the events of
   * one step as they happened, so a return and a later call in the same step are not concurrent.
   */
  private time(): number {
    this.eventsInStep++;
    if (this.eventsInStep >= 1000) throw new Error('too many client events in one step');
    return this.now + this.eventsInStep / 1000;
  }

  private log(s: string): void {
    if (this.tracing) this.trace.push(`[${this.now}] ${s}`);
  }

  private node(id: PeerId): SimNode {
    const n = this.byId.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  // ---------------------------------------------------------------- node lifecycle

  /** (Re)starts `n` from its disk alone, as RaftDriver.open does. */
  private boot(n: SimNode): void {
    let rec;
    try {
      rec = n.disk.recover();
    } catch (err) {
      if (err instanceof RecoveryError)
        throw new InvariantViolation('recovery', `${n.id}: ${err.message}`);
      throw err;
    }
    n.storage = rec.storage;
    if (this.bug === 'forget-vote') n.storage.setHardState({ ...rec.hardState, vote: '' });
    const restored = KvStore.decode(rec.snapshot.data);
    n.kv = restored.store;
    n.hash = restored.hash;
    n.applied = rec.snapshot.meta.index;
    n.hs = rec.hardState;
    n.durable = rec.hardState;
    n.commitSeen = rec.snapshot.meta.index;
    n.role = 'follower';
    n.leader = '';
    n.inflight = undefined;
    n.tornArmed = false;
    n.lastProposed = 0;
    n.up = true;
    this.ghost.onWholeLog(n);
    // The durable term may be older than the snapshot's leader (torn after the snapshot): no
    // evidence here of the term its entries were committed in.
    const { index, term } = rec.snapshot.meta;
    this.ghost.onSnapshot(n.id, index, term, n.hash, Infinity);
    n.raft = new RaftNode({
      id: n.id,
      storage: n.storage,
      applied: rec.snapshot.meta.index,
      electionTicks: this.cfg.electionTicks,
      heartbeatTicks: this.cfg.heartbeatTicks,
      maxSizePerMsg: this.cfg.maxSizePerMsg,
      maxInflightMsgs: this.cfg.maxInflightMsgs,
      preVote: this.cfg.preVote,
      checkQuorum: this.cfg.checkQuorum,
      random: this.rng.fork().fn(),
    });
    const st = n.raft.status();
    this.ghost.checkRestart(n.id, st.term, st.vote);
  }

  /**
   * Crashes `n`. A Ready being written is torn after a random number of its disk actions; of
   * the records not yet synced, a process kill keeps all and a power loss a random prefix.
   */
  private crash(n: SimNode, kind: 'kill' | 'power'): void {
    const inflight = n.inflight;
    let how: string = kind;
    if (inflight !== undefined) {
      const cut = this.rng.range(inflight.done, inflight.actions.length);
      for (let i = inflight.done; i < cut; i++) inflight.actions[i]?.();
      how += ` torn ${cut}/${inflight.actions.length}`;
      this.stats.torn++;
    }
    const pending = n.disk.pendingCount;
    n.disk.crash(kind === 'kill' ? pending : this.rng.int(pending + 1));
    n.up = false;
    n.inflight = undefined;
    n.incarnation++;
    // A supervisor restarts it at once, or an operator much later.
    n.restartAt = this.now + this.rng.pick([1, 1, 2, 4, 10, 25, 60]);
    this.stats.crashes++;
    this.log(`crash ${n.id} (${how})`);
    for (const p of n.proposals.values()) this.giveUp(p.op);
    n.proposals.clear();
    for (const r of n.reads.values()) this.giveUp(r.op);
    n.reads.clear();
    // What the observer sees of a down node is what it will recover.
    try {
      n.storage = n.disk.recover().storage;
    } catch (err) {
      if (err instanceof RecoveryError)
        throw new InvariantViolation('recovery', `${n.id}: ${err.message}`);
      throw err;
    }
    this.ghost.onWholeLog(n);
    this.lossCheckDue = true;
  }

  private propose(n: SimNode, data: Uint8Array): ReturnType<RaftNode['propose']> {
    const res = n.raft.propose(data);
    if (res.ok) n.lastProposed = res.index;
    return res;
  }

  private restart(n: SimNode): void {
    this.log(`restart ${n.id}`);
    this.boot(n);
    this.pump(n);
  }

  // ---------------------------------------------------------------- the Ready loop

  /** Drains Readies while no write is in flight (driver.drain). */
  private pump(n: SimNode): void {
    while (n.up && n.inflight === undefined && n.raft.hasReady()) {
      const inf = this.beginReady(n, n.raft.ready());
      if (inf === undefined || inf.doneAt > this.now) return;
      this.finishReady(n);
    }
  }

  private canSendEarly(n: SimNode, rd: Ready): boolean {
    const role = rd.softState?.role ?? n.role;
    if (role !== 'leader' || rd.snapshot !== undefined) return false;
    const hs = rd.hardState;
    return hs === undefined || (hs.term === n.durable.term && hs.vote === n.durable.vote);
  }

  /** Starts handling `rd`; returns its write, or undefined if the node crashed writing it. */
  private beginReady(n: SimNode, rd: Ready): InflightReady | undefined {
    if (rd.softState !== undefined) {
      n.role = rd.softState.role;
      n.leader = rd.softState.leader;
    }
    if (rd.hardState !== undefined) n.hs = rd.hardState;
    if (n.hs.term > this.stats.maxTerm) this.stats.maxTerm = n.hs.term;
    if (rd.softState?.role === 'leader') {
      this.ghost.onLeader(n.id, n.hs.term);
      this.log(`${n.id} leads term ${n.hs.term}`);
      const unstable = rd.entries[0]?.index ?? Infinity;
      const s = n.storage;
      const lastIndex = rd.entries[rd.entries.length - 1]?.index ?? s.lastIndex();
      this.ghost.checkLeaderCompleteness(
        n.id,
        n.hs.term,
        s.snapshot().meta.index,
        lastIndex,
        (i) => (i >= unstable ? rd.entries[i - unstable]?.term : storageTerm(s, i)),
      );
    }
    let messages = rd.messages;
    if (this.cfg.parallelLeaderPersist && this.canSendEarly(n, rd)) {
      const later: Message[] = [];
      for (const m of messages) {
        if (m.type === 'MsgApp' || m.type === 'MsgHeartbeat') this.send(n, m);
        else later.push(m);
      }
      messages = later;
    }
    // earlyApply: committed entries already durable here (below the first new entry) are
    // applied while the disk works (driver.handleReady step 0).
    let early = 0;
    if (this.cfg.earlyApply && rd.snapshot === undefined) {
      const firstNew = rd.entries[0]?.index ?? Infinity;
      const c = rd.committedEntries;
      while (early < c.length && (c[early] as Entry).index < firstNew) early++;
      for (let i = 0; i < early; i++) this.applyEntry(n, c[i] as Entry);
    }
    const actions: DiskAction[] = [];
    const d = n.disk;
    const snap = rd.snapshot;
    if (snap !== undefined) {
      actions.push(() => {
        d.saveSnapshotFile(snap);
      });
      actions.push(() => {
        d.writeSnapshotMeta(snap.meta);
      });
      actions.push(() => {
        d.sync();
      });
    }
    const synced = rd.entries.length > 0 || rd.mustSync || snap !== undefined;
    if (synced || this.cfg.commitOnlyHardState === 'write') {
      // One WAL save: entries, then the hard state (so a torn prefix never commits past its
      // entries), then the fdatasync when required.
      for (const e of rd.entries) {
        actions.push(() => {
          d.writeEntries([e]);
        });
      }
      const hs = rd.hardState;
      if (hs !== undefined) {
        actions.push(() => {
          d.writeHardState(hs);
        });
      }
      if (synced && !(this.bug === 'unsynced-entries' && rd.entries.length > 0)) {
        actions.push(() => {
          d.sync();
          if (hs !== undefined) n.durable = hs;
        });
      }
    }
    const inflight: InflightReady = {
      rd,
      doneAt: this.now + (actions.length > 0 ? n.diskLatency : 0),
      actions,
      done: 0,
      messages,
      early,
    };
    n.inflight = inflight;
    if (n.tornArmed && actions.length > 0) {
      n.tornArmed = false;
      this.crash(n, this.rng.chance(0.5) ? 'kill' : 'power');
      return undefined;
    }
    return inflight;
  }

  private finishReady(n: SimNode): void {
    const inf = n.inflight;
    if (inf === undefined) return;
    for (let i = inf.done; i < inf.actions.length; i++) inf.actions[i]?.();
    inf.done = inf.actions.length;
    const rd = inf.rd;
    const s = n.storage;
    // Mirror into the MemoryStorage.
    if (rd.snapshot !== undefined) {
      if (s.lastIndex() > rd.snapshot.meta.index) this.stats.snapshotsOverLog++;
      s.applySnapshot(rd.snapshot);
      this.lossCheckDue = true;
    }
    if (rd.hardState !== undefined) s.setHardState(rd.hardState);
    if (rd.entries.length > 0) {
      const first = rd.entries[0] as Entry;
      if (first.index <= s.lastIndex()) this.lossCheckDue = true;
      s.append(rd.entries);
      const logged = rd.entries.filter((e) => e.index >= s.firstIndex());
      const head = logged[0];
      if (head !== undefined) this.ghost.onLogged(n.id, logged, s.term(head.index - 1));
    }
    if (rd.hardState !== undefined && rd.hardState.commit > n.commitSeen) {
      this.ghost.onCommit(n, n.commitSeen, rd.hardState.commit, n.hs.term);
      n.commitSeen = rd.hardState.commit;
    }
    // Send.
    for (const m of inf.messages) this.send(n, m);
    // Apply.
    if (rd.snapshot !== undefined) this.restoreSnapshot(n, rd.snapshot);
    const c = rd.committedEntries;
    for (let i = inf.early; i < c.length; i++) this.applyEntry(n, c[i] as Entry);
    for (const rs of rd.readStates) {
      const p = n.reads.get(dec.decode(rs.ctx));
      if (p !== undefined && p.index === undefined) p.index = rs.index;
    }
    this.serveReads(n);
    n.raft.advance(rd);
    n.inflight = undefined;
    this.maybeSnapshot(n);
  }

  private restoreSnapshot(n: SimNode, snap: Snapshot): void {
    const r = KvStore.decode(snap.data);
    n.kv = r.store;
    n.hash = r.hash;
    n.applied = snap.meta.index;
    if (snap.meta.index > n.commitSeen) n.commitSeen = snap.meta.index;
    this.ghost.onSnapshot(n.id, snap.meta.index, snap.meta.term, n.hash, n.hs.term);
    this.log(`${n.id} restored snapshot ${snap.meta.index}/${snap.meta.term}`);
    // Proposals covered by the snapshot have an unknown fate from here.
    for (const [index, p] of n.proposals) {
      if (index <= snap.meta.index) {
        n.proposals.delete(index);
        this.giveUp(p.op);
      }
    }
  }

  private applyEntry(n: SimNode, e: Entry): void {
    if (e.index !== n.applied + 1) {
      throw new InvariantViolation(
        'state-machine-safety',
        `${n.id} applies ${e.index} after ${n.applied}`,
      );
    }
    let output = '';
    if (e.type === 'normal' && e.data.length > 0) output = n.kv.apply(decodeCommand(e.data));
    n.hash = hashString(n.hash, `${e.index}/${e.term}/${entryKey(e)};`);
    n.applied = e.index;
    this.ghost.onApply(n.id, e, n.hash, n.hs.term);
    const p = n.proposals.get(e.index);
    if (p !== undefined) {
      n.proposals.delete(e.index);
      if (p.term === e.term) this.complete(p.op, output);
      else this.refused(p.op);
    }
  }

  private serveReads(n: SimNode): void {
    for (const [ctx, p] of n.reads) {
      if (p.index !== undefined && p.index <= n.applied) {
        n.reads.delete(ctx);
        this.complete(p.op, n.kv.get(p.op.input.key));
      }
    }
  }

  /** The driver's periodic snapshot: at the applied index, then compaction. */
  private maybeSnapshot(n: SimNode, force = false): void {
    const s = n.storage;
    const snapIndex = s.snapshot().meta.index;
    if (n.applied <= snapIndex || n.applied > s.lastIndex()) return;
    if (!force && n.applied - snapIndex < this.cfg.snapshotEvery) return;
    const snap = s.createSnapshot(n.applied, n.raft.status().confState, n.kv.encode(n.hash));
    n.disk.saveSnapshotFile(snap);
    n.disk.writeSnapshotMeta(snap.meta);
    n.disk.sync();
    const compactTo = snap.meta.index - this.cfg.catchUp;
    if (compactTo > s.firstIndex()) s.compact(compactTo);
    this.stats.snapshotsTaken++;
    this.ghost.onSnapshot(n.id, snap.meta.index, snap.meta.term, n.hash, n.hs.term);
  }

  // ---------------------------------------------------------------- network

  private send(from: SimNode, m: Message): void {
    this.stats.messages++;
    if (m.type === 'MsgSnap') this.stats.snapshotsSent++;
    if (m.type === 'MsgVoteResp' && !m.reject) this.ghost.onVote(m.from, m.term, m.to);
    if (m.type !== 'MsgPreVote' && m.type !== 'MsgPreVoteResp') this.ghost.onSent(m.from, m.term);
    const copies = this.rng.chance(this.dupRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const wire = this.cfg.wireCodec ? decodeMessage(encodeMessage(m)) : m;
      const at = this.now + this.rng.int(this.cfg.maxDelay + 1);
      const lost = this.rng.chance(this.dropRate);
      const slot = this.slots.get(at);
      const w: WireMessage = { m: wire, inc: from.incarnation, lost };
      if (slot === undefined) this.slots.set(at, [w]);
      else slot.push(w);
      // MsgSnap is not duplicated: the transport reports its one outcome (reportSnapshot).
      if (m.type === 'MsgSnap') break;
    }
  }

  private deliver(w: WireMessage): void {
    const m = w.m;
    const to = this.byId.get(m.to);
    const from = this.byId.get(m.from);
    const blocked = this.cut.has(`${m.from}>${m.to}`);
    const ok = to !== undefined && to.up && !w.lost && !blocked;
    if (ok) {
      this.stats.delivered++;
      to.raft.step(m);
      this.pump(to);
    }
    if (from !== undefined && from.up && from.incarnation === w.inc) {
      if (m.type === 'MsgSnap') {
        from.raft.reportSnapshot(m.to, ok);
        this.pump(from);
      } else if (!ok && blocked && this.rng.chance(0.3)) {
        from.raft.reportUnreachable(m.to);
        this.pump(from);
      }
    }
  }

  private deliverDue(): void {
    let budget = 5000;
    for (;;) {
      const slot = this.slots.get(this.now);
      if (slot === undefined || slot.length === 0) break;
      if (budget-- <= 0) {
        // Too much in one step: the rest waits for the next.
        this.slots.delete(this.now);
        const next = this.slots.get(this.now + 1);
        this.slots.set(this.now + 1, next === undefined ? slot : slot.concat(next));
        break;
      }
      // Reorder: take a random message of this step.
      const i = this.rng.int(slot.length);
      const w = slot[i] as WireMessage;
      slot[i] = slot[slot.length - 1] as WireMessage;
      slot.pop();
      this.deliver(w);
    }
    this.slots.delete(this.now);
  }

  // ---------------------------------------------------------------- faults

  private partition(): void {
    const ids = this.nodes.map((n) => n.id);
    const kind = this.rng.int(3);
    this.cut.clear();
    if (kind === 0) {
      const a = this.rng.pick(ids);
      for (const b of ids) {
        if (a !== b) {
          this.cut.add(`${a}>${b}`);
          this.cut.add(`${b}>${a}`);
        }
      }
      this.log(`isolate ${a}`);
    } else if (kind === 1) {
      const side = new Set(
        this.rng.shuffle(ids.slice()).slice(0, this.rng.range(1, ids.length - 1)),
      );
      for (const a of ids) {
        for (const b of ids) if (side.has(a) !== side.has(b)) this.cut.add(`${a}>${b}`);
      }
      this.log(`split {${[...side].join(',')}}`);
    } else {
      const links = this.rng.range(1, ids.length);
      for (let i = 0; i < links; i++) {
        const a = this.rng.pick(ids);
        const b = this.rng.pick(ids);
        if (a !== b) this.cut.add(`${a}>${b}`);
      }
      this.log(`cut one-way ${[...this.cut].join(' ')}`);
    }
    this.partitioned = true;
  }

  private heal(): void {
    this.cut.clear();
    this.partitioned = false;
    this.log('heal');
  }

  private faultStep(): void {
    const rng = this.rng;
    const cfg = this.cfg;
    if (!this.partitioned && rng.chance(cfg.partitionRate)) this.partition();
    else if (this.partitioned && rng.chance(0.03)) this.heal();
    if (rng.chance(0.01)) {
      this.dropRate = rng.pick([0, cfg.dropRate, cfg.dropRate * 2, 0.3]);
      this.dupRate = rng.pick([0, cfg.dupRate, 0.1]);
    }
    if (rng.chance(cfg.crashRate)) {
      const up = this.nodes.filter((n) => n.up);
      if (up.length > 0) {
        const n = rng.pick(up);
        if (rng.chance(0.3)) n.tornArmed = true;
        else this.crash(n, rng.chance(0.5) ? 'kill' : 'power');
      }
    }
    for (const n of this.nodes) if (!n.up && this.now >= n.restartAt) this.restart(n);
    if (rng.chance(0.004)) {
      const n = rng.pick(this.nodes);
      if (n.up) {
        this.log(`${n.id} campaigns`);
        n.raft.campaign();
        this.pump(n);
      }
    }
    if (rng.chance(0.004)) {
      const leader = this.nodes.find((n) => n.up && n.role === 'leader');
      const to = rng.pick(this.nodes);
      if (leader !== undefined && to !== leader) {
        this.log(`${leader.id} transfers leadership to ${to.id}`);
        leader.raft.transferLeadership(to.id);
        this.pump(leader);
      }
    }
    if (rng.chance(0.01)) {
      const n = rng.pick(this.nodes);
      if (n.up && n.inflight === undefined) this.maybeSnapshot(n, true);
    }
    // Background writes (outside the checked keys): they lengthen logs, and a deposed leader
    // that has not noticed piles up a long uncommitted tail.
    // Like a real driver, a leader takes no more while too much is uncommitted.
    for (const n of this.nodes) {
      if (!n.up || n.role !== 'leader' || !rng.chance(cfg.load)) continue;
      for (let k = rng.range(1, 4); k > 0 && n.lastProposed - n.hs.commit < 24; k--) {
        const id = ++this.opSeq;
        this.propose(n, encodeCommand({ id, op: 'put', key: 'load', value: `l${id}` }));
      }
      this.pump(n);
    }
  }

  // ---------------------------------------------------------------- clients

  private complete(op: ClientOp, output: string): void {
    if (op.done) return;
    op.done = true;
    op.client.op = undefined;
    op.client.target = op.node;
    this.history.push({
      clientId: op.client.id,
      input: op.input,
      call: op.call,
      output,
      return: this.time(),
    });
    this.stats.ops++;
  }

  /** The operation certainly had no effect (refused, or another entry took its index). */
  private refused(op: ClientOp): void {
    if (op.done) return;
    op.done = true;
    op.client.op = undefined;
    op.client.target = this.rng.pick(this.nodes).id;
  }

  /** The client stops waiting: a write may or may not have happened; a read is dropped. */
  private giveUp(op: ClientOp): void {
    if (op.done) return;
    op.done = true;
    op.client.op = undefined;
    op.client.target = this.rng.pick(this.nodes).id;
    if (op.input.op === 'get') return;
    this.history.push({
      clientId: op.client.id,
      input: op.input,
      call: op.call,
      output: null,
      return: Infinity,
    });
    this.stats.unknownOps++;
  }

  private clientStep(): void {
    for (const c of this.clients) {
      const cur = c.op;
      if (cur !== undefined) {
        if (this.now > cur.deadline) this.giveUp(cur);
        continue;
      }
      if (!this.clientsActive || !this.rng.chance(0.25)) continue;
      this.issue(c);
    }
  }

  private issue(c: Client): void {
    const rng = this.rng;
    const key = rng.pick(this.keys);
    const kind = rng.int(10);
    const id = ++this.opSeq;
    const input: KvInput =
      kind < 4
        ? { op: 'get', key, value: '' }
        : kind < 7
          ? { op: 'put', key, value: `p${id}` }
          : { op: 'append', key, value: `a${id}.` };
    let via: OpVia = 'log';
    if (input.op === 'get') {
      const mode =
        this.readMode === 'mixed' ? (rng.chance(0.5) ? 'log' : 'read-index') : this.readMode;
      via = mode;
    }
    const target = rng.chance(0.8) ? c.target : rng.pick(this.nodes).id;
    const n = this.node(target);
    const op: ClientOp = {
      id,
      client: c,
      input,
      call: this.time(),
      via,
      node: target,
      deadline: this.now + CLIENT_TIMEOUT,
      done: false,
    };
    c.op = op;
    if (!n.up) {
      this.refused(op);
      return;
    }
    if (via === 'stale') {
      this.complete(op, n.kv.get(key));
      return;
    }
    if (via === 'read-index') {
      const ctx = `r${id}`;
      n.reads.set(ctx, { op, index: undefined });
      n.raft.readIndex(enc.encode(ctx));
      this.pump(n);
      return;
    }
    const res = this.propose(n, encodeCommand({ ...input, id }));
    if (!res.ok) {
      this.refused(op);
      if (n.leader !== '') c.target = n.leader;
      return;
    }
    n.proposals.set(res.index, { term: res.term, op });
    this.pump(n);
  }

  // ---------------------------------------------------------------- the run

  /** One step: faults, clients, ticks, disk completions, deliveries, checks. */
  step(): void {
    this.now++;
    this.eventsInStep = 0;
    this.stats.steps++;
    if (this.faults) this.faultStep();
    this.clientStep();
    for (const n of this.rng.shuffle(this.nodes.slice())) {
      if (!n.up || !this.rng.chance(n.tickProb)) continue;
      n.raft.tick();
      this.pump(n);
    }
    for (const n of this.nodes) {
      const inf = n.inflight;
      if (n.up && inf !== undefined && inf.doneAt <= this.now) {
        this.finishReady(n);
        this.pump(n);
      }
    }
    this.deliverDue();
    if (this.lossCheckDue || this.now % 16 === 0) {
      this.lossCheckDue = false;
      this.ghost.checkNoCommittedLost(this.nodes);
    }
  }

  /** Heals everything and waits for a leader to commit a final entry on every node. */
  private liveness(): void {
    this.faults = false;
    this.clientsActive = false;
    this.heal();
    this.dropRate = 0;
    this.dupRate = 0;
    for (const n of this.nodes) {
      n.tornArmed = false;
      if (!n.up) this.restart(n);
    }
    let proposal: { index: number; term: number; by: SimNode } | undefined;
    for (let i = 0; i < LIVENESS_STEPS; i++) {
      this.step();
      if (proposal !== undefined) {
        const t = this.ghost.committedTerm(proposal.index);
        const by = proposal.by;
        if (t !== undefined && t !== proposal.term) proposal = undefined;
        else if (
          t === undefined &&
          (!by.up || by.role !== 'leader' || by.hs.term !== proposal.term)
        ) {
          proposal = undefined;
        } else if (
          t !== undefined &&
          this.nodes.every((n) => n.applied >= (proposal?.index ?? 0))
        ) {
          this.log(`final entry ${proposal.index}/${proposal.term} applied everywhere`);
          return;
        }
      }
      if (proposal === undefined) {
        const leader = this.nodes.find((n) => n.up && n.role === 'leader');
        if (leader !== undefined) {
          const res = this.propose(
            leader,
            encodeCommand({ id: 0, op: 'put', key: 'final', value: `final@${this.now}` }),
          );
          if (res.ok) {
            proposal = { index: res.index, term: res.term, by: leader };
            this.log(`final entry proposed at ${leader.id}: ${res.index}/${res.term}`);
            this.pump(leader);
          }
        }
      }
    }
    const status = this.nodes
      .map((n) => {
        const st = n.raft.status();
        return `${n.id}:${st.role}@${st.term} commit ${st.commit} applied ${n.applied}`;
      })
      .join(', ');
    throw new InvariantViolation(
      'liveness',
      `no final entry committed and applied everywhere within ${LIVENESS_STEPS} steps after healing` +
        ` (${proposal === undefined ? 'never proposed' : `proposed ${proposal.index}/${proposal.term}`}; ${status})`,
    );
  }

  /** Runs the whole schedule; throws InvariantViolation (or whatever the core threw). */
  run(): void {
    for (let i = 0; i < this.cfg.steps; i++) this.step();
    this.liveness();
    // Let the last client operations finish or time out.
    for (let i = 0; i < CLIENT_TIMEOUT + 2 && this.clients.some((c) => c.op !== undefined); i++) {
      this.step();
    }
    for (const c of this.clients) if (c.op !== undefined) this.giveUp(c.op);
    this.ghost.checkNoCommittedLost(this.nodes);
    this.stats.elections = this.ghost.elections;
    this.stats.committed = this.ghost.maxCommitted;
    const report = checkOperations(kvModel, this.history, { maxSteps: 5_000_000 });
    this.stats.linSteps = report.steps;
    if (report.result !== 'ok') {
      const ops = (report.operations ?? []) as KvOperation[];
      const at = report.blocking ?? 0;
      const lo = Math.max(0, at - 24);
      const shown = ops.slice(lo, at + 6);
      const blocker = ops[at];
      throw new InvariantViolation(
        'linearizability',
        (report.result === 'illegal'
          ? 'history is not linearizable'
          : 'check exceeded its budget') +
          ` (key ${ops[0]?.input.key ?? '?'}, ${ops.length} operations` +
          (report.result === 'illegal' && blocker !== undefined
            ? `; no linearization explains ${kvModel.describe?.(blocker.input, blocker.output) ?? '?'} at [${blocker.call}, ${blocker.return}]`
            : '') +
          `), operations ${lo + 1}..${lo + shown.length}:\n` +
          describeHistory(kvModel, shown),
      );
    }
  }
}

/** Runs one seed and reports; never throws. */
export function runSeed(opts: SimOptions): SimResult {
  const sim = new Simulation(opts);
  let failure: SimFailure | undefined;
  try {
    sim.run();
  } catch (err) {
    if (err instanceof InvariantViolation) {
      failure = { invariant: err.invariant, detail: err.message, step: sim.now };
    } else {
      const e = err instanceof Error ? err : new Error(String(err));
      const kind = isStorageError(e) ? 'storage-error' : 'raft-exception';
      failure = {
        invariant: kind,
        detail: `${e.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}`,
        step: sim.now,
      };
    }
  }
  return {
    seed: opts.seed,
    ok: failure === undefined,
    ...(failure === undefined ? {} : { failure }),
    config: sim.cfg,
    stats: sim.stats,
    trace: sim.trace,
  };
}
