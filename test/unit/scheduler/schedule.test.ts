import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  explain,
  parseConstraint,
  parsePlacementPref,
  schedule,
} from '../../../src/scheduler/index.js';
import { CPU, GIB, countByNode, explanations, node, replicas, running, task } from './fixtures.js';

describe('schedule: batches', () => {
  it('returns one decision per task, in input order, even when services interleave', () => {
    const nodes = [node('a'), node('b')];
    const pending = [task('x1', 'x'), task('y1', 'y'), task('x2', 'x'), task('y2', 'y')];
    const decisions = schedule(nodes, pending);
    assert.deepEqual(
      decisions.map((d) => d.taskId),
      ['x1', 'y1', 'x2', 'y2'],
    );
    // Each service is spread over both nodes.
    assert.notEqual(
      (decisions[0]?.kind === 'assign' && decisions[0].nodeId) || '',
      (decisions[2]?.kind === 'assign' && decisions[2].nodeId) || '',
    );
    assert.deepEqual(schedule(nodes, []), []);
  });

  it('accounts for resources used earlier in the same call', () => {
    const nodes = [node('a', { resources: { nanoCpus: 2 * CPU, memoryBytes: 4 * GIB } })];
    const cpu = { reservations: { nanoCpus: CPU, memoryBytes: GIB } };
    const decisions = schedule(nodes, [...replicas('s', 1, cpu), ...replicas('t', 2, cpu)]);
    assert.deepEqual(countByNode(decisions), { a: 2 });
    assert.deepEqual(explanations(decisions), [
      'no suitable node (insufficient resources on 1 node)',
    ]);
    assert.equal(decisions[2]?.kind, 'unschedulable');
  });

  it('runs out of resources across nodes and explains the rest', () => {
    const nodes = [node('a'), node('b')]; // 4 CPUs each
    const decisions = schedule(
      nodes,
      replicas('s', 10, { reservations: { nanoCpus: 1.5 * CPU, memoryBytes: 0 } }),
    );
    assert.deepEqual(countByNode(decisions), { a: 2, b: 2 });
    assert.deepEqual(
      explanations(decisions),
      Array(6).fill('no suitable node (insufficient resources on 2 nodes)'),
    );
  });

  it('accounts for host ports taken earlier in the same call, across services', () => {
    const nodes = [node('a'), node('b')];
    const tcp8080 = { hostPorts: [{ port: 8080, protocol: 'tcp' as const }] };
    const udp8080 = { hostPorts: [{ port: 8080, protocol: 'udp' as const }] };
    const decisions = schedule(nodes, [
      ...replicas('web', 1, tcp8080),
      ...replicas('api', 2, tcp8080),
      ...replicas('dns', 2, udp8080),
    ]);
    assert.deepEqual(
      decisions.map((d) => d.kind),
      ['assign', 'assign', 'unschedulable', 'assign', 'assign'],
    );
    assert.deepEqual(countByNode(decisions), { a: 2, b: 2 });
    assert.deepEqual(explanations(decisions), [
      'no suitable node (host-mode port already in use on 2 nodes)',
    ]);
  });

  it('accounts for max replicas per node within the call', () => {
    const nodes = [node('a'), node('b'), node('c')];
    const decisions = schedule(nodes, replicas('s', 7, { maxReplicasPerNode: 2 }));
    assert.deepEqual(countByNode(decisions), { a: 2, b: 2, c: 2 });
    assert.equal(explanations(decisions).length, 1);
  });

  it('places groups with constraints, preferences and limits together', () => {
    const nodes = [
      node('m', { role: 'manager', labels: { zone: 'z1' } }),
      node('w1', { labels: { zone: 'z1' } }),
      node('w2', { labels: { zone: 'z2' } }),
      node('w3', { labels: { zone: 'z2' }, status: 'down' }),
    ];
    const decisions = schedule(
      nodes,
      replicas('s', 5, {
        constraints: [parseConstraint('node.role==worker')],
        placementPrefs: [parsePlacementPref('spread=node.labels.zone')],
        maxReplicasPerNode: 2,
      }),
    );
    assert.deepEqual(countByNode(decisions), { w1: 2, w2: 2 });
    assert.deepEqual(explanations(decisions), [
      'no suitable node (max replicas per node limit exceed; 1 node not available for new tasks; scheduling constraints not satisfied on 1 node)',
    ]);
  });
});

