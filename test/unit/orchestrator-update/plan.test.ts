import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_UPDATE_CONFIG,
  planService,
  planUpdate,
  updatePolicy,
  type UpdatePlan,
} from '../../../src/daemon/manager/orchestrator/update-plan.js';
import { reconcileService } from '../../../src/daemon/manager/orchestrator/reconcile.js';
import { applyCommand, emptyState } from '../../../src/daemon/manager/store/fsm.js';
import { serviceUpdateCommand } from '../../../src/daemon/manager/service-ops.js';
import type {
  Node,
  Service,
  ServiceSpec,
  Task,
  TaskState,
  UpdateConfig,
} from '../../../src/shared/api-types.js';
import { NS_PER_MS, policy, SVC } from './sim.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (ms: number): string => new Date(T0 + ms).toISOString();
const S = 1_000 * NS_PER_MS;

function spec(image: string, o: { update?: Partial<UpdateConfig>; replicas?: number } = {}) {
  return {
    Name: 'web',
    Labels: {},
    TaskTemplate: { ContainerSpec: { Image: image } },
    Mode: { Replicated: { Replicas: o.replicas ?? 3 } },
    UpdateConfig: policy(o.update),
  } satisfies ServiceSpec;
}

function service(s: ServiceSpec, extra: Partial<Service> = {}): Service {
  return {
    ID: SVC,
    Version: { Index: 42 },
    CreatedAt: at(0),
    UpdatedAt: at(0),
    Spec: s,
    ...extra,
  };
}

interface TaskOpts {
  readonly state?: TaskState;
  readonly desired?: TaskState;
  readonly created?: number;
  readonly ran?: number;
  readonly ended?: number;
  readonly node?: string;
}

function task(id: string, slot: number | undefined, image: string, o: TaskOpts = {}): Task {
  const state = o.state ?? 'running';
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: at(o.created ?? 0),
    UpdatedAt: at(o.ended ?? o.ran ?? o.created ?? 0),
    Labels: {},
    Spec: { ContainerSpec: { Image: image } },
    ServiceID: SVC,
    ...(slot !== undefined ? { Slot: slot } : {}),
    NodeID: o.node ?? 'node1',
    Status: { Timestamp: at(o.ended ?? o.ran ?? o.created ?? 0), State: state, Message: state },
    DesiredState: o.desired ?? 'running',
    ...(o.ran !== undefined ? { RunningSince: at(o.ran) } : {}),
  };
}

const updating = (startedMs: number): NonNullable<Service['UpdateStatus']> => ({
  State: 'updating',
  StartedAt: at(startedMs),
  Message: 'update in progress',
});

let n = 0;
const newId = (): string => `new${String(++n).padStart(22, '0')}`;
const plan = (svc: Service, tasks: Task[], nowMs: number): UpdatePlan =>
  planUpdate({ service: svc, tasks, now: T0 + nowMs, newId });
const stopped = (p: UpdatePlan): string[] => p.update.map((u) => u.id).sort();
const v1Tasks = (count: number): Task[] =>
  Array.from({ length: count }, (_, i) => task(`old${i + 1}`, i + 1, 'app:v1', { ran: 0 }));

