/**
 * The benchmark runner behind `npm run bench -- NAME [ARGS...]` (scripts/bench.js loads this
 * from build/). Each bench is build/bench/NAME.js: progress on stderr, one JSON line of
 * figures on stdout. `npm run bench -- --list` lists them.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bench');

const BENCHES: Readonly<Record<string, string>> = {
  raft: 'three raft processes over gRPC with fsync: entries/s, p50/p99 at 1/16/256 proposers; election after kill -9 (20 kills)',
  wal: 'WAL durable appends: batches of 1/16/256 and 8 concurrent savers',
  scheduler: '100k tasks onto 5,000 nodes through src/scheduler',
  converge:
    'service create --replicas 20 -d until 20 running: tswarm vs Docker Swarm vs the engine limit (dockerode, 8 at a time)',
  'scale-update':
    'scale 20 -> 60, then a full rolling update (--force, parallelism 0): tswarm vs Docker Swarm',
  failover:
    'three tswarm managers: kill -9 the leader daemon, time until service create -d through a survivor succeeds (20 rounds)',
  'scale-sim':
    'one manager and 5,000 simulated agents over real gRPC/mTLS: leader CPU and memory (--duration S)',
  cli: 'tswarm node ls vs docker node ls wall time (p50 of 20); RSS of idle worker and manager daemons',
  reschedule:
    'loopback variant: kill -9 a worker daemon (and its containers), time until its slots run elsewhere',
};

function list(): void {
  const w = Math.max(...Object.keys(BENCHES).map((k) => k.length));
  for (const [name, what] of Object.entries(BENCHES))
    process.stdout.write(`${name.padEnd(w)}  ${what}\n`);
}

const [name, ...rest] = process.argv.slice(2);
if (name === undefined || name === '--list' || name === '-l' || name === '--help') {
  if (name === undefined) process.stderr.write('usage: npm run bench -- NAME [ARGS...]\n\n');
  list();
  process.exit(name === undefined ? 2 : 0);
}
const file = path.join(BENCH_DIR, `${name}.js`);
if (!(name in BENCHES) || !existsSync(file)) {
  process.stderr.write(`no bench named "${name}"; the benches are:\n`);
  list();
  process.exit(2);
}
const child = spawn(process.execPath, [file, ...rest], { stdio: 'inherit' });
// Ctrl-C reaches the bench itself (same process group), which cleans up and exits: wait for it.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => {
  child.kill('SIGTERM');
});
child.on('exit', (code, sig) => {
  process.exit(code ?? (sig ? 128 : 1));
});
