import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RestartCondition, Task } from '../../../src/shared/api-types.js';
import { TASK_STATES } from '../../../src/shared/api-types.js';
import { isEmpty, makeService, NS_PER_SEC, SEC, World } from './world.js';
import { seededRandom as mulberry32 } from '../../helpers/prng.js';

/*
 * Seeded random histories: tasks fail and complete, nodes go down, drain and come back, the
 * service scales, time moves. After every orchestration pass the next pass must be a no-op
 * (idempotence), and the slot/node invariants must hold. A failure prints its seed.
 */

const ended = (t: Task): boolean => TASK_STATES.indexOf(t.Status.State) >= 8;
const live = (t: Task): boolean => t.DesiredState === 'running' && !ended(t);

function pick<T>(rnd: () => number, xs: readonly T[]): T | undefined {
  return xs.length ? xs[Math.floor(rnd() * xs.length)] : undefined;
}

function usable(w: World, nodeId: string | undefined): boolean {
  const n = w.nodes.find((x) => x.ID === nodeId);
  return n !== undefined && n.Status.State !== 'down' && n.Spec.Availability !== 'drain';
}

/** Plays one random outside event (agent, scheduler, operator or clock). */
function randomEvent(w: World, rnd: () => number, global: boolean): void {
  const roll = rnd();
  const nodeIds = w.nodes.map((n) => n.ID);
  if (roll < 0.3) {
    // Scheduler + agent: place fresh tasks on usable nodes and start them.
    const targets = nodeIds.filter((id) => usable(w, id));
    for (const t of w.tasks) {
      if (
        t.DesiredState !== 'running' ||
        (t.Status.State !== 'new' && t.Status.State !== 'pending')
      )
        continue;
      const node = t.NodeID ?? pick(rnd, targets);
      if (node && usable(w, node)) w.setState(t.ID, 'running', node);
      else if (!t.NodeID) w.setState(t.ID, 'pending');
    }
  } else if (roll < 0.5) {
    const t = pick(
      rnd,
      w.tasks.filter((x) => x.Status.State === 'running'),
    );
    if (t) w.setState(t.ID, rnd() < 0.7 ? 'failed' : 'complete');
  } else if (roll < 0.6) {
    // Agent: tasks desired shutdown on reachable nodes stop.
    for (const t of w.tasks)
      if (t.DesiredState !== 'running' && !ended(t) && usable(w, t.NodeID))
        w.setState(t.ID, 'shutdown');
  } else if (roll < 0.72) {
    const id = pick(rnd, nodeIds);
    if (id) w.setNode(id, { state: rnd() < 0.5 ? 'down' : 'ready' });
  } else if (roll < 0.82) {
    const id = pick(rnd, nodeIds);
    if (id)
      w.setNode(id, { availability: pick(rnd, ['active', 'drain', 'pause'] as const) ?? 'active' });
  } else if (roll < 0.9 && !global) {
    const svc = w.service;
    w.service = {
      ...svc,
      Spec: { ...svc.Spec, Mode: { Replicated: { Replicas: Math.floor(rnd() * 6) } } },
    };
  } else {
    w.advance(Math.floor(rnd() * 8 * SEC));
  }
}

function checkReplicated(w: World, ctx: string): void {
  const replicas = w.service.Spec.Mode.Replicated?.Replicas ?? 1;
  const slots = new Set(w.tasks.map((t) => t.Slot ?? 0));
  for (let s = 1; s <= replicas; s++) slots.add(s);
  for (const s of slots) {
    const inSlot = w.tasks.filter((t) => t.Slot === s);
    const alive = inSlot.filter(live);
    assert.ok(alive.length <= 1, `${ctx}: slot ${s} has ${alive.length} live tasks`);
    for (const t of alive) {
      assert.ok(!t.NodeID || usable(w, t.NodeID), `${ctx}: live task ${t.ID} on unusable node`);
    }
    if (s > replicas) {
      assert.equal(alive.length, 0, `${ctx}: slot ${s} above replicas ${replicas} still live`);
      continue;
    }
    if (alive.length === 1) continue;
    // No live task: the slot must be finished by policy or waiting for a restart delay.
    const finished = inSlot.some((t) => t.DesiredState === 'complete');
    const waiting = inSlot.some((t) => ended(t) && t.DesiredState === 'running');
    assert.ok(finished || waiting, `${ctx}: slot ${s} is empty: ${JSON.stringify(inSlot)}`);
  }
}

