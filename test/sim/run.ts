/**
 * The simulator's command line (npm run sim -- ...):
 *
 *   --seeds N     run N schedules (default 1000), seeds start..start+N-1
 *   --start S     first seed (default 1)
 *   --seed S      replay one seed, with its configuration and a trace of its last events
 *   --jobs J      worker threads (default: available parallelism)
 *   --reads M     mixed | log | read-index | stale (stale is unsafe on purpose)
 *
 * Prints progress now and then, every failure with its seed, invariant and replay command,
 * and ends with the line `N passed, N failed`. Exits 1 on any failure.
 */
import { defaultJobs, runSeeds, type SeedReport } from './pool.js';
import { runSeed, type ReadMode } from './sim.js';

interface Args {
  seeds: number;
  start: number;
  seed: number | undefined;
  jobs: number;
  reads: ReadMode;
}

function usage(msg: string): never {
  process.stderr.write(
    `${msg}\nusage: npm run sim -- [--seeds N] [--start S] [--seed S] [--jobs J] [--reads mixed|log|read-index|stale]\n`,
  );
  process.exit(64);
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    seeds: 1000,
    start: 1,
    seed: undefined,
    jobs: defaultJobs(),
    reads: 'mixed',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    const num = (): number => {
      const n = Number(value);
      if (value === undefined || !Number.isSafeInteger(n) || n < 0) {
        usage(`${flag ?? ''} needs a non-negative integer`);
      }
      i++;
      return n;
    };
    switch (flag ?? '') {
      case '--seeds':
        a.seeds = num();
        break;
      case '--start':
        a.start = num();
        break;
      case '--seed':
        a.seed = num();
        break;
      case '--jobs':
        a.jobs = Math.max(1, num());
        break;
      case '--reads':
        if (value !== 'mixed' && value !== 'log' && value !== 'read-index' && value !== 'stale') {
          usage('--reads takes mixed, log, read-index or stale');
        }
        a.reads = value;
        i++;
        break;
      default:
        usage(`unknown argument ${flag ?? ''}`);
    }
  }
  return a;
}

function replayCommand(seed: number, reads: ReadMode): string {
  return `npm run sim -- --seed ${seed}${reads === 'mixed' ? '' : ` --reads ${reads}`}`;
}

function printFailure(r: Pick<SeedReport, 'seed' | 'failure'>, reads: ReadMode): void {
  const f = r.failure;
  process.stdout.write(
    `FAIL seed ${r.seed}: ${f?.invariant ?? '?'} at step ${f?.step ?? '?'}\n` +
      `  ${(f?.detail ?? '').split('\n').join('\n  ')}\n` +
      `  replay: ${replayCommand(r.seed, reads)}\n`,
  );
}

function replayOne(seed: number, reads: ReadMode): void {
  const t0 = performance.now();
  const r = runSeed({ seed, reads, trace: true });
  const ms = Math.round(performance.now() - t0);
  process.stdout.write(`seed ${seed} config ${JSON.stringify(r.config)}\n`);
  process.stdout.write(`stats ${JSON.stringify(r.stats)} (${ms} ms)\n`);
  if (!r.ok) {
    process.stdout.write(`last events:\n${r.trace.slice(-80).join('\n')}\n`);
    printFailure({ seed, ...(r.failure ? { failure: r.failure } : {}) }, reads);
  }
  process.stdout.write(`${r.ok ? 1 : 0} passed, ${r.ok ? 0 : 1} failed\n`);
  process.exit(r.ok ? 0 : 1);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.seed !== undefined) {
    replayOne(args.seed, args.reads);
    return;
  }
  const t0 = performance.now();
  const total = args.seeds;
  const seeds = Array.from({ length: total }, (_, i) => args.start + i);
  const step = Math.max(1, Math.ceil(total / 10));
  let done = 0;
  let failed = 0;
  const reports = await runSeeds(seeds, {
    jobs: args.jobs,
    options: { reads: args.reads },
    onReport: (r) => {
      done++;
      if (!r.ok) {
        failed++;
        printFailure(r, args.reads);
      }
      if (done % step === 0 || done === total) {
        const secs = ((performance.now() - t0) / 1000).toFixed(1);
        process.stdout.write(`... ${done}/${total} seeds, ${failed} failed, ${secs}s\n`);
      }
    },
  });
  const bad = reports.filter((r) => !r.ok);
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  if (bad.length > 0) process.stdout.write(`failed seeds: ${bad.map((r) => r.seed).join(' ')}\n`);
  const last = args.start + total - 1;
  process.stdout.write(
    `seeds ${args.start}..${last} in ${secs}s (${Math.min(args.jobs, total)} jobs)\n`,
  );
  process.stdout.write(`${reports.length - bad.length} passed, ${bad.length} failed\n`);
  process.exitCode = bad.length > 0 ? 1 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});
