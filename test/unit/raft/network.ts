/**
 * In-memory network of RaftNodes for unit tests (not a test file itself). Each peer has a
 * MemoryStorage and a tiny state machine (the list of applied payloads as text). `stabilize()`
 * drains every Ready (persist → send → apply → advance) and delivers messages FIFO until the
 * cluster is quiet. Links can be cut (isolate/heal) and messages dropped by filters. Safety
 * checks run on every round: one leader per term, and applied entries agree across peers.
 */
import {
  bootstrap,
  decodeConfChange,
  MemoryStorage,
  RaftNode,
  type Entry,
  type Message,
  type PeerId,
  type RaftConfig,
  type ReadState,
} from '../../../src/raft/index.js';
import { seededRandom } from '../../helpers/prng.js';
export { seededRandom };

const enc = new TextEncoder();
const dec = new TextDecoder();

export function bytes(s: string): Uint8Array {
  return enc.encode(s);
}

export function text(b: Uint8Array): string {
  return dec.decode(b);
}

export type ConfigOverrides = Partial<Omit<RaftConfig, 'id' | 'storage'>>;

export interface Peer {
  readonly id: PeerId;
  node: RaftNode;
  readonly storage: MemoryStorage;
  /** State machine: payloads of applied normal entries, in order. */
  fsm: string[];
  /** Index of the last applied entry or snapshot. */
  appliedIndex: number;
  readStates: ReadState[];
  snapshotsRestored: number;
}

/** A filter returns true to drop the message. */
export type DropFilter = (m: Message) => boolean;

export interface NetworkOptions extends ConfigOverrides {
  seed?: number;
}

export class Network {
  readonly peers = new Map<PeerId, Peer>();
  private readonly cut = new Set<string>();
  private filters: DropFilter[] = [];
  /** When set, each round's messages are delivered in a shuffled order drawn from it. */
  reorder: (() => number) | undefined = undefined;
  private readonly overrides: ConfigOverrides;
  private seed: number;
  /** Every message handed to the network (delivered or not), for assertions. */
  readonly sent: Message[] = [];
  private readonly leaders = new Map<number, PeerId>();
  private readonly appliedTerms = new Map<number, number>();

  /** A bootstrapped cluster of `ids` (all voters). */
  constructor(ids: readonly PeerId[], options: NetworkOptions = {}) {
    const { seed, ...overrides } = options;
    this.overrides = overrides;
    this.seed = seed ?? 1;
    for (const id of ids) {
      const storage = new MemoryStorage();
      bootstrap(storage, ids);
      this.addPeer(id, storage);
    }
  }

  /** Adds a peer with the given storage (default: empty, i.e. a joining node). */
  addPeer(
    id: PeerId,
    storage: MemoryStorage = new MemoryStorage(),
    overrides: ConfigOverrides = {},
  ): Peer {
    const applied = storage.snapshot().meta.index;
    const peer: Peer = {
      id,
      node: this.newNode(id, storage, overrides),
      storage,
      fsm: [],
      appliedIndex: applied,
      readStates: [],
      snapshotsRestored: 0,
    };
    this.peers.set(id, peer);
    return peer;
  }

  private newNode(id: PeerId, storage: MemoryStorage, overrides: ConfigOverrides): RaftNode {
    return new RaftNode({
      id,
      storage,
      electionTicks: 10,
      heartbeatTicks: 1,
      maxSizePerMsg: 1024 * 1024,
      maxInflightMsgs: 256,
      preVote: false,
      checkQuorum: false,
      random: seededRandom(this.seed++),
      ...this.overrides,
      ...overrides,
    });
  }

  /** Simulates a crash and restart: a new RaftNode over the same persisted storage. */
  restart(id: PeerId): Peer {
    const p = this.peer(id);
    const snap = p.storage.snapshot();
    p.node = this.newNode(id, p.storage, {});
    p.fsm = snap.data.length > 0 ? (JSON.parse(text(snap.data)) as string[]) : [];
    p.appliedIndex = snap.meta.index;
    return p;
  }

  peer(id: PeerId): Peer {
    const p = this.peers.get(id);
    if (p === undefined) throw new Error(`no peer ${id}`);
    return p;
  }

  node(id: PeerId): RaftNode {
    return this.peer(id).node;
  }

