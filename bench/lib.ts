/**
 * Shared pieces of the benchmarks: progress on stderr, the one JSON line on stdout (with the
 * machine and its load), percentiles, tswarmd processes on loopback addresses, the local
 * engine (dockerode) and Docker Swarm mode on it for the side-by-side runs.
 *
 * Conventions every bench follows (the machine is shared):
 *  - loopback addresses 127.0.0.51-.53 for tswarm daemons, 127.0.0.54 for Docker Swarm mode;
 *  - services named `bench-*`, containers created here named and labelled `bench-*`;
 *  - only containers this process created (or its daemons' nodes ran) are ever removed;
 *  - Docker Swarm mode is switched on only for one measurement and always left afterwards.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { ROOT, runCli, TEST_IMAGE, TSWARMD, type CliResult } from '../test/helpers/procs.js';
import { WaitAbort, waitFor } from '../test/helpers/wait.js';
import { Client } from '../src/cli/client.js';
import type { Node } from '../src/shared/api-types.js';

export { TEST_IMAGE, waitFor };

export const BENCH_IPS = ['127.0.0.51', '127.0.0.52', '127.0.0.53'] as const;
export const DOCKER_SWARM_IP = '127.0.0.54';
/** A command that exits at once on SIGTERM (so stop-first updates are not 10 s grace waits). */
export const SIGTERM_AWARE = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'] as const;

const T0 = performance.now();

/** A progress line on stderr, with seconds since the bench started. */
export function progress(line: string): void {
  process.stderr.write(`[${((performance.now() - T0) / 1000).toFixed(1)}s] ${line}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Nearest-rank percentile of a sorted array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly samples: number[];
}

/** p50/p99/min/max/mean of samples (rounded to `digits`), with the samples in run order. */
export function summarize(samples: readonly number[], digits = 0): Summary {
  const r = (x: number): number => +x.toFixed(digits);
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  return {
    n: s.length,
    p50: r(percentile(s, 0.5)),
    p99: r(percentile(s, 0.99)),
    min: r(s[0] ?? NaN),
    max: r(s.at(-1) ?? NaN),
    mean: r(mean),
    samples: samples.map(r),
  };
}

function loadavg(): number[] {
  return os.loadavg().map((x) => +x.toFixed(2));
}

const loadAtStart = loadavg();
const startedAt = new Date().toISOString();

/**
 * The code measured: a snapshot built from `git archive` carries .bench-commit; a checkout
 * reports its HEAD and whether the work tree differs from it.
 */
function codeVersion(): string {
  const snap = path.join(ROOT, '.bench-commit');
  if (existsSync(snap)) return `${readFileSync(snap, 'utf8').trim()} (clean export)`;
  try {
    const head = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'proto'], {
      encoding: 'utf8',
    }).trim();
    return dirty ? `${head} + uncommitted changes in src/proto` : head;
  } catch {
    return 'unknown';
  }
}

/** The machine the figures came from, and how loaded it was at the start and at the end. */
export function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: +(os.totalmem() / 1024 ** 3).toFixed(1),
    node: process.version,
    kernel: os.release(),
    loadavgStart: loadAtStart,
    loadavgEnd: loadavg(),
    startedAt,
    finishedAt: new Date().toISOString(),
    code: codeVersion(),
    // Set BENCH_MACHINE_NOTE to say what else ran (the load averages show how busy it was).
    ...(process.env['BENCH_MACHINE_NOTE'] ? { note: process.env['BENCH_MACHINE_NOTE'] } : {}),
  };
}

/** The bench's one JSON line on stdout. */
export function emit(bench: string, figures: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ bench, ...figures, machine: machine() })}\n`);
}

const cleanups: (() => Promise<void> | void)[] = [];

/** Registers a clean-up step; they run last-in first-out when the bench ends or is interrupted. */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

