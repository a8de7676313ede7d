/**
 * Seeded runs over random update policies, start times and leader changes: whatever the
 * schedule, an update without failures completes, replaces each slot exactly once, and keeps
 * within its parallelism (stop-first: never more than `Parallelism` slots down; start-first:
 * never more than `Parallelism` extra tasks). A failing seed is printed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Task } from '../../../src/shared/api-types.js';
import { NS_PER_MS, UpdateSim } from './sim.js';
import { seededRandom as rng } from '../../helpers/prng.js';

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

const SEEDS = Number(process.env['UPDATE_SEEDS'] ?? 150);

describe('seeded rolling updates', () => {
  it(`${SEEDS} seeds: completes, each slot once, within parallelism`, () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = rng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
      const replicas = 1 + Math.floor(r() * 8);
      const parallelism = pick([0, 1, 2, 3]);
      const order = pick(['stop-first', 'start-first'] as const);
      const delayMs = pick([0, 200, 1_000]);
      const monitorMs = pick([0, 500, 2_000]);
      const failoverAt = r() < 0.5 ? Math.floor(r() * 40) : -1;
      const salt = Math.floor(r() * 1e9);
      const sim = new UpdateSim({
        replicas,
        update: {
          Parallelism: parallelism,
          Order: order,
          Delay: delayMs * NS_PER_MS,
          Monitor: monitorMs * NS_PER_MS,
        },
        behaviour: (t) => ({ startSteps: 1 + (hash(`${t.ID}${salt}`) % 6) }),
      });
      const ctx = `seed ${seed}: ${replicas} replicas, p=${parallelism}, ${order}, delay ${delayMs}, monitor ${monitorMs}, failover at ${failoverAt}`;
      sim.deploy();
      sim.updateImage('app:v2');
      const v2 = (t: Task): boolean => t.Spec.ContainerSpec.Image === 'app:v2';
      const width = parallelism === 0 ? replicas : Math.min(parallelism, replicas);
      for (let i = 0; i < 3_000 && sim.status()?.State !== 'completed'; i++) {
        if (i === failoverAt) sim.failover(1_500);
        else sim.step();
        const live = sim.live();
        const upToDate = live.filter((t) => v2(t) && t.Status.State === 'running').length;
        const oldUp = live.filter((t) => !v2(t)).length;
        if (order === 'start-first') {
          assert.ok(live.length <= replicas + width, `${ctx}: ${live.length} live tasks`);
          assert.ok(upToDate + oldUp >= replicas, `${ctx}: a slot went down in start-first`);
        } else {
          assert.ok(upToDate + oldUp >= replicas - width, `${ctx}: too many slots down`);
        }
      }
      assert.equal(sim.status()?.State, 'completed', ctx);
      assert.equal(sim.tasks().filter(v2).length, replicas, `${ctx}: slots replaced once`);
      assert.deepEqual(sim.imagesOfLive(), Array<string>(replicas).fill('app:v2'), ctx);
      if (parallelism !== 0 && order === 'stop-first')
        assert.ok(Math.min(...sim.samples) >= replicas - width, ctx);
    }
  });

  it(`${SEEDS} seeds with a bad image: pause or roll back, never past the failure`, () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = rng(seed * 7919);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
      const replicas = 2 + Math.floor(r() * 6);
      const parallelism = pick([1, 2, 3]);
      const order = pick(['stop-first', 'start-first'] as const);
      const action = pick(['pause', 'rollback'] as const);
      const failure = pick(['unhealthy', 'crash', 'rejected'] as const);
      const failoverAt = r() < 0.5 ? Math.floor(r() * 30) : -1;
      const v2 = (t: Task): boolean => t.Spec.ContainerSpec.Image === 'app:v2';
      const sim = new UpdateSim({
        replicas,
        update: {
          Parallelism: parallelism,
          Order: order,
          Monitor: 2_000 * NS_PER_MS,
          FailureAction: action,
        },
        rollback: { Parallelism: parallelism, Order: order, Monitor: 500 * NS_PER_MS },
        behaviour: (t) =>
          !v2(t)
            ? {}
            : failure === 'unhealthy'
              ? { unhealthy: true, startSteps: 2 }
              : failure === 'crash'
                ? { crashAfter: 3 }
                : { rejected: true },
      });
      const ctx = `seed ${seed}: ${replicas} replicas, p=${parallelism}, ${order}, ${action}, ${failure}, failover at ${failoverAt}`;
      sim.deploy();
      sim.updateImage('app:v2');
      const want = action === 'pause' ? 'paused' : 'rollback_completed';
      for (let i = 0; i < 3_000 && sim.status()?.State !== want; i++) {
        if (i === failoverAt) sim.failover(1_000);
        else sim.step();
        const slots = new Set(
          sim
            .tasks()
            .filter(v2)
            .map((t) => t.Slot),
        );
        assert.ok(
          slots.size <= parallelism * 2,
          `${ctx}: the update went on (${slots.size} slots)`,
        );
      }
      assert.equal(sim.status()?.State, want, ctx);
      assert.match(sim.status()?.Message ?? '', /due to failure or early termination of task/, ctx);
      if (action === 'rollback') {
        sim.runUntil((s) => s.running().length === replicas && s.live().length === replicas, 100);
        assert.deepEqual(sim.imagesOfLive(), Array<string>(replicas).fill('app:v1'), ctx);
      } else {
        const oldRunning = sim.running().filter((t) => !v2(t)).length;
        assert.ok(oldRunning >= replicas - parallelism * 2, `${ctx}: ${oldRunning} old running`);
      }
    }
  });
});
