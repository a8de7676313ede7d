import * as grpc from '@grpc/grpc-js';
import { SILENT_LOGGER, type TransportLogger } from './logger.js';
import { PeerLink, type PeerLinkStats } from './peer-link.js';
import { raftProto } from './raft-proto.js';
import { RaftService } from './raft-service.js';

/** Tuning knobs of the gRPC transport; every one has a default in DEFAULT_GRPC_TUNING. */
export interface GrpcTuning {
  /** Per peer: frames waiting to be written before new ones are dropped. */
  readonly maxQueuedFrames: number;
  /** Per peer: bytes waiting to be written before new frames are dropped. */
  readonly maxQueuedBytes: number;
  /** Upper bound of one MessageBatch on the wire. */
  readonly maxBatchBytes: number;
  /** Snapshot data chunk size; must stay well under gRPC's 4 MB message limit. */
  readonly snapshotChunkBytes: number;
  /** Largest snapshot a receiver accepts. */
  readonly maxSnapshotBytes: number;
  readonly snapshotTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** HTTP/2 keepalive pings, so a silently dead peer is noticed. */
  readonly keepaliveMs: number;
}

export const DEFAULT_GRPC_TUNING: GrpcTuning = {
  maxQueuedFrames: 4096,
  maxQueuedBytes: 64 * 1024 * 1024,
  maxBatchBytes: 2 * 1024 * 1024,
  snapshotChunkBytes: 1024 * 1024,
  maxSnapshotBytes: 2 * 1024 * 1024 * 1024 - 1,
  snapshotTimeoutMs: 120_000,
  connectTimeoutMs: 2_000,
  backoffInitialMs: 50,
  backoffMaxMs: 1_000,
  keepaliveMs: 10_000,
};

/** Server-side receive limit this transport needs (a batch may exceed gRPC's 4 MB default). */
export const RAFT_SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.keepalive_permit_without_calls': 1,
  // channelz stays on (its per-call statistics are 5 % of a busy leader's allocations): with
  // 'grpc.enable_channelz': 0, grpc-js 1.14's forceShutdown no longer closes the open
  // connections, and a peer restarted on the same address was never reconnected to.
};

/**
 * Where the endpoint serves: its own server bound to `listen` ("host:port", port 0 picks
 * one), or an existing grpc.Server the caller binds and starts (the daemon's shared 2377
 * server; give it RAFT_SERVER_OPTIONS).
 */
export type GrpcServing =
  | { readonly listen: string; readonly serverCredentials: grpc.ServerCredentials }
  | { readonly server: grpc.Server };

export type GrpcEndpointOptions = GrpcServing & {
  /** This node's raft id, for logs. */
  readonly id: string;
  readonly channelCredentials: grpc.ChannelCredentials;
  readonly logger?: TransportLogger;
  readonly tuning?: Partial<GrpcTuning>;
};

/** What the endpoint reports upwards. */
export interface GrpcEndpointHooks {
  readonly onFrame: (frame: Uint8Array) => void;
  readonly onSnapshot: (header: Uint8Array, data: Uint8Array) => void;
  readonly onUnreachable: (peer: string) => void;
}

/**
 * The gRPC layer of the raft transport, over opaque frames: serves the tswarm.raft.v1.Raft
 * service and keeps one PeerLink per peer. GrpcTransport puts the message codec on top.
 */
export class GrpcEndpoint {
  readonly tuning: GrpcTuning;
  private readonly log: TransportLogger;
  private readonly service: RaftService;
  private readonly links = new Map<string, PeerLink>();
  private server: grpc.Server | undefined;
  private boundAddr = '';
  private started = false;
  private stopped = false;

  constructor(
    private readonly opts: GrpcEndpointOptions,
    private readonly hooks: GrpcEndpointHooks,
  ) {
    this.tuning = { ...DEFAULT_GRPC_TUNING, ...opts.tuning };
    this.log = opts.logger ?? SILENT_LOGGER;
    this.service = new RaftService({
      onFrame: hooks.onFrame,
      onSnapshot: hooks.onSnapshot,
      maxSnapshotBytes: this.tuning.maxSnapshotBytes,
      logger: this.log,
    });
  }

