/**
 * Scale and rolling update, tswarm vs Docker Swarm mode on the same engine:
 *  1. create --replicas 20 -d and wait for 20 running (not timed here: see `converge`);
 *  2. scale 20 -> 60 (-d): until 60 containers run;
 *  3. a full rolling update, `service update -d --force --update-parallelism 0` with a
 *     SIGTERM-aware command (stop-first, the default order): until 60 containers run and
 *     none of them is one that ran before the update.
 * Both observed through the Engine API every 100 ms from just before the CLI runs. The engine
 * limit of the same two steps comes first, straight through the Engine API with `--parallel`
 * (8) at a time: with `from` containers running, `to - from` more created and started; then
 * per slot the old container stopped and its replacement (created beforehand, as a stop-first
 * update prepares it) started. On a 2-core machine both are CPU-bound in the engine.
 *
 *   npm run bench -- scale-update [--from 20] [--to 60] [--rounds 1] [--parallel 8]
 *     [--skip-docker-swarm]
 */
import type Dockerode from 'dockerode';
import {
  boolFlag,
  docker,
  numFlag,
  pool,
  progress,
  removeContainers,
  runBench,
  runningContainers,
  SIGTERM_AWARE,
  sleep,
  summarize,
  TEST_IMAGE,
  waitRunning,
  withDockerSwarm,
} from './lib.js';
import {
  DockerSwarmOrchestrator,
  ids,
  timedUntil,
  TswarmOrchestrator,
  type Orchestrator,
} from './systems.js';

const from = numFlag('from', 20);
const to = numFlag('to', 60);
const rounds = numFlag('rounds', 1);
const parallel = numFlag('parallel', 8);

/** The engine's own time for both steps (see the header). */
async function engineLimit(round: number): Promise<{ scaleMs: number; updateMs: number }> {
  const tag = `${process.pid}-${round}`;
  const make = (name: string): Promise<Dockerode.Container> =>
    docker.createContainer({
      name: `bench-su-engine-${tag}-${name}`,
      Image: TEST_IMAGE,
      Cmd: [...SIGTERM_AWARE],
      Labels: { 'bench.engine-limit': tag },
    });
  const old: Dockerode.Container[] = [];
  const startAll = (first: number, n: number): Promise<void> =>
    pool(n, parallel, async (i) => {
      const c = await make(`old-${first + i}`);
      await c.start();
      old[first + i] = c;
    });
  try {
    await startAll(0, from);
    await sleep(1000);
    let t = performance.now();
    await startAll(from, to - from);
    const scaleMs = Math.round(performance.now() - t);
    await sleep(1000);
    t = performance.now();
    const fresh: Dockerode.Container[] = [];
    await pool(to, parallel, async (i) => {
      fresh[i] = await make(`new-${i}`);
    });
    await pool(to, parallel, async (i) => {
      await old[i]?.stop({ t: 10 });
      await fresh[i]?.start();
    });
    const updateMs = Math.round(performance.now() - t);
    return { scaleMs, updateMs };
  } finally {
    await removeContainers([`bench.engine-limit=${tag}`]);
  }
}

interface Round {
  scaleMs: number;
  scaleCliMs: number;
  /** NaN when the update did not converge within --update-timeout s. */
  updateMs: number;
  updateCliMs: number;
  /** Replaced containers running when the update converged or the wait gave up. */
  updateReplacedRunning: number;
}

const updateTimeoutS = numFlag('update-timeout', 150);

async function once(o: Orchestrator, svc: string): Promise<Round> {
  const t = performance.now();
  await o.create(svc, from);
  await waitRunning(`${o.name}: ${from} running`, o.labels(svc), (cs) => cs.length >= from, t);
  await sleep(1000);

  const t1 = performance.now();
  const scale = await timedUntil(
    o,
    () => o.scale(svc, to),
    `${to} running`,
    svc,
    (cs) => cs.length >= to,
    t1,
  );
  progress(`${o.name}: scale ${from} -> ${to} converged after ${scale.convergedMs} ms`);
  await sleep(1000);

  const before = ids(await runningContainers(o.labels(svc)));
  const t2 = performance.now();
  let update: { cliMs: number; convergedMs: number };
  try {
    update = await timedUntil(
      o,
      () => o.forceUpdate(svc),
      `${to} replaced containers running`,
      svc,
      (cs) => cs.length >= to && cs.every((c) => !before.has(c.Id)),
      t2,
      updateTimeoutS * 1000,
    );
    progress(`${o.name}: rolling update of ${to} tasks converged after ${update.convergedMs} ms`);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('timed out')) throw err;
    update = { cliMs: NaN, convergedMs: NaN };
    progress(`${o.name}: rolling update did not converge within ${updateTimeoutS} s`);
  }
  const replaced = (await runningContainers(o.labels(svc))).filter((c) => !before.has(c.Id)).length;
  await o.remove(svc);
  await sleep(1000);
  return {
    scaleMs: scale.convergedMs,
    scaleCliMs: scale.cliMs,
    updateMs: update.convergedMs,
    updateCliMs: update.cliMs,
    updateReplacedRunning: replaced,
  };
}

