/**
 * Raft benchmark: three real processes (bench/raft-node.ts) on 127.0.0.51/.52/.53, ports
 * 23771-23773, over GrpcTransport with the WAL fsyncing.
 *
 *  1. Throughput and propose→applied latency on the leader at 1, 16 and 256 concurrent
 *     proposers (the load runs inside the leader process), ~5 s each, each after a warm-up
 *     of --warmup-ms at the same concurrency whose figures are reported apart (`warmup`):
 *     freshly started processes spend their first seconds compiling the hot paths and
 *     growing the heap, with one slow proposal in five, which a long-running manager does
 *     not.
 *  2. Failover: kill -9 the leader, time until a survivor knows a new leader; restart the
 *     killed node and repeat (20 rounds).
 *
 * Prints progress lines on stderr, then one JSON line with every figure on stdout.
 *   npm run bench -- raft [--duration-ms 5000] [--warmup-ms 2000] [--kills 20] [--size 128]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { emit, progress } from './lib.js';

const { values: args } = parseArgs({
  options: {
    'duration-ms': { type: 'string', default: '5000' },
    'warmup-ms': { type: 'string', default: '2000' },
    kills: { type: 'string', default: '20' },
    size: { type: 'string', default: '128' },
    concurrency: { type: 'string', default: '1,16,256' },
    log: { type: 'string', default: 'warn' },
    // Writes a V8 CPU profile of every member into this directory (for finding hotspots).
    'profile-dir': { type: 'string' },
    // RaftDriver's parallelLeaderPersist: the leader sends MsgApp before its own fsync.
    'parallel-persist': { type: 'boolean', default: false },
  },
});
const durationMs = Number(args['duration-ms']);
const warmupMs = Number(args['warmup-ms']);
const kills = Number(args.kills);
const size = Number(args.size);
const levels = args.concurrency.split(',').map(Number);

const NODE_JS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'raft-node.js');
const NODES = [
  { id: 'n1', addr: '127.0.0.51:23771' },
  { id: 'n2', addr: '127.0.0.52:23772' },
  { id: 'n3', addr: '127.0.0.53:23773' },
];
const PEERS = NODES.map((n) => `${n.id}=${n.addr}`).join(',');

interface NodeMsg {
  type: string;
  id: string;
  leader?: string;
  term?: number;
  at?: number;
  [k: string]: unknown;
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

class Proc {
  child: ChildProcess | undefined;
  leader = '';
  private waiters: { pred: (m: NodeMsg) => boolean; resolve: (m: NodeMsg) => void }[] = [];
  readonly listeners = new Set<(m: NodeMsg) => void>();

  constructor(
    readonly id: string,
    readonly addr: string,
    readonly dir: string,
  ) {}

  start(bootstrap: boolean): Promise<NodeMsg> {
    const child = fork(
      NODE_JS,
      [
        '--id',
        this.id,
        '--listen',
        this.addr,
        '--dir',
        this.dir,
        '--peers',
        PEERS,
        '--log',
        args.log,
        ...(bootstrap ? ['--bootstrap'] : []),
        ...(args['parallel-persist'] ? ['--parallel-persist'] : []),
      ],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        execArgv: args['profile-dir']
          ? ['--cpu-prof', `--cpu-prof-dir=${args['profile-dir']}`]
          : [],
      },
    );
    this.child = child;
    this.leader = '';
    child.on('message', (raw) => {
      const m = raw as NodeMsg;
      if (m.type === 'leader' || m.type === 'ready') this.leader = m.leader ?? '';
      for (const l of this.listeners) l(m);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(m)) return true;
        w.resolve(m);
        return false;
      });
    });
    return this.next((m) => m.type === 'ready', 20_000);
  }

  next(pred: (m: NodeMsg) => boolean, timeoutMs: number): Promise<NodeMsg> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${this.id}: timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  send(msg: object): void {
    this.child?.send(msg);
  }

  /** Asks the member to stop cleanly (so a CPU profile gets written); kill -9 after 5 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        resolve();
      });
    });
    child.send({ cmd: 'stop' });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, 5_000);
    await exited;
    clearTimeout(timer);
    this.child = undefined;
  }

  kill9(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    this.leader = '';
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => {
        resolve();
      });
      child.kill('SIGKILL');
    });
  }
}

async function waitUntil(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function agreedLeader(procs: readonly Proc[]): string {
  const live = procs.filter((p) => p.child);
  const l = live[0]?.leader ?? '';
  return l && live.every((p) => p.leader === l) ? l : '';
}

/**
 * The disk's own figure, for context: 256-byte appends each followed by fdatasync, in the
 * directory the members use, for `ms` milliseconds.
 */
