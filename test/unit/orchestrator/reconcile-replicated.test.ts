import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isEmpty, iso, makeService, makeTask, START, stopped, World } from './world.js';

/** A world with a replicated service of `replicas` running on n1 (slots 1..replicas). */
function running(replicas: number): World {
  const w = new World(makeService('svc1', { replicas }));
  w.addNode('n1');
  w.addNode('n2');
  w.pass();
  w.runAll('n1');
  return w;
}

describe('reconcile replicated: creating and scaling', () => {
  it('creates one new task per slot 1..N for a new service', () => {
    const w = new World(makeService('svc1', { replicas: 3 }));
    w.addNode('n1');
    const r = w.reconcile();
    assert.deepEqual(r.create.map((t) => t.Slot).sort(), [1, 2, 3]);
    assert.deepEqual(r.update, []);
    assert.deepEqual(r.remove, []);
    assert.equal(r.wakeAt, undefined);
    for (const t of r.create) {
      assert.equal(t.ServiceID, 'svc1');
      assert.equal(t.DesiredState, 'running');
      assert.equal(t.Status.State, 'new');
      assert.equal(t.NodeID, undefined, 'the scheduler assigns nodes, not the reconciler');
      assert.equal(t.CreatedAt, iso(START));
      assert.deepEqual(t.SpecVersion, { Index: 10 });
      assert.deepEqual(t.Spec, w.service.Spec.TaskTemplate);
    }
    assert.equal(new Set(r.create.map((t) => t.ID)).size, 3, 'distinct IDs from newId');
  });

  it('a replicated service without Replicated.Replicas gets one task', () => {
    const svc = makeService('svc1');
    const w = new World({ ...svc, Spec: { ...svc.Spec, Mode: {} } });
    assert.deepEqual(
      w.reconcile().create.map((t) => t.Slot),
      [1],
    );
  });

  it('reconciling again after applying changes nothing', () => {
    const w = running(3);
    assert.ok(isEmpty(w.reconcile()));
  });

  it('scale up creates only the new slots', () => {
    const w = running(3);
    w.service = makeService('svc1', { replicas: 5 });
    const r = w.pass();
    assert.deepEqual(r.create.map((t) => t.Slot).sort(), [4, 5]);
    assert.deepEqual(r.update, []);
  });

  it('scale down stops the highest slots, creates nothing, and then is quiet', () => {
    const w = running(5);
    w.service = makeService('svc1', { replicas: 2 });
    const r = w.pass();
    assert.deepEqual(r.create, []);
    const slots = stopped(r).map((id) => w.task(id).Slot);
    assert.deepEqual(slots.sort(), [3, 4, 5]);
    assert.equal(r.update.length, 3, 'only the three live tasks get an update');
    assert.deepEqual([...w.liveBy('slot').keys()].sort(), ['1', '2']);
    assert.ok(isEmpty(w.reconcile()));
  });

  it('scale down only stops live tasks: history and already-stopping tasks are left alone', () => {
    const svc = makeService('svc1', { replicas: 3 });
    const w = new World(svc);
    w.addNode('n1');
    w.tasks = [
      makeTask(svc, 'a1', { slot: 1, node: 'n1' }),
      makeTask(svc, 'a2', { slot: 2, node: 'n1' }),
      makeTask(svc, 'old3', { slot: 3, node: 'n1', state: 'failed', desired: 'shutdown' }),
      makeTask(svc, 'stopping3', { slot: 3, node: 'n1', desired: 'shutdown', created: START + 1 }),
      makeTask(svc, 'a3', { slot: 3, node: 'n1', created: START + 2 }),
    ];
    w.service = makeService('svc1', { replicas: 2 });
    const r = w.reconcile();
    assert.deepEqual(r.update, [{ id: 'a3', desiredState: 'shutdown' }]);
    assert.deepEqual(r.create, []);
  });

  it('scale down also stops a pending (unassigned) task in a removed slot', () => {
    const svc = makeService('svc1', { replicas: 2 });
    const w = new World(svc);
    w.tasks = [
      makeTask(svc, 'a1', { slot: 1, state: 'pending' }),
      makeTask(svc, 'a2', { slot: 2, state: 'pending' }),
    ];
    w.service = makeService('svc1', { replicas: 1 });
    assert.deepEqual(w.reconcile().update, [{ id: 'a2', desiredState: 'shutdown' }]);
  });

  it('scale to 0 stops every live task', () => {
    const w = running(3);
    w.service = makeService('svc1', { replicas: 0 });
    const r = w.pass();
    assert.equal(stopped(r).length, 3);
    assert.equal(w.liveBy('slot').size, 0);
    assert.ok(isEmpty(w.reconcile()));
  });

  it('scale down then up before the old task stopped: the slot gets a fresh task', () => {
    const w = running(3);
    w.service = makeService('svc1', { replicas: 2 });
    w.pass();
    // Slot 3's task is still running (desired shutdown) when the user scales back to 3.
    w.service = makeService('svc1', { replicas: 3 });
    const r = w.pass();
    assert.deepEqual(
      r.create.map((t) => t.Slot),
      [3],
    );
    assert.ok(isEmpty(w.reconcile()));
  });

  it('keeps a pending unassigned task instead of duplicating it', () => {
    const svc = makeService('svc1', { replicas: 2 });
    const w = new World(svc);
    w.addNode('n1');
    w.tasks = [
      makeTask(svc, 'p1', { slot: 1, state: 'pending' }),
      makeTask(svc, 'p2', { slot: 2, state: 'new' }),
    ];
    assert.ok(isEmpty(w.reconcile()));
  });
});

