/**
 * One raft member for bench/raft.ts: a RaftDriver over GrpcTransport with a counter state
 * machine, driven by its parent over the IPC channel (fork()).
 *
 *   node build/bench/raft-node.js --id n1 --listen 127.0.0.1:23771 --dir DIR \
 *     --peers n1=127.0.0.1:23771,n2=127.0.0.2:23772,n3=127.0.0.3:23773 [--bootstrap]
 *
 * Messages to the parent: {type:'ready'}, {type:'leader', id, leader, term, at} (at: epoch ms,
 * sub-ms precision), {type:'load-result', ...}, {type:'status', ...}.
 * Commands from the parent: {cmd:'load', concurrency, durationMs, size}, {cmd:'status'},
 * {cmd:'stop'}.
 */
import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { RaftDriver, type RaftPeer, type StateMachine } from '../src/daemon/raft/driver.js';
import { GrpcTransport } from '../src/raft/transport/index.js';

const { values: args } = parseArgs({
  options: {
    id: { type: 'string' },
    listen: { type: 'string' },
    dir: { type: 'string' },
    peers: { type: 'string' },
    bootstrap: { type: 'boolean', default: false },
    'parallel-persist': { type: 'boolean', default: false },
    log: { type: 'string', default: 'warn' },
  },
});

function required(name: string, v: string | undefined): string {
  if (!v) throw new Error(`--${name} is required`);
  return v;
}

const id = required('id', args.id);
const listen = required('listen', args.listen);
const dir = required('dir', args.dir);
const peers: RaftPeer[] = required('peers', args.peers)
  .split(',')
  .map((p) => {
    const [pid, addr] = p.split('=');
    return { id: pid ?? '', addr: addr ?? '' };
  });

function now(): number {
  return performance.timeOrigin + performance.now();
}

function send(msg: object): void {
  process.send?.(msg);
}

class CounterFsm implements StateMachine {
  count = 0;
  bytes = 0;
  apply(e: { data: Uint8Array }): unknown {
    this.count++;
    this.bytes += e.data.length;
    return this.count;
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ count: this.count, bytes: this.bytes }));
  }
  restore(data: Uint8Array): void {
    if (data.length === 0) {
      this.count = 0;
      this.bytes = 0;
      return;
    }
    const s = JSON.parse(new TextDecoder().decode(data)) as { count: number; bytes: number };
    this.count = s.count;
    this.bytes = s.bytes;
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const log = pino({ level: args.log, base: { node: id } }, pino.destination(2));
  const transport = new GrpcTransport({
    id,
    listen,
    serverCredentials: grpc.ServerCredentials.createInsecure(),
    channelCredentials: grpc.credentials.createInsecure(),
    logger: log.child({ component: 'raft-transport' }),
  });
  const fsm = new CounterFsm();
  const driver = await RaftDriver.open({
    id,
    dataDir: dir,
    transport,
    fsm,
    peers,
    parallelLeaderPersist: args['parallel-persist'],
    ...(args.bootstrap ? { bootstrapVoters: peers } : {}),
    logger: log.child({ component: 'raft' }),
  });
  driver.onLeaderChange((leader, term) => {
    send({ type: 'leader', id, leader, term, at: now() });
  });

  async function load(concurrency: number, durationMs: number, size: number): Promise<object> {
    const payload = randomBytes(size);
    const lats: number[] = [];
    let errors = 0;
    let lastError = '';
    const s0 = { ...driver.stats };
    const t0 = performance.now();
    const end = t0 + durationMs;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          const s = performance.now();
          try {
            await driver.propose(payload);
            lats.push(performance.now() - s);
          } catch (err) {
            errors++;
            lastError = err instanceof Error ? err.message : String(err);
            await new Promise((r) => setTimeout(r, 10));
          }
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    lats.sort((a, b) => a - b);
    const s1 = driver.stats;
    return {
      concurrency,
      entries: lats.length,
      entriesPerSec: Math.round(lats.length / secs),
      p50Ms: +percentile(lats, 0.5).toFixed(3),
      p99Ms: +percentile(lats, 0.99).toFixed(3),
      maxMs: +(lats.at(-1) ?? NaN).toFixed(3),
      errors,
      lastError,
      walSaves: s1.walSaves - s0.walSaves,
      readies: s1.readies - s0.readies,
      entriesPerWalSave: +(
        (s1.entriesPersisted - s0.entriesPersisted) /
        Math.max(1, s1.walSaves - s0.walSaves)
      ).toFixed(1),
    };
  }

  process.on('message', (raw: unknown) => {
    const msg = raw as {
      cmd?: 'load' | 'status' | 'stop';
      concurrency?: number;
      durationMs?: number;
      size?: number;
    };
    switch (msg.cmd) {
      case 'load':
        load(msg.concurrency ?? 1, msg.durationMs ?? 5000, msg.size ?? 128).then(
          (r) => {
            send({ type: 'load-result', id, ...r });
          },
          (err: unknown) => {
            send({ type: 'load-result', id, error: String(err) });
          },
        );
        return;
      case 'status': {
        const st = driver.status();
        send({
          type: 'status',
          id,
          leader: st.leader,
          role: st.role,
          term: st.term,
          applied: st.appliedIndex,
          commit: st.commit,
        });
        return;
      }
      case 'stop':
        driver.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
        return;
      case undefined:
        return;
    }
  });
  process.on('disconnect', () => {
    // The parent went away: do not linger holding the port.
    process.exit(0);
  });
  send({ type: 'ready', id, leader: driver.leaderId(), at: now() });
}

main().catch((err: unknown) => {
  process.stderr.write(
    `raft-node ${id}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