async function fsyncBaseline(dir: string, ms: number): Promise<{ p50Ms: number; p99Ms: number }> {
  const fh = await open(path.join(dir, 'fsync-baseline'), 'w');
  const buf = Buffer.alloc(256, 7);
  const lats: number[] = [];
  let pos = 0;
  const end = performance.now() + ms;
  try {
    while (performance.now() < end) {
      const t = performance.now();
      await fh.write(buf, 0, buf.length, pos);
      pos += buf.length;
      await fh.datasync();
      lats.push(performance.now() - t);
    }
  } finally {
    await fh.close();
  }
  lats.sort((a, b) => a - b);
  return { p50Ms: +percentile(lats, 0.5).toFixed(3), p99Ms: +percentile(lats, 0.99).toFixed(3) };
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'tswarm-raft-bench-'));
  const procs = NODES.map((n) => new Proc(n.id, n.addr, path.join(root, n.id)));
  const byId = (id: string): Proc => {
    const p = procs.find((x) => x.id === id);
    if (!p) throw new Error(`no node ${id}`);
    return p;
  };
  const cleanup = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(root, { recursive: true, force: true });
  };
  process.on('SIGINT', () => {
    void cleanup().then(() => process.exit(130));
  });
  try {
    const disk = await fsyncBaseline(root, 2_000);
    const loadBefore = os.loadavg()[0] ?? NaN;
    progress(
      `disk: write+fdatasync p50 ${disk.p50Ms} ms, p99 ${disk.p99Ms} ms; ` +
        `load average ${loadBefore.toFixed(2)} on ${os.cpus().length} CPUs`,
    );
    progress(`starting 3 members in ${root}`);
    await Promise.all(procs.map((p) => p.start(true)));
    await waitUntil('a leader', () => agreedLeader(procs) !== '', 10_000);
    progress(`leader ${agreedLeader(procs)}`);

    const load: Record<string, unknown>[] = [];
    for (const c of levels) {
      const leader = byId(agreedLeader(procs));
      const run = async (ms: number): Promise<NodeMsg> => {
        const result = leader.next((m) => m.type === 'load-result', ms + 30_000);
        leader.send({ cmd: 'load', concurrency: c, durationMs: ms, size });
        return result;
      };
      const warm = warmupMs > 0 ? await run(warmupMs) : undefined;
      const r = await run(durationMs);
      const fig: Record<string, unknown> = { ...r };
      delete fig['type'];
      if (warm) {
        fig['warmup'] = {
          durationMs: warmupMs,
          entries: warm['entries'],
          p50Ms: warm['p50Ms'],
          p99Ms: warm['p99Ms'],
          maxMs: warm['maxMs'],
        };
        progress(
          `warm-up c=${c}: ${String(warm['entries'])} entries in ${warmupMs} ms, ` +
            `p99 ${String(warm['p99Ms'])} ms (not counted)`,
        );
      }
      load.push(fig);
      progress(
        `load c=${c}: ${String(r['entriesPerSec'])} entries/s, p50 ${String(r['p50Ms'])} ms, ` +
          `p99 ${String(r['p99Ms'])} ms, ${String(r['entriesPerWalSave'])} entries/fsync, ` +
          `errors ${String(r['errors'])}`,
      );
    }

    const failovers: number[] = [];
    for (let round = 1; round <= kills; round++) {
      await waitUntil('an agreed leader', () => agreedLeader(procs) !== '', 10_000);
      const old = agreedLeader(procs);
      const survivors = procs.filter((p) => p.id !== old);
      let elected = 0;
      let newLeader = '';
      const onMsg = (m: NodeMsg): void => {
        if (m.type === 'leader' && m.leader && m.leader !== old && elected === 0) {
          elected = m.at ?? now();
          newLeader = m.leader;
        }
      };
      for (const s of survivors) s.listeners.add(onMsg);
      const t0 = now();
      await byId(old).kill9();
      await waitUntil('a new leader', () => elected !== 0, 10_000);
      for (const s of survivors) s.listeners.delete(onMsg);
      const ms = elected - t0;
      failovers.push(ms);
      progress(
        `kill ${round}/${kills}: ${old} killed, ${newLeader} leads after ${ms.toFixed(0)} ms`,
      );
      await byId(old).start(false);
      await waitUntil(
        `${old} to rejoin`,
        () => agreedLeader(procs) !== '' && procs.every((p) => p.child),
        10_000,
      );
    }
    const sorted = [...failovers].sort((a, b) => a - b);
    const failover = {
      kills: failovers.length,
      p50Ms: Math.round(percentile(sorted, 0.5)),
      p99Ms: Math.round(percentile(sorted, 0.99)),
      minMs: Math.round(sorted[0] ?? NaN),
      maxMs: Math.round(sorted.at(-1) ?? NaN),
      samplesMs: failovers.map((x) => Math.round(x)),
    };
    const best = Math.max(...load.map((l) => Number(l['entriesPerSec'])));
    const c16 = load.find((l) => l['concurrency'] === 16);
    const figures = {
      nodes: 3,
      fsync: true,
      cpus: os.cpus().length,
      loadAverage1mBefore: +loadBefore.toFixed(2),
      loadAverage1mAfter: +(os.loadavg()[0] ?? NaN).toFixed(2),
      diskFdatasync: disk,
      parallelLeaderPersist: args['parallel-persist'],
      payloadBytes: size,
      durationMs,
      warmupMs,
      load,
      failover,
      targets: {
        batchedEntriesPerSec: { target: '>= 20000', value: best, met: best >= 20_000 },
        p99At16Ms: {
          target: '< 10',
          value: c16?.['p99Ms'],
          met: c16 !== undefined && Number(c16['p99Ms']) < 10,
        },
        failoverP50Ms: { target: '<= 1000', value: failover.p50Ms, met: failover.p50Ms <= 1000 },
      },
    };
    emit('raft', figures);
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench/raft: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
