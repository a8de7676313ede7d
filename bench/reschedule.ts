/**
 * Reschedule after a node loss, LOOPBACK VARIANT (not the container lab: scripts/lab is
 * another engineer's and one lab at a time fits this machine). Three tswarmd daemons on
 * 127.0.0.51 (manager), .52 and .53 (workers) share one engine. A service of 6 replicas
 * spreads 2 per node; each round kills -9 one worker's daemon and removes its containers
 * (what a host crash does to them), then times until 6 containers of the service run on the
 * other nodes. `downMs` is when the manager first lists the node Down (heartbeat 1 s x 3).
 *
 *   npm run bench -- reschedule [--rounds 3] [--replicas 6]
 */
import {
  loopbackCluster,
  numFlag,
  progress,
  removeContainers,
  runningContainers,
  runBench,
  SIGTERM_AWARE,
  sleep,
  summarize,
  TEST_IMAGE,
  waitFor,
  waitRunning,
} from './lib.js';

const rounds = numFlag('rounds', 3);
const replicas = numFlag('replicas', 6);
const NODE_LABEL = 'com.tswarm.node.id';

runBench('reschedule', async () => {
  const ds = await loopbackCluster(3, 'worker');
  const [manager, ...workers] = ds;
  if (!manager || workers.length < 2) throw new Error('need 3 daemons');
  progress('1 manager + 2 workers up');
  const resched: number[] = [];
  const down: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const victim = workers[(round - 1) % workers.length];
    if (!victim) throw new Error('no victim');
    const victimId = await victim.nodeId();
    const svc = `bench-rs-${round}`;
    const labels = [`com.tswarm.service.name=${svc}`];
    const tc = performance.now();
    await manager.ok([
      'service',
      'create',
      '-d',
      '--name',
      svc,
      '--replicas',
      String(replicas),
      TEST_IMAGE,
      ...SIGTERM_AWARE,
    ]);
    await waitRunning(`${replicas} running`, labels, (cs) => cs.length >= replicas, tc);
    const cs0 = await runningContainers(labels);
    const lost = cs0.filter((c) => c.Labels[NODE_LABEL] === victimId).length;
    await sleep(1000);

    const t0 = performance.now();
    await victim.kill9();
    await removeContainers([`${NODE_LABEL}=${victimId}`, `com.tswarm.service.name=${svc}`]);
    let downAt = NaN;
    const watch = (async () => {
      while (Number.isNaN(downAt) && performance.now() - t0 < 60_000) {
        const rows = await manager.nodeTable().catch(() => []);
        if (rows.find((r) => r.hostname === victim.name)?.status === 'Down')
          downAt = performance.now() - t0;
        else await sleep(100);
      }
    })();
    const ms = await waitRunning(
      `${replicas} running off ${victim.name}`,
      labels,
      (cs) => cs.filter((c) => c.Labels[NODE_LABEL] !== victimId).length >= replicas,
      t0,
      120_000,
    );
    await watch;
    resched.push(ms);
    down.push(downAt);
    progress(
      `round ${round}: killed ${victim.name} (${lost} of its tasks lost); Down after ${downAt.toFixed(0)} ms, ${replicas} running elsewhere after ${ms.toFixed(0)} ms`,
    );
    await manager.ok(['service', 'rm', svc]);
    await victim.start();
    await waitFor(
      `${victim.name} Ready`,
      async () =>
        (await manager.nodeTable()).find((r) => r.hostname === victim.name)?.status === 'Ready',
      60_000,
      200,
    );
    await sleep(1000);
  }
  return {
    variant: 'loopback: three tswarmd on 127.0.0.51-.53 sharing one engine (not the container lab)',
    replicas,
    rounds,
    heartbeatMs: 1000,
    method:
      'kill -9 of a worker daemon + removal of its containers; wall ms until the engine lists N running containers of the service on the other nodes',
    rescheduleMs: summarize(resched),
    nodeDownMs: summarize(down),
  };
});
