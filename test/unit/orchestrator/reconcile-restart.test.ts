import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TaskState, TaskTemplate } from '../../../src/shared/api-types.js';
import { isEmpty, makeService, makeTask, NS_PER_SEC, SEC, START, stopped, World } from './world.js';

/** One replica, running on n1, with the given restart policy (none: Docker's defaults). */
function oneReplica(restart?: TaskTemplate['RestartPolicy']): World {
  const w = new World(makeService('svc1', { replicas: 1, ...(restart ? { restart } : {}) }));
  w.addNode('n1');
  w.pass();
  w.runAll('n1');
  return w;
}

/** The slot's task that is desired to run (asserts there is exactly one). */
function current(w: World, slot = 1): string {
  const live = w.liveBy('slot').get(String(slot)) ?? [];
  assert.equal(live.length, 1, `slot ${slot}: ${JSON.stringify(w.inSlot(slot))}`);
  return live[0]?.ID ?? '';
}

/** The current task of slot 1 ends with `state`; returns its ID. */
function end(w: World, state: TaskState = 'failed'): string {
  const id = current(w);
  w.setState(id, state);
  return id;
}

describe('reconcile: restart policy timing', () => {
  it('default policy (any, 5s): a failed task is replaced only after the delay', () => {
    const w = oneReplica();
    const failed = end(w);
    const failedAt = w.now;

    w.advance(4999);
    const early = w.pass();
    assert.deepEqual(early.create, []);
    assert.deepEqual(early.update, []);
    assert.equal(early.wakeAt, failedAt + 5 * SEC, 'reports when to look again');

    w.advance(1);
    const r = w.pass();
    assert.equal(r.create.length, 1);
    assert.equal(r.create[0]?.Slot, 1, 'same slot');
    assert.deepEqual(r.update, [{ id: failed, desiredState: 'shutdown' }]);
    assert.equal(r.wakeAt, undefined);
    assert.ok(isEmpty(w.reconcile()));
  });

  it('honours a custom delay and a zero delay', () => {
    const w = oneReplica({ Condition: 'any', Delay: 30 * NS_PER_SEC });
    end(w);
    assert.equal(w.pass().wakeAt, w.now + 30 * SEC);
    w.advance(30 * SEC);
    assert.equal(w.pass().create.length, 1);

    const z = oneReplica({ Condition: 'any', Delay: 0 });
    end(z);
    assert.equal(z.pass().create.length, 1, 'no delay: replaced in the same pass');
  });

  it('wakeAt is the earliest pending restart across slots', () => {
    const w = new World(makeService('svc1', { replicas: 2 }));
    w.addNode('n1');
    w.pass();
    w.runAll('n1');
    const [a, b] = w.tasks;
    assert.ok(a && b);
    w.setState(a.ID, 'failed');
    w.advance(2 * SEC);
    w.setState(b.ID, 'failed');
    assert.equal(w.reconcile().wakeAt, START + 5 * SEC);
  });

  it('a rejected task (e.g. image pull failure) is restarted like a failed one', () => {
    const w = oneReplica({ Condition: 'on-failure', Delay: 0 });
    end(w, 'rejected');
    assert.equal(w.pass().create.length, 1);
  });
});

describe('reconcile: restart conditions', () => {
  for (const state of ['failed', 'complete'] as const) {
    it(`condition none: a ${state} task finishes the slot for good`, () => {
      const w = oneReplica({ Condition: 'none', Delay: 0 });
      const id = end(w, state);
      const r = w.pass();
      assert.deepEqual(r.create, []);
      assert.deepEqual(r.update, [{ id, desiredState: 'complete' }]);
      assert.equal(r.wakeAt, undefined);
      for (const dt of [0, 10 * SEC, 3600 * SEC]) {
        w.advance(dt);
        assert.ok(isEmpty(w.pass()), `still finished after ${dt} ms`);
      }
      assert.equal(w.tasks.length, 1);
    });
  }

  it('on-failure: a complete task is not restarted, a failed one is', () => {
    const done = oneReplica({ Condition: 'on-failure', Delay: 0 });
    const id = end(done, 'complete');
    assert.deepEqual(done.pass().update, [{ id, desiredState: 'complete' }]);
    done.advance(60 * SEC);
    assert.ok(isEmpty(done.pass()));

    const bad = oneReplica({ Condition: 'on-failure', Delay: 0 });
    end(bad, 'failed');
    assert.equal(bad.pass().create.length, 1);
  });

  it('any: a complete task is restarted too', () => {
    const w = oneReplica({ Condition: 'any', Delay: 0 });
    end(w, 'complete');
    assert.equal(w.pass().create.length, 1);
  });

  it('a task the agent reports shut down while still wanted is restarted', () => {
    const w = oneReplica({ Condition: 'on-failure', Delay: 0 });
    end(w, 'shutdown');
    assert.equal(w.pass().create.length, 1);
  });

  it('finished slots are not refilled when other slots scale', () => {
    const w = new World(makeService('svc1', { replicas: 2, restart: { Condition: 'none' } }));
    w.addNode('n1');
    w.pass();
    w.runAll('n1');
    const first = w.inSlot(1)[0];
    assert.ok(first);
    w.setState(first.ID, 'complete');
    w.pass();
    w.service = makeService('svc1', { replicas: 3, restart: { Condition: 'none' } });
    const r = w.pass();
    assert.deepEqual(
      r.create.map((t) => t.Slot),
      [3],
    );
  });
});

