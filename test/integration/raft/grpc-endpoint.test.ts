import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import {
  GrpcEndpoint,
  type GrpcEndpointHooks,
  type GrpcServing,
  type GrpcTuning,
} from '../../../src/raft/transport/grpc-endpoint.js';
import { SnapshotBusyError } from '../../../src/raft/transport/peer-link.js';
import { waitFor } from '../../helpers/wait.js';

// The gRPC layer over opaque frames, on real sockets in 127.0.10.x (this suite's range).

interface Received {
  frames: Uint8Array[];
  snapshots: { header: Uint8Array; data: Uint8Array }[];
  unreachable: string[];
}

const endpoints: GrpcEndpoint[] = [];

function makeEndpoint(
  id: string,
  serving: GrpcServing | string,
  tuning: Partial<GrpcTuning> = {},
  hooks: Partial<GrpcEndpointHooks> = {},
): { ep: GrpcEndpoint; got: Received } {
  const got: Received = { frames: [], snapshots: [], unreachable: [] };
  const ep = new GrpcEndpoint(
    {
      ...(typeof serving === 'string'
        ? { listen: serving, serverCredentials: grpc.ServerCredentials.createInsecure() }
        : serving),
      id,
      channelCredentials: grpc.credentials.createInsecure(),
      tuning,
    },
    {
      onFrame: hooks.onFrame ?? ((f) => got.frames.push(f)),
      onSnapshot: hooks.onSnapshot ?? ((header, data) => got.snapshots.push({ header, data })),
      onUnreachable: (p) => got.unreachable.push(p),
    },
  );
  endpoints.push(ep);
  return { ep, got };
}

function frame(i: number, size = 16): Uint8Array {
  const b = new Uint8Array(size);
  new DataView(b.buffer).setUint32(0, i);
  return b;
}

function frameNo(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
}

after(async () => {
  await Promise.all(endpoints.map((e) => e.stop()));
});

