import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isEmpty, makeService, makeTask, SEC, stopped, World } from './world.js';

/** A global service over nodes n1..n3, its tasks created and running. */
function globalOn3(): World {
  const w = new World(makeService('g1', { global: true }));
  for (const id of ['n1', 'n2', 'n3']) w.addNode(id);
  w.pass();
  w.runAll('unused');
  return w;
}

function nodesOf(w: World): string[] {
  return [...w.liveBy('node').keys()].sort();
}

describe('reconcile global', () => {
  it('creates one task per ready active node, bound to it, without a slot', () => {
    const w = new World(makeService('g1', { global: true }));
    for (const id of ['n1', 'n2', 'n3']) w.addNode(id);
    const r = w.reconcile();
    assert.deepEqual(r.create.map((t) => t.NodeID).sort(), ['n1', 'n2', 'n3']);
    for (const t of r.create) {
      assert.equal(t.Slot, undefined);
      assert.equal(t.DesiredState, 'running');
    }
  });

  it('skips drained, paused and down nodes and constraint-ineligible ones', () => {
    const w = new World(makeService('g1', { global: true }));
    w.addNode('ok');
    w.addNode('drained', { availability: 'drain' });
    w.addNode('paused', { availability: 'pause' });
    w.addNode('down', { state: 'down' });
    w.addNode('nolabel');
    w.eligible = (n) => n.ID !== 'nolabel';
    assert.deepEqual(
      w.reconcile().create.map((t) => t.NodeID),
      ['ok'],
    );
  });

  it('is quiet once every node has its task', () => {
    const w = globalOn3();
    assert.ok(isEmpty(w.reconcile()));
    assert.deepEqual(nodesOf(w), ['n1', 'n2', 'n3']);
  });

  for (const [what, change] of [
    ['drained', { availability: 'drain' }],
    ['down', { state: 'down' }],
  ] as const) {
    it(`a ${what} node's task is stopped and not replaced elsewhere`, () => {
      const w = globalOn3();
      w.setNode('n2', change);
      const r = w.pass();
      assert.deepEqual(r.create, []);
      assert.equal(stopped(r).length, 1);
      assert.deepEqual(nodesOf(w), ['n1', 'n3']);
      assert.ok(isEmpty(w.reconcile()));
    });
  }

  it('a paused node keeps its running task but gets no new one', () => {
    const w = globalOn3();
    w.setNode('n2', { availability: 'pause' });
    assert.ok(isEmpty(w.reconcile()), 'pause does not stop tasks');
    w.addNode('n4', { availability: 'pause' });
    assert.ok(isEmpty(w.reconcile()), 'pause does not start tasks');
  });

  it('a node that was removed loses its task', () => {
    const w = globalOn3();
    w.nodes = w.nodes.filter((n) => n.ID !== 'n3');
    const r = w.pass();
    assert.equal(stopped(r).length, 1);
    assert.deepEqual(r.create, []);
    assert.deepEqual(nodesOf(w), ['n1', 'n2']);
  });

  it('a new node gets a task, and only it', () => {
    const w = globalOn3();
    w.addNode('n4');
    const r = w.pass();
    assert.deepEqual(
      r.create.map((t) => t.NodeID),
      ['n4'],
    );
    assert.deepEqual(r.update, []);
  });

  it('a drained node made active again gets a new task', () => {
    const w = globalOn3();
    w.setNode('n1', { availability: 'drain' });
    w.pass();
    w.setNode('n1', { availability: 'active' });
    const r = w.pass();
    assert.deepEqual(
      r.create.map((t) => t.NodeID),
      ['n1'],
    );
  });

  it('a node that stops matching the constraints loses its task', () => {
    const w = globalOn3();
    w.eligible = (n) => n.ID !== 'n1';
    const r = w.pass();
    assert.equal(stopped(r).length, 1);
    assert.deepEqual(nodesOf(w), ['n2', 'n3']);
  });

  it('a failed task is restarted on the same node after the delay', () => {
    const w = globalOn3();
    const t = w.tasks.find((x) => x.NodeID === 'n2');
    assert.ok(t);
    w.setState(t.ID, 'failed');
    assert.deepEqual(w.pass().create, []);
    w.advance(5 * SEC);
    const r = w.pass();
    assert.deepEqual(
      r.create.map((x) => x.NodeID),
      ['n2'],
    );
    assert.deepEqual(stopped(r), [t.ID]);
  });

  it('two live tasks on one node: one is stopped', () => {
    const svc = makeService('g1', { global: true });
    const w = new World(svc);
    w.addNode('n1');
    w.tasks = [
      makeTask(svc, 'a', { node: 'n1' }),
      makeTask(svc, 'b', { node: 'n1', created: Date.parse('2026-01-01T00:00:01Z') }),
    ];
    const r = w.pass();
    assert.equal(stopped(r).length, 1);
    assert.deepEqual(r.create, []);
    assert.ok(isEmpty(w.reconcile()));
  });
});