describe('reconcile replicated: lost and drained nodes', () => {
  for (const [what, change] of [
    ['down', { state: 'down' }],
    ['drained', { availability: 'drain' }],
  ] as const) {
    it(`a task on a ${what} node is stopped and replaced in the same slot, in one pass`, () => {
      const w = running(2);
      const onN1 = w.inSlot(2)[0];
      assert.ok(onN1);
      w.setNode('n1', change);
      const r = w.pass();
      assert.ok(stopped(r).includes(onN1.ID));
      assert.deepEqual(
        r.create.map((t) => t.Slot).sort(),
        [1, 2],
        'both slots lived on n1, both are replaced',
      );
      for (const t of r.create) assert.equal(t.NodeID, undefined, 'rescheduled from scratch');
      assert.ok(isEmpty(w.reconcile()), 'the next pass is quiet');
    });
  }

  it('a task on a node that was removed from the cluster is replaced', () => {
    const w = running(1);
    w.nodes = w.nodes.filter((n) => n.ID !== 'n1');
    const r = w.pass();
    assert.equal(stopped(r).length, 1);
    assert.equal(r.create.length, 1);
    assert.equal(r.create[0]?.Slot, 1);
  });

  it('only the tasks on the lost node move', () => {
    const svc = makeService('svc1', { replicas: 2 });
    const w = new World(svc);
    w.addNode('n1');
    w.addNode('n2');
    w.tasks = [
      makeTask(svc, 'a1', { slot: 1, node: 'n1' }),
      makeTask(svc, 'a2', { slot: 2, node: 'n2' }),
    ];
    w.setNode('n2', { state: 'down' });
    const r = w.reconcile();
    assert.deepEqual(r.update, [{ id: 'a2', desiredState: 'shutdown' }]);
    assert.deepEqual(
      r.create.map((t) => t.Slot),
      [2],
    );
  });

  it('a paused node keeps its tasks', () => {
    const w = running(2);
    w.setNode('n1', { availability: 'pause' });
    assert.ok(isEmpty(w.reconcile()));
  });

  it('a node in unknown or disconnected state keeps its tasks (the dispatcher decides down)', () => {
    for (const state of ['unknown', 'disconnected'] as const) {
      const w = running(2);
      w.setNode('n1', { state });
      assert.ok(isEmpty(w.reconcile()), state);
    }
  });

  it('a node coming back does not bring a second task to the slot', () => {
    const w = running(1);
    const first = w.inSlot(1)[0];
    assert.ok(first);
    w.setNode('n1', { state: 'down' });
    w.pass();
    w.runAll('n2');
    w.setNode('n1', { state: 'ready' });
    assert.ok(isEmpty(w.reconcile()));
    assert.equal(w.liveBy('slot').get('1')?.length, 1);
  });
});