describe('planUpdate: status transitions', () => {
  it('does nothing while paused or rollback-paused', () => {
    for (const State of ['paused', 'rollback_paused'] as const) {
      const svc = service(spec('app:v2'), { UpdateStatus: { State, Message: 'x' } });
      const p = plan(svc, v1Tasks(3), 10_000);
      assert.deepEqual([p.create, p.update, p.service, [...p.held]], [[], [], undefined, []]);
    }
  });

  it('starts an update when tasks are outdated and none is in progress', () => {
    const svc = service(spec('app:v2'));
    const p = plan(svc, v1Tasks(3), 5_000);
    assert.equal(p.create.length, 0, 'the status goes first');
    assert.equal(p.service?.expectVersion, 42);
    assert.deepEqual(p.service.service.UpdateStatus, {
      State: 'updating',
      StartedAt: at(5_000),
      Message: 'update in progress',
    });
  });

  it('leaves an up-to-date service alone', () => {
    const p = plan(service(spec('app:v1')), v1Tasks(3), 5_000);
    assert.deepEqual([p.create, p.update, p.service], [[], [], undefined]);
  });

  it('completes an update with nothing left to do, keeping StartedAt', () => {
    const svc = service(spec('app:v1'), { UpdateStatus: updating(1_000) });
    const p = plan(svc, v1Tasks(3), 9_000);
    assert.deepEqual(p.service?.service.UpdateStatus, {
      State: 'completed',
      StartedAt: at(1_000),
      CompletedAt: at(9_000),
      Message: 'update completed',
    });
    assert.equal(p.service.service.Spec, svc.Spec);
  });

  it('completes a rollback as rollback_completed, keeping an automatic rollback’s reason', () => {
    const manual = service(spec('app:v1'), {
      UpdateStatus: {
        State: 'rollback_started',
        StartedAt: at(0),
        Message: 'manually requested rollback',
      },
    });
    assert.equal(
      plan(manual, v1Tasks(2), 9_000).service?.service.UpdateStatus?.Message,
      'rollback completed',
    );
    const auto = service(spec('app:v1'), {
      UpdateStatus: {
        State: 'rollback_started',
        StartedAt: at(0),
        Message: 'update rolled back due to x',
      },
    });
    const st = plan(auto, v1Tasks(2), 9_000).service?.service.UpdateStatus;
    assert.equal(st?.State, 'rollback_completed');
    assert.equal(st.Message, 'rollback completed (update rolled back due to x)');
  });

  it('uses the RollbackConfig while rolling back, with Docker’s defaults for missing fields', () => {
    const s: ServiceSpec = { ...spec('app:v1'), RollbackConfig: { ...policy(), Parallelism: 4 } };
    assert.equal(updatePolicy(service(s)).Parallelism, 1);
    const rolling = service(s, { UpdateStatus: { State: 'rollback_started', Message: '' } });
    assert.equal(updatePolicy(rolling).Parallelism, 4);
    const bare = service({ ...spec('app:v1'), UpdateConfig: undefined } as unknown as ServiceSpec);
    assert.deepEqual(updatePolicy(bare), DEFAULT_UPDATE_CONFIG);
    assert.equal(DEFAULT_UPDATE_CONFIG.Monitor, 5 * S);
  });
});

