/**
 * WAL benchmark: durable appends of 128-byte entries in batches of 1, 16 and 256, one save
 * at a time (as the Raft driver does), then 8 concurrent savers of 1 entry each to show group
 * commit. Runs in a temp directory on the same filesystem as os.tmpdir().
 *
 *   npm run bench -- wal [--seconds N] [--dir PATH]
 *
 * Prints one line per run on stderr, then one final JSON line of figures on stdout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Entry } from '../src/raft/types.js';
import { Wal } from '../src/raft/wal/index.js';
import { emit, progress } from './lib.js';

const ENTRY_BYTES = 128;

function argValue(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return (i >= 0 ? process.argv[i + 1] : undefined) ?? fallback;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? 0;
}

function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

interface Figures {
  readonly batch: number;
  readonly concurrency: number;
  readonly saves: number;
  readonly entries_per_s: number;
  readonly saves_per_s: number;
  readonly fsyncs_per_s: number;
  readonly mb_per_s: number;
  readonly p50_save_ms: number;
  readonly p99_save_ms: number;
  readonly max_save_ms: number;
}

async function run(
  root: string,
  batch: number,
  concurrency: number,
  seconds: number,
): Promise<Figures> {
  const dir = mkdtempSync(path.join(root, `b${batch}x${concurrency}-`));
  const { wal } = await Wal.open(dir);
  const data = new Uint8Array(ENTRY_BYTES).fill(0xab);
  let next = 1;
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();

  async function saver(): Promise<void> {
    while (performance.now() < deadline) {
      const entries: Entry[] = [];
      for (let i = 0; i < batch; i++)
        entries.push({ term: 1, index: next++, type: 'normal', data });
      const t = performance.now();
      await wal.save({ term: 1, vote: 'n1', commit: next - 1 }, entries);
      latencies.push(performance.now() - t);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, () => saver()));
  const elapsed = (performance.now() - t0) / 1000;
  const stats = wal.stats();
  await wal.close();
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  return {
    batch,
    concurrency,
    saves: latencies.length,
    entries_per_s: Math.round((latencies.length * batch) / elapsed),
    saves_per_s: Math.round(latencies.length / elapsed),
    fsyncs_per_s: Math.round(stats.syncs / elapsed),
    mb_per_s: round(stats.bytesWritten / elapsed / 1e6, 2),
    p50_save_ms: round(percentile(latencies, 50)),
    p99_save_ms: round(percentile(latencies, 99)),
    max_save_ms: round(latencies.at(-1) ?? 0),
  };
}

async function main(): Promise<void> {
  const seconds = Number(argValue('--seconds', '3'));
  const root = mkdtempSync(path.join(argValue('--dir', os.tmpdir()), 'tswarm-wal-bench-'));
  const results: Record<string, Figures> = {};
  try {
    for (const [batch, concurrency] of [
      [1, 1],
      [16, 1],
      [256, 1],
      [1, 8],
    ] as const) {
      const f = await run(root, batch, concurrency, seconds);
      const key = concurrency === 1 ? `batch_${batch}` : `batch_${batch}_x${concurrency}`;
      results[key] = f;
      progress(`${key}: ${JSON.stringify(f)}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const b16 = results['batch_16'];
  emit('wal', {
    entry_bytes: ENTRY_BYTES,
    seconds_per_run: seconds,
    // Headline figures: batches of 16, one save at a time.
    entries_per_s: b16?.entries_per_s,
    fsyncs_per_s: b16?.fsyncs_per_s,
    p50_save_ms: b16?.p50_save_ms,
    p99_save_ms: b16?.p99_save_ms,
    runs: results,
  });
}

await main();