async function all(o: Orchestrator, tag: string): Promise<Round[]> {
  const out: Round[] = [];
  for (let r = 1; r <= rounds; r++) out.push(await once(o, `bench-su-${tag}-${r}`));
  return out;
}

function figures(rs: readonly Round[]): Record<string, unknown> {
  return {
    scaleMs: summarize(rs.map((r) => r.scaleMs)),
    scaleCliMs: summarize(rs.map((r) => r.scaleCliMs)),
    updateMs: summarize(rs.map((r) => r.updateMs)),
    updateCliMs: summarize(rs.map((r) => r.updateCliMs)),
    updateConverged: rs.map((r) => !Number.isNaN(r.updateMs)),
    updateReplacedRunning: rs.map((r) => r.updateReplacedRunning),
  };
}

runBench('scale-update', async () => {
  const engine: { scaleMs: number; updateMs: number }[] = [];
  for (let r = 1; r <= rounds; r++) {
    const e = await engineLimit(r);
    progress(
      `engine limit round ${r}: ${from} -> ${to} in ${e.scaleMs} ms, ${to} replaced in ${e.updateMs} ms`,
    );
    engine.push(e);
    await sleep(1000);
  }
  const t = await TswarmOrchestrator.start();
  const ts = await all(t, 'ts');
  await t.daemon.cleanup();
  const ds = boolFlag('skip-docker-swarm')
    ? undefined
    : await withDockerSwarm(() => all(new DockerSwarmOrchestrator(), 'ds'));
  const p50 = (rs: readonly Round[], k: 'scaleMs' | 'updateMs'): number =>
    summarize(rs.map((r) => r[k])).p50;
  const scaleRatio = ds ? +(p50(ts, 'scaleMs') / p50(ds, 'scaleMs')).toFixed(2) : null;
  const updateRatio = ds ? +(p50(ts, 'updateMs') / p50(ds, 'updateMs')).toFixed(2) : null;
  const es = summarize(engine.map((e) => e.scaleMs));
  const eu = summarize(engine.map((e) => e.updateMs));
  return {
    from,
    to,
    rounds,
    update: '--force --update-parallelism 0, stop-first, SIGTERM-aware command',
    method:
      'wall ms from just before the CLI runs until the engine lists the wanted running containers (polled every 100 ms)',
    engineParallel: parallel,
    engineLimit: { scaleMs: es, updateMs: eu },
    tswarm: figures(ts),
    dockerSwarm: ds ? figures(ds) : null,
    ratios: {
      scaleTswarmOverDockerSwarm: scaleRatio,
      updateTswarmOverDockerSwarm: updateRatio,
      scaleTswarmOverEngine: +(p50(ts, 'scaleMs') / es.p50).toFixed(2),
      updateTswarmOverEngine: +(p50(ts, 'updateMs') / eu.p50).toFixed(2),
      scaleEngineOverDockerSwarm: ds ? +(es.p50 / p50(ds, 'scaleMs')).toFixed(2) : null,
      updateEngineOverDockerSwarm: ds ? +(eu.p50 / p50(ds, 'updateMs')).toFixed(2) : null,
    },
    targets: {
      scale: {
        target: '<= 0.5 x Docker Swarm',
        value: scaleRatio,
        met: scaleRatio !== null && scaleRatio <= 0.5,
      },
      update: {
        target: '<= 0.5 x Docker Swarm',
        value: updateRatio,
        met: updateRatio !== null && updateRatio <= 0.5,
      },
    },
  };
});
