import type { Message, PeerId } from '../index.js';
import type { MessageCodec, Transport } from './transport.js';

/** Knobs of a SimNetwork. */
export interface SimNetworkOptions {
  /** Delay of every delivery; 0 delivers at the next macrotask (setImmediate). */
  readonly latencyMs?: number;
  /** Probability in [0, 1) that a message is silently lost. */
  readonly dropRate?: number;
  /** Used for dropRate; inject a seeded generator for reproducible tests. */
  readonly random?: () => number;
  /**
   * When set, every message is encoded and decoded on its way (as on the wire), so sender and
   * receiver never share objects. Without it messages are structuredClone()d.
   */
  readonly codec?: MessageCodec;
}

/** Counters of a SimNetwork. */
export interface SimStats {
  delivered: number;
  dropped: number;
}

/**
 * An in-process network of SimTransports for tests: asynchronous delivery (never inside
 * send()), per-link cuts, whole-node isolation and a seeded loss rate. A message to a peer
 * that is unknown to the sender, not started, stopped or cut off is dropped and reported
 * unreachable (a MsgSnap also fails its snapshot status), like GrpcTransport does.
 */
export class SimNetwork {
  readonly stats: SimStats = { delivered: 0, dropped: 0 };
  private readonly nodes = new Map<PeerId, SimTransport>();
  private readonly cuts = new Set<string>();
  private readonly isolated = new Set<PeerId>();

  constructor(private readonly opts: SimNetworkOptions = {}) {}

  /** The transport of node `id` (created on first call). */
  transport(id: PeerId): SimTransport {
    let t = this.nodes.get(id);
    if (!t || t.isStopped) {
      t = new SimTransport(id, this);
      this.nodes.set(id, t);
    }
    return t;
  }

  /** Cuts both directions between a and b. */
  cut(a: PeerId, b: PeerId): void {
    this.cuts.add(`${a}\u0000${b}`);
    this.cuts.add(`${b}\u0000${a}`);
  }

  /** Cuts `id` off from everyone. */
  isolate(id: PeerId): void {
    this.isolated.add(id);
  }

  /** Restores every link. */
  heal(): void {
    this.cuts.clear();
    this.isolated.clear();
  }

  /** True when a message from `from` to `to` would currently get through. */
  canReach(from: PeerId, to: PeerId): boolean {
    if (this.isolated.has(from) || this.isolated.has(to)) return false;
    if (this.cuts.has(`${from}\u0000${to}`)) return false;
    return this.nodes.get(to)?.isRunning ?? false;
  }

  /** @internal Called by SimTransport.send. */
  route(from: SimTransport, m: Message): void {
    const to = m.to;
    if (!from.knows(to) || !this.canReach(from.id, to)) {
      this.stats.dropped++;
      from.later(() => {
        from.emitUnreachable(to);
        if (m.type === 'MsgSnap') from.emitSnapshotStatus(to, false);
      });
      return;
    }
    if (this.opts.dropRate && (this.opts.random ?? Math.random)() < this.opts.dropRate) {
      this.stats.dropped++;
      if (m.type === 'MsgSnap') {
        from.later(() => {
          from.emitSnapshotStatus(to, false);
        });
      }
      return;
    }
    const copy = this.opts.codec
      ? this.opts.codec.decode(this.opts.codec.encode(m))
      : structuredClone(m);
    const deliver = (): void => {
      const target = this.nodes.get(to);
      // Re-checked at delivery: the link may have been cut or the node stopped meanwhile.
      if (!target || !this.canReach(from.id, to)) {
        this.stats.dropped++;
        from.emitUnreachable(to);
        if (m.type === 'MsgSnap') from.emitSnapshotStatus(to, false);
        return;
      }
      this.stats.delivered++;
      target.emitMessage(copy);
      if (m.type === 'MsgSnap') from.emitSnapshotStatus(to, true);
    };
    const latency = this.opts.latencyMs ?? 0;
    if (latency > 0) setTimeout(deliver, latency);
    else setImmediate(deliver);
  }
}

/** One node's endpoint on a SimNetwork; peer addresses are recorded but not used. */
export class SimTransport implements Transport {
  private readonly peers = new Map<PeerId, string>();
  private readonly messageCbs: ((m: Message) => void)[] = [];
  private readonly unreachableCbs: ((id: PeerId) => void)[] = [];
  private readonly snapshotCbs: ((id: PeerId, ok: boolean) => void)[] = [];
  private running = false;
  private stopped = false;

  constructor(
    readonly id: PeerId,
    private readonly net: SimNetwork,
  ) {}

  get isRunning(): boolean {
    return this.running;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  start(): Promise<void> {
    if (!this.stopped) this.running = true;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    return Promise.resolve();
  }

  send(messages: readonly Message[]): void {
    if (!this.running) return;
    for (const m of messages) this.net.route(this, m);
  }

  setPeer(id: PeerId, addr: string): void {
    if (id !== this.id) this.peers.set(id, addr);
  }

  removePeer(id: PeerId): void {
    this.peers.delete(id);
  }

  /** The address last given for `id`. */
  peerAddr(id: PeerId): string | undefined {
    return this.peers.get(id);
  }

  knows(id: PeerId): boolean {
    return this.peers.has(id);
  }

  onMessage(cb: (m: Message) => void): void {
    this.messageCbs.push(cb);
  }

  onUnreachable(cb: (id: PeerId) => void): void {
    this.unreachableCbs.push(cb);
  }

  onSnapshotStatus(cb: (id: PeerId, ok: boolean) => void): void {
    this.snapshotCbs.push(cb);
  }

  /** @internal */
  later(fn: () => void): void {
    setImmediate(fn);
  }

  /** @internal */
  emitMessage(m: Message): void {
    if (!this.running) return;
    for (const cb of this.messageCbs) cb(m);
  }

  /** @internal */
  emitUnreachable(id: PeerId): void {
    if (!this.running) return;
    for (const cb of this.unreachableCbs) cb(id);
  }

  /** @internal */
  emitSnapshotStatus(id: PeerId, ok: boolean): void {
    if (!this.running) return;
    for (const cb of this.snapshotCbs) cb(id, ok);
  }
}
