/**
 * Runs many seeds on worker threads (one per core by default), in small batches so the workers
 * finish together. Used by the CLI (run.ts) and the CI test (sim.test.ts).
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SimFailure, SimOptions, SimStats } from './sim.js';

export interface SeedReport {
  readonly seed: number;
  readonly ok: boolean;
  readonly failure?: SimFailure;
  readonly ms: number;
  readonly nodes: number;
  readonly stats: SimStats;
}

/** Everything about a run but its seed. */
export type RunOptions = Omit<SimOptions, 'seed' | 'trace'>;

export interface SeedJob {
  readonly seeds: readonly number[];
  readonly options: RunOptions;
}

export interface PoolOptions {
  readonly jobs?: number;
  readonly options?: RunOptions;
  /** Called for every finished seed, in completion order. */
  readonly onReport?: (r: SeedReport) => void;
}

export function defaultJobs(): number {
  return Math.max(1, os.availableParallelism());
}

/** Runs `seeds` and returns their reports in seed order. */
export async function runSeeds(
  seeds: readonly number[],
  opts: PoolOptions = {},
): Promise<SeedReport[]> {
  const queue = seeds.slice();
  const options = opts.options ?? {};
  const jobs = Math.min(opts.jobs ?? defaultJobs(), Math.max(1, seeds.length));
  const batch = Math.max(1, Math.min(10, Math.ceil(seeds.length / (jobs * 4))));
  const out: SeedReport[] = [];
  await Promise.all(
    Array.from({ length: jobs }, async () => {
      const worker = new Worker(new URL('./worker.js', import.meta.url));
      try {
        for (;;) {
          const next = queue.splice(0, batch);
          if (next.length === 0) break;
          const reports = await new Promise<SeedReport[]>((resolve, reject) => {
            const onError = (err: unknown): void => {
              worker.off('message', onMessage);
              reject(err instanceof Error ? err : new Error(String(err)));
            };
            const onMessage = (r: SeedReport[]): void => {
              worker.off('error', onError);
              resolve(r);
            };
            worker.once('message', onMessage);
            worker.once('error', onError);
            worker.postMessage({ seeds: next, options } satisfies SeedJob);
          });
          for (const r of reports) {
            out.push(r);
            opts.onReport?.(r);
          }
        }
      } finally {
        await worker.terminate();
      }
    }),
  );
  return out.sort((a, b) => a.seed - b.seed);
}
