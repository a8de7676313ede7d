/**
 * The simulator's omniscient observer: global registries of what every node has logged,
 * committed and applied, checked as the run goes. A broken rule throws InvariantViolation.
 *
 *   election-safety       at most one leader per term, ever; a node grants at most one vote
 *                         per term, across restarts
 *   log-matching          an (index, term) names one entry, with one predecessor term; terms
 *                         never decrease along a log
 *   leader-completeness   a new leader of term T holds every entry known committed in a term < T
 *   state-machine-safety  no two nodes commit or apply different entries at one index; every
 *                         snapshot and applied prefix hashes the same at one index
 *   committed-entry-lost  an entry once committed stays on a majority (in the log or a snapshot)
 *   durability            a node restarts with a term at least any it sent, and with the vote
 *                         it granted in that term (both were promised before being sent)
 */
import type { Entry, MemoryStorage, PeerId } from '../../src/raft/index.js';

export class InvariantViolation extends Error {
  constructor(
    readonly invariant: string,
    detail: string,
  ) {
    super(`${invariant}: ${detail}`);
  }
}

const dec = new TextDecoder();

/** What identifies an entry's content (the term is part of the registry key). */
export function entryKey(e: Entry): string {
  return e.type === 'normal' ? dec.decode(e.data) : `cc:${dec.decode(e.data)}`;
}

interface LoggedEntry {
  readonly key: string;
  readonly prevTerm: number;
}

interface Committed {
  readonly term: number;
  /** Undefined when only known through a snapshot boundary. */
  key: string | undefined;
  /**
   * Lowest term of a node that reported this index committed: it was committed in a term <= this
   * (Infinity: only reported without term evidence).
   */
  commitTerm: number;
}

/** A node's durable log as the observer reads it. */
export interface LogView {
  readonly id: PeerId;
  readonly storage: MemoryStorage;
}

/** Term of `i` in a storage, or undefined if compacted (below the snapshot) or absent. */
export function storageTerm(s: MemoryStorage, i: number): number | undefined {
  if (i < s.firstIndex() - 1 || i > s.lastIndex()) return undefined;
  return s.term(i);
}

export class Ghost {
  private readonly leaders = new Map<number, PeerId>();
  private readonly votes = new Map<string, PeerId>();
  private readonly termSent = new Map<PeerId, number>();
  private readonly logged = new Map<string, LoggedEntry>();
  private readonly committed: (Committed | undefined)[] = [];
  private readonly appliedHash: (number | undefined)[] = [];
  maxCommitted = 0;
  /** Statistics. */
  elections = 0;

  constructor(private readonly quorum: number) {}

  /** `id` is leader of `term` (observed from its Ready). */
  onLeader(id: PeerId, term: number): void {
    const other = this.leaders.get(term);
    if (other !== undefined && other !== id) {
      throw new InvariantViolation(
        'election-safety',
        `two leaders in term ${term}: ${other} and ${id}`,
      );
    }
    if (other === undefined) this.elections++;
    this.leaders.set(term, id);
  }

  /** `voter` sent a granted MsgVoteResp to `candidate` for `term`. */
  onVote(voter: PeerId, term: number, candidate: PeerId): void {
    const k = `${voter}@${term}`;
    const other = this.votes.get(k);
    if (other !== undefined && other !== candidate) {
      throw new InvariantViolation(
        'election-safety',
        `${voter} voted for ${other} and for ${candidate} in term ${term}`,
      );
    }
    this.votes.set(k, candidate);
  }

  /** `id` sent a message at `term` (one that promises the term is durable: not a PreVote). */
  onSent(id: PeerId, term: number): void {
    if (term > (this.termSent.get(id) ?? 0)) this.termSent.set(id, term);
  }

  /** `id` restarted with `term` and `vote`. */
  checkRestart(id: PeerId, term: number, vote: PeerId): void {
    const sent = this.termSent.get(id) ?? 0;
    if (term < sent) {
      throw new InvariantViolation(
        'durability',
        `${id} restarted at term ${term} after sending messages at term ${sent}`,
      );
    }
    const voted = this.votes.get(`${id}@${term}`);
    if (voted !== undefined && vote !== voted) {
      throw new InvariantViolation(
        'durability',
        `${id} restarted in term ${term} with vote '${vote}' after granting its vote to ${voted}`,
      );
    }
  }

  /** Entries `ents` now follow an entry of term `prevTerm` in `id`'s log. */
  onLogged(id: PeerId, ents: readonly Entry[], prevTerm: number): void {
    let prev = prevTerm;
    for (const e of ents) {
      if (e.term < prev) {
        throw new InvariantViolation(
          'log-matching',
          `${id}: entry ${e.index} has term ${e.term} after an entry of term ${prev}`,
        );
      }
      const k = `${e.index}/${e.term}`;
      const key = entryKey(e);
      const seen = this.logged.get(k);
      if (seen === undefined) {
        this.logged.set(k, { key, prevTerm: prev });
      } else if (seen.key !== key || seen.prevTerm !== prev) {
        throw new InvariantViolation(
          'log-matching',
          `${id}: entry ${e.index}/${e.term} is ${JSON.stringify(key)} after term ${prev}, ` +
            `elsewhere ${JSON.stringify(seen.key)} after term ${seen.prevTerm}`,
        );
      }
      prev = e.term;
    }
  }

