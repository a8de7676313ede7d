/**
 * CLI and daemon footprint:
 *  - `tswarm node ls` vs `docker node ls` wall time, p50 over 20 runs each (a tswarm manager
 *    with one worker; Docker Swarm mode switched on for the docker side, one node);
 *  - RSS (and idle CPU) of an idle tswarm manager daemon and an idle worker daemon.
 *
 *   npm run bench -- cli [--runs 20] [--idle-s 15] [--skip-docker-swarm]
 */
import {
  BENCH_IPS,
  BenchDaemon,
  boolFlag,
  numFlag,
  progress,
  run,
  runBench,
  sleep,
  summarize,
  withDockerSwarm,
} from './lib.js';

const runs = numFlag('runs', 20);
const idleS = numFlag('idle-s', 15);

async function timeRuns(
  what: string,
  fn: () => Promise<{ code: number; ms: number }>,
): Promise<number[]> {
  const out: number[] = [];
  await fn(); // warm the page cache
  for (let i = 0; i < runs; i++) {
    const r = await fn();
    if (r.code !== 0) throw new Error(`${what} failed`);
    out.push(r.ms);
  }
  return out;
}

runBench('cli', async () => {
  const manager = new BenchDaemon('bench-m1', BENCH_IPS[0]);
  const worker = new BenchDaemon('bench-w1', BENCH_IPS[1]);
  await Promise.all([manager.start(), worker.start()]);
  await manager.init();
  await worker.join(await manager.token('worker'), manager);
  progress(`manager pid ${manager.pid}, worker pid ${worker.pid}; idle for ${idleS} s`);

  const u0 = { m: manager.usage(), w: worker.usage() };
  await sleep(idleS * 1000);
  const u1 = { m: manager.usage(), w: worker.usage() };
  const idle = {
    managerRssMiB: +(u1.m.rssKb / 1024).toFixed(1),
    workerRssMiB: +(u1.w.rssKb / 1024).toFixed(1),
    managerIdleCpuPct: +((100 * (u1.m.cpuMs - u0.m.cpuMs)) / (idleS * 1000)).toFixed(2),
    workerIdleCpuPct: +((100 * (u1.w.cpuMs - u0.w.cpuMs)) / (idleS * 1000)).toFixed(2),
  };
  progress(`idle: manager ${idle.managerRssMiB} MiB, worker ${idle.workerRssMiB} MiB RSS`);

  const tswarm = await timeRuns('tswarm node ls', async () => {
    const t = performance.now();
    const r = await manager.cli(['node', 'ls']);
    return { code: r.code, ms: performance.now() - t };
  });
  progress(`tswarm node ls: p50 ${summarize(tswarm).p50} ms`);
  await manager.cleanup();
  await worker.cleanup();

  const docker = boolFlag('skip-docker-swarm')
    ? undefined
    : await withDockerSwarm(() => timeRuns('docker node ls', () => run('docker', ['node', 'ls'])));
  if (docker) progress(`docker node ls: p50 ${summarize(docker).p50} ms`);
  const ts = summarize(tswarm);
  const dk = docker && summarize(docker);
  return {
    runs,
    tswarmNodeLsMs: ts,
    dockerNodeLsMs: dk ?? null,
    ratioP50: dk ? +(ts.p50 / dk.p50).toFixed(2) : null,
    tswarmNodes: 2,
    dockerNodes: 1,
    idleSeconds: idleS,
    ...idle,
  };
});
