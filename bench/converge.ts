/**
 * Converge: `service create --replicas 20 -d` until all 20 containers run, for tswarm (one
 * tswarmd manager on 127.0.0.51) and Docker Swarm mode on the same engine, against the
 * engine's own limit: 20 containers created and started straight through the Engine API
 * (dockerode), 8 at a time. Both orchestrators are polled the same way: running containers of
 * the service through the Engine API (docker ps) every 100 ms, from just before the CLI runs.
 *
 *   npm run bench -- converge [--replicas 20] [--rounds 3] [--parallel 8] [--skip-docker-swarm]
 *
 * Targets: tswarm <= 1.3 x the engine limit and <= 0.5 x Docker Swarm (p50 of the rounds).
 */
import {
  boolFlag,
  docker,
  numFlag,
  pool,
  progress,
  removeContainers,
  runBench,
  SIGTERM_AWARE,
  sleep,
  summarize,
  TEST_IMAGE,
  withDockerSwarm,
} from './lib.js';
import {
  DockerSwarmOrchestrator,
  measureCreate,
  TswarmOrchestrator,
  type Orchestrator,
} from './systems.js';

const replicas = numFlag('replicas', 20);
const rounds = numFlag('rounds', 3);
const parallel = numFlag('parallel', 8);

/** 20 containers created + started through the Engine API, `parallel` at a time. */
async function engineLimit(round: number): Promise<number> {
  const label = `bench.engine-limit=${process.pid}-${round}`;
  const t0 = performance.now();
  await pool(replicas, parallel, async (i) => {
    const c = await docker.createContainer({
      name: `bench-engine-${process.pid}-${round}-${i}`,
      Image: TEST_IMAGE,
      Cmd: [...SIGTERM_AWARE],
      Labels: { 'bench.engine-limit': `${process.pid}-${round}` },
    });
    await c.start();
  });
  const ms = performance.now() - t0;
  await removeContainers([label]);
  return Math.round(ms);
}

async function rounds_(
  o: Orchestrator,
  tag: string,
): Promise<{ cli: number[]; converged: number[] }> {
  const cli: number[] = [];
  const converged: number[] = [];
  for (let r = 1; r <= rounds; r++) {
    const svc = `bench-conv-${tag}-${r}`;
    const m = await measureCreate(o, svc, replicas);
    progress(
      `${o.name} round ${r}: ${replicas} running after ${m.convergedMs} ms (CLI returned after ${m.cliMs} ms)`,
    );
    cli.push(m.cliMs);
    converged.push(m.convergedMs);
    await o.remove(svc);
    await sleep(1000);
  }
  return { cli, converged };
}

runBench('converge', async () => {
  const engine: number[] = [];
  for (let r = 1; r <= rounds; r++) {
    const ms = await engineLimit(r);
    progress(`engine limit round ${r}: ${replicas} containers created+started in ${ms} ms`);
    engine.push(ms);
    await sleep(1000);
  }

  const t = await TswarmOrchestrator.start();
  const tswarm = await rounds_(t, 'ts');
  await t.daemon.cleanup();

  let dsw: { cli: number[]; converged: number[] } | undefined;
  if (!boolFlag('skip-docker-swarm'))
    dsw = await withDockerSwarm(() => rounds_(new DockerSwarmOrchestrator(), 'ds'));

  const e = summarize(engine);
  const ts = summarize(tswarm.converged);
  const ds = dsw && summarize(dsw.converged);
  const vsEngine = +(ts.p50 / e.p50).toFixed(2);
  const vsDocker = ds ? +(ts.p50 / ds.p50).toFixed(2) : null;
  return {
    replicas,
    rounds,
    method:
      'wall ms from just before the CLI runs until the engine lists N running containers of the service (polled every 100 ms)',
    engineLimitMs: e,
    engineParallel: parallel,
    tswarmMs: ts,
    tswarmCliMs: summarize(tswarm.cli),
    dockerSwarmMs: ds ?? null,
    dockerSwarmCliMs: dsw ? summarize(dsw.cli) : null,
    ratios: { tswarmOverEngine: vsEngine, tswarmOverDockerSwarm: vsDocker },
    targets: {
      tswarmOverEngine: { target: '<= 1.3', value: vsEngine, met: vsEngine <= 1.3 },
      tswarmOverDockerSwarm: {
        target: '<= 0.5',
        value: vsDocker,
        met: vsDocker !== null && vsDocker <= 0.5,
      },
    },
  };
});