  /** Registers the service and, with `listen`, binds it. Idempotent. */
  async start(): Promise<void> {
    if (this.started) return;
    if (this.stopped) throw new Error('raft transport was stopped; create a new one');
    this.started = true;
    const def = raftProto().Raft.service;
    const serving: GrpcServing = this.opts;
    if ('server' in serving) {
      this.server = serving.server;
      this.server.addService(def, this.service.handlers());
      return;
    }
    const server = new grpc.Server(RAFT_SERVER_OPTIONS);
    server.addService(def, this.service.handlers());
    const { listen, serverCredentials } = serving;
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(listen, serverCredentials, (err, p) => {
        if (err) reject(err);
        else resolve(p);
      });
    });
    this.server = server;
    this.boundAddr = `${listen.slice(0, listen.lastIndexOf(':'))}:${port}`;
    this.log.info({ addr: this.boundAddr }, 'raft transport listening');
  }

  /** The bound "host:port" (after start() with `listen`); '' on a shared server. */
  address(): string {
    return this.boundAddr;
  }

  /** Adds or re-addresses a peer; an address change replaces its connection. */
  setPeer(id: string, addr: string): void {
    if (this.stopped) return;
    const old = this.links.get(id);
    if (old?.addr === addr) return;
    old?.close();
    this.links.set(
      id,
      new PeerLink({
        peer: id,
        addr,
        credentials: this.opts.channelCredentials,
        channelOptions: {
          'grpc.use_local_subchannel_pool': 1,
          'grpc.initial_reconnect_backoff_ms': this.tuning.backoffInitialMs,
          'grpc.max_reconnect_backoff_ms': this.tuning.backoffMaxMs,
          'grpc.keepalive_time_ms': this.tuning.keepaliveMs,
          'grpc.keepalive_timeout_ms': this.tuning.keepaliveMs,
          'grpc.keepalive_permit_without_calls': 1,
        },
        maxQueuedFrames: this.tuning.maxQueuedFrames,
        maxQueuedBytes: this.tuning.maxQueuedBytes,
        maxBatchBytes: this.tuning.maxBatchBytes,
        connectTimeoutMs: this.tuning.connectTimeoutMs,
        backoffInitialMs: this.tuning.backoffInitialMs,
        backoffMaxMs: this.tuning.backoffMaxMs,
        snapshotChunkBytes: this.tuning.snapshotChunkBytes,
        snapshotTimeoutMs: this.tuning.snapshotTimeoutMs,
        logger: this.log,
        onUnreachable: () => {
          this.hooks.onUnreachable(id);
        },
      }),
    );
    this.log.debug({ peer: id, addr }, 'raft peer set');
  }

  removePeer(id: string): void {
    this.links.get(id)?.close();
    this.links.delete(id);
  }

  hasPeer(id: string): boolean {
    return this.links.has(id);
  }

  /** Queues a frame for `peer`; false (and onUnreachable) when dropped or the peer is unknown. */
  sendFrame(peer: string, frame: Uint8Array): boolean {
    const link = this.links.get(peer);
    if (!link) {
      if (!this.stopped) this.hooks.onUnreachable(peer);
      return false;
    }
    return link.enqueue(frame);
  }

  /** See PeerLink.sendSnapshot. */
  sendSnapshot(peer: string, header: Uint8Array, data: Uint8Array): Promise<void> {
    const link = this.links.get(peer);
    if (!link) return Promise.reject(new Error(`unknown raft peer ${peer}`));
    return link.sendSnapshot(header, data);
  }

  /** Per-peer counters. */
  stats(): Map<string, PeerLinkStats> {
    return new Map([...this.links].map(([id, l]) => [id, { ...l.stats }]));
  }

  /** Cuts every stream both ways and releases the server (or our service on a shared one). */
  stop(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.stopped = true;
    this.service.close();
    for (const link of this.links.values()) link.close();
    this.links.clear();
    const server = this.server;
    this.server = undefined;
    if (server) {
      if ('server' in this.opts) server.removeService(raftProto().Raft.service);
      else server.forceShutdown();
    }
    return Promise.resolve();
  }
}
