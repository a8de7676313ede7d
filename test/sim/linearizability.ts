/**
 * A linearizability checker in the style of porcupine (github.com/anishathalye/porcupine),
 * written from the published algorithm: Wing & Gong's search with Lowe's memoization of
 * (set of linearized operations, model state), over the P-compositional parts of a history.
 *
 * A history is a list of completed operations, each with a call and a return time. An
 * operation whose outcome is unknown (the client gave up) is given `return: Infinity`: it may
 * take effect at any point after its call, including never-observed-by-anyone (linearized last).
 * Operations known to have had no effect (refused before doing anything) are left out.
 */

export interface Operation<I, O> {
  readonly clientId: number;
  readonly input: I;
  /** Call time; distinct from every other call or return time for a strict check. */
  readonly call: number;
  readonly output: O;
  /** Return time (> call); Infinity when the outcome is unknown. */
  readonly return: number;
}

export interface Model<S, I, O> {
  /** Splits a history into independently checkable parts (e.g. by key). Default: one part. */
  partition?(history: readonly Operation<I, O>[]): Operation<I, O>[][];
  init(): S;
  /** Is `output` a legal answer to `input` in `state`? And the state after it. */
  step(state: S, input: I, output: O): [boolean, S];
  /** State equality for memoization. Default: `===`. */
  equal?(a: S, b: S): boolean;
  /** A short description of the state for memoization buckets. Default: none. */
  hash?(state: S): number;
  describe?(input: I, output: O): string;
}

export type CheckResult = 'ok' | 'illegal' | 'unknown';

export interface CheckReport {
  readonly result: CheckResult;
  /** Index of the first partition that is not linearizable (or exceeded the budget). */
  readonly partition?: number;
  /** The operations of that partition, sorted by call time. */
  readonly operations?: readonly Operation<unknown, unknown>[];
  /**
   * 'illegal': the operation whose return the deepest partial linearization could not get
   * past (no order of the operations called before it explains its output). Its position in
   * `operations`.
   */
  readonly blocking?: number;
  /** Search steps spent, over all partitions. */
  readonly steps: number;
}

export interface CheckOptions {
  /** Search steps allowed per partition before giving up with 'unknown'. Default 2,000,000. */
  readonly maxSteps?: number;
}

/** A doubly linked list node: a call (match = its return) or a return (match = undefined). */
interface Node<I, O> {
  readonly id: number;
  readonly call: boolean;
  readonly input: I | undefined;
  readonly output: O | undefined;
  match: Node<I, O> | undefined;
  prev: Node<I, O> | undefined;
  next: Node<I, O> | undefined;
}

class Bitset {
  readonly words: Uint32Array;

  constructor(n: number, words?: Uint32Array) {
    this.words = words ?? new Uint32Array(Math.ceil(n / 32) || 1);
  }

  clone(): Bitset {
    return new Bitset(0, this.words.slice());
  }

  set(i: number): this {
    this.words[i >>> 5] = ((this.words[i >>> 5] ?? 0) | (1 << (i & 31))) >>> 0;
    return this;
  }

  clear(i: number): this {
    this.words[i >>> 5] = ((this.words[i >>> 5] ?? 0) & ~(1 << (i & 31))) >>> 0;
    return this;
  }

