import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Task } from '../../../src/shared/api-types.js';
import { NS_PER_MS, UpdateSim, type SimOptions } from './sim.js';

const S = 1_000 * NS_PER_MS;
const v2 = (t: Task): boolean => t.Spec.ContainerSpec.Image === 'app:v2';
const ms = (iso: string | undefined): number => Date.parse(iso ?? '');

/** Distinct creation times of the v2 tasks: one per batch. */
function batches(sim: UpdateSim): Task[][] {
  const by = new Map<string, Task[]>();
  for (const t of sim.tasks().filter(v2)) by.set(t.CreatedAt, [...(by.get(t.CreatedAt) ?? []), t]);
  return [...by.entries()].sort(([a], [b]) => ms(a) - ms(b)).map(([, ts]) => ts);
}

function sixReplicasP2(order: 'stop-first' | 'start-first', extra: SimOptions = {}): UpdateSim {
  const sim = new UpdateSim({
    replicas: 6,
    update: { Parallelism: 2, Delay: 1 * S, Monitor: 2 * S, Order: order },
    ...extra,
  });
  sim.deploy();
  return sim;
}

describe('rolling update: 6 replicas, parallelism 2, delay 1 s', () => {
  it('stop-first never has fewer than 4 running tasks and ends with v2 everywhere', () => {
    const sim = sixReplicasP2('stop-first');
    assert.equal(sim.updateImage('app:v2').ok, true);
    assert.equal(sim.status()?.State, 'updating');
    sim.runUntil((s) => s.status()?.State === 'completed');
    assert.equal(Math.min(...sim.samples), 4, 'two tasks at a time are down, never more');
    assert.deepEqual(sim.imagesOfLive(), Array<string>(6).fill('app:v2'));
    assert.equal(sim.running().length, 6);
    assert.equal(sim.tasks().filter(v2).length, 6, 'one new task per slot, no duplicates');
    assert.equal(sim.status()?.Message, 'update completed');
    assert.ok(sim.status()?.CompletedAt);
  });

  it('stop-first never runs a slot’s old and new containers side by side (parallelism 0)', () => {
    // Old containers take longer to stop (5 steps) than new ones take to start (3).
    const sim = sixReplicasP2('stop-first', {
      update: { Parallelism: 0, Order: 'stop-first' },
      stopSteps: 5,
    });
    sim.updateImage('app:v2');
    let waited = 0;
    sim.runUntil((s) => {
      const up = s.running().map((t) => t.Slot);
      assert.equal(new Set(up).size, up.length, `two running tasks in one slot: ${up.join(',')}`);
      waited += s.tasks().filter((t) => t.DesiredState === 'ready').length;
      return s.status()?.State === 'completed';
    });
    assert.ok(waited > 0, 'the replacements waited in desired ready');
    assert.deepEqual(sim.imagesOfLive(), Array<string>(6).fill('app:v2'));
    assert.equal(sim.running().length, 6);
  });

  it('start-first never has more than 8 running tasks nor fewer than 6', () => {
    const sim = sixReplicasP2('start-first');
    sim.updateImage('app:v2');
    sim.runUntil((s) => s.status()?.State === 'completed');
    assert.equal(Math.max(...sim.samples), 8, 'two extra tasks at a time, never more');
    assert.ok(Math.min(...sim.samples) >= 6, `min ${Math.min(...sim.samples)}`);
    assert.deepEqual(sim.imagesOfLive(), Array<string>(6).fill('app:v2'));
    assert.equal(sim.tasks().filter(v2).length, 6);
  });

  it('start-first keeps the old task of a slot until its replacement runs', () => {
    const sim = sixReplicasP2('start-first', { behaviour: () => ({ startSteps: 6 }) });
    sim.updateImage('app:v2');
    sim.step();
    const slots: number[] = sim
      .tasks()
      .filter(v2)
      .map((t) => t.Slot ?? 0);
    assert.deepEqual(slots, [1, 2]);
    const liveIn = (slot: number): Task[] => sim.live().filter((t) => t.Slot === slot);
    for (let i = 0; i < 4; i++) {
      sim.step();
      for (const slot of slots)
        assert.equal(liveIn(slot).length, 2, `slot ${slot} runs old and new side by side`);
    }
    sim.runUntil((s) => s.running().filter(v2).length === 2);
    sim.step();
    for (const slot of slots) {
      assert.deepEqual(
        liveIn(slot).map((t) => t.Spec.ContainerSpec.Image),
        ['app:v2'],
        'the old task is stopped once the new one runs',
      );
    }
  });

  it('batches are `Parallelism` wide, each waiting for the last to run plus the delay', () => {
    const sim = sixReplicasP2('stop-first');
    sim.updateImage('app:v2');
    sim.runUntil((s) => s.status()?.State === 'completed');
    const bs = batches(sim);
    assert.deepEqual(
      bs.map((b) => b.length),
      [2, 2, 2],
    );
    for (let i = 1; i < bs.length; i++) {
      const prevRan = Math.max(...(bs[i - 1] ?? []).map((t) => ms(t.RunningSince)));
      const started = ms(bs[i]?.[0]?.CreatedAt);
      assert.ok(started - prevRan >= 1_000, `batch ${i} began ${started - prevRan} ms after`);
      assert.ok(started - prevRan < 1_000 + 2 * sim.stepMs, 'and not much later');
    }
  });

  it('waits out the monitor window of the last batch before completing', () => {
    const sim = sixReplicasP2('stop-first');
    sim.updateImage('app:v2');
    sim.runUntil((s) => s.status()?.State === 'completed');
    const lastRan = Math.max(
      ...sim
        .tasks()
        .filter(v2)
        .map((t) => ms(t.RunningSince)),
    );
    const done = ms(sim.status()?.CompletedAt);
    assert.ok(done - lastRan >= 2_000, `completed ${done - lastRan} ms after the last start`);
    assert.ok(done - lastRan < 2_000 + 2 * sim.stepMs);
  });
});

