import { setFlagsFromString } from 'node:v8';
import { main } from './main.js';

// A full collection once the heap has doubled since the last one, as Go's default (GOGC=100)
// gives swarmkit's managers. V8's own factor reaches 4 with a 4 GB heap limit: the leader of
// 5,000 agents (bench/scale-sim.ts) carried 350 MB of garbage over 120 MB live, and went past
// 1 GB. An operator's own --heap-growing-percent (NODE_OPTIONS or node's arguments) wins.
const operatorSet = [...process.execArgv, process.env['NODE_OPTIONS'] ?? ''].some((a) =>
  /heap[-_]growing[-_]percent/.test(a),
);
if (!operatorSet) setFlagsFromString('--heap-growing-percent=100');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `tswarmd: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 70;
  },
);