async function runCleanups(): Promise<void> {
  while (cleanups.length) {
    const fn = cleanups.pop();
    try {
      await fn?.();
    } catch (err) {
      progress(`clean-up step failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/**
 * Runs a bench: its figures become the JSON line; clean-up always runs (also on Ctrl-C);
 * a failure is printed on stderr and exits 1 without a JSON line.
 */
export function runBench(name: string, body: () => Promise<Record<string, unknown>>): void {
  let interrupted = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      progress(`${sig}: cleaning up`);
      void runCleanups().finally(() => process.exit(130));
    });
  }
  body().then(
    async (figures) => {
      await runCleanups();
      emit(name, figures);
      process.exit(0);
    },
    async (err: unknown) => {
      process.stderr.write(
        `bench/${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      await runCleanups();
      process.exit(1);
    },
  );
}

/** Parses `--name value` options with defaults; numbers stay strings for the caller. */
export function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return (i >= 0 ? process.argv[i + 1] : undefined) ?? fallback;
}

export function numFlag(name: string, fallback: number): number {
  const v = Number(flag(name, String(fallback)));
  if (!Number.isFinite(v)) throw new Error(`--${name} must be a number`);
  return v;
}

export function boolFlag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

// ---------------------------------------------------------------------------------------------
// Commands

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs a command, never throwing on a non-zero exit; `ms` is its wall time. */
export function run(cmd: string, args: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  const t = performance.now();
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code =
          err === null ? 0 : typeof err.code === 'number' ? err.code : err.killed ? 124 : 1;
        resolve({ code, stdout, stderr, ms: performance.now() - t });
      },
    );
  });
}

export async function ok(
  cmd: string,
  args: readonly string[],
  timeoutMs?: number,
): Promise<string> {
  const r = await run(cmd, args, timeoutMs);
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export function dockerCli(...args: string[]): Promise<string> {
  return ok('docker', args);
}

// ---------------------------------------------------------------------------------------------
// The local engine

export const docker = new Docker();

/** Running containers matching every label filter (`key=value` or `key`). */
export async function runningContainers(
  labels: readonly string[],
): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ filters: { label: [...labels], status: ['running'] } });
}

