import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Node } from '../../src/shared/api-types.js';
import { ROOT } from './procs.js';
import { waitFor } from './wait.js';

const LAB = path.join(ROOT, 'scripts', 'lab');

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function lab(args: readonly string[], timeoutMs = 600_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [LAB, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export async function labOk(args: readonly string[], timeoutMs?: number): Promise<string> {
  const r = await lab(args, timeoutMs);
  if (r.code !== 0)
    throw new Error(`scripts/lab ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** `tswarm ARGS` on a lab node, through its control socket under systemd. */
export function tswarm(node: string, args: readonly string[]): Promise<RunResult> {
  return lab(['exec', node, 'tswarm', ...args], 60_000);
}

export async function tswarmOk(node: string, args: readonly string[]): Promise<string> {
  const r = await tswarm(node, args);
  if (r.code !== 0)
    throw new Error(`tswarm ${args.join(' ')} on ${node} failed:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export async function labNodes(via: string): Promise<Node[]> {
  const ids = (await tswarmOk(via, ['node', 'ls', '-q'])).split('\n').filter(Boolean);
  return JSON.parse(await tswarmOk(via, ['node', 'inspect', ...ids])) as Node[];
}

export async function waitLabNodes(
  via: string,
  what: string,
  pred: (ns: Node[]) => boolean,
  timeoutMs = 20_000,
): Promise<Node[]> {
  return waitFor(
    what,
    async () => {
      const ns = await labNodes(via);
      return pred(ns) ? ns : undefined;
    },
    timeoutMs,
    250,
  );
}

export function leaderName(ns: readonly Node[]): string | undefined {
  return ns.find((n) => n.ManagerStatus?.Leader)?.Description.Hostname;
}

/**
 * Runs `fn`; when it throws, prints the cluster as `via` sees it and the last lines of the
 * tswarmd journal of each node named and of the leader then, so that a CI failure says what
 * the daemons did.
 */
export async function withLabDiagnostics<T>(
  via: string,
  nodes: readonly string[],
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const ls = await tswarm(via, ['node', 'ls']);
    process.stdout.write(`node ls on ${via}:\n${ls.stdout}${ls.stderr}`.replace(/^/gm, '# '));
    const leader = await labNodes(via).then(leaderName, () => undefined);
    for (const n of new Set([...nodes, ...(leader ? [leader] : [])])) {
      const j = await lab(
        ['exec', n, 'journalctl', '-u', 'tswarmd', '--no-pager', '-n', '80', '-o', 'cat'],
        30_000,
      );
      process.stdout.write(
        `\ntswarmd journal of ${n}:\n${j.stdout}${j.stderr}`.replace(/^/gm, '# '),
      );
    }
    throw err;
  }
}