describe('parallelism and order edge cases', () => {
  it('parallelism 0 replaces every task at once', () => {
    const sim = new UpdateSim({ replicas: 5, update: { Parallelism: 0, Monitor: 0 } });
    sim.deploy();
    sim.updateImage('app:v2');
    sim.step();
    assert.equal(sim.tasks().filter(v2).length, 5);
    assert.equal(sim.tasks().filter((t) => !v2(t) && t.DesiredState === 'running').length, 0);
    sim.runUntil((s) => s.status()?.State === 'completed');
    assert.equal(sim.tasks().filter(v2).length, 5);
  });

  it('parallelism 1 (the default) has one slot under update at a time', () => {
    const sim = new UpdateSim({ replicas: 3, update: { Monitor: 0 } });
    sim.deploy();
    sim.updateImage('app:v2');
    sim.runUntil((s) => s.status()?.State === 'completed');
    assert.deepEqual(
      batches(sim).map((b) => b.length),
      [1, 1, 1],
    );
    assert.equal(Math.min(...sim.samples), 2);
  });

  it('updates a global service node by node', () => {
    const sim = new UpdateSim({ globalNodes: 3, update: { Order: 'start-first', Monitor: 0 } });
    sim.deploy();
    sim.updateImage('app:v2');
    sim.runUntil((s) => s.status()?.State === 'completed');
    const live = sim.live();
    assert.equal(live.length, 3);
    assert.deepEqual(new Set(live.map((t) => t.NodeID)), new Set(['node1', 'node2', 'node3']));
    assert.ok(live.every(v2));
    assert.ok(Math.max(...sim.samples) <= 4);
  });

  it('an update that changes no task (replicas, labels) completes at once', () => {
    const sim = new UpdateSim({ replicas: 2 });
    sim.deploy();
    sim.updateSpec((s) => ({ ...s, Labels: { tier: 'web' } }));
    assert.equal(sim.status(), undefined, 'Docker resets the status');
    sim.updateImage('app:v2');
    sim.runUntil((s) => s.status()?.State === 'completed');
    const created = sim.tasks().length;
    sim.updateSpec((s) => ({ ...s, Labels: { tier: 'front' } }));
    for (let i = 0; i < 20; i++) sim.step();
    assert.equal(sim.tasks().length, created, 'no task replaced');
  });
});