describe('planUpdate: dispatch', () => {
  it('stop-first: creates the new task (desired ready) and stops the old one in the same step', () => {
    const svc = service(spec('app:v2', { update: { Parallelism: 2 } }), {
      UpdateStatus: updating(1_000),
    });
    const p = plan(svc, v1Tasks(3), 2_000);
    assert.deepEqual(
      p.create.map((t) => [t.Slot, t.Spec.ContainerSpec.Image, t.DesiredState]),
      [
        [1, 'app:v2', 'ready'],
        [2, 'app:v2', 'ready'],
      ],
      'prepared while the old task stops, as swarmkit',
    );
    assert.deepEqual(stopped(p), ['old1', 'old2']);
    assert.equal(p.held.size, 0);
  });

  it('start-first: creates the new task and holds the slot, stopping nothing yet', () => {
    const svc = service(spec('app:v2', { update: { Order: 'start-first' } }), {
      UpdateStatus: updating(1_000),
    });
    const p = plan(svc, v1Tasks(3), 2_000);
    assert.deepEqual(
      p.create.map((t) => t.Slot),
      [1],
    );
    assert.deepEqual(p.update, []);
    assert.deepEqual([...p.held], ['s1']);
  });

  it('start-first: stops the old task once the new one runs, not before', () => {
    const svc = service(spec('app:v2', { update: { Order: 'start-first', Monitor: 0 } }), {
      UpdateStatus: updating(1_000),
    });
    const starting = task('new1', 1, 'app:v2', { state: 'starting', created: 2_000 });
    let p = plan(svc, [...v1Tasks(3), starting], 2_500);
    assert.deepEqual([p.create, p.update, [...p.held]], [[], [], ['s1']]);
    const running = task('new1', 1, 'app:v2', { created: 2_000, ran: 2_600 });
    p = plan(svc, [...v1Tasks(3), running], 2_700);
    assert.deepEqual(stopped(p), ['old1']);
    assert.deepEqual(
      p.create.map((t) => t.Slot),
      [2],
      'and the worker moves on (no delay)',
    );
  });

  it('stop-first, new and old both live (a leader died between the two writes): the old goes', () => {
    const svc = service(spec('app:v2', { replicas: 1 }), { UpdateStatus: updating(1_000) });
    const tasks = [
      task('old1', 1, 'app:v1', { ran: 0 }),
      task('new1', 1, 'app:v2', { state: 'new', created: 2_000 }),
    ];
    const p = plan(svc, tasks, 2_500);
    assert.deepEqual(stopped(p), ['old1']);
    assert.deepEqual([...p.held], ['s1'], 'whatever the reconciler would keep');
    assert.deepEqual(p.create, []);
  });

  it('parallelism 0 takes every outdated slot at once', () => {
    const svc = service(spec('app:v2', { update: { Parallelism: 0 }, replicas: 5 }), {
      UpdateStatus: updating(0),
    });
    assert.equal(plan(svc, v1Tasks(5), 1).create.length, 5);
  });

  it('a worker waits for its task to run, then for Delay, and says when to look again', () => {
    const svc = service(spec('app:v2', { update: { Delay: 3 * S } }), {
      UpdateStatus: updating(0),
    });
    const tasks = [
      task('old1', 1, 'app:v1', { desired: 'shutdown', state: 'shutdown', ended: 200 }),
      task('new1', 1, 'app:v2', { state: 'starting', created: 100 }),
      ...v1Tasks(3).slice(1),
    ];
    let p = plan(svc, tasks, 1_000);
    assert.deepEqual(p.create, [], 'busy: the new task is not running yet');
    tasks[1] = task('new1', 1, 'app:v2', { created: 100, ran: 1_500 });
    p = plan(svc, tasks, 2_000);
    assert.deepEqual(p.create, [], 'busy: the delay runs');
    assert.equal(p.wakeAt, T0 + 4_500);
    p = plan(svc, tasks, 4_500);
    assert.deepEqual(
      p.create.map((t) => t.Slot),
      [2],
    );
  });

  it('waits out the monitor window before completing, and wakes when it closes', () => {
    const svc = service(spec('app:v2', { update: { Monitor: 5 * S } }), {
      UpdateStatus: updating(0),
    });
    const tasks = [1, 2].map((s) => task(`new${s}`, s, 'app:v2', { created: 100, ran: 1_000 }));
    let p = plan(svc, tasks, 3_000);
    assert.equal(p.service, undefined);
    assert.equal(p.wakeAt, T0 + 6_000);
    p = plan(svc, tasks, 6_000);
    assert.equal(p.service?.service.UpdateStatus?.State, 'completed');
  });

  it('global services: the new task goes to the same node', () => {
    const s: ServiceSpec = { ...spec('app:v2'), Mode: { Global: {} } };
    const svc = service(s, { UpdateStatus: updating(0) });
    const tasks = ['nodeA', 'nodeB'].map((nd) =>
      task(`old-${nd}`, undefined, 'app:v1', { node: nd, ran: 0 }),
    );
    const p = plan(svc, tasks, 1_000);
    assert.deepEqual(
      p.create.map((t) => [t.NodeID, t.Slot]),
      [['nodeA', undefined]],
    );
    assert.deepEqual(stopped(p), ['old-nodeA']);
  });

  it('ignores slots above the replica count (the reconciler removes them)', () => {
    const svc = service(spec('app:v2', { replicas: 2, update: { Parallelism: 0 } }), {
      UpdateStatus: updating(0),
    });
    const p = plan(svc, v1Tasks(4), 1_000);
    assert.deepEqual(
      p.create.map((t) => t.Slot),
      [1, 2],
    );
  });
});