  /** Cuts every link to and from `id`. */
  isolate(id: PeerId): void {
    for (const other of this.peers.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}>${other}`);
      this.cut.add(`${other}>${id}`);
    }
  }

  /** Cuts the link between `a` and `b` in both directions. */
  cutLink(a: PeerId, b: PeerId): void {
    this.cut.add(`${a}>${b}`);
    this.cut.add(`${b}>${a}`);
  }

  /** Restores every link and removes every drop filter. */
  heal(): void {
    this.cut.clear();
    this.filters = [];
  }

  /** Drops messages matching `f` until `heal()` or the returned function is called. */
  drop(f: DropFilter): () => void {
    this.filters.push(f);
    return () => {
      this.filters = this.filters.filter((g) => g !== f);
    };
  }

  private isDropped(m: Message): boolean {
    return this.cut.has(`${m.from}>${m.to}`) || this.filters.some((f) => f(m));
  }

  /** Processes every pending Ready of `id` and returns the messages it wants sent. */
  processReady(id: PeerId): Message[] {
    const p = this.peer(id);
    const out: Message[] = [];
    while (p.node.hasReady()) {
      const rd = p.node.ready();
      if (rd.snapshot !== undefined) p.storage.applySnapshot(rd.snapshot);
      if (rd.hardState !== undefined) p.storage.setHardState(rd.hardState);
      p.storage.append(rd.entries);
      out.push(...rd.messages);
      if (rd.snapshot !== undefined) {
        const data = rd.snapshot.data;
        p.fsm = data.length > 0 ? (JSON.parse(text(data)) as string[]) : [];
        p.appliedIndex = rd.snapshot.meta.index;
        p.snapshotsRestored++;
      }
      for (const e of rd.committedEntries) this.apply(p, e);
      p.readStates.push(...rd.readStates);
      p.node.advance(rd);
      this.checkLeader(p);
    }
    return out;
  }

  private apply(p: Peer, e: Entry): void {
    if (e.index !== p.appliedIndex + 1) {
      throw new Error(`${p.id} applied ${e.index} after ${p.appliedIndex}`);
    }
    const seen = this.appliedTerms.get(e.index);
    if (seen !== undefined && seen !== e.term) {
      throw new Error(`safety: ${p.id} applied index ${e.index} term ${e.term}, others ${seen}`);
    }
    this.appliedTerms.set(e.index, e.term);
    p.appliedIndex = e.index;
    if (e.type === 'conf-change') p.node.applyConfChange(decodeConfChange(e.data));
    else if (e.data.length > 0) p.fsm.push(text(e.data));
  }

  private checkLeader(p: Peer): void {
    const st = p.node.status();
    if (st.role !== 'leader') return;
    const other = this.leaders.get(st.term);
    if (other !== undefined && other !== p.id) {
      throw new Error(`safety: two leaders in term ${st.term}: ${other} and ${p.id}`);
    }
    this.leaders.set(st.term, p.id);
  }

  /** Delivers one message now (subject to cuts and filters). */
  deliver(m: Message): void {
    this.sent.push(m);
    const target = this.peers.get(m.to);
    const dropped = target === undefined || this.isDropped(m);
    if (!dropped) target.node.step(m);
    if (m.type === 'MsgSnap') this.peers.get(m.from)?.node.reportSnapshot(m.to, !dropped);
  }

  /** Drains Readies and delivers messages until nothing moves. Throws if it never settles. */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      const queue: Message[] = [];
      for (const id of this.peers.keys()) queue.push(...this.processReady(id));
      if (queue.length === 0) return;
      const rand = this.reorder;
      if (rand !== undefined) {
        for (let i = queue.length - 1; i > 0; i--) {
          const j = Math.floor(rand() * (i + 1));
          const a = queue[i];
          const b = queue[j];
          if (a !== undefined && b !== undefined) {
            queue[i] = b;
            queue[j] = a;
          }
        }
      }
      for (const m of queue) this.deliver(m);
    }
    throw new Error('network did not stabilize');
  }

  /** Ticks every peer `n` times, stabilizing after each tick. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const p of this.peers.values()) p.node.tick();
      this.stabilize();
    }
  }

  /** Ticks one peer `n` times, stabilizing after each tick. */
  tick(id: PeerId, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.node(id).tick();
      this.stabilize();
    }
  }

  /** Makes `id` campaign and settles the cluster. */
  elect(id: PeerId): void {
    this.node(id).campaign();
    this.stabilize();
  }

  /** The peers that currently believe they lead, highest term first. */
  leaders_(): PeerId[] {
    return [...this.peers.values()]
      .filter((p) => p.node.status().role === 'leader')
      .sort((a, b) => b.node.status().term - a.node.status().term)
      .map((p) => p.id);
  }

  /** The unique leader of the highest term, or '' if none. */
  leader(): PeerId {
    return this.leaders_()[0] ?? '';
  }

  /** Proposes `payload` on `id` (must be leader) and settles. Returns the entry index. */
  propose(id: PeerId, payload: string): number {
    const res = this.node(id).propose(bytes(payload));
    if (!res.ok) throw new Error(`propose on ${id} failed: ${res.reason}`);
    this.stabilize();
    return res.index;
  }

  /** Snapshots `id`'s state machine at its applied index and compacts its log there. */
  snapshotAndCompact(id: PeerId): void {
    const p = this.peer(id);
    const cs = p.node.status().confState;
    p.storage.createSnapshot(p.appliedIndex, cs, bytes(JSON.stringify(p.fsm)));
    p.storage.compact(p.appliedIndex);
  }
}
