import * as grpc from '@grpc/grpc-js';
import type { MessageBatch } from '../../../proto/gen/tswarm/raft/v1/MessageBatch.js';
import type { SnapshotChunk } from '../../../proto/gen/tswarm/raft/v1/SnapshotChunk.js';
import type { TransportLogger } from './logger.js';
import { raftProto, type RaftClient } from './raft-proto.js';

/** Tuning of one outgoing link; GrpcTransport fills these from its options. */
export interface PeerLinkOptions {
  readonly peer: string;
  readonly addr: string;
  readonly credentials: grpc.ChannelCredentials;
  readonly channelOptions: grpc.ChannelOptions;
  /** Frames waiting for the stream; beyond this a frame is dropped (never blocks the caller). */
  readonly maxQueuedFrames: number;
  readonly maxQueuedBytes: number;
  /** Upper bound of one MessageBatch (a single larger frame still goes alone). */
  readonly maxBatchBytes: number;
  /** A stream that has not been accepted by then is cancelled and retried after a backoff. */
  readonly connectTimeoutMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly snapshotChunkBytes: number;
  readonly snapshotTimeoutMs: number;
  readonly logger: TransportLogger;
  /** Called synchronously whenever frames for this peer are lost (dropped or cut off). */
  readonly onUnreachable: () => void;
}

/** Counters, for tests and metrics. */
export interface PeerLinkStats {
  framesSent: number;
  batchesSent: number;
  framesDropped: number;
  streamsOpened: number;
  streamFailures: number;
}

/** Thrown by sendSnapshot() while another snapshot to the same peer is still in flight. */
export class SnapshotBusyError extends Error {
  override readonly name = 'SnapshotBusyError';
}

/**
 * One outgoing connection to a peer: a long-lived `Stream` call carrying batches of opaque
 * frames, plus `InstallSnapshot` calls for chunked snapshot data.
 *
 * Frames queue up while the stream connects or while HTTP/2 flow control holds it back; all
 * frames queued at flush time go out as one MessageBatch (up to maxBatchBytes each). The
 * queue is bounded: when it is full, or while the link is backing off after a failure, a
 * frame is dropped and onUnreachable() fires, so the raft loop never waits on the network.
 * Frames cut off by a broken stream are dropped the same way; raft retransmits.
 */
export class PeerLink {
  readonly stats: PeerLinkStats = {
    framesSent: 0,
    batchesSent: 0,
    framesDropped: 0,
    streamsOpened: 0,
    streamFailures: 0,
  };
  private readonly client: RaftClient;
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private stream: grpc.ClientWritableStream<MessageBatch> | undefined;
  private open = false;
  private waitingDrain = false;
  private flushScheduled = false;
  private connectTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private retryAt = 0;
  private closed = false;
  private snapshotCall: grpc.ClientWritableStream<SnapshotChunk> | undefined;

  constructor(private readonly opts: PeerLinkOptions) {
    this.backoffMs = opts.backoffInitialMs;
    const Client = raftProto().Raft;
    this.client = new Client(opts.addr, opts.credentials, opts.channelOptions);
  }

  get addr(): string {
    return this.opts.addr;
  }

  /** True while a stream to the peer is accepted and usable. */
  get isOpen(): boolean {
    return this.open;
  }

  /**
   * Queues one frame for the peer. Returns false when the frame was dropped (queue full,
   * backing off after a failure, or closed); onUnreachable() has then been called.
   */
  enqueue(frame: Uint8Array): boolean {
    if (this.closed) return false;
    if (this.retryAt > 0 && Date.now() < this.retryAt) {
      this.drop(1, 'backing off');
      return false;
    }
    if (
      this.queue.length >= this.opts.maxQueuedFrames ||
      (this.queue.length > 0 && this.queuedBytes + frame.length > this.opts.maxQueuedBytes)
    ) {
      this.drop(1, 'queue full');
      return false;
    }
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    this.ensureStream();
    // A long synchronous burst is written out as it grows instead of at the microtask.
    if (this.queuedBytes >= this.opts.maxBatchBytes) {
      this.flush();
    } else {
      this.scheduleFlush();
    }
    return true;
  }