describe('planUpdate: failures', () => {
  const failed = (id: string, slot: number, o: TaskOpts): Task =>
    task(id, slot, 'app:v2', { state: 'failed', desired: 'shutdown', ...o });

  it('pause: names the first task that failed', () => {
    const svc = service(spec('app:v2', { update: { Parallelism: 2 } }), {
      UpdateStatus: updating(0),
    });
    const tasks = [
      failed('bad2', 2, { created: 100, ended: 900 }),
      failed('bad1', 1, { created: 100, ended: 800 }),
      ...v1Tasks(3).slice(2),
    ];
    const p = plan(svc, tasks, 1_000);
    assert.deepEqual(p.service?.service.UpdateStatus, {
      State: 'paused',
      StartedAt: at(0),
      Message: 'update paused due to failure or early termination of task bad1',
    });
    assert.deepEqual([p.create, p.update], [[], []]);
  });

  it('rollback: the spec goes back to PreviousSpec, PreviousSpec is cleared, the reason recorded', () => {
    const prev = spec('app:v1');
    const svc = service(spec('app:v2', { update: { FailureAction: 'rollback' } }), {
      PreviousSpec: prev,
      UpdateStatus: updating(0),
    });
    const p = plan(
      svc,
      [failed('bad1', 1, { created: 100, ended: 800 }), ...v1Tasks(3).slice(1)],
      1_000,
    );
    const w = p.service?.service;
    assert.equal(w?.Spec, prev);
    assert.equal(w.PreviousSpec, undefined);
    assert.deepEqual(w.UpdateStatus, {
      State: 'rollback_started',
      StartedAt: at(1_000),
      Message: 'update rolled back due to failure or early termination of task bad1',
    });
  });

  it('rollback without a previous spec pauses instead, saying why', () => {
    const svc = service(spec('app:v2', { update: { FailureAction: 'rollback' } }), {
      UpdateStatus: updating(0),
    });
    const p = plan(svc, [failed('bad1', 1, { created: 100, ended: 800 })], 1_000);
    assert.equal(p.service?.service.UpdateStatus?.State, 'paused');
    assert.match(
      p.service.service.UpdateStatus.Message,
      /bad1 \(no previous spec to roll back to\)$/,
    );
  });

  it('counts failures within Monitor of running, not after, and not before the update', () => {
    const svc = service(spec('app:v2', { update: { Monitor: 2 * S } }), {
      UpdateStatus: updating(1_000),
    });
    const late = failed('late', 1, { created: 1_100, ran: 1_500, ended: 4_000 });
    const old = failed('old', 2, { created: 500, ran: 600, ended: 700 });
    assert.equal(plan(svc, [late, old], 5_000).service?.service.UpdateStatus?.State, 'completed');
    const early = failed('early', 1, { created: 1_100, ran: 1_500, ended: 3_400 });
    assert.equal(plan(svc, [early], 5_000).service?.service.UpdateStatus?.State, 'paused');
  });

  it('an exit (complete) is an early termination; a stop on purpose (shutdown) is not', () => {
    const svc = service(spec('app:v2'), { UpdateStatus: updating(0) });
    const exited = task('exit1', 1, 'app:v2', {
      state: 'complete',
      created: 100,
      ran: 200,
      ended: 300,
    });
    assert.equal(plan(svc, [exited], 1_000).service?.service.UpdateStatus?.State, 'paused');
    const stoppedTask = task('stop1', 1, 'app:v2', {
      state: 'shutdown',
      desired: 'shutdown',
      created: 100,
      ended: 300,
    });
    assert.notEqual(plan(svc, [stoppedTask], 1_000).service?.service.UpdateStatus?.State, 'paused');
  });

  it('the ratio is failed groups over the update’s groups', () => {
    const mk = (ratio: number) =>
      service(spec('app:v2', { replicas: 4, update: { MaxFailureRatio: ratio } }), {
        UpdateStatus: updating(0),
      });
    const tasks = [failed('bad1', 1, { created: 100, ended: 300 }), ...v1Tasks(4).slice(1)];
    assert.equal(plan(mk(0.25), tasks, 1_000).service, undefined, '1/4 is not above 0.25');
    assert.equal(plan(mk(0.2), tasks, 1_000).service?.service.UpdateStatus?.State, 'paused');
  });

  it('continue ignores failures', () => {
    const svc = service(spec('app:v2', { update: { FailureAction: 'continue' } }), {
      UpdateStatus: updating(0),
    });
    const tasks = [failed('bad1', 1, { created: 100, ended: 300 }), ...v1Tasks(3).slice(1)];
    const p = plan(svc, tasks, 1_000);
    assert.equal(p.service, undefined);
    assert.deepEqual(
      p.create.map((t) => t.Slot),
      [2],
    );
  });
});