describe('schedule: determinism and inputs', () => {
  const nodes = [
    node('n3', { labels: { zone: 'z1' }, tasks: running('other', 2) }),
    node('n1', { labels: { zone: 'z2' } }),
    node('n2', { labels: { zone: 'z1' }, tasks: running('s', 1) }),
    node('n4'),
  ];
  const pending = [
    ...replicas('s', 5, { placementPrefs: [parsePlacementPref('spread=node.labels.zone')] }),
    ...replicas('t', 3, { reservations: { nanoCpus: 3 * CPU, memoryBytes: 0 } }),
  ];

  it('gives the same decisions on every call and for any node order', () => {
    const first = schedule(nodes, pending);
    assert.deepEqual(schedule(nodes, pending), first);
    assert.deepEqual(schedule([...nodes].reverse(), pending), first);
    assert.deepEqual(
      schedule(
        [nodes[2], nodes[0], nodes[3], nodes[1]].flatMap((n) => (n ? [n] : [])),
        pending,
      ),
      first,
    );
  });

  it('does not modify its inputs', () => {
    const snapshot = JSON.stringify([nodes, pending]);
    schedule(nodes, pending);
    assert.equal(JSON.stringify([nodes, pending]), snapshot);
  });

  it('rejects duplicate IDs and invalid specs', () => {
    assert.throws(() => schedule([node('a'), node('a')], []), /duplicate node "a"/);
    assert.throws(
      () => schedule([node('a')], [task('t', 's'), task('t', 'u')]),
      /duplicate pending task "t"/,
    );
    assert.throws(() => schedule([], [task('t', 's', { maxReplicasPerNode: -1 })]), RangeError);
    assert.throws(
      () => schedule([], [task('t', 's', { reservations: { nanoCpus: -1, memoryBytes: 0 } })]),
      /reservations must be non-negative/,
    );
    assert.throws(
      () => schedule([], [task('t', 's', { hostPorts: [{ port: 0, protocol: 'tcp' }] })]),
      /invalid host port 0/,
    );
  });
});

describe('schedule: grouping', () => {
  it('groups equal specs even when their arrays are separate objects', () => {
    const nodes = [node('a'), node('b'), node('c')];
    const pending = ['x1', 'y1', 'x2', 'y2', 'x3'].map((id) =>
      task(id, id.startsWith('x') ? 'x' : 'y', {
        constraints: [parseConstraint('node.id!=c')],
        hostPorts: [],
      }),
    );
    assert.deepEqual(countByNode(schedule(nodes, pending)), { a: 3, b: 2 });
  });

  it('places two specs of one service (a rolling update) against shared counts', () => {
    const nodes = [node('a'), node('b')];
    const v1 = replicas('s', 1, { maxReplicasPerNode: 1 });
    const v2 = [task('s.v2', 's', { maxReplicasPerNode: 1, constraints: [] })].map((t) => ({
      ...t,
      reservations: { nanoCpus: 1, memoryBytes: 0 },
    }));
    const decisions = schedule(nodes, [...v1, ...v2]);
    assert.deepEqual(countByNode(decisions), { a: 1, b: 1 });
  });
});

describe('schedule: tasks preassigned to a node (global services)', () => {
  const nodes = [
    node('a'),
    node('b', { availability: 'drain' }),
    node('c', { resources: { nanoCpus: CPU, memoryBytes: GIB } }),
  ];
  const global = { reservations: { nanoCpus: CPU, memoryBytes: 0 } };

  it('assigns a task to its node when the node passes every filter', () => {
    const pending = ['a', 'b', 'c', 'zz'].map((n) => task(`g.${n}`, 'g', { ...global, nodeId: n }));
    assert.deepEqual(schedule(nodes, pending), [
      { kind: 'assign', taskId: 'g.a', nodeId: 'a' },
      { kind: 'unschedulable', taskId: 'g.b', explanation: '1 node not available for new tasks' },
      { kind: 'assign', taskId: 'g.c', nodeId: 'c' },
      { kind: 'unschedulable', taskId: 'g.zz', explanation: 'node "zz" not found' },
    ]);
  });

  it('places preassigned tasks before the others, which then see their resources', () => {
    const pending = [
      ...replicas('r', 1, global),
      task('g.c', 'g', { ...global, nodeId: 'c' }),
      task('g.c2', 'g', { ...global, nodeId: 'c' }),
    ];
    const decisions = schedule([nodes[2] ?? node('c')], pending);
    assert.deepEqual(decisions, [
      {
        kind: 'unschedulable',
        taskId: 'r.1',
        explanation: 'no suitable node (insufficient resources on 1 node)',
      },
      { kind: 'assign', taskId: 'g.c', nodeId: 'c' },
      { kind: 'unschedulable', taskId: 'g.c2', explanation: 'insufficient resources on 1 node' },
    ]);
  });

  it('explains a preassigned task on its node only', () => {
    assert.equal(
      explain(nodes, task('g', 'g', { nodeId: 'b' })),
      '1 node not available for new tasks',
    );
    assert.equal(explain(nodes, task('g', 'g', { nodeId: 'a' })), undefined);
  });
});
