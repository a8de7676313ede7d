/**
 * Reschedule after a node loss, with the default settings (1 s heartbeats).
 *
 * Loopback variant (the default): three tswarmd daemons on 127.0.0.51 (manager), .52 and .53
 * (workers) share one engine. A service of 6 replicas spreads 2 per node; each round kills -9
 * one worker's daemon and removes its containers (what a host crash does to them), then times
 * until 6 containers of the service run on the other nodes. `nodeDownMs` is when the manager
 * first lists the node Down.
 *
 * Lab variant (--lab): the container lab of scripts/lab with one manager (node1) and two
 * workers, each node its own engine under systemd. Each round kills a worker node's
 * container (the whole host: daemon, engine and tasks) and times until `service ps` on
 * node1 shows the service's replicas running on the other nodes; then starts it again. The
 * lab must not be up already (one lab at a time), and is removed at the end.
 *
 *   npm run bench -- reschedule [--lab] [--rounds 3] [--replicas 6]
 */
import path from 'node:path';
import { ROOT } from '../test/helpers/procs.js';
import {
  boolFlag,
  dockerCli,
  loopbackCluster,
  numFlag,
  ok,
  onCleanup,
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
const LAB = path.join(ROOT, 'scripts', 'lab');

runBench('reschedule', () => (boolFlag('lab') ? labVariant() : loopbackVariant()));

async function loopbackVariant(): Promise<Record<string, unknown>> {
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
}

function lab(...args: string[]): Promise<string> {
  return ok('bash', [LAB, ...args], 600_000);
}

/** `tswarm service ps SVC` on node1: the nodes of the tasks running now, one per task. */
async function runningNodes(svc: string): Promise<string[]> {
  const out = await lab('exec', 'node1', 'tswarm', 'service', 'ps', svc, '--format', 'json');
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { Node: string; DesiredState: string; CurrentState: string })
    .filter((t) => t.DesiredState === 'Running' && t.CurrentState.startsWith('Running'))
    .map((t) => t.Node);
}

async function labVariant(): Promise<Record<string, unknown>> {
  const existing = await dockerCli('ps', '-aq', '--filter', 'label=com.tswarm.lab=1');
  if (existing.trim()) throw new Error('a lab is up already: `scripts/lab down` first');
  onCleanup(async () => {
    await lab('down');
  });
  const tu = performance.now();
  await lab('up', '--nodes', '3', '--managers', '1', '--no-demo');
  const upMs = performance.now() - tu;
  progress(`lab up (node1 manager, node2 and node3 workers) in ${upMs.toFixed(0)} ms`);
  const resched: number[] = [];
  const polls: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const victim = round % 2 ? 'node3' : 'node2';
    const svc = `bench-rs-${round}`;
    await lab(
      'exec',
      'node1',
      'tswarm',
      'service',
      'create',
      '-d',
      '--name',
      svc,
      '--replicas',
      String(replicas),
      TEST_IMAGE,
      ...SIGTERM_AWARE,
    );
    await waitFor(
      `${replicas} running`,
      async () => (await runningNodes(svc)).length >= replicas,
      60_000,
      200,
    );
    const lost = (await runningNodes(svc)).filter((n) => n === victim).length;
    await sleep(1000);
    const t0 = performance.now();
    await lab('kill', victim);
    let n = 0;
    const ms = await waitFor(
      `${replicas} running off ${victim}`,
      async () => {
        n++;
        const ns = await runningNodes(svc);
        return ns.filter((x) => x !== victim).length >= replicas
          ? performance.now() - t0
          : undefined;
      },
      60_000,
      0,
    );
    resched.push(ms);
    polls.push(ms / n);
    progress(
      `round ${round}: killed ${victim} (${lost} of its tasks lost); ${replicas} running elsewhere after ${ms.toFixed(0)} ms (${n} polls)`,
    );
    await lab('exec', 'node1', 'tswarm', 'service', 'rm', svc);
    await lab('start', victim);
    await waitFor(
      `${victim} Ready`,
      async () =>
        /\bReady\b/.test(
          (await lab('exec', 'node1', 'tswarm', 'node', 'ls'))
            .split('\n')
            .find((l) => l.includes(` ${victim} `)) ?? '',
        ),
      60_000,
      200,
    );
    await sleep(1000);
  }
  return {
    variant: 'container lab: scripts/lab up --managers 1 (node1 manager, node2/node3 workers)',
    replicas,
    rounds,
    heartbeatMs: 1000,
    method:
      'kill of a worker node container; wall ms until `service ps` on node1 shows N tasks running on the other nodes (the poll that saw it)',
    labUpMs: Math.round(upMs),
    rescheduleMs: summarize(resched),
    pollMs: summarize(polls),
  };
}