describe('planService: the updater and the reconciler together', () => {
  const node = (id: string, state: Node['Status']['State']): Node => ({
    ID: id,
    Version: { Index: 0 },
    CreatedAt: at(0),
    UpdatedAt: at(0),
    Spec: { Labels: {}, Role: 'worker', Availability: 'active' },
    Description: {
      Hostname: id,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 1e9, MemoryBytes: 1e9 },
      Engine: { EngineVersion: '27', Labels: {} },
    },
    Status: { State: state, Addr: '127.0.0.1' },
  });
  const base = (svc: Service, tasks: Task[], nodes: Node[]) => ({
    service: svc,
    tasks,
    nodes,
    now: T0 + 1_000,
    historyLimit: 5,
    newId,
    eligible: () => true,
  });

  it('stop-first: the replacement starts once its old task has stopped, or its node is down', () => {
    const svc = service(spec('app:v2', { replicas: 2, update: { Parallelism: 0 } }), {
      UpdateStatus: updating(0),
    });
    const nodes = [node('node1', 'ready'), node('down1', 'down')];
    const waiting = (id: string, slot: number, nodeId = 'node1') =>
      task(id, slot, 'app:v2', { desired: 'ready', state: 'ready', created: 500, node: nodeId });
    const stopping = task('old1', 1, 'app:v1', { desired: 'shutdown', ran: 0 });
    const lost = task('old2', 2, 'app:v1', { desired: 'shutdown', ran: 0, node: 'down1' });
    let p = planService(base(svc, [stopping, waiting('new1', 1), lost, waiting('new2', 2)], nodes));
    assert.deepEqual(
      p.update.filter((u) => u.desiredState === 'running').map((u) => u.id),
      ['new2'],
      'slot 1 waits for its old container; slot 2’s old task is on a down node',
    );
    const stopped1 = task('old1', 1, 'app:v1', {
      desired: 'shutdown',
      state: 'shutdown',
      ended: 800,
    });
    const cur2 = task('cur2', 2, 'app:v2', { created: 500, ran: 600 });
    p = planService(base(svc, [stopped1, waiting('new1', 1), cur2], nodes));
    assert.deepEqual(
      p.update.filter((u) => u.desiredState === 'running').map((u) => u.id),
      ['new1'],
    );
    assert.deepEqual(p.create, [], 'and nothing else');
  });

  it('stop-first with a fixed host-mode port: a replacement placed next to another slot’s stopping task waits for it too', () => {
    const withPort = (ports: boolean): Service =>
      service(
        {
          ...spec('app:v2', { replicas: 2, update: { Parallelism: 0 } }),
          ...(ports
            ? {
                EndpointSpec: {
                  Ports: [
                    { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' },
                  ],
                },
              }
            : {}),
        },
        { UpdateStatus: updating(0) },
      );
    const nodes = [node('node1', 'ready'), node('node2', 'ready')];
    // Slot 1's old task (node1) has stopped; its replacement went to node2, where slot 2's old
    // task is still stopping and holds port 8080.
    const tasks = [
      task('old1', 1, 'app:v1', { desired: 'shutdown', state: 'shutdown', ended: 800 }),
      task('new1', 1, 'app:v2', { desired: 'ready', state: 'ready', created: 500, node: 'node2' }),
      task('old2', 2, 'app:v1', { desired: 'shutdown', ran: 0, node: 'node2' }),
      task('new2', 2, 'app:v2', { desired: 'ready', state: 'ready', created: 500 }),
    ];
    const promoted = (svc: Service, ts: Task[]) =>
      planService(base(svc, ts, nodes))
        .update.filter((u) => u.desiredState === 'running')
        .map((u) => u.id)
        .sort();
    assert.deepEqual(promoted(withPort(true), tasks), [], 'new1 waits for old2, on its node');
    assert.deepEqual(promoted(withPort(false), tasks), ['new1'], 'without the port it need not');
    const old2Gone = tasks.map((t) =>
      t.ID === 'old2'
        ? task('old2', 2, 'app:v1', {
            desired: 'shutdown',
            state: 'shutdown',
            ended: 900,
            node: 'node2',
          })
        : t,
    );
    assert.deepEqual(promoted(withPort(true), old2Gone), ['new1', 'new2']);
  });

  it('a dirty slot on a lost node gets one new task, not two', () => {
    const svc = service(spec('app:v2', { replicas: 2, update: { Parallelism: 0 } }), {
      UpdateStatus: updating(0),
    });
    const tasks = [
      task('old1', 1, 'app:v1', { node: 'down1', ran: 0 }),
      task('old2', 2, 'app:v1', { ran: 0 }),
    ];
    const p = planService(base(svc, tasks, [node('node1', 'ready'), node('down1', 'down')]));
    assert.deepEqual(p.create.map((t) => t.Slot).sort(), [1, 2]);
    assert.deepEqual(p.update.map((u) => u.id).sort(), ['old1', 'old2']);
  });

  it('the reconciler keeps both tasks of a held slot, and its rules elsewhere', () => {
    const tasks = [
      task('old1', 1, 'app:v1', { ran: 0 }),
      task('new1', 1, 'app:v2', { state: 'starting', created: 500 }),
    ];
    const svc = service(spec('app:v2', { replicas: 1 }));
    const inp = base(svc, tasks, [node('node1', 'ready')]);
    assert.deepEqual(reconcileService({ ...inp, hold: new Set(['s1']) }).update, []);
    const own = reconcileService(inp).update.filter((u) => u.desiredState === 'shutdown');
    assert.equal(own.length, 1, 'without a hold, the reconciler keeps one live task (its rule)');
  });

  it('an automatic rollback goes first: no task of the abandoned spec is started meanwhile', () => {
    const svc = service(spec('app:v2', { replicas: 2, update: { FailureAction: 'rollback' } }), {
      PreviousSpec: spec('app:v1', { replicas: 2 }),
      UpdateStatus: updating(-20_000),
    });
    const tasks = [
      task('bad1', 1, 'app:v2', { state: 'failed', created: -15_000, ended: -10_000 }),
      task('old2', 2, 'app:v1', { ran: -30_000 }),
    ];
    const inp = base(svc, tasks, [node('node1', 'ready')]);
    assert.equal(reconcileService(inp).create.length, 1, 'the restart policy would restart slot 1');
    const p = planService(inp);
    assert.equal(p.service?.service.UpdateStatus?.State, 'rollback_started');
    assert.deepEqual(p.create, []);
  });

  it('a rollback replaces the failed tasks of the update at once and completes only then', () => {
    // After a paused update: slot 1 ran the bad spec and failed (its restart is pending), slot
    // 2 still runs the good one. `service rollback` makes the good spec current again.
    const svc = service(spec('app:v1', { replicas: 2 }), {
      PreviousSpec: spec('app:v2', { replicas: 2 }),
      UpdateStatus: {
        State: 'rollback_started',
        StartedAt: at(0),
        Message: 'manually requested rollback',
      },
    });
    const bad = task('bad1', 1, 'app:v2', { state: 'failed', created: -5_000, ended: -4_000 });
    const tasks = [
      task('old1', 1, 'app:v1', {
        state: 'shutdown',
        desired: 'shutdown',
        created: -60_000,
        ended: -5_000,
      }),
      bad,
      task('old2', 2, 'app:v1', { created: -60_000, ran: -30_000 }),
    ];
    const p = planService(base(svc, tasks, [node('node1', 'ready')]));
    assert.equal(p.service, undefined, 'not completed while slot 1 waits on the old spec');
    assert.deepEqual(
      p.create.map((t) => [t.Slot, t.Spec.ContainerSpec.Image]),
      [[1, 'app:v1']],
    );
    assert.ok(p.update.some((u) => u.id === 'bad1' && u.desiredState === 'shutdown'));
    // The same, once the ended task is history: nothing outdated, the rollback completes.
    const done = planUpdate({
      service: svc,
      tasks: [{ ...bad, DesiredState: 'shutdown' }, tasks[2] as Task],
      now: T0 + 10_000,
      newId,
    });
    assert.equal(done.service?.service.UpdateStatus?.State, 'rollback_completed');
  });

  it('a start-first update holds its slot through planService', () => {
    const svc = service(spec('app:v2', { replicas: 1, update: { Order: 'start-first' } }), {
      UpdateStatus: updating(0),
    });
    const tasks = [
      task('old1', 1, 'app:v1', { ran: 0 }),
      task('new1', 1, 'app:v2', { state: 'starting', created: 500 }),
    ];
    const p = planService(base(svc, tasks, [node('node1', 'ready')]));
    assert.deepEqual([p.create, p.update], [[], []]);
  });
});

