import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { Message } from '../../../src/raft/index.js';
import { GrpcTransport, type GrpcTuning } from '../../../src/raft/transport/index.js';
import { waitFor } from '../../helpers/wait.js';

// GrpcTransport with src/raft's codec, on real sockets in 127.0.10.x.

interface Peer {
  t: GrpcTransport;
  got: Message[];
  unreachable: string[];
  snapStatus: [string, boolean][];
}

const all: GrpcTransport[] = [];

async function peer(id: string, host: string, tuning: Partial<GrpcTuning> = {}): Promise<Peer> {
  const t = new GrpcTransport({
    id,
    listen: `${host}:0`,
    serverCredentials: grpc.ServerCredentials.createInsecure(),
    channelCredentials: grpc.credentials.createInsecure(),
    tuning,
  });
  all.push(t);
  const p: Peer = { t, got: [], unreachable: [], snapStatus: [] };
  t.onMessage((m) => p.got.push(m));
  t.onUnreachable((x) => p.unreachable.push(x));
  t.onSnapshotStatus((x, ok) => p.snapStatus.push([x, ok]));
  await t.start();
  return p;
}

function app(from: string, to: string, index: number): Message {
  return {
    type: 'MsgApp',
    from,
    to,
    term: 3,
    index,
    logTerm: 3,
    commit: index,
    entries: [{ term: 3, index: index + 1, type: 'normal', data: Uint8Array.from([index & 255]) }],
  };
}

after(async () => {
  await Promise.all(all.map((t) => t.stop()));
});

describe('GrpcTransport', () => {
  it('delivers messages intact and in order', async () => {
    const a = await peer('a', '127.0.10.1');
    const b = await peer('b', '127.0.10.2');
    a.t.setPeer('b', b.t.address());
    b.t.setPeer('a', a.t.address());
    const sent = Array.from({ length: 500 }, (_, i) => app('a', 'b', i));
    a.t.send(sent);
    await waitFor('500 messages at b', () => b.got.length === 500);
    assert.deepEqual(b.got, sent);
    b.t.send([{ type: 'MsgHeartbeatResp', from: 'b', to: 'a', term: 3, ctx: new Uint8Array(0) }]);
    await waitFor('reply at a', () => a.got.length === 1);
    assert.equal(a.got[0]?.type, 'MsgHeartbeatResp');
  });

  it('drops messages addressed to someone else', async () => {
    const a = await peer('a', '127.0.10.1');
    const b = await peer('b', '127.0.10.2');
    // a believes "c" lives at b's address: b must not deliver c's mail.
    a.t.setPeer('c', b.t.address());
    a.t.setPeer('b', b.t.address());
    a.t.send([app('a', 'c', 1), app('a', 'b', 2)]);
    await waitFor('the message for b', () => b.got.length === 1);
    assert.equal(b.got[0]?.to, 'b');
  });

  it('reports unreachable peers after send() returns, never blocking it', async () => {
    const a = await peer('a', '127.0.10.1', { maxQueuedFrames: 10 });
    a.t.setPeer('ghost', '127.0.10.9:9');
    const t0 = performance.now();
    a.t.send(Array.from({ length: 10_000 }, (_, i) => app('a', 'ghost', i)));
    assert.ok(performance.now() - t0 < 1_000);
    assert.deepEqual(a.unreachable, [], 'reported from inside send()');
    await waitFor('unreachable report', () => a.unreachable.includes('ghost'));
    a.t.send([app('a', 'unknown', 1)]);
    await waitFor('unknown peer reported', () => a.unreachable.includes('unknown'));
  });

  it('sends a 20 MB MsgSnap in chunks and reports the snapshot status', async () => {
    const a = await peer('a', '127.0.10.1');
    const b = await peer('b', '127.0.10.2');
    a.t.setPeer('b', b.t.address());
    const data = randomBytes(20 * 1024 * 1024);
    const snap: Message = {
      type: 'MsgSnap',
      from: 'a',
      to: 'b',
      term: 7,
      snapshot: {
        meta: { index: 1234, term: 6, confState: { voters: ['a', 'b'], learners: [] } },
        data,
      },
    };
    a.t.send([snap]);
    await waitFor('snapshot status', () => a.snapStatus.length === 1, 20_000);
    assert.deepEqual(a.snapStatus, [['b', true]]);
    assert.equal(b.got.length, 1);
    const got = b.got[0];
    assert.ok(got?.type === 'MsgSnap');
    assert.deepEqual(got.snapshot.meta, snap.snapshot.meta);
    assert.ok(Buffer.from(got.snapshot.data).equals(data), 'snapshot data differs');

    // A snapshot to a dead peer fails and says so.
    await b.t.stop();
    a.t.send([{ ...snap, snapshot: { meta: snap.snapshot.meta, data: data.subarray(0, 1000) } }]);
    await waitFor('failed snapshot status', () => a.snapStatus.length === 2, 10_000);
    assert.deepEqual(a.snapStatus[1], ['b', false]);
    assert.ok(a.unreachable.includes('b'));
  });

  it('registers on a shared server and leaves it running on stop', async () => {
    const server = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.10.3:0', grpc.ServerCredentials.createInsecure(), (err, p) => {
        if (err) reject(err);
        else resolve(p);
      });
    });
    try {
      const shared = new GrpcTransport({
        id: 'c',
        server,
        channelCredentials: grpc.credentials.createInsecure(),
      });
      const got: Message[] = [];
      shared.onMessage((m) => got.push(m));
      await shared.start();
      assert.equal(shared.address(), '');
      const a = await peer('a', '127.0.10.1');
      a.t.setPeer('c', `127.0.10.3:${port}`);
      a.t.send([app('a', 'c', 5)]);
      await waitFor('message via the shared server', () => got.length === 1);
      await shared.stop();
      a.t.send([app('a', 'c', 6)]);
      await waitFor('unreachable after the service left', () => a.unreachable.includes('c'));
      assert.equal(got.length, 1);
    } finally {
      server.forceShutdown();
    }
  });
});
