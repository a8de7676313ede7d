import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Service } from '../../../src/shared/api-types.js';
import { ClusterNode, formManagers } from '../../helpers/cluster.js';
import { docker, tswarmContainers, removeContainers } from '../../helpers/docker.js';
import { requireDocker, TEST_IMAGE } from '../../helpers/procs.js';
import { waitFor } from '../../helpers/wait.js';

/** Exits promptly on SIGTERM (busybox sleep as PID 1 ignores it). */
const SLEEPER = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'];
/** Healthy for `test -f /tmp/ok` unless its env has BROKEN=1. */
const HEALTHY = [
  'sh',
  '-c',
  'trap "exit 0" TERM; [ "$BROKEN" = 1 ] || touch /tmp/ok; sleep 3600 & wait',
];
const HEALTH = [
  '--health-cmd',
  'test -f /tmp/ok',
  '--health-interval',
  '250ms',
  '--health-timeout',
  '1s',
  '--health-retries',
  '2',
];
const PREFIX = 'upd-';

/** Removes only this file's containers (services named upd-*), never anyone else's. */
function removeOurContainers(): void {
  removeContainers(
    tswarmContainers().filter((c) =>
      (c.labels['com.tswarm.service.name'] ?? '').startsWith(PREFIX),
    ),
  );
}

/** Running containers of a service (from the engine). */
function running(service: string): string[] {
  return tswarmContainers(service)
    .filter((c) => c.running)
    .map((c) => c.id);
}

/** The value of env V in each running container of a service. */
function runningVersions(service: string): string[] {
  const ids = running(service);
  if (!ids.length) return [];
  return docker('inspect', '--format', '{{json .Config.Env}}', ...ids)
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const env = JSON.parse(l) as string[];
      return (env.find((e) => e.startsWith('V=')) ?? 'V=').slice(2);
    })
    .sort();
}

