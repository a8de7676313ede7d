/**
 * ReadIndex bookkeeping on the leader (thesis §6.4): each request records the commit index at
 * arrival and is answered once a quorum has acknowledged a heartbeat carrying its context,
 * which proves the leader was still the leader when the request arrived.
 */
import type { Index, PeerId } from './types.js';

/** A read request waiting for a heartbeat quorum. `from` is the requester ('' never). */
export interface ReadRequest {
  readonly index: Index;
  readonly from: PeerId;
  readonly ctx: Uint8Array;
}

/** A ReadIndex answer: serve reads tagged `ctx` once the state machine applied `index`. */
export interface ReadState {
  readonly index: Index;
  readonly ctx: Uint8Array;
}

/** A stable string key for a context (byte-exact). */
export function ctxKey(ctx: Uint8Array): string {
  let s = '';
  for (const b of ctx) s += String.fromCharCode(b);
  return s;
}

interface Pending {
  readonly req: ReadRequest;
  readonly acks: Set<PeerId>;
}

export class ReadOnly {
  private readonly pending = new Map<string, Pending>();
  /** Keys in arrival order. */
  private queue: string[] = [];

  /** Adds a request unless one with the same context is already pending. */
  add(req: ReadRequest): void {
    const key = ctxKey(req.ctx);
    if (this.pending.has(key)) return;
    this.pending.set(key, { req, acks: new Set() });
    this.queue.push(key);
  }

  /** Records `id`'s heartbeat ack for `ctx`; returns the acks so far (undefined if unknown). */
  recvAck(id: PeerId, ctx: Uint8Array): ReadonlySet<PeerId> | undefined {
    const p = this.pending.get(ctxKey(ctx));
    if (p === undefined) return undefined;
    p.acks.add(id);
    return p.acks;
  }

  /** Removes and returns every request up to and including the one for `ctx`. */
  advance(ctx: Uint8Array): ReadRequest[] {
    const key = ctxKey(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const done = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    const out: ReadRequest[] = [];
    for (const k of done) {
      const p = this.pending.get(k);
      if (p !== undefined) out.push(p.req);
      this.pending.delete(k);
    }
    return out;
  }

  /** Context of the newest pending request (sent with heartbeats), or undefined. */
  lastPendingCtx(): Uint8Array | undefined {
    const k = this.queue[this.queue.length - 1];
    return k === undefined ? undefined : this.pending.get(k)?.req.ctx;
  }

  size(): number {
    return this.queue.length;
  }

  reset(): void {
    this.pending.clear();
    this.queue = [];
  }
}