describe('reconcile: max attempts', () => {
  /** Fails the slot's task and reconciles until the slot is finished; returns the runs. */
  function failUntilFinished(w: World, limit = 50): number {
    let runs = 1;
    for (let i = 0; i < limit; i++) {
      const id = end(w);
      w.advance(SEC);
      const r = w.pass();
      if (r.update.some((u) => u.id === id && u.desiredState === 'complete')) return runs;
      assert.equal(r.create.length, 1, `pass ${i}: ${JSON.stringify(r)}`);
      runs++;
      w.runAll('n1');
      w.advance(SEC);
    }
    assert.fail(`never finished after ${limit} failures`);
  }

  it('max attempts 2 (no window): two restarts, then the slot is finished', () => {
    const w = oneReplica({ Condition: 'on-failure', Delay: 0, MaxAttempts: 2 });
    assert.equal(failUntilFinished(w), 3, 'first run + 2 restarts');
    w.advance(3600 * SEC);
    assert.ok(isEmpty(w.pass()));
  });

  it('max attempts larger than the task history limit still stops restarting', () => {
    const w = oneReplica({ Condition: 'on-failure', Delay: 0, MaxAttempts: 7 });
    w.historyLimit = 2;
    assert.equal(failUntilFinished(w), 8);
    // Once finished, the attempts are no longer needed: history is back to the limit.
    assert.deepEqual(
      w.inSlot(1).map((t) => t.DesiredState),
      ['shutdown', 'shutdown', 'complete'],
    );
    assert.ok(isEmpty(w.pass()));
  });

  it('max attempts with history limit 0 still stops restarting', () => {
    const w = oneReplica({ Condition: 'any', Delay: 0, MaxAttempts: 1 });
    w.historyLimit = 0;
    assert.equal(failUntilFinished(w), 2);
    w.advance(60 * SEC);
    assert.ok(isEmpty(w.pass()), 'the finished slot stays finished');
  });

  it('only failures inside the window count', () => {
    const restart = {
      Condition: 'on-failure' as const,
      Delay: 0,
      MaxAttempts: 1,
      Window: 10 * NS_PER_SEC,
    };
    // Failures 30 s apart: each is alone in its window, so restarts go on.
    const slow = oneReplica(restart);
    for (let i = 0; i < 4; i++) {
      end(slow);
      assert.equal(slow.pass().create.length, 1, `slow failure ${i}`);
      slow.runAll('n1');
      slow.advance(30 * SEC);
    }
    // Two failures 2 s apart: the second exceeds one attempt in the window.
    const fast = oneReplica(restart);
    end(fast);
    assert.equal(fast.pass().create.length, 1);
    fast.runAll('n1');
    fast.advance(2 * SEC);
    const id = end(fast);
    assert.deepEqual(fast.pass().update, [{ id, desiredState: 'complete' }]);
  });

  it('tasks stopped on purpose (updates, lost nodes) do not use up restart attempts', () => {
    const svc = makeService('svc1', {
      replicas: 1,
      restart: { Condition: 'on-failure', Delay: 0, MaxAttempts: 1 },
    });
    const w = new World(svc);
    w.addNode('n1');
    w.tasks = [
      makeTask(svc, 'upd1', { slot: 1, node: 'n1', state: 'shutdown', desired: 'shutdown' }),
      makeTask(svc, 'upd2', {
        slot: 1,
        node: 'n1',
        state: 'shutdown',
        desired: 'shutdown',
        created: START + 1,
      }),
      makeTask(svc, 'cur', { slot: 1, node: 'n1', state: 'failed', created: START + 2 }),
    ];
    w.now = START + 60 * SEC;
    const r = w.reconcile();
    assert.equal(r.create.length, 1, `first failure must be restarted: ${JSON.stringify(r)}`);
  });
});

describe('reconcile: restart ordering edge cases', () => {
  it('a replacement whose CreatedAt is earlier than its predecessor (clock skew) still waits', () => {
    // The new leader's clock is 3 s behind: the replacement looks older than the task it
    // replaced. When it fails, its restart delay must still apply.
    const svc = makeService('svc1', { replicas: 1, restart: { Condition: 'any', Delay: 10e9 } });
    const w = new World(svc);
    w.addNode('n1');
    w.tasks = [
      makeTask(svc, 'old', {
        slot: 1,
        node: 'n1',
        state: 'failed',
        desired: 'shutdown',
        created: START + 3 * SEC,
      }),
      makeTask(svc, 'new', {
        slot: 1,
        node: 'n1',
        state: 'failed',
        created: START,
        at: START + 20 * SEC,
      }),
    ];
    w.now = START + 21 * SEC;
    const r = w.reconcile();
    assert.deepEqual(r.create, [], 'restart delay not over yet');
    assert.equal(r.wakeAt, START + 30 * SEC);
  });

  it('same CreatedAt for old and new task: the delay still applies', () => {
    const svc = makeService('svc1', { replicas: 1, restart: { Condition: 'any', Delay: 10e9 } });
    const w = new World(svc);
    w.addNode('n1');
    w.tasks = [
      makeTask(svc, 'old', { slot: 1, node: 'n1', state: 'failed', desired: 'shutdown' }),
      makeTask(svc, 'new', { slot: 1, node: 'n1', state: 'failed', at: START + SEC }),
    ];
    w.now = START + 2 * SEC;
    assert.deepEqual(w.reconcile().create, []);
  });

  it('a failed task on a down node is replaced after the delay, and only once', () => {
    const w = oneReplica({ Condition: 'any', Delay: 5 * NS_PER_SEC });
    const id = end(w);
    w.setNode('n1', { state: 'down' });
    w.addNode('n2');
    assert.deepEqual(w.pass().create, []);
    w.advance(5 * SEC);
    const r = w.pass();
    assert.equal(r.create.length, 1);
    assert.deepEqual(stopped(r), [id]);
    assert.ok(isEmpty(w.reconcile()));
  });
});
