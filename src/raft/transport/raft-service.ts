import * as grpc from '@grpc/grpc-js';
import type { MessageBatch__Output } from '../../../proto/gen/tswarm/raft/v1/MessageBatch.js';
import type { RaftHandlers } from '../../../proto/gen/tswarm/raft/v1/Raft.js';
import type { SnapshotChunk__Output } from '../../../proto/gen/tswarm/raft/v1/SnapshotChunk.js';
import type { SnapshotResult } from '../../../proto/gen/tswarm/raft/v1/SnapshotResult.js';
import type { StreamSummary } from '../../../proto/gen/tswarm/raft/v1/StreamSummary.js';
import type { TransportLogger } from './logger.js';

/** What the receiving side does with what arrives; GrpcTransport decodes and delivers. */
export interface RaftServiceHooks {
  /** One frame of a MessageBatch, in order. Throwing drops the frame (logged). */
  readonly onFrame: (frame: Uint8Array) => void;
  /** A complete snapshot; throwing refuses it (the sender reports failure). */
  readonly onSnapshot: (header: Uint8Array, data: Uint8Array) => void;
  /** Largest snapshot data accepted, so a bad total_bytes cannot exhaust memory. */
  readonly maxSnapshotBytes: number;
  readonly logger: TransportLogger;
}

/**
 * The server half of the Raft service. Tracks its open calls so that close() can cut them
 * all (a stopped transport must not keep delivering), and refuses new ones after close().
 */
export class RaftService {
  private readonly open = new Set<() => void>();
  private closed = false;
  framesReceived = 0;
  framesRejected = 0;

  constructor(private readonly hooks: RaftServiceHooks) {}

  /** Handlers for server.addService(raftProto().Raft.service, ...). */
  handlers(): RaftHandlers {
    return {
      Stream: (call, callback) => {
        this.handleStream(call, callback);
      },
      InstallSnapshot: (call, callback) => {
        this.handleSnapshot(call, callback);
      },
    };
  }

  /** Ends every open call with UNAVAILABLE and refuses new ones. */
  close(): void {
    this.closed = true;
    for (const abort of [...this.open]) abort();
    this.open.clear();
  }

  private handleStream(
    call: grpc.ServerReadableStream<MessageBatch__Output, StreamSummary>,
    callback: grpc.sendUnaryData<StreamSummary>,
  ): void {
    if (this.closed) {
      callback({ code: grpc.status.UNAVAILABLE, details: 'raft transport stopped' });
      return;
    }
    let frames = 0;
    let done = false;
    const finish = (err: Partial<grpc.StatusObject> | null): void => {
      if (done) return;
      done = true;
      this.open.delete(abort);
      if (err) callback(err);
      else callback(null, { frames });
    };
    const abort = (): void => {
      finish({ code: grpc.status.UNAVAILABLE, details: 'raft transport stopped' });
    };
    this.open.add(abort);
    // Tells the sender the stream is accepted: it starts flushing its queue on this.
    call.sendMetadata(new grpc.Metadata());
    call.on('data', (batch: MessageBatch__Output) => {
      if (done) return;
      for (const frame of batch.frames) {
        frames++;
        this.framesReceived++;
        try {
          this.hooks.onFrame(frame);
        } catch (err) {
          this.framesRejected++;
          this.hooks.logger.warn(
            { err: err instanceof Error ? err.message : String(err), bytes: frame.length },
            'raft frame rejected',
          );
        }
      }
    });
    call.on('end', () => {
      finish(null);
    });
    call.on('error', () => {
      finish({ code: grpc.status.CANCELLED, details: 'stream error' });
    });
  }

  private handleSnapshot(
    call: grpc.ServerReadableStream<SnapshotChunk__Output, SnapshotResult>,
    callback: grpc.sendUnaryData<SnapshotResult>,
  ): void {
    if (this.closed) {
      callback({ code: grpc.status.UNAVAILABLE, details: 'raft transport stopped' });
      return;
    }
    let header: Uint8Array | undefined;
    let buf: Buffer | undefined;
    let received = 0;
    let done = false;
    const finish = (res: SnapshotResult | Partial<grpc.StatusObject>, isError: boolean): void => {
      if (done) return;
      done = true;
      this.open.delete(abort);
      buf = undefined;
      if (isError) callback(res as Partial<grpc.StatusObject>);
      else callback(null, res as SnapshotResult);
    };
    const refuse = (why: string): void => {
      this.hooks.logger.warn({ why }, 'raft snapshot refused');
      finish({ ok: false, error: why }, false);
    };
    const abort = (): void => {
      finish({ code: grpc.status.UNAVAILABLE, details: 'raft transport stopped' }, true);
    };
    this.open.add(abort);
    call.on('data', (chunk: SnapshotChunk__Output) => {
      if (done) return;
      if (!header) {
        if (chunk.header.length === 0) {
          refuse('first snapshot chunk carries no header');
          return;
        }
        const total = Number(chunk.total_bytes);
        if (!Number.isSafeInteger(total) || total < 0 || total > this.hooks.maxSnapshotBytes) {
          refuse(`snapshot size ${chunk.total_bytes} out of range`);
          return;
        }
        header = chunk.header;
        buf = Buffer.allocUnsafe(total);
      }
      if (chunk.data.length > 0 && buf) {
        if (received + chunk.data.length > buf.length) {
          refuse(`snapshot data exceeds announced ${buf.length} bytes`);
          return;
        }
        chunk.data.copy(buf, received);
        received += chunk.data.length;
      }
    });
    call.on('end', () => {
      if (done) return;
      if (!header || !buf) {
        refuse('snapshot stream ended without a header');
        return;
      }
      if (received !== buf.length) {
        refuse(`snapshot truncated: ${received} of ${buf.length} bytes`);
        return;
      }
      try {
        this.hooks.onSnapshot(header, buf);
      } catch (err) {
        refuse(err instanceof Error ? err.message : String(err));
        return;
      }
      finish({ ok: true }, false);
    });
    call.on('error', () => {
      finish({ code: grpc.status.CANCELLED, details: 'snapshot stream error' }, true);
    });
  }
}
