import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Service, Task } from '../../../src/shared/api-types.js';
import { isEmpty, makeService, makeTask, SEC, START, World } from './world.js';

/** `n` ended tasks (desired shutdown) in `slot`, created one second apart, oldest first. */
function history(svc: Service, slot: number, n: number, prefix = `h${slot}-`): Task[] {
  return Array.from({ length: n }, (_, i) =>
    makeTask(svc, `${prefix}${i}`, {
      slot,
      node: 'n1',
      state: 'failed',
      desired: 'shutdown',
      created: START + i * SEC,
    }),
  );
}

describe('task reaper', () => {
  it('keeps exactly historyLimit ended tasks per slot, removing the oldest', () => {
    const svc = makeService('svc1', { replicas: 1 });
    const w = new World(svc);
    w.addNode('n1');
    w.tasks = [
      ...history(svc, 1, 8),
      makeTask(svc, 'live', { slot: 1, node: 'n1', created: START + 100 * SEC }),
    ];
    const r = w.pass();
    assert.deepEqual(r.remove.sort(), ['h1-0', 'h1-1', 'h1-2']);
    assert.deepEqual(r.create, []);
    assert.equal(w.tasks.length, 6);
    assert.ok(isEmpty(w.reconcile()));
  });

  it('orders by creation time, not by list order', () => {
    const svc = makeService('svc1', { replicas: 1 });
    const w = new World(svc);
    w.addNode('n1');
    w.historyLimit = 2;
    w.tasks = [
      ...history(svc, 1, 4).reverse(),
      makeTask(svc, 'live', { slot: 1, node: 'n1', created: START + 100 * SEC }),
    ];
    assert.deepEqual(w.reconcile().remove.sort(), ['h1-0', 'h1-1']);
  });

  it('counts per slot, not per service', () => {
    const svc = makeService('svc1', { replicas: 2 });
    const w = new World(svc);
    w.addNode('n1');
    w.historyLimit = 3;
    w.tasks = [
      ...history(svc, 1, 3),
      ...history(svc, 2, 5),
      makeTask(svc, 'l1', { slot: 1, node: 'n1', created: START + 100 * SEC }),
      makeTask(svc, 'l2', { slot: 2, node: 'n1', created: START + 100 * SEC }),
    ];
    assert.deepEqual(w.reconcile().remove.sort(), ['h2-0', 'h2-1']);
  });

  it('counts a task that ends in this very pass', () => {
    const w = new World(makeService('svc1', { replicas: 1 }));
    w.addNode('n1');
    w.historyLimit = 2;
    w.tasks = history(w.service, 1, 2);
    w.tasks.push(makeTask(w.service, 'cur', { slot: 1, node: 'n1', created: START + 50 * SEC }));
    w.now = START + 100 * SEC;
    w.setState('cur', 'failed');
    w.advance(5 * SEC);
    const r = w.pass();
    assert.equal(r.create.length, 1, 'restarted');
    assert.deepEqual(r.remove, ['h1-0'], 'cur joins the history, the oldest leaves');
    assert.ok(isEmpty(w.reconcile()));
  });

  it('does not reap stopping tasks that have not ended yet', () => {
    const svc = makeService('svc1', { replicas: 1 });
    const w = new World(svc);
    w.addNode('n1', { state: 'down' });
    w.addNode('n2');
    w.historyLimit = 0;
    w.tasks = [
      makeTask(svc, 'stuck', { slot: 1, node: 'n1', desired: 'shutdown' }),
      makeTask(svc, 'live', { slot: 1, node: 'n2', created: START + SEC }),
    ];
    assert.ok(isEmpty(w.reconcile()));
  });

  it('historyLimit 0 removes every ended task but never the live one', () => {
    const svc = makeService('svc1', { replicas: 1 });
    const w = new World(svc);
    w.addNode('n1');
    w.historyLimit = 0;
    w.tasks = [
      ...history(svc, 1, 3),
      makeTask(svc, 'live', { slot: 1, node: 'n1', created: START + 100 * SEC }),
    ];
    w.pass();
    assert.deepEqual(
      w.tasks.map((t) => t.ID),
      ['live'],
    );
  });

  it('historyLimit 0 keeps the task that marks a slot finished by policy', () => {
    const svc = makeService('svc1', { replicas: 1, restart: { Condition: 'none' } });
    const w = new World(svc);
    w.addNode('n1');
    w.historyLimit = 0;
    w.tasks = [makeTask(svc, 'done', { slot: 1, node: 'n1', state: 'complete' })];
    const r = w.pass();
    assert.deepEqual(r.update, [{ id: 'done', desiredState: 'complete' }]);
    assert.deepEqual(r.remove, [], 'the finished marker is not history');
    assert.ok(isEmpty(w.pass()), 'and the slot is not refilled');
  });

  it('keeps history per node for global services', () => {
    const svc = makeService('g1', { global: true });
    const w = new World(svc);
    w.addNode('n1');
    w.addNode('n2');
    w.historyLimit = 1;
    const ended = (id: string, node: string, s: number): Task =>
      makeTask(svc, id, { node, state: 'failed', desired: 'shutdown', created: START + s * SEC });
    w.tasks = [
      ended('a0', 'n1', 0),
      ended('a1', 'n1', 1),
      ended('a2', 'n1', 2),
      ended('b0', 'n2', 0),
      makeTask(svc, 'la', { node: 'n1', created: START + 10 * SEC }),
      makeTask(svc, 'lb', { node: 'n2', created: START + 10 * SEC }),
    ];
    assert.deepEqual(w.reconcile().remove.sort(), ['a0', 'a1']);
  });

  it('reaps slots above the replica count like any other', () => {
    const svc = makeService('svc1', { replicas: 1 });
    const w = new World(svc);
    w.addNode('n1');
    w.historyLimit = 1;
    w.tasks = [makeTask(svc, 'l1', { slot: 1, node: 'n1' }), ...history(svc, 4, 3)];
    assert.deepEqual(w.reconcile().remove.sort(), ['h4-0', 'h4-1']);
  });
});