  equals(o: Bitset): boolean {
    const a = this.words;
    const b = o.words;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  hash(): number {
    let h = 0x811c9dc5;
    for (const w of this.words) {
      h = Math.imul(h ^ w, 0x01000193);
      h = Math.imul(h ^ (w >>> 16), 0x01000193);
    }
    return h >>> 0;
  }
}

interface Sorted<I, O> {
  readonly time: number;
  readonly call: boolean;
  readonly id: number;
  readonly op: Operation<I, O>;
}

/** Builds the event list: calls and returns by time; at equal times calls first (concurrent). */
function makeEntries<I, O>(ops: readonly Operation<I, O>[]): Node<I, O> {
  const events: Sorted<I, O>[] = [];
  ops.forEach((op, id) => {
    if (!(op.return > op.call)) {
      throw new RangeError(`operation ${id} returns (${op.return}) before its call (${op.call})`);
    }
    events.push({ time: op.call, call: true, id, op });
    events.push({ time: op.return, call: false, id, op });
  });
  events.sort((a, b) =>
    a.time !== b.time ? a.time - b.time : a.call === b.call ? a.id - b.id : a.call ? -1 : 1,
  );
  const head: Node<I, O> = {
    id: -1,
    call: false,
    input: undefined,
    output: undefined,
    match: undefined,
    prev: undefined,
    next: undefined,
  };
  const returns = new Map<number, Node<I, O>>();
  // Build backwards so each call finds its (later) return node.
  let next: Node<I, O> | undefined = undefined;
  for (let i = events.length - 1; i >= 0; i--) {
    const ev = events[i] as Sorted<I, O>;
    const node: Node<I, O> = {
      id: ev.id,
      call: ev.call,
      input: ev.call ? ev.op.input : undefined,
      output: ev.call ? undefined : ev.op.output,
      match: undefined,
      prev: undefined,
      next,
    };
    if (ev.call) node.match = returns.get(ev.id);
    else returns.set(ev.id, node);
    if (next !== undefined) next.prev = node;
    next = node;
  }
  head.next = next;
  if (next !== undefined) next.prev = head;
  return head;
}

/** Removes a call and its return from the list. */
function lift<I, O>(call: Node<I, O>): void {
  const ret = call.match as Node<I, O>;
  (call.prev as Node<I, O>).next = call.next;
  if (call.next !== undefined) call.next.prev = call.prev;
  (ret.prev as Node<I, O>).next = ret.next;
  if (ret.next !== undefined) ret.next.prev = ret.prev;
}

/** Puts a lifted call and its return back. */
function unlift<I, O>(call: Node<I, O>): void {
  const ret = call.match as Node<I, O>;
  (ret.prev as Node<I, O>).next = ret;
  if (ret.next !== undefined) ret.next.prev = ret;
  (call.prev as Node<I, O>).next = call;
  if (call.next !== undefined) call.next.prev = call;
}

interface CacheEntry<S> {
  readonly linearized: Bitset;
  readonly state: S;
}

/** Checks one partition. Returns the verdict and the search steps used. */
function checkSingle<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  maxSteps: number,
): { result: CheckResult; steps: number; blocking?: number } {
  const equal = (a: S, b: S): boolean => (model.equal ? model.equal(a, b) : a === b);
  const stateHash = (x: S): number => (model.hash ? model.hash(x) : 0);
  const head = makeEntries(ops);
  const linearized = new Bitset(ops.length);
  const cache = new Map<number, CacheEntry<S>[]>();
  const calls: { node: Node<I, O>; state: S }[] = [];
  let state = model.init();
  let entry = head.next;
  let steps = 0;
  let deepest = -1;
  let blocking: number | undefined;
  while (head.next !== undefined) {
    if (++steps > maxSteps) return { result: 'unknown', steps };
    if (entry === undefined) throw new Error('linearizability: ran off the end of the history');
    if (entry.call) {
      const ret = entry.match as Node<I, O>;
      const [ok, newState] = model.step(state, entry.input as I, ret.output as O);
      let advanced = false;
      if (ok) {
        const newLin = linearized.clone().set(entry.id);
        const h = (newLin.hash() ^ Math.imul(stateHash(newState), 0x9e3779b1)) >>> 0;
        const bucket = cache.get(h);
        const seen =
          bucket?.some((c) => c.linearized.equals(newLin) && equal(c.state, newState)) ?? false;
        if (!seen) {
          if (bucket === undefined) cache.set(h, [{ linearized: newLin, state: newState }]);
          else bucket.push({ linearized: newLin, state: newState });
          calls.push({ node: entry, state });
          state = newState;
          linearized.set(entry.id);
          lift(entry);
          entry = head.next;
          advanced = true;
        }
      }
      if (!advanced) entry = entry.next;
    } else {
      // A return whose call is not linearized yet: backtrack.
      if (calls.length > deepest) {
        deepest = calls.length;
        blocking = entry.id;
      }
      const top = calls.pop();
      if (top === undefined) {
        return blocking === undefined
          ? { result: 'illegal', steps }
          : { result: 'illegal', steps, blocking };
      }
      entry = top.node;
      state = top.state;
      linearized.clear(entry.id);
      unlift(entry);
      entry = entry.next;
    }
  }
  return { result: 'ok', steps };
}

/** Is `history` linearizable with respect to `model`? */
export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckReport {
  const maxSteps = options.maxSteps ?? 2_000_000;
  const parts = model.partition ? model.partition(history) : [history.slice()];
  let steps = 0;
  let unknownAt: number | undefined;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as Operation<I, O>[];
    const r = checkSingle(model, part, maxSteps);
    steps += r.steps;
    if (r.result === 'illegal') {
      const sorted = [...part].sort((a, b) => a.call - b.call);
      const blocker = r.blocking === undefined ? undefined : part[r.blocking];
      const at = blocker === undefined ? -1 : sorted.indexOf(blocker);
      return {
        result: 'illegal',
        partition: i,
        operations: sorted,
        steps,
        ...(at >= 0 ? { blocking: at } : {}),
      };
    }
    if (r.result === 'unknown' && unknownAt === undefined) unknownAt = i;
  }
  if (unknownAt !== undefined) {
    return {
      result: 'unknown',
      partition: unknownAt,
      operations: [...(parts[unknownAt] ?? [])].sort((a, b) => a.call - b.call),
      steps,
    };
  }
  return { result: 'ok', steps };
}

/** A readable listing of operations (for failure messages). */
export function describeHistory<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
): string {
  return ops
    .map((op) => {
      const what = model.describe
        ? model.describe(op.input, op.output)
        : `${JSON.stringify(op.input)} -> ${JSON.stringify(op.output)}`;
      const ret = Number.isFinite(op.return) ? String(op.return) : 'never';
      return `  client ${op.clientId} [${op.call}, ${ret}] ${what}`;
    })
    .join('\n');
}