describe('failures during the update', () => {
  it('an unhealthy new task pauses the update (pause) and names the task', () => {
    const sim = new UpdateSim({
      replicas: 6,
      update: { Parallelism: 1, Monitor: 2 * S, FailureAction: 'pause' },
      behaviour: (t) => (v2(t) ? { unhealthy: true } : {}),
    });
    sim.deploy();
    sim.updateImage('app:v2');
    sim.runUntil((s) => s.status()?.State === 'paused');
    const bad = sim.tasks().filter(v2);
    assert.equal(bad.length, 1);
    assert.equal(
      sim.status()?.Message,
      `update paused due to failure or early termination of task ${bad[0]?.ID ?? ''}`,
    );
    // Paused: no other slot is touched; the failed slot is left to the restart policy.
    for (let i = 0; i < 50; i++) sim.step();
    assert.equal(sim.status()?.State, 'paused');
    const slotsWithV2 = new Set(
      sim
        .tasks()
        .filter(v2)
        .map((t) => t.Slot),
    );
    assert.equal(slotsWithV2.size, 1);
    assert.equal(sim.running().filter((t) => !v2(t)).length, 5, 'v1 still runs in 5 slots');
  });

  it('a rejected image pauses too', () => {
    const sim = new UpdateSim({
      replicas: 2,
      behaviour: (t) => (v2(t) ? { rejected: true } : {}),
    });
    sim.deploy();
    sim.updateImage('app:v2');
    sim.runUntil((s) => s.status()?.State === 'paused');
    assert.match(sim.status()?.Message ?? '', /^update paused due to failure/);
  });

  it('a task that crashes within the monitor window after running is a failure', () => {
    const sim = new UpdateSim({
      replicas: 4,
      update: { Parallelism: 2, Monitor: 2 * S },
      behaviour: (t) => (v2(t) ? { crashAfter: 5 } : {}),
    });
    sim.deploy();
    sim.updateImage('app:v2');
    sim.runUntil((s) => s.status()?.State === 'paused');
    const culprit = sim.tasks().find((t) => sim.status()?.Message.endsWith(t.ID));
    assert.ok(culprit?.RunningSince, 'the culprit had been running');
    assert.equal(culprit.Status.State, 'failed');
  });

  it('a crash after the monitor window is not the update’s failure', () => {
    // Slot 1's new task crashes 1.5 s after it started, while the update goes on (delay 2 s).
    const sim = new UpdateSim({
      replicas: 3,
      update: { Parallelism: 1, Delay: 2 * S, Monitor: 1 * S },
      behaviour: (t) => (v2(t) && t.Slot === 1 ? { crashAfter: 15 } : {}),
    });
    sim.deploy();
    sim.updateImage('app:v2');
    sim.runUntil((s) => s.status()?.State !== 'updating');
    assert.equal(sim.status()?.State, 'completed');
    const crashed = sim.tasks().find((t) => v2(t) && t.Status.State === 'failed');
    assert.ok(crashed, 'the crash happened');
    assert.ok(ms(crashed.Status.Timestamp) < ms(sim.status()?.CompletedAt), 'during the update');
  });

  it('automatic rollback: back to the previous spec, with the reason recorded', () => {
    const sim = new UpdateSim({
      replicas: 6,
      update: { Parallelism: 2, Delay: 1 * S, Monitor: 2 * S, FailureAction: 'rollback' },
      rollback: { Parallelism: 2, Monitor: 1 * S },
      behaviour: (t) => (v2(t) ? { unhealthy: true } : {}),
    });
    sim.deploy();
    sim.updateImage('app:v2');
    sim.runUntil((s) => s.status()?.State === 'rollback_started');
    const culprit = sim.tasks().filter(v2)[0];
    const reason = `update rolled back due to failure or early termination of task ${culprit?.ID ?? ''}`;
    assert.equal(sim.status()?.Message, reason);
    assert.equal(sim.service().Spec.TaskTemplate.ContainerSpec.Image, 'app:v1');
    assert.equal(sim.service().PreviousSpec, undefined);
    sim.runUntil((s) => s.status()?.State === 'rollback_completed');
    assert.equal(sim.status()?.Message, `rollback completed (${reason})`);
    assert.ok(sim.imagesOfLive().every((i) => i === 'app:v1'));
    // The slots whose v2 task failed come back with v1 by the restart policy.
    sim.runUntil((s) => s.running().length === 6 && s.live().length === 6, 20);
    assert.deepEqual(sim.imagesOfLive(), Array<string>(6).fill('app:v1'));
    assert.ok(Math.min(...sim.samples) >= 4);
  });

  it('max failure ratio: failures up to the ratio are tolerated', () => {
    // One slot in six fails (17 %): under a 0.2 ratio the update completes...
    const flaky = (t: { Slot?: number; Spec: Task['Spec'] }) =>
      v2(t as Task) && t.Slot === 3 ? { unhealthy: true } : {};
    const sim = new UpdateSim({
      replicas: 6,
      update: { Parallelism: 2, Monitor: 1 * S, MaxFailureRatio: 0.2 },
      behaviour: flaky,
    });
    sim.deploy();
    sim.updateImage('app:v2');
    sim.runUntil((s) => s.status()?.State !== 'updating');
    assert.equal(sim.status()?.State, 'completed');
    // ...under 0.1 it pauses.
    const strict = new UpdateSim({
      replicas: 6,
      update: { Parallelism: 2, Monitor: 1 * S, MaxFailureRatio: 0.1 },
      behaviour: flaky,
    });
    strict.deploy();
    strict.updateImage('app:v2');
    strict.runUntil((s) => s.status()?.State !== 'updating');
    assert.equal(strict.status()?.State, 'paused');
  });

  it('failure action continue carries on past failures', () => {
    const sim = new UpdateSim({
      replicas: 4,
      update: { Parallelism: 1, Monitor: 1 * S, FailureAction: 'continue' },
      behaviour: (t) => (v2(t) && t.Slot === 1 ? { unhealthy: true } : {}),
    });
    sim.deploy();
    sim.updateImage('app:v2');
    sim.runUntil((s) => s.status()?.State !== 'updating');
    assert.equal(sim.status()?.State, 'completed');
    const slots = new Set(
      sim
        .tasks()
        .filter(v2)
        .map((t) => t.Slot),
    );
    assert.deepEqual(slots, new Set([1, 2, 3, 4]));
  });

  it('a failing rollback pauses (a rollback is never rolled back)', () => {
    let cutoff = Number.POSITIVE_INFINITY;
    const sim = new UpdateSim({
      replicas: 3,
      update: { Monitor: 1 * S, FailureAction: 'rollback' },
      rollback: { Monitor: 1 * S, FailureAction: 'rollback' },
      // v2 crashes once it runs; v1 no longer starts (its registry went away).
      behaviour: (t) =>
        v2(t) ? { crashAfter: 2 } : ms(t.CreatedAt) > cutoff ? { rejected: true } : {},
    });
    sim.deploy();
    sim.updateImage('app:v2');
    cutoff = sim.now;
    sim.runUntil((s) => s.status()?.State === 'rollback_started');
    sim.runUntil((s) => s.status()?.State !== 'rollback_started');
    assert.equal(sim.status()?.State, 'rollback_paused');
    assert.match(
      sim.status()?.Message ?? '',
      /^rollback paused due to failure or early termination of task \w+$/,
    );
  });
});