/** Runs fn(0..n-1) with at most `parallel` calls in flight (an engine-limit workload). */
export async function pool(
  n: number,
  parallel: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** Removes (force) every container matching the label filters: only ever our own labels. */
export async function removeContainers(labels: readonly string[]): Promise<number> {
  if (!labels.some((l) => l.includes('bench') || l.startsWith('com.tswarm.node.id=')))
    throw new Error(`refusing to remove containers not scoped to this bench: ${labels.join(',')}`);
  const cs = await docker.listContainers({ all: true, filters: { label: [...labels] } });
  await Promise.all(
    cs.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  return cs.length;
}

/**
 * Polls the engine every `intervalMs` until `pred` holds for the running containers matching
 * the labels; returns the elapsed ms since `t0` (performance.now()) at the first poll that saw it.
 */
export async function waitRunning(
  what: string,
  labels: readonly string[],
  pred: (cs: Docker.ContainerInfo[]) => boolean,
  t0: number,
  timeoutMs = 180_000,
  intervalMs = 100,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let last = 0;
  for (;;) {
    const cs = await runningContainers(labels);
    if (pred(cs)) return performance.now() - t0;
    if (cs.length !== last) {
      last = cs.length;
    }
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${cs.length} running)`);
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// tswarmd on a loopback address

function socketLive(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(p);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      resolve(false);
    });
  });
}

/**
 * A tswarmd process with its own temp data root, bound to its own loopback address. Unlike the
 * test daemon it logs to a file (info level by default) and exposes its pid for CPU/RSS.
 */
export class BenchDaemon {
  readonly dir: string;
  readonly dataRoot: string;
  readonly socket: string;
  readonly logFile: string;
  child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private apiClient: Client | undefined;

  constructor(
    readonly name: string,
    readonly ip: string,
    readonly logLevel = process.env['TSWARM_BENCH_LOG'] ?? 'info',
  ) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), `tswarm-bench-${name}-`));
    this.dataRoot = path.join(this.dir, 'data');
    this.socket = path.join(this.dir, 'tswarm.sock');
    this.logFile = path.join(this.dir, 'tswarmd.log');
    onCleanup(() => this.cleanup());
  }

  get host(): string {
    return `unix://${this.socket}`;
  }

  get addr(): string {
    return `${this.ip}:2377`;
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error(`${this.name} is not running`);
    return pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    rmSync(this.socket, { force: true });
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(
      process.execPath,
      [
        // e.g. TSWARM_BENCH_DAEMON_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (not
        // allowed in NODE_OPTIONS) to profile the daemons a bench starts.
        ...(process.env['TSWARM_BENCH_DAEMON_NODE_ARGS'] ?? '').split(' ').filter(Boolean),
        TSWARMD,
        '--data-root',
        this.dataRoot,
        '--host',
        this.host,
        '--log-level',
        this.logLevel,
        '--node-name',
        this.name,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    this.child = child;
    let exit: string | undefined;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, sig) => {
        exit = String(code ?? sig ?? '?');
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    await waitFor(
      `${this.name}: control socket`,
      async () => {
        if (exit !== undefined)
          throw new WaitAbort(`${this.name}: tswarmd exited early (${exit}); log ${this.logFile}`);
        return existsSync(this.socket) && (await socketLive(this.socket));
      },
      20_000,
    );
  }

  /** kill -9, as a crash. */
  async kill9(): Promise<void> {
    const c = this.child;
    if (!c) return;
    c.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c) return;
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(t);
  }

  cli(args: readonly string[]): Promise<CliResult> {
    return runCli(['-H', this.host, ...args]);
  }

  async ok(args: readonly string[]): Promise<string> {
    const r = await this.cli(args);
    if (r.code !== 0)
      throw new Error(`tswarm ${args.join(' ')} on ${this.name} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  async init(extra: readonly string[] = []): Promise<void> {
    await this.ok([
      'swarm',
      'init',
      '--advertise-addr',
      this.ip,
      '--listen-addr',
      this.addr,
      ...extra,
    ]);
  }

  async join(token: string, remote: BenchDaemon): Promise<void> {
    await this.ok([
      'swarm',
      'join',
      '--token',
      token,
      '--advertise-addr',
      this.ip,
      '--listen-addr',
      this.addr,
      remote.addr,
    ]);
  }

  async token(role: 'worker' | 'manager'): Promise<string> {
    return (await this.ok(['swarm', 'join-token', '-q', role])).trim();
  }

  async nodeId(): Promise<string> {
    const info = JSON.parse(await this.ok(['info', '--format', 'json'])) as {
      swarm: { node_id: string };
    };
    return info.swarm.node_id;
  }

  /**
   * The control API in this process (the CLI's own client over the control socket): for
   * polling, where spawning the CLI each time would load the machine and blur the timings.
   */
  api(): Client {
    this.apiClient ??= new Client(this.host);
    return this.apiClient;
  }

  /** `node ls` as {hostname, status, manager} ("Ready", "Leader"/"Reachable"/...), via the API. */
  async nodeTable(): Promise<{ hostname: string; status: string; manager: string }[]> {
    const nodes: Node[] = await this.api().nodeList({});
    const cap = (x: string): string => x.charAt(0).toUpperCase() + x.slice(1);
    return nodes.map((n) => ({
      hostname: n.Description.Hostname,
      status: cap(n.Status.State),
      manager: n.ManagerStatus
        ? n.ManagerStatus.Leader
          ? 'Leader'
          : cap(n.ManagerStatus.Reachability)
        : '',
    }));
  }

  /** RSS (kB) and CPU time (ms, user + system) of the daemon process, from /proc. */
  usage(): { rssKb: number; cpuMs: number } {
    return procUsage(this.pid);
  }

  async cleanup(): Promise<void> {
    this.apiClient?.close();
    this.apiClient = undefined;
    // A profiled daemon must exit by itself to write its profile.
    if (process.env['TSWARM_BENCH_DAEMON_NODE_ARGS']?.includes('--cpu-prof')) await this.stop();
    else await this.kill9();
    // The containers its node ran (scoped by this node's label) go with it.
    try {
      const st = JSON.parse(
        readFileSync(path.join(this.dataRoot, 'swarm', 'state.json'), 'utf8'),
      ) as { nodeId?: string };
      if (st.nodeId) await removeContainers([`com.tswarm.node.id=${st.nodeId}`]);
    } catch {
      // never joined a swarm, or the state file is elsewhere: removed by service name instead
    }
    if (!process.env['TSWARM_BENCH_KEEP']) rmSync(this.dir, { recursive: true, force: true });
    else progress(`${this.name}: kept ${this.dir}`);
  }
}

const CLK_TCK = 100;

/** RSS (kB) and CPU time (ms) of a process from /proc/PID/{status,stat} (Linux). */
export function procUsage(pid: number): { rssKb: number; cpuMs: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = /VmRSS:\s+(\d+)/.exec(status);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return { rssKb: Number(rss?.[1] ?? NaN), cpuMs: ((utime + stime) * 1000) / CLK_TCK };
}

/** Waits for the daemons' swarm to have a leader every one of them agrees on; returns its name. */
export async function waitLeader(via: readonly BenchDaemon[], timeoutMs = 30_000): Promise<string> {
  return waitFor(
    'an agreed leader',
    async () => {
      const seen = new Set<string>();
      for (const d of via) {
        const rows = await d.nodeTable();
        const l = rows.find((r) => r.manager === 'Leader');
        if (!l) return undefined;
        seen.add(l.hostname);
      }
      return seen.size === 1 ? [...seen][0] : undefined;
    },
    timeoutMs,
    100,
  );
}

/** Starts one manager on 127.0.0.51 and `extra` more daemons joined as `role`. */
export async function loopbackCluster(
  n: number,
  role: 'worker' | 'manager',
  initArgs: readonly string[] = [],
): Promise<BenchDaemon[]> {
  const ds = BENCH_IPS.slice(0, n).map((ip, i) => new BenchDaemon(`bench-n${i + 1}`, ip));
  await Promise.all(ds.map((d) => d.start()));
  const [first, ...rest] = ds;
  if (!first) throw new Error('no daemons');
  await first.init(initArgs);
  const token = rest.length ? await first.token(role) : '';
  for (const d of rest) await d.join(token, first);
  let last = '';
  await waitFor(
    'every node Ready',
    async () => {
      const rows = await first.nodeTable();
      last = JSON.stringify(rows);
      return rows.length === n && rows.every((r) => r.status === 'Ready');
    },
    60_000,
    200,
  ).catch((err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; nodes: ${last}`);
  });
  return ds;
}

// ---------------------------------------------------------------------------------------------
// Docker Swarm mode on the local engine, for the side-by-side figures

async function swarmState(): Promise<string> {
  return (await dockerCli('info', '--format', '{{.Swarm.LocalNodeState}}')).trim();
}

/**
 * Runs `fn` with the local engine in Docker Swarm mode (a one-node swarm on 127.0.0.54), and
 * always leaves it afterwards. Refuses if the engine is already in a swarm (someone else's).
 */
export async function withDockerSwarm<T>(fn: () => Promise<T>): Promise<T> {
  const st = await swarmState();
  if (st !== 'inactive')
    throw new Error(`the engine's swarm state is "${st}", not inactive: someone else is using it`);
  progress(`docker swarm init --advertise-addr ${DOCKER_SWARM_IP}`);
  await dockerCli(
    'swarm',
    'init',
    '--advertise-addr',
    DOCKER_SWARM_IP,
    '--listen-addr',
    `${DOCKER_SWARM_IP}:2377`,
  );
  let left = false;
  const leave = async (): Promise<void> => {
    if (left) return;
    left = true;
    // Our services first, so their containers go before the swarm does.
    const svcs = (await dockerCli('service', 'ls', '-q', '--filter', 'name=bench-'))
      .split('\n')
      .filter(Boolean);
    if (svcs.length) await run('docker', ['service', 'rm', ...svcs]);
    await run('docker', ['swarm', 'leave', '--force']);
    await removeContainers(['com.docker.swarm.service.name', 'bench.docker-swarm=1']).catch(
      () => undefined,
    );
    progress('docker swarm leave --force: done');
  };
  onCleanup(leave);
  try {
    return await fn();
  } finally {
    await leave();
  }
}