  /** The whole log of a storage (after a restart, or a snapshot install). */
  onWholeLog(v: LogView): void {
    const s = v.storage;
    const first = s.firstIndex();
    const last = s.lastIndex();
    if (last < first) return;
    this.onLogged(v.id, s.entries(first, last + 1), s.term(first - 1));
  }

  private commit(
    id: PeerId,
    index: number,
    term: number,
    key: string | undefined,
    nodeTerm: number,
  ): void {
    const c = this.committed[index];
    if (c === undefined) {
      this.committed[index] = { term, key, commitTerm: nodeTerm };
      if (index > this.maxCommitted) this.maxCommitted = index;
      return;
    }
    if (c.term !== term || (key !== undefined && c.key !== undefined && c.key !== key)) {
      throw new InvariantViolation(
        'state-machine-safety',
        `${id} has ${index}/${term} ${JSON.stringify(key)} committed, ` +
          `elsewhere ${index}/${c.term} ${JSON.stringify(c.key)}`,
      );
    }
    if (c.key === undefined) c.key = key;
    if (nodeTerm < c.commitTerm) c.commitTerm = nodeTerm;
  }

  /** `id` (at term `nodeTerm`) says its log is committed through `commit`; `from` was checked. */
  onCommit(v: LogView, from: number, commit: number, nodeTerm: number): void {
    const s = v.storage;
    const lo = Math.max(from + 1, s.firstIndex());
    if (commit < lo) return;
    if (commit > s.lastIndex()) {
      throw new InvariantViolation(
        'state-machine-safety',
        `${v.id} commits ${commit} beyond its durable log (last ${s.lastIndex()})`,
      );
    }
    for (const e of s.entries(lo, commit + 1)) {
      this.commit(v.id, e.index, e.term, entryKey(e), nodeTerm);
    }
  }

  /** A snapshot at (index, term) with state hash `hash` exists at `id`: all of it is committed. */
  onSnapshot(id: PeerId, index: number, term: number, hash: number, nodeTerm: number): void {
    if (index === 0) return;
    this.commit(id, index, term, undefined, nodeTerm);
    this.onAppliedHash(id, index, hash);
  }

  /** `id` applied `e`; `hash` is its state-machine hash after it. */
  onApply(id: PeerId, e: Entry, hash: number, nodeTerm: number): void {
    this.commit(id, e.index, e.term, entryKey(e), nodeTerm);
    this.onAppliedHash(id, e.index, hash);
  }

  private onAppliedHash(id: PeerId, index: number, hash: number): void {
    const h = this.appliedHash[index];
    if (h === undefined) this.appliedHash[index] = hash;
    else if (h !== hash) {
      throw new InvariantViolation(
        'state-machine-safety',
        `${id}'s state at index ${index} differs from another node's (hash ${hash} vs ${h})`,
      );
    }
  }

  committedTerm(index: number): number | undefined {
    return this.committed[index]?.term;
  }

  /**
   * `id` just became leader of `term`; `termAt` reads its whole log (stable and unstable), and
   * `snapIndex` is its snapshot (entries up to it are covered). Every entry committed in an
   * earlier term must be there.
   */
  checkLeaderCompleteness(
    id: PeerId,
    term: number,
    snapIndex: number,
    lastIndex: number,
    termAt: (i: number) => number | undefined,
  ): void {
    for (let i = snapIndex + 1; i <= this.maxCommitted; i++) {
      const c = this.committed[i];
      if (c === undefined || c.commitTerm >= term) continue;
      const t = i <= lastIndex ? termAt(i) : undefined;
      if (t !== c.term) {
        throw new InvariantViolation(
          'leader-completeness',
          `${id} leads term ${term} without committed entry ${i}/${c.term} ` +
            `(committed by term ${c.commitTerm}; it has ${t === undefined ? 'nothing' : `term ${t}`} there, last ${lastIndex})`,
        );
      }
    }
  }

  /** Every committed entry is still on a majority of the nodes' durable logs or snapshots. */
  checkNoCommittedLost(views: readonly LogView[]): void {
    let floor = Infinity;
    for (const v of views) floor = Math.min(floor, v.storage.snapshot().meta.index);
    for (let i = floor + 1; i <= this.maxCommitted; i++) {
      const c = this.committed[i];
      if (c === undefined) continue;
      let holders = 0;
      for (const v of views) {
        const s = v.storage;
        if (s.snapshot().meta.index >= i || storageTerm(s, i) === c.term) holders++;
      }
      if (holders < this.quorum) {
        throw new InvariantViolation(
          'committed-entry-lost',
          `committed entry ${i}/${c.term} is on ${holders} nodes, a quorum is ${this.quorum}`,
        );
      }
    }
  }
}
