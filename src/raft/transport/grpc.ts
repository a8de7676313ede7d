import { decodeMessage, encodeMessage, type Message, type PeerId } from '../index.js';
import { GrpcEndpoint, type GrpcEndpointOptions, type GrpcTuning } from './grpc-endpoint.js';
import { SILENT_LOGGER, type TransportLogger } from './logger.js';
import { SnapshotBusyError, type PeerLinkStats } from './peer-link.js';
import type { MessageCodec, Transport } from './transport.js';

type MsgSnap = Extract<Message, { type: 'MsgSnap' }>;

/** A plain Uint8Array view of gRPC's Buffer (no copy), so decoded data is never a Buffer. */
function plain(b: Uint8Array): Uint8Array {
  return Buffer.isBuffer(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : b;
}

/** src/raft's compact binary codec. */
export const RAFT_CODEC: MessageCodec = { encode: encodeMessage, decode: decodeMessage };

/**
 * Options of GrpcTransport: where to serve (`listen` + `serverCredentials`, or an existing
 * `server`), `channelCredentials` for dialling peers (insecure in tests, mTLS in the daemon),
 * this node's `id` (messages addressed to anyone else are dropped), optional tuning.
 */
export type GrpcTransportOptions = GrpcEndpointOptions & {
  readonly codec?: MessageCodec;
};

/**
 * The production Transport over the tswarm.raft.v1.Raft gRPC service (proto/raft.proto).
 *
 * Each peer gets one long-lived client stream; the messages of a Ready that queue up for a
 * peer leave as one MessageBatch. Queues are bounded: when full, or while a broken link backs
 * off, messages are dropped and the peer reported unreachable. A MsgSnap leaves through its
 * own InstallSnapshot call, its data in chunks (1 MiB by default), and is reassembled by the
 * receiver before the MsgSnap is delivered; onSnapshotStatus reports the outcome.
 *
 * Callbacks run on the event loop, never from inside send(): unreachable reports are
 * collected and fired (once per peer) at the next microtask.
 */
export class GrpcTransport implements Transport {
  private readonly endpoint: GrpcEndpoint;
  private readonly codec: MessageCodec;
  private readonly log: TransportLogger;
  private readonly messageCbs: ((m: Message) => void)[] = [];
  private readonly unreachableCbs: ((id: PeerId) => void)[] = [];
  private readonly snapshotCbs: ((id: PeerId, ok: boolean) => void)[] = [];
  private readonly pendingUnreachable = new Set<PeerId>();
  private unreachableScheduled = false;
  private stopped = false;

  constructor(private readonly opts: GrpcTransportOptions) {
    this.codec = opts.codec ?? RAFT_CODEC;
    this.log = opts.logger ?? SILENT_LOGGER;
    this.endpoint = new GrpcEndpoint(opts, {
      onFrame: (frame) => {
        this.deliver(this.codec.decode(plain(frame)));
      },
      onSnapshot: (header, data) => {
        const m = this.codec.decode(plain(header));
        if (m.type !== 'MsgSnap') throw new RangeError(`snapshot header holds a ${m.type}`);
        this.deliver({ ...m, snapshot: { meta: m.snapshot.meta, data: plain(data) } });
      },
      onUnreachable: (peer) => {
        this.reportUnreachable(peer);
      },
    });
  }

  /** The effective tuning (defaults merged with the options). */
  get tuning(): GrpcTuning {
    return this.endpoint.tuning;
  }

  start(): Promise<void> {
    return this.endpoint.start();
  }

  /** The bound "host:port" after start() with `listen` (port 0 resolved); '' on a shared server. */
  address(): string {
    return this.endpoint.address();
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.pendingUnreachable.clear();
    return this.endpoint.stop();
  }

  send(messages: readonly Message[]): void {
    if (this.stopped) return;
    for (const m of messages) {
      if (m.type === 'MsgSnap') this.sendSnapshot(m);
      else this.endpoint.sendFrame(m.to, this.codec.encode(m));
    }
  }

  setPeer(id: PeerId, addr: string): void {
    if (id === this.opts.id) return;
    this.endpoint.setPeer(id, addr);
  }

  removePeer(id: PeerId): void {
    this.endpoint.removePeer(id);
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

  /** Per-peer link counters (frames sent/dropped, batches, stream failures). */
  stats(): Map<PeerId, PeerLinkStats> {
    return this.endpoint.stats();
  }

  private deliver(m: Message): void {
    if (this.stopped) return;
    if (m.to !== this.opts.id) {
      throw new RangeError(`message for ${JSON.stringify(m.to)} reached ${this.opts.id}`);
    }
    for (const cb of this.messageCbs) cb(m);
  }

  private sendSnapshot(m: MsgSnap): void {
    const header = this.codec.encode({
      ...m,
      snapshot: { meta: m.snapshot.meta, data: new Uint8Array(0) },
    });
    const started = Date.now();
    this.endpoint.sendSnapshot(m.to, header, m.snapshot.data).then(
      () => {
        this.log.info(
          {
            peer: m.to,
            index: m.snapshot.meta.index,
            bytes: m.snapshot.data.length,
            ms: Date.now() - started,
          },
          'raft snapshot sent',
        );
        this.reportSnapshot(m.to, true);
      },
      (err: unknown) => {
        if (err instanceof SnapshotBusyError) {
          // The one in flight reports for this peer; raft sends no second one meanwhile.
          this.log.debug({ peer: m.to }, 'raft snapshot already in flight');
          return;
        }
        this.log.warn(
          {
            peer: m.to,
            index: m.snapshot.meta.index,
            err: err instanceof Error ? err.message : String(err),
          },
          'raft snapshot failed',
        );
        this.reportUnreachable(m.to);
        this.reportSnapshot(m.to, false);
      },
    );
  }

  private reportSnapshot(id: PeerId, ok: boolean): void {
    if (this.stopped) return;
    for (const cb of this.snapshotCbs) cb(id, ok);
  }

  private reportUnreachable(id: PeerId): void {
    if (this.stopped) return;
    this.pendingUnreachable.add(id);
    if (this.unreachableScheduled) return;
    this.unreachableScheduled = true;
    queueMicrotask(() => {
      this.unreachableScheduled = false;
      const ids = [...this.pendingUnreachable];
      this.pendingUnreachable.clear();
      if (this.stopped) return;
      for (const id of ids) for (const cb of this.unreachableCbs) cb(id);
    });
  }
}