/** Samples the number of running containers of a service until `stop()` is called. */
function sampler(service: string): { stop: () => Promise<number[]> } {
  const samples: number[] = [];
  const state = { done: false };
  const loop = (async () => {
    while (!state.done) {
      samples.push(running(service).length);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    stop: async () => {
      state.done = true;
      await loop;
      return samples;
    },
  };
}

describe('rolling updates, rollback and health checks on real containers', () => {
  const n1 = new ClusterNode('upd1', '127.0.0.21');
  const n2 = new ClusterNode('upd2', '127.0.0.22');
  const n3 = new ClusterNode('upd3', '127.0.0.23');
  const nodes = [n1, n2, n3];
  const dead = new Set<ClusterNode>();
  const live = (): ClusterNode => {
    const n = nodes.find((x) => !dead.has(x));
    assert.ok(n);
    return n;
  };

  async function inspect(name: string, via = live()): Promise<Service> {
    const list = JSON.parse(await via.ok(['service', 'inspect', name])) as Service[];
    const s = list[0];
    assert.ok(s);
    return s;
  }

  /** `service ps` rows (ID, NAME, IMAGE, NODE, DESIRED, CURRENT, ERROR...), split on 2+ spaces. */
  async function psRows(name: string, via = live()): Promise<string[][]> {
    const out = await via.ok(['service', 'ps', '--no-trunc', name]);
    return out
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((l) => l.trim().split(/\s{2,}/));
  }

  async function waitStatus(
    name: string,
    state: string,
    timeoutMs: number,
    via?: ClusterNode,
  ): Promise<Service> {
    return waitFor(
      `${name} UpdateStatus ${state}`,
      async () => {
        const s = await inspect(name, via ?? live());
        return s.UpdateStatus?.State === state ? s : undefined;
      },
      timeoutMs,
      200,
    );
  }

  before(async () => {
    requireDocker();
    removeOurContainers();
    await formManagers(nodes);
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.cleanup()));
    removeOurContainers();
  });

  it('rolls 6 replicas 2 at a time with a 1 s delay: stop-first never below 4 running, start-first never above 8', async () => {
    const name = 'upd-roll';
    await n1.ok([
      'service',
      'create',
      '--name',
      name,
      '--replicas',
      '6',
      '--update-parallelism',
      '2',
      '--update-delay',
      '1s',
      '--update-monitor',
      '500ms',
      '--rollback-parallelism',
      '0',
      '--rollback-monitor',
      '500ms',
      '-e',
      'V=1',
      TEST_IMAGE,
      ...SLEEPER,
    ]);
    assert.equal(running(name).length, 6);

    // stop-first (the default order)
    let s = sampler(name);
    const t0 = Date.now();
    const out = await n2.ok(['service', 'update', '--env-add', 'V=2', name]);
    const took = Date.now() - t0;
    let samples = await s.stop();
    assert.match(out, /overall progress: 6 out of 6 tasks/);
    assert.match(out, /verify: Service converged/);
    assert.ok(Math.min(...samples) >= 4, `stop-first samples: ${samples.join(' ')}`);
    // three batches with two 1 s delays between them
    assert.ok(took >= 2_000, `update took ${took} ms`);
    assert.deepEqual(runningVersions(name), ['2', '2', '2', '2', '2', '2']);
    let svc = await inspect(name);
    assert.equal(svc.UpdateStatus?.State, 'completed');
    assert.equal(svc.UpdateStatus.Message, 'update completed');

    // start-first
    s = sampler(name);
    await n3.ok(['service', 'update', '--update-order', 'start-first', '--env-add', 'V=3', name]);
    samples = await s.stop();
    assert.ok(Math.max(...samples) <= 8, `start-first samples: ${samples.join(' ')}`);
    assert.ok(Math.min(...samples) >= 6, `start-first samples: ${samples.join(' ')}`);
    assert.deepEqual(runningVersions(name), ['3', '3', '3', '3', '3', '3']);
    svc = await inspect(name);
    assert.equal(svc.UpdateStatus?.State, 'completed');
    assert.equal(svc.Spec.UpdateConfig?.Order, 'start-first');

    // `service update --rollback` is `service rollback`: back to V=2 (with stop-first).
    const out2 = await n1.ok(['service', 'update', '--rollback', name]);
    assert.match(out2, /rollback: manually requested rollback/);
    assert.match(out2, /verify: Service converged/);
    assert.deepEqual(runningVersions(name), ['2', '2', '2', '2', '2', '2']);
    svc = await inspect(name);
    assert.equal(svc.UpdateStatus?.State, 'rollback_completed');
    assert.equal(svc.Spec.UpdateConfig?.Order, 'stop-first');
    await n1.ok(['service', 'rm', name]);
  });

  it('stop-first with a host-mode port: each replacement waits (desired Ready) until its old container has stopped', async () => {
    const name = 'upd-hostport';
    // One listener per node on the same published port: a replacement started next to its
    // old container could not bind it ("port is already allocated").
    await n1.ok([
      'service',
      'create',
      '--name',
      name,
      '--replicas',
      '3',
      '--publish',
      'mode=host,published=18431,target=8080',
      '--update-parallelism',
      '0',
      '-e',
      'V=1',
      TEST_IMAGE,
      'sh',
      '-c',
      'trap "exit 0" TERM; httpd -f -p 8080 & wait',
    ]);
    assert.equal(running(name).length, 3);
    const out = await n2.ok(['service', 'update', '--env-add', 'V=2', name]);
    assert.match(out, /verify: Service converged/);
    assert.deepEqual(runningVersions(name), ['2', '2', '2']);
    const svc = await inspect(name);
    assert.equal(svc.UpdateStatus?.State, 'completed');
    const rows = await psRows(name);
    assert.equal(rows.length, 6, rows.map((r) => r.join(' | ')).join('\n'));
    for (const r of rows)
      assert.doesNotMatch(r.join(' '), /Failed|Rejected|allocated/, r.join(' | '));
    await n1.ok(['service', 'rm', name]);
  });

  it('health checks: a task is running only once healthy; an unhealthy task fails and is replaced', async () => {
    const name = 'upd-health';
    // Healthy after about 3 s (failures in the start period do not count), unhealthy 6 s later.
    const cmd = [
      'sh',
      '-c',
      'trap "exit 0" TERM; sleep 3; touch /tmp/ok; sleep 6; rm /tmp/ok; sleep 3600 & wait',
    ];
    const out = await n1.ok([
      'service',
      'create',
      '-d',
      '--name',
      name,
      ...HEALTH,
      '--health-start-period',
      '10s',
      '--restart-delay',
      '500ms',
      TEST_IMAGE,
      ...cmd,
    ]);
    assert.match(out, /^[a-z0-9]{25}\n$/);
    const id = await waitFor('a container', () => running(name)[0], 10_000);
    const hc = JSON.parse(docker('inspect', '--format', '{{json .Config.Healthcheck}}', id)) as {
      Test: string[];
      Interval: number;
      Timeout: number;
      Retries: number;
      StartPeriod: number;
    };
    assert.deepEqual(hc, {
      Test: ['CMD-SHELL', 'test -f /tmp/ok'],
      Interval: 250_000_000,
      Timeout: 1_000_000_000,
      Retries: 2,
      StartPeriod: 10_000_000_000,
    });
    // Starting while the health check has not passed yet (the container runs), then Running.
    const first = await waitFor(
      'task starting',
      async () => {
        const r = (await psRows(name))[0];
        return r?.[5]?.startsWith('Starting') && running(name).length === 1 ? r : undefined;
      },
      10_000,
      100,
    );
    await waitFor(
      'task running once healthy',
      async () => {
        const r = (await psRows(name))[0];
        return r?.[0] === first[0] && r?.[5]?.startsWith('Running');
      },
      10_000,
      100,
    );
    // Unhealthy: failed with Docker's error, and replaced in the same slot.
    const rows = await waitFor(
      'unhealthy task replaced',
      async () => {
        const r = await psRows(name);
        return r.length >= 2 && r[0]?.[0] !== first[0] ? r : undefined;
      },
      20_000,
      200,
    );
    const old = rows.find((r) => r[0] === first[0]);
    assert.ok(old, JSON.stringify(rows));
    assert.match(old[1] ?? '', /\\_ upd-health\.1/);
    assert.match(old[5] ?? '', /^Failed/);
    assert.equal(old[6], '"task: container unhealthy"');
    await n1.ok(['service', 'rm', name]);
  });

  it('--no-healthcheck disables the image health check', async () => {
    const name = 'upd-nohc';
    await n1.ok(['service', 'create', '--name', name, '--no-healthcheck', TEST_IMAGE, ...SLEEPER]);
    const id = running(name)[0];
    assert.ok(id);
    const hc = JSON.parse(docker('inspect', '--format', '{{json .Config.Healthcheck}}', id)) as {
      Test: string[];
    };
    assert.deepEqual(hc.Test, ['NONE']);
    await n1.ok(['service', 'rm', name]);
  });

  it('failure action pause: a failing health check pauses the update; service rollback restores the previous spec', async () => {
    const name = 'upd-pause';
    await n1.ok([
      'service',
      'create',
      '--name',
      name,
      '--replicas',
      '4',
      '--update-parallelism',
      '2',
      '--update-monitor',
      '2s',
      '--rollback-parallelism',
      '0',
      '-e',
      'V=1',
      ...HEALTH,
      TEST_IMAGE,
      ...HEALTHY,
    ]);
    assert.deepEqual(runningVersions(name), ['1', '1', '1', '1']);
    const r = await n2.cli([
      'service',
      'update',
      '--env-add',
      'V=2',
      '--env-add',
      'BROKEN=1',
      name,
    ]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /update paused due to failure or early termination of task/);
    const svc = await waitStatus(name, 'paused', 30_000);
    assert.match(
      svc.UpdateStatus?.Message ?? '',
      /^update paused due to failure or early termination of task /,
    );
    const pretty = await n3.ok(['service', 'inspect', '--pretty', name]);
    assert.match(
      pretty,
      /UpdateStatus:\n State:\t\tpaused\n Started:\t.+ ago\n Message:\tupdate paused/,
    );
    assert.match(pretty, /RollbackConfig:\n Parallelism:\t0\n/);
    // Only the first batch was touched: the other two tasks still run the old spec.
    assert.ok(runningVersions(name).filter((v) => v === '1').length >= 2);

    const out = await n3.ok(['service', 'rollback', name]);
    assert.match(out, /rollback: manually requested rollback/);
    assert.match(out, /verify: Service converged/);
    const back = await waitStatus(name, 'rollback_completed', 20_000);
    assert.equal(back.UpdateStatus?.Message, 'rollback completed');
    assert.ok(back.Spec.TaskTemplate.ContainerSpec.Env?.includes('V=1'));
    await waitFor(
      'old spec everywhere',
      () => runningVersions(name).join() === '1,1,1,1',
      20_000,
      200,
    );
    await n1.ok(['service', 'rm', name]);
  });

  it('failure action rollback: a failed health check in the monitor window rolls the whole service back, with its reason', async () => {
    const name = 'upd-auto';
    await n1.ok([
      'service',
      'create',
      '--name',
      name,
      '--replicas',
      '4',
      '--update-parallelism',
      '2',
      '--update-failure-action',
      'rollback',
      '--update-monitor',
      '3s',
      '--rollback-parallelism',
      '0',
      '--rollback-monitor',
      '500ms',
      '-e',
      'V=1',
      ...HEALTH,
      TEST_IMAGE,
      ...HEALTHY,
    ]);
    // A new command that never creates /tmp/ok (quoted as a shell would).
    const out = await n2.ok([
      'service',
      'update',
      '--env-add',
      'V=2',
      '--args',
      `sh -c 'trap "exit 0" TERM; sleep 3600 & wait'`,
      name,
    ]);
    assert.match(
      out,
      /rollback: update rolled back due to failure or early termination of task [a-z0-9]{25}/,
    );
    assert.match(out, /overall progress: rolling back update: 4 out of 4 tasks/);
    assert.match(out, /verify: Service converged/);
    const svc = await waitStatus(name, 'rollback_completed', 20_000);
    assert.match(
      svc.UpdateStatus?.Message ?? '',
      /^rollback completed \(update rolled back due to failure or early termination of task [a-z0-9]{25}\)$/,
    );
    assert.deepEqual(svc.Spec.TaskTemplate.ContainerSpec.Args, HEALTHY);
    assert.ok(svc.Spec.TaskTemplate.ContainerSpec.Env?.includes('V=1'));
    await waitFor('old spec everywhere', () => runningVersions(name).join() === '1,1,1,1', 20_000);
    await n1.ok(['service', 'rm', name]);
  });

  it('an update survives a kill -9 of the leader: the new leader resumes it and completes it', async () => {
    const name = 'upd-ha';
    const nodeIds = new Map<ClusterNode, string>();
    for (const n of nodes) nodeIds.set(n, await n.nodeId());
    await n1.ok([
      'service',
      'create',
      '--name',
      name,
      '--replicas',
      '6',
      '--update-delay',
      '4s',
      '--update-monitor',
      '500ms',
      '-e',
      'V=1',
      TEST_IMAGE,
      ...SLEEPER,
    ]);
    const leaderName = (await n2.nodes()).find((n) => n.ManagerStatus?.Leader)?.Description
      .Hostname;
    const leader = nodes.find((n) => n.name === leaderName);
    assert.ok(leader, `leader ${leaderName}`);
    await n1.ok(['service', 'update', '-d', '--env-add', 'V=2', name]);
    // Mid-way: some tasks updated, not all.
    await waitFor(
      'the update under way',
      () => runningVersions(name).filter((v) => v === '2').length >= 2,
      20_000,
      100,
    );
    const before = await inspect(name);
    assert.equal(before.UpdateStatus?.State, 'updating');
    await leader.kill();
    dead.add(leader);
    const survivor = live();
    const survivorIds = new Set([...nodeIds].filter(([n]) => n !== leader).map(([, id]) => id));
    /** Running containers of the service on the nodes still up (the dead node's stay up). */
    const onSurvivors = (): string[] =>
      tswarmContainers(name)
        .filter((c) => c.running && survivorIds.has(c.labels['com.tswarm.node.id'] ?? ''))
        .map((c) => c.id);
    const updatedBefore = onSurvivors().filter((id) =>
      docker('inspect', '--format', '{{json .Config.Env}}', id).includes('"V=2"'),
    );
    const done = await waitStatus(name, 'completed', 90_000, survivor);
    assert.equal(done.UpdateStatus?.Message, 'update completed');
    assert.equal(done.UpdateStatus.StartedAt, before.UpdateStatus.StartedAt);
    // Every task on the new spec, on the surviving nodes.
    const ids = await waitFor(
      '6 tasks on the survivors',
      () => {
        const r = onSurvivors();
        return r.length === 6 ? r : undefined;
      },
      30_000,
    );
    const envs = docker('inspect', '--format', '{{json .Config.Env}}', ...ids);
    assert.equal(envs.split('\n').filter((l) => l.includes('"V=2"')).length, 6, envs);
    // Resumed, not restarted: the tasks updated before the failover still run.
    for (const id of updatedBefore) assert.ok(ids.includes(id), `updated task ${id} replaced`);
    const rows = await psRows(name, survivor);
    assert.equal(rows.filter((r) => r[4] === 'Running' && r[5]?.startsWith('Running')).length, 6);
  });
});