describe('store and control-API pieces', () => {
  it('a task records when it first ran, and keeps it after it fails', () => {
    const s = emptyState();
    applyCommand(
      s,
      { op: 'task.create', at: at(0), tasks: [task('t1', 1, 'a', { state: 'new' })] },
      1,
    );
    const report = (state: TaskState, ms: number, i: number) =>
      applyCommand(
        s,
        {
          op: 'task.update',
          at: at(ms),
          updates: [{ id: 't1', status: { Timestamp: at(ms), State: state, Message: '' } }],
        },
        i,
      );
    report('starting', 100, 2);
    assert.equal(s.tasks.get('t1')?.RunningSince, undefined);
    report('running', 200, 3);
    report('running', 900, 4); // an agent re-reporting after a restart
    report('failed', 1_000, 5);
    assert.equal(s.tasks.get('t1')?.RunningSince, at(200));
    assert.equal(s.tasks.get('t1')?.Status.State, 'failed');
  });

  it('service update: PreviousSpec and an updating status when the task template changes', () => {
    const svc = service(spec('app:v1'));
    const cmd = serviceUpdateCommand(svc, spec('app:v2'), false, at(5));
    assert.equal(cmd.service.PreviousSpec, svc.Spec);
    assert.deepEqual(cmd.service.UpdateStatus, {
      State: 'updating',
      StartedAt: at(5),
      Message: 'update in progress',
    });
    const labels = serviceUpdateCommand(
      svc,
      { ...spec('app:v1'), Labels: { a: 'b' } },
      false,
      at(5),
    );
    assert.equal(labels.service.UpdateStatus, undefined, 'reset, as Docker');
    const mid = service(spec('app:v2'), { UpdateStatus: updating(1) });
    const scale = serviceUpdateCommand(mid, spec('app:v2', { replicas: 5 }), false, at(5));
    assert.deepEqual(scale.service.UpdateStatus, updating(1), 'an update in progress goes on');
  });

  it('service rollback swaps the spec and the previous spec', () => {
    const svc = service(spec('app:v2'), { PreviousSpec: spec('app:v1') });
    const cmd = serviceUpdateCommand(svc, spec('app:v1'), true, at(7));
    assert.deepEqual(cmd.service.Spec, spec('app:v1'));
    assert.equal(cmd.service.PreviousSpec, svc.Spec);
    assert.deepEqual(cmd.service.UpdateStatus, {
      State: 'rollback_started',
      StartedAt: at(7),
      Message: 'manually requested rollback',
    });
  });
});