function checkGlobal(w: World, ctx: string): void {
  for (const n of w.nodes) {
    const alive = w.tasks.filter((t) => t.NodeID === n.ID && live(t));
    assert.ok(alive.length <= 1, `${ctx}: node ${n.ID} has ${alive.length} live tasks`);
    const wanted = n.Status.State !== 'down' && n.Spec.Availability !== 'drain';
    if (!wanted) assert.equal(alive.length, 0, `${ctx}: live task on unusable node ${n.ID}`);
    if (n.Status.State !== 'down' && n.Spec.Availability === 'active' && alive.length === 0) {
      const mine = w.tasks.filter((t) => t.NodeID === n.ID);
      const finished = mine.some((t) => t.DesiredState === 'complete');
      const waiting = mine.some((t) => ended(t) && t.DesiredState === 'running');
      assert.ok(finished || waiting, `${ctx}: active node ${n.ID} has no task`);
    }
  }
}

function checkHistory(w: World, ctx: string): void {
  const groups = new Map<string, number>();
  for (const t of w.tasks) {
    if (!ended(t) || TASK_STATES.indexOf(t.DesiredState) < TASK_STATES.indexOf('shutdown'))
      continue;
    const k = t.Slot !== undefined ? `s${t.Slot}` : `n${t.NodeID ?? ''}`;
    groups.set(k, (groups.get(k) ?? 0) + 1);
  }
  const rp = w.service.Spec.TaskTemplate.RestartPolicy;
  // The reaper may keep up to MaxAttempts+1 more to count restart attempts (see reconcile.ts).
  const counting = rp?.Condition !== 'none' && (rp?.MaxAttempts ?? 0) > 0;
  const allowance = w.historyLimit + (counting ? (rp?.MaxAttempts ?? 0) + 1 : 0);
  for (const [k, n] of groups) {
    const dump = w.tasks
      .filter((t) => (t.Slot !== undefined ? `s${t.Slot}` : `n${t.NodeID ?? ''}`) === k)
      .map((t) => `${t.ID}:${t.Status.State}/${t.DesiredState}@${t.Status.Timestamp}`);
    assert.ok(
      n <= allowance,
      `${ctx}: ${k} keeps ${n} ended tasks (limit ${w.historyLimit}, policy ${JSON.stringify(rp)}, now ${new Date(w.now).toISOString()}): ${dump.join(' ')}`,
    );
  }
}

function runSeed(seed: number, global: boolean): void {
  const rnd = mulberry32(seed);
  const conditions: RestartCondition[] = ['any', 'on-failure', 'none'];
  const svc = makeService('svc1', {
    global,
    replicas: 1 + Math.floor(rnd() * 4),
    restart: {
      Condition: pick(rnd, conditions) ?? 'any',
      Delay: Math.floor(rnd() * 6) * NS_PER_SEC,
      MaxAttempts: Math.floor(rnd() * 4),
      Window: Math.floor(rnd() * 3) * 20 * NS_PER_SEC,
    },
  });
  const w = new World(svc);
  w.historyLimit = Math.floor(rnd() * 4);
  for (const id of ['n1', 'n2', 'n3']) w.addNode(id);
  for (let step = 0; step < 150; step++) {
    const ctx = `seed ${seed} step ${step}`;
    w.pass();
    const again = w.reconcile();
    assert.ok(isEmpty(again), `${ctx}: second pass not idle: ${JSON.stringify(again)}`);
    if (global) checkGlobal(w, ctx);
    else checkReplicated(w, ctx);
    checkHistory(w, ctx);
    randomEvent(w, rnd, global);
  }
}

describe('reconcile: seeded random histories', () => {
  it('replicated: idempotent passes and slot invariants over 300 seeds', () => {
    for (let seed = 1; seed <= 300; seed++) runSeed(seed, false);
  });

  it('global: idempotent passes and node invariants over 300 seeds', () => {
    for (let seed = 1001; seed <= 1300; seed++) runSeed(seed, true);
  });
});
