import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WaitAbort, waitFor } from './wait.js';

/** Repository root, from build/test/helpers/procs.js. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const TSWARM = path.join(ROOT, 'bin', 'tswarm.js');
export const TSWARMD = path.join(ROOT, 'bin', 'tswarmd.js');
export const TEST_IMAGE = process.env['TSWARM_TEST_IMAGE'] ?? 'tswarm/busybox:1';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `tswarm` binary as a child process. */
export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSWARM, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Fails loudly (never skips) when no Docker engine answers. */
export function requireDocker(): void {
  const res = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8' });
  if (res.status !== 0) {
    throw new Error(
      'this test needs a running Docker engine: run `bash scripts/docker-up.sh` first\n' +
        (res.stderr || res.error?.message || ''),
    );
  }
}

export function dockerServerVersion(): string {
  const res = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], {
    encoding: 'utf8',
  });
  if (res.status !== 0) throw new Error(`docker version failed: ${res.stderr}`);
  return res.stdout.trim();
}

function isSocketLive(p: string): Promise<boolean> {
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

export interface DaemonOptions {
  readonly name?: string;
  readonly extraArgs?: readonly string[];
  readonly dataRoot?: string;
}

/** A real tswarmd process with its own temp data root and control socket. */
export class TestDaemon {
  readonly dir: string;
  readonly dataRoot: string;
  readonly socket: string;
  readonly logFile: string;
  private child: ChildProcess | undefined;
  private logs = '';

  constructor(readonly opts: DaemonOptions = {}) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'tswarm-test-'));
    this.dataRoot = opts.dataRoot ?? path.join(this.dir, 'data');
    this.socket = path.join(this.dir, 'tswarm.sock');
    this.logFile = path.join(this.dir, 'tswarmd.log');
  }

  get host(): string {
    return `unix://${this.socket}`;
  }

  get log(): string {
    return this.logs;
  }

  async start(): Promise<void> {
    const args = [
      TSWARMD,
      '--data-root',
      this.dataRoot,
      '--host',
      this.host,
      '--log-level',
      'debug',
      ...(this.opts.name ? ['--node-name', this.opts.name] : []),
      ...(this.opts.extraArgs ?? []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout.on('data', (d: Buffer) => (this.logs += d.toString()));
    child.stderr.on('data', (d: Buffer) => (this.logs += d.toString()));
    let exit: string | undefined;
    child.once('exit', (code, sig) => {
      exit = String(code ?? sig ?? '?');
    });
    await waitFor(
      `tswarmd control socket ${this.socket}`,
      async () => {
        if (exit !== undefined)
          throw new WaitAbort(`tswarmd exited early (${exit}):\n${this.logs}`);
        return existsSync(this.socket) && (await isSocketLive(this.socket));
      },
      15_000,
    );
  }

  cli(args: readonly string[]): Promise<CliResult> {
    return runCli(['-H', this.host, ...args]);
  }

  /** kill -9: no cleanup, as a crash. */
  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }

  /** SIGTERM and wait for the process to exit. */
  stop(): Promise<void> {
    return this.signal('SIGTERM');
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise<void>((resolve) => {
      child.once('exit', () => {
        resolve();
      });
    });
    child.kill(sig);
    await done;
    this.child = undefined;
  }

  async cleanup(): Promise<void> {
    await this.kill();
    if (process.env['TSWARM_TEST_KEEP_LOGS']) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(
        `${process.env['TSWARM_TEST_KEEP_LOGS']}/${this.opts.name ?? 'daemon'}-${process.pid}.log`,
        this.logs,
      );
      return;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
