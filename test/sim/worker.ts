/** Worker thread of pool.ts: runs the seeds it is sent and posts back their reports. */
import { parentPort } from 'node:worker_threads';
import type { SeedJob, SeedReport } from './pool.js';
import { runSeed } from './sim.js';

const port = parentPort;
if (port === null) throw new Error('worker.ts runs as a worker thread');
port.on('message', (job: SeedJob) => {
  const out: SeedReport[] = [];
  for (const seed of job.seeds) {
    const t0 = performance.now();
    const r = runSeed({ ...job.options, seed });
    out.push({
      seed,
      ok: r.ok,
      ...(r.failure === undefined ? {} : { failure: r.failure }),
      ms: performance.now() - t0,
      nodes: r.config.nodes,
      stats: r.stats,
    });
  }
  port.postMessage(out);
});