describe('reconcile replicated: races in a slot', () => {
  it('a slot whose only task is stopping (desired shutdown, still running) gets a replacement', () => {
    const svc = makeService('svc1', { replicas: 1 });
    const w = new World(svc);
    w.addNode('n1');
    w.tasks = [makeTask(svc, 'old', { slot: 1, node: 'n1', desired: 'shutdown' })];
    const r = w.pass();
    assert.deepEqual(
      r.create.map((t) => t.Slot),
      [1],
    );
    assert.deepEqual(r.update, []);
    assert.ok(isEmpty(w.reconcile()));
  });

  it('a stopping task whose node is down is not stopped twice and the slot is refilled', () => {
    const svc = makeService('svc1', { replicas: 1 });
    const w = new World(svc);
    w.addNode('n1', { state: 'down' });
    w.tasks = [makeTask(svc, 'old', { slot: 1, node: 'n1', desired: 'shutdown' })];
    const r = w.reconcile();
    assert.deepEqual(r.update, []);
    assert.equal(r.create.length, 1);
  });

  it('two live tasks in one slot: one is stopped, nothing is created', () => {
    const svc = makeService('svc1', { replicas: 1 });
    const w = new World(svc);
    w.addNode('n1');
    w.tasks = [
      makeTask(svc, 'older', { slot: 1, node: 'n1', created: START }),
      makeTask(svc, 'newer', { slot: 1, node: 'n1', created: START + 1000 }),
    ];
    const r = w.pass();
    assert.equal(stopped(r).length, 1);
    assert.deepEqual(r.create, []);
    assert.equal(w.liveBy('slot').get('1')?.length, 1);
    assert.ok(isEmpty(w.reconcile()));
  });

  it('two live tasks in one slot: the running one is kept over a newer one not yet placed', () => {
    const svc = makeService('svc1', { replicas: 1 });
    const w = new World(svc);
    w.addNode('n1');
    w.tasks = [
      makeTask(svc, 'runs', { slot: 1, node: 'n1', created: START }),
      makeTask(svc, 'pending', { slot: 1, state: 'pending', created: START + 1000 }),
    ];
    assert.deepEqual(w.reconcile().update, [{ id: 'pending', desiredState: 'shutdown' }]);
  });

  it('leader lost between task.create and task.update: the next pass finishes the job', () => {
    // The loop commits creates before updates; a crash in between leaves the replacement
    // created but the old tasks still desired running.
    const svc = makeService('svc1', { replicas: 2, restart: { Condition: 'any', Delay: 0 } });
    const w = new World(svc);
    w.addNode('n1');
    w.addNode('n2', { state: 'down' });
    w.tasks = [
      makeTask(svc, 'failed', { slot: 1, node: 'n1', state: 'failed' }),
      makeTask(svc, 'repl1', { slot: 1, created: START + 1000, state: 'pending' }),
      makeTask(svc, 'lost', { slot: 2, node: 'n2' }),
      makeTask(svc, 'repl2', { slot: 2, created: START + 1000, state: 'pending' }),
    ];
    w.now = START + 2000;
    const r = w.pass();
    assert.deepEqual(r.create, []);
    assert.deepEqual(stopped(r).sort(), ['failed', 'lost']);
    assert.ok(isEmpty(w.reconcile()));
  });

  it('an ended task behind a live one in the same slot is moved to history', () => {
    // A newer task failed while an older one of the same slot (failover leftover) still runs.
    const svc = makeService('svc1', { replicas: 1 });
    const w = new World(svc);
    w.addNode('n1');
    w.tasks = [
      makeTask(svc, 'runs', { slot: 1, node: 'n1', created: START }),
      makeTask(svc, 'failed', { slot: 1, node: 'n1', state: 'failed', created: START + 1000 }),
    ];
    w.now = START + 60_000;
    const r = w.pass();
    assert.deepEqual(r.create, [], 'the slot already has a live task');
    assert.equal(w.task('failed').DesiredState, 'shutdown');
    assert.ok(isEmpty(w.reconcile()));
  });
});