describe('manual rollback', () => {
  it('restores the previous spec with the RollbackConfig', () => {
    const sim = new UpdateSim({
      replicas: 6,
      update: { Parallelism: 1, Monitor: 0 },
      rollback: { Parallelism: 3, Monitor: 0, Order: 'start-first' },
    });
    sim.deploy();
    sim.updateImage('app:v2');
    sim.runUntil((s) => s.status()?.State === 'completed');
    const v2Spec = sim.service().Spec;
    assert.equal(sim.rollback().ok, true);
    assert.equal(sim.status()?.State, 'rollback_started');
    assert.equal(sim.status()?.Message, 'manually requested rollback');
    assert.equal(sim.service().Spec.TaskTemplate.ContainerSpec.Image, 'app:v1');
    assert.deepEqual(sim.service().PreviousSpec, v2Spec, 'Docker swaps the two specs');
    const before = sim.tasks().length;
    sim.samples.length = 0;
    sim.step();
    assert.equal(sim.tasks().length - before, 3, 'rollback parallelism 3');
    sim.runUntil((s) => s.status()?.State === 'rollback_completed');
    assert.equal(sim.status()?.Message, 'rollback completed');
    assert.deepEqual(sim.imagesOfLive(), Array<string>(6).fill('app:v1'));
    assert.ok(Math.min(...sim.samples) >= 6, 'start-first rollback keeps every slot up');
    assert.ok(Math.max(...sim.samples) <= 9);
  });

  it('a rollback in the middle of an update reverts the updated slots only', () => {
    const sim = new UpdateSim({ replicas: 4, update: { Parallelism: 1, Delay: 2 * S } });
    sim.deploy();
    sim.updateImage('app:v2');
    sim.runUntil((s) =>
      s
        .tasks()
        .filter(v2)
        .some((t) => t.Status.State === 'running'),
    );
    sim.rollback();
    const created = sim.tasks().length;
    sim.runUntil((s) => s.status()?.State === 'rollback_completed');
    assert.deepEqual(sim.imagesOfLive(), Array<string>(4).fill('app:v1'));
    assert.equal(sim.tasks().length - created, 1, 'one slot had moved to v2');
  });
});

