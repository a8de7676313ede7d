/**
 * Scale and rolling update, tswarm vs Docker Swarm mode on the same engine:
 *  1. create --replicas 20 -d and wait for 20 running (not timed here: see `converge`);
 *  2. scale 20 -> 60 (-d): until 60 containers run;
 *  3. a full rolling update, `service update -d --force --update-parallelism 0` with a
 *     SIGTERM-aware command (stop-first, the default order): until 60 containers run and
 *     none of them is one that ran before the update.
 * Both observed through the Engine API every 100 ms from just before the CLI runs.
 *
 *   npm run bench -- scale-update [--from 20] [--to 60] [--rounds 1] [--skip-docker-swarm]
 */
import {
  boolFlag,
  numFlag,
  progress,
  runBench,
  runningContainers,
  sleep,
  summarize,
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
  return {
    from,
    to,
    rounds,
    update: '--force --update-parallelism 0, stop-first, SIGTERM-aware command',
    method:
      'wall ms from just before the CLI runs until the engine lists the wanted running containers (polled every 100 ms)',
    tswarm: figures(ts),
    dockerSwarm: ds ? figures(ds) : null,
    ratios: { scaleTswarmOverDockerSwarm: scaleRatio, updateTswarmOverDockerSwarm: updateRatio },
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