  /**
   * Sends one snapshot as a header and data chunks over an InstallSnapshot call. Resolves
   * once the peer has reassembled it and handed the MsgSnap to its node; rejects on any
   * failure (the caller reports the snapshot as failed). One at a time per peer:
   * SnapshotBusyError while another is in flight.
   */
  sendSnapshot(header: Uint8Array, data: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`link to ${this.opts.peer} is closed`));
    if (this.snapshotCall) {
      return Promise.reject(new SnapshotBusyError(`snapshot to ${this.opts.peer} in flight`));
    }
    return new Promise<void>((resolve, reject) => {
      let ended = false;
      let wake: (() => void) | undefined;
      const call = this.client.InstallSnapshot(
        new grpc.Metadata(),
        { deadline: Date.now() + this.opts.snapshotTimeoutMs },
        (err, res) => {
          ended = true;
          wake?.();
          if (this.snapshotCall === call) this.snapshotCall = undefined;
          if (err) reject(err);
          else if (!res?.ok) reject(new Error(`peer refused snapshot: ${res?.error ?? '?'}`));
          else resolve();
        },
      );
      this.snapshotCall = call;
      const waitDrain = (): Promise<void> =>
        new Promise<void>((r) => {
          wake = r;
          call.once('drain', r);
        });
      const pump = async (): Promise<void> => {
        const first: SnapshotChunk = { header, total_bytes: String(data.length) };
        if (!call.write(first)) await waitDrain();
        const step = this.opts.snapshotChunkBytes;
        for (let off = 0; off < data.length && !ended; off += step) {
          const len = Math.min(step, data.length - off);
          const chunk = Buffer.from(data.buffer, data.byteOffset + off, len);
          if (!call.write({ data: chunk })) await waitDrain();
        }
        if (!ended) call.end();
      };
      pump().catch((err: unknown) => {
        call.cancel();
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    });
  }

  /** Cancels the stream and any snapshot in flight, and closes the channel. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.connectTimer);
    this.queue = [];
    this.queuedBytes = 0;
    const stream = this.stream;
    this.stream = undefined;
    this.open = false;
    stream?.cancel();
    this.snapshotCall?.cancel();
    this.snapshotCall = undefined;
    this.client.close();
  }

  private drop(n: number, why: string): void {
    this.stats.framesDropped += n;
    this.opts.logger.debug({ peer: this.opts.peer, frames: n, why }, 'raft frames dropped');
    this.opts.onUnreachable();
  }

  private ensureStream(): void {
    if (this.stream || this.closed) return;
    // waitForReady: a call made while the channel is between reconnect attempts waits for
    // the next one (bounded by connectTimeoutMs) instead of failing at once, so the first
    // message to a peer that just came back (often an election's vote request) gets through.
    const md = new grpc.Metadata({ waitForReady: true });
    const call = this.client.Stream(md, {}, (err) => {
      this.onStreamEnd(call, err);
    });
    this.stream = call;
    this.open = false;
    this.waitingDrain = false;
    this.stats.streamsOpened++;
    call.on('metadata', () => {
      if (this.stream !== call) return;
      clearTimeout(this.connectTimer);
      this.open = true;
      this.backoffMs = this.opts.backoffInitialMs;
      this.retryAt = 0;
      this.opts.logger.debug({ peer: this.opts.peer, addr: this.opts.addr }, 'raft stream open');
      this.flush();
    });
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      if (this.stream === call && !this.open) call.cancel();
    }, this.opts.connectTimeoutMs);
    this.connectTimer.unref();
  }

  private onStreamEnd(
    call: grpc.ClientWritableStream<MessageBatch>,
    err: grpc.ServiceError | null,
  ) {
    if (this.stream !== call) return;
    clearTimeout(this.connectTimer);
    this.stream = undefined;
    this.open = false;
    this.waitingDrain = false;
    if (this.closed) return;
    this.stats.streamFailures++;
    const lost = this.queue.length;
    this.queue = [];
    this.queuedBytes = 0;
    this.retryAt = Date.now() + this.backoffMs;
    this.opts.logger.debug(
      { peer: this.opts.peer, addr: this.opts.addr, err: err?.message, retryMs: this.backoffMs },
      'raft stream ended',
    );
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.backoffMaxMs);
    this.stats.framesDropped += lost;
    this.opts.onUnreachable();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || !this.open) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const call = this.stream;
    if (!call || !this.open || this.waitingDrain) return;
    while (this.queue.length > 0) {
      const queue = this.queue;
      let n = 0;
      let bytes = 0;
      while (n < queue.length) {
        const len = (queue[n] as Uint8Array).length;
        if (n > 0 && bytes + len > this.opts.maxBatchBytes) break;
        bytes += len;
        n++;
      }
      let frames: Uint8Array[];
      if (n === queue.length) {
        frames = queue;
        this.queue = [];
      } else {
        frames = queue.slice(0, n);
        this.queue = queue.slice(n);
      }
      this.queuedBytes -= bytes;
      this.stats.framesSent += n;
      this.stats.batchesSent++;
      if (!call.write({ frames })) {
        this.waitingDrain = true;
        call.once('drain', () => {
          if (this.stream !== call) return;
          this.waitingDrain = false;
          this.flush();
        });
        return;
      }
    }
  }
}