describe('leader change', () => {
  it('a new leader resumes a stop-first update from the store, without a second batch', () => {
    const sim = sixReplicasP2('stop-first');
    sim.updateImage('app:v2');
    // The old leader dispatched the second batch, then went away.
    sim.runUntil((s) => s.tasks().filter(v2).length === 4);
    sim.failover(3_000);
    sim.runUntil((s) => s.status()?.State === 'completed');
    assert.equal(sim.tasks().filter(v2).length, 6, 'no slot updated twice');
    assert.ok(Math.min(...sim.samples) >= 4);
    assert.deepEqual(sim.imagesOfLive(), Array<string>(6).fill('app:v2'));
  });

  it('a new leader finishes a start-first slot the old one left half done', () => {
    const sim = sixReplicasP2('start-first', { behaviour: () => ({ startSteps: 5 }) });
    sim.updateImage('app:v2');
    sim.step();
    assert.equal(sim.tasks().filter(v2).length, 2);
    sim.failover(2_000); // the new tasks come up meanwhile, next to the old ones
    assert.equal(sim.live().length, 8);
    sim.runUntil((s) => s.status()?.State === 'completed');
    assert.ok(Math.max(...sim.samples) <= 8);
    assert.equal(sim.tasks().filter(v2).length, 6);
  });

  it('a failure during the gap is acted on by the new leader', () => {
    const sim = new UpdateSim({
      replicas: 3,
      update: { Monitor: 5 * S, FailureAction: 'rollback' },
      behaviour: (t) => (v2(t) ? { crashAfter: 10 } : {}),
    });
    sim.deploy();
    sim.updateImage('app:v2');
    sim.runUntil((s) => s.tasks().some((t) => v2(t) && t.Status.State === 'running'));
    sim.failover(2_000); // the crash happens while nobody leads
    sim.step();
    assert.equal(sim.status()?.State, 'rollback_started');
    sim.runUntil((s) => s.status()?.State === 'rollback_completed');
    assert.deepEqual(sim.imagesOfLive(), Array<string>(3).fill('app:v1'));
  });

  it('the delay is measured from the store, not from when the new leader started', () => {
    const sim = sixReplicasP2('stop-first', { update: { Parallelism: 2, Delay: 5 * S } });
    sim.updateImage('app:v2');
    sim.runUntil((s) => s.running().filter(v2).length === 2);
    const ran = Math.max(
      ...sim
        .tasks()
        .filter(v2)
        .map((t) => ms(t.RunningSince)),
    );
    sim.failover(1_000);
    sim.runUntil((s) => s.tasks().filter(v2).length === 4);
    const second = ms(batches(sim)[1]?.[0]?.CreatedAt);
    assert.ok(second - ran >= 5_000 && second - ran < 5_000 + 2 * sim.stepMs);
  });
});