describe('GrpcEndpoint (opaque frames over tswarm.raft.v1.Raft)', () => {
  it('delivers 10,000 frames in order, batched', async () => {
    const a = makeEndpoint('a', '127.0.10.1:0');
    const b = makeEndpoint('b', '127.0.10.2:0');
    await a.ep.start();
    await b.ep.start();
    a.ep.setPeer('b', b.ep.address());
    // Frames sent before the stream is accepted wait in the (bounded) queue.
    assert.equal(a.ep.sendFrame('b', frame(0)), true);
    await waitFor('first frame at b', () => b.got.frames.length === 1);
    // The driver sends once per Ready; here 10 bursts of 1,000 with the loop turning between.
    for (let burst = 0; burst < 10; burst++) {
      for (let i = 1; i <= 1_000; i++) {
        assert.equal(a.ep.sendFrame('b', frame(burst * 1_000 + i)), true);
      }
      await new Promise((r) => setImmediate(r));
    }
    await waitFor('10,001 frames at b', () => b.got.frames.length === 10_001);
    assert.deepEqual(
      b.got.frames.map(frameNo),
      Array.from({ length: 10_001 }, (_, i) => i),
    );
    const st = a.ep.stats().get('b');
    assert.ok(st);
    assert.equal(st.framesSent, 10_001);
    assert.ok(st.batchesSent < 100, `expected batching, got ${st.batchesSent} batches`);
    assert.deepEqual(a.got.unreachable, []);
  });

  it('never blocks: a full queue drops and reports the peer unreachable', async () => {
    const a = makeEndpoint('a', '127.0.10.1:0', { maxQueuedFrames: 100 });
    await a.ep.start();
    // 127.0.10.9:9 listens for nothing: the stream never opens, the queue fills up.
    a.ep.setPeer('ghost', '127.0.10.9:9');
    const t0 = performance.now();
    let queued = 0;
    for (let i = 0; i < 100_000; i++) if (a.ep.sendFrame('ghost', frame(i))) queued++;
    const ms = performance.now() - t0;
    assert.ok(queued <= 100, `queued ${queued}`);
    assert.ok(a.got.unreachable.length >= 99_900);
    assert.ok(ms < 2_000, `100,000 sends took ${ms} ms`);
    assert.equal(a.ep.sendFrame('nobody', frame(0)), false);
    assert.equal(a.got.unreachable.at(-1), 'nobody');
  });

  it('reconnects after the peer restarts on the same address', async () => {
    const a = makeEndpoint('a', '127.0.10.1:0', { backoffMaxMs: 200 });
    const b1 = makeEndpoint('b', '127.0.10.2:0');
    await a.ep.start();
    await b1.ep.start();
    const addr = b1.ep.address();
    a.ep.setPeer('b', addr);
    a.ep.sendFrame('b', frame(1));
    await waitFor('first frame', () => b1.got.frames.length === 1);
    await b1.ep.stop();
    await waitFor('unreachable after the peer stopped', () => {
      a.ep.sendFrame('b', frame(2));
      return a.got.unreachable.includes('b');
    });
    const b2 = makeEndpoint('b', addr);
    await b2.ep.start();
    await waitFor(
      'a frame at the restarted peer',
      () => {
        a.ep.sendFrame('b', frame(3));
        return b2.got.frames.some((f) => frameNo(f) === 3);
      },
      10_000,
      20,
    );
  });

  it('moves a 20 MB snapshot in chunks through a server with the default 4 MB limit', async () => {
    // A shared server built with grpc-js defaults: any single message > 4 MB is refused,
    // so the snapshot can only arrive if it was chunked.
    const server = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.10.2:0', grpc.ServerCredentials.createInsecure(), (err, p) => {
        if (err) reject(err);
        else resolve(p);
      });
    });
    try {
      const a = makeEndpoint('a', '127.0.10.1:0');
      const b = makeEndpoint('b', { server });
      await a.ep.start();
      await b.ep.start();
      a.ep.setPeer('b', `127.0.10.2:${port}`);
      const data = randomBytes(20 * 1024 * 1024);
      const header = Uint8Array.from([1, 2, 3]);
      await a.ep.sendSnapshot('b', header, data);
      assert.equal(b.got.snapshots.length, 1);
      const got = b.got.snapshots[0];
      assert.ok(got);
      assert.deepEqual([...got.header], [1, 2, 3]);
      assert.equal(got.data.length, data.length);
      assert.ok(Buffer.from(got.data).equals(data), 'snapshot data differs');

      // The same payload in one frame is refused by that server, proving the limit is real.
      a.ep.setPeer('b', `127.0.10.2:${port}`);
      a.ep.sendFrame('b', new Uint8Array(5 * 1024 * 1024));
      await waitFor('oversized frame refused', () => a.got.unreachable.includes('b'));
      assert.equal(b.got.frames.length, 0);
    } finally {
      server.forceShutdown();
    }
  });

  it('allows one snapshot in flight per peer and reports refusals', async () => {
    let refuse = false;
    const a = makeEndpoint('a', '127.0.10.1:0', { snapshotChunkBytes: 64 * 1024 });
    const b = makeEndpoint(
      'b',
      '127.0.10.2:0',
      {},
      {
        onSnapshot: () => {
          if (refuse) throw new Error('bad header');
        },
      },
    );
    await a.ep.start();
    await b.ep.start();
    a.ep.setPeer('b', b.ep.address());
    const data = new Uint8Array(4 * 1024 * 1024);
    const first = a.ep.sendSnapshot('b', Uint8Array.from([9]), data);
    await assert.rejects(a.ep.sendSnapshot('b', Uint8Array.from([9]), data), SnapshotBusyError);
    await first;
    refuse = true;
    await assert.rejects(
      a.ep.sendSnapshot('b', Uint8Array.from([9]), data),
      /peer refused snapshot: bad header/,
    );
    await assert.rejects(a.ep.sendSnapshot('zz', Uint8Array.from([9]), data), /unknown raft peer/);
  });
});
