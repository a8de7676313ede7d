/**
 * Helpers for single-node scenario tests (etcd's raft_paper_test.go style): build a node over
 * a storage with a given membership, drive it through its public API, and drain its Ready.
 */
import {
  MemoryStorage,
  RaftNode,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type MsgApp,
  type MsgAppResp,
  type PeerId,
} from '../../../src/raft/index.js';
import { seededRandom, type ConfigOverrides } from './network.js';

const EMPTY = new Uint8Array(0);

/**
 * A MemoryStorage whose initial membership is `peers` without any snapshot, so the log starts
 * at index 1 exactly as in the paper's examples (production code uses `bootstrap()`).
 */
export class PeerStorage extends MemoryStorage {
  constructor(private readonly peers: readonly PeerId[]) {
    super();
  }

  override initialState(): { hardState: HardState; confState: ConfState } {
    const s = super.initialState();
    if (this.snapshot().meta.index > 0) return s;
    return { hardState: s.hardState, confState: { voters: [...this.peers], learners: [] } };
  }
}

/** Peer ids '1'..'n'. */
export function ids(n: number): PeerId[] {
  return Array.from({ length: n }, (_, i) => String(i + 1));
}

/** Entries with consecutive indexes from `first`, one per term given. */
export function entries(first: number, ...terms: number[]): Entry[] {
  return terms.map((term, i) => ({ index: first + i, term, type: 'normal', data: EMPTY }));
}

export interface TestNode {
  readonly id: PeerId;
  readonly node: RaftNode;
  readonly storage: PeerStorage;
}

export interface TestNodeOptions extends ConfigOverrides {
  peers?: readonly PeerId[];
  entries?: readonly Entry[];
  hardState?: HardState;
  seed?: number;
}

/** Node `id` over a PeerStorage (default peers 1,2,3), PreVote and CheckQuorum off as in the paper. */
export function newTestNode(id: PeerId, opts: TestNodeOptions = {}): TestNode {
  const { peers = ids(3), entries: ents, hardState, seed = 7, ...overrides } = opts;
  const storage = new PeerStorage(peers);
  if (ents !== undefined) storage.append(ents);
  if (hardState !== undefined) storage.setHardState(hardState);
  const node = new RaftNode({
    id,
    storage,
    electionTicks: 10,
    heartbeatTicks: 1,
    maxSizePerMsg: 1024 * 1024,
    maxInflightMsgs: 256,
    preVote: false,
    checkQuorum: false,
    random: seededRandom(seed),
    ...overrides,
  });
  return { id, node, storage };
}

export interface Drained {
  messages: Message[];
  entries: Entry[];
  committed: Entry[];
}

/** Processes every Ready (persisting to the node's storage) and returns what came out. */
export function drain(t: TestNode): Drained {
  const out: Drained = { messages: [], entries: [], committed: [] };
  while (t.node.hasReady()) {
    const rd = t.node.ready();
    if (rd.snapshot !== undefined) t.storage.applySnapshot(rd.snapshot);
    if (rd.hardState !== undefined) t.storage.setHardState(rd.hardState);
    t.storage.append(rd.entries);
    out.messages.push(...rd.messages);
    out.entries.push(...rd.entries);
    out.committed.push(...rd.committedEntries);
    t.node.advance(rd);
  }
  return out;
}

/** Messages sorted by recipient then type, for order-independent comparison. */
export function sortMessages(ms: readonly Message[]): Message[] {
  return [...ms].sort((a, b) =>
    a.to + a.type < b.to + b.type ? -1 : a.to + a.type > b.to + b.type ? 1 : 0,
  );
}

/** Makes the node a follower of `lead` at `term` via a heartbeat (and drains the reply). */
export function becomeFollower(t: TestNode, term: number, lead: PeerId): void {
  t.node.step({ type: 'MsgHeartbeat', from: lead, to: t.id, term, commit: 0, ctx: EMPTY });
  drain(t);
}

/** Makes the node a candidate (campaign without PreVote) and drains its vote requests. */
export function becomeCandidate(t: TestNode): Drained {
  t.node.campaign();
  return drain(t);
}

/** Makes the node leader: campaign, then votes from every other voter. Drains the output. */
export function becomeLeader(t: TestNode, voters: readonly PeerId[] = ids(3)): Drained {
  t.node.campaign();
  drain(t);
  const term = t.node.status().term;
  for (const v of voters) {
    if (v === t.id) continue;
    t.node.step({ type: 'MsgVoteResp', from: v, to: t.id, term, reject: false });
  }
  return drain(t);
}

/** A follower's successful reply to `m`. */
export function acceptAndReply(m: Message): MsgAppResp {
  if (m.type !== 'MsgApp') throw new Error(`expected MsgApp, got ${m.type}`);
  return {
    type: 'MsgAppResp',
    from: m.to,
    to: m.from,
    term: m.term,
    index: m.index + m.entries.length,
    reject: false,
    rejectHint: 0,
    logTerm: 0,
  };
}

/** Leader only: get the empty entry of the new term committed by every follower, drain the rest. */
export function commitNoopEntry(t: TestNode, firstMsgs: readonly Message[]): void {
  for (const m of firstMsgs) {
    if (m.type !== 'MsgApp' || m.entries.length !== 1 || m.entries[0]?.data.length !== 0) {
      throw new Error('not a message appending the empty entry');
    }
    t.node.step(acceptAndReply(m));
  }
  drain(t);
}

export function isMsgApp(m: Message): m is MsgApp {
  return m.type === 'MsgApp';
}

/** A MsgApp from `from` to `to`. */
export function msgApp(
  from: PeerId,
  to: PeerId,
  term: number,
  fields: Partial<Pick<MsgApp, 'index' | 'logTerm' | 'entries' | 'commit'>> = {},
): MsgApp {
  return {
    type: 'MsgApp',
    from,
    to,
    term,
    index: 0,
    logTerm: 0,
    entries: [],
    commit: 0,
    ...fields,
  };
}
