/**
 * The replicated key-value store the simulator drives (put / append / get), its command
 * encoding in log entries, its snapshot format, and its model for the linearizability checker.
 */
import type { Model, Operation } from './linearizability.js';

export type KvOp = 'put' | 'append' | 'get';

export interface KvInput {
  readonly op: KvOp;
  readonly key: string;
  /** The written value ('' for get). */
  readonly value: string;
}

/** A get returns the value read; a write returns ''; null means the outcome is unknown. */
export type KvOutput = string | null;

/** What a log entry carries for a client operation. */
export interface KvCommand extends KvInput {
  /** The operation's id in the simulator's history. */
  readonly id: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeCommand(c: KvCommand): Uint8Array {
  return enc.encode(JSON.stringify([c.id, c.op, c.key, c.value]));
}

export function decodeCommand(data: Uint8Array): KvCommand {
  const [id, op, key, value] = JSON.parse(dec.decode(data)) as [number, KvOp, string, string];
  return { id, op, key, value };
}

/** FNV-1a over a string, continuing from `h`. */
export function hashString(h: number, s: string): number {
  let x = h >>> 0;
  for (let i = 0; i < s.length; i++) x = Math.imul(x ^ s.charCodeAt(i), 0x01000193);
  return x >>> 0;
}

export const EMPTY_HASH = 0x811c9dc5;

export class KvStore {
  private readonly data = new Map<string, string>();

  get(key: string): string {
    return this.data.get(key) ?? '';
  }

  /** Applies a command and returns its output (the value for a get, '' for a write). */
  apply(c: KvInput): string {
    switch (c.op) {
      case 'get':
        return this.get(c.key);
      case 'put':
        this.data.set(c.key, c.value);
        return '';
      case 'append':
        this.data.set(c.key, this.get(c.key) + c.value);
        return '';
    }
  }

  /** Snapshot data: the store plus the running hash of the applied log (see SimNode). */
  encode(hash: number): Uint8Array {
    const kv = [...this.data.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    return enc.encode(JSON.stringify({ kv, h: hash }));
  }

  /** Restores from snapshot data; zero-length data is the empty state (bootstrap). */
  static decode(data: Uint8Array): { store: KvStore; hash: number } {
    const store = new KvStore();
    if (data.length === 0) return { store, hash: EMPTY_HASH };
    const parsed = JSON.parse(dec.decode(data)) as { kv: [string, string][]; h: number };
    for (const [k, v] of parsed.kv) store.data.set(k, v);
    return { store, hash: parsed.h };
  }
}

export type KvOperation = Operation<KvInput, KvOutput>;

/** The sequential specification of one register per key, partitioned by key. */
export const kvModel: Model<string, KvInput, KvOutput> = {
  partition(history) {
    const byKey = new Map<string, KvOperation[]>();
    for (const op of history) {
      const list = byKey.get(op.input.key);
      if (list === undefined) byKey.set(op.input.key, [op]);
      else list.push(op);
    }
    return [...byKey.keys()].sort().map((k) => byKey.get(k) ?? []);
  },
  init: () => '',
  step(state, input, output) {
    switch (input.op) {
      case 'get':
        return [output === state, state];
      case 'put':
        return [true, input.value];
      case 'append':
        return [true, state + input.value];
    }
  },
  hash: (s) => hashString(EMPTY_HASH, s),
  describe(input, output) {
    const out = output === null ? '?' : JSON.stringify(output);
    return input.op === 'get'
      ? `get(${input.key}) -> ${out}`
      : `${input.op}(${input.key}, ${JSON.stringify(input.value)}) -> ${output === null ? '?' : 'ok'}`;
  },
};
