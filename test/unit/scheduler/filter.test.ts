import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FILTER_ORDER,
  explain,
  explainFilter,
  findFailingFilter,
  formatExplanation,
  parseConstraint,
  schedule,
  type NodeInfo,
} from '../../../src/scheduler/index.js';
import { CPU, GIB, countByNode, explanations, node, replicas, running, task } from './fixtures.js';

const zone1 = [parseConstraint('node.labels.zone==z1')];
const port80 = [{ port: 80, protocol: 'tcp' as const }];

describe('filters', () => {
  it('ready: excludes down, unknown, disconnected, drained and paused nodes', () => {
    const nodes = [
      node('down', { status: 'down' }),
      node('unknown', { status: 'unknown' }),
      node('disc', { status: 'disconnected' }),
      node('drain', { availability: 'drain' }),
      node('pause', { availability: 'pause' }),
      node('ok'),
    ];
    assert.deepEqual(countByNode(schedule(nodes, replicas('s', 4))), { ok: 4 });
    const onlyBad = nodes.slice(0, 5);
    assert.deepEqual(explanations(schedule(onlyBad, replicas('s', 1))), [
      'no suitable node (5 nodes not available for new tasks)',
    ]);
    assert.deepEqual(
      explanations(schedule([node('d', { availability: 'drain' })], replicas('s', 1))),
      ['no suitable node (1 node not available for new tasks)'],
    );
  });

  it('resources: needs the reservation free on the node, CPU and memory both', () => {
    const nodes = [
      node('small', { resources: { nanoCpus: 1 * CPU, memoryBytes: 8 * GIB } }),
      node('busy', {
        tasks: running('x', 1, { reservations: { nanoCpus: 3.5 * CPU, memoryBytes: 0 } }),
      }),
      node('nomem', { resources: { nanoCpus: 8 * CPU, memoryBytes: 1 * GIB } }),
    ];
    const big = { reservations: { nanoCpus: 2 * CPU, memoryBytes: 2 * GIB } };
    assert.deepEqual(explanations(schedule(nodes, replicas('s', 1, big))), [
      'no suitable node (insufficient resources on 3 nodes)',
    ]);
    const fits = { reservations: { nanoCpus: 0.5 * CPU, memoryBytes: 1 * GIB } };
    assert.equal(explain(nodes, task('t', 's', fits)), undefined);
  });

  it('resources: tasks that reserve nothing ignore an overcommitted node, as swarmkit', () => {
    const over = node('over', {
      tasks: running('x', 1, { reservations: { nanoCpus: 9 * CPU, memoryBytes: 0 } }),
    });
    assert.deepEqual(countByNode(schedule([over], replicas('s', 2))), { over: 2 });
  });

  it('constraints: counts the nodes that fail them', () => {
    const nodes = [node('a'), node('b'), node('c', { labels: { zone: 'z2' } })];
    assert.deepEqual(explanations(schedule(nodes, replicas('s', 1, { constraints: zone1 }))), [
      'no suitable node (scheduling constraints not satisfied on 3 nodes)',
    ]);
  });

  it('max replicas per node: stops at the limit, counting running tasks', () => {
    const nodes = [node('a', { tasks: running('s', 1) }), node('b')];
    const decisions = schedule(nodes, replicas('s', 4, { maxReplicasPerNode: 2 }));
    assert.deepEqual(countByNode(decisions), { a: 1, b: 2 });
    assert.deepEqual(explanations(decisions), [
      'no suitable node (max replicas per node limit exceed)',
    ]);
  });

  it('host ports: one task per published host port and protocol on a node', () => {
    const nodes = [
      node('a', { tasks: running('other', 1, { hostPorts: port80 }) }),
      node('b', { tasks: running('udp', 1, { hostPorts: [{ port: 80, protocol: 'udp' }] }) }),
    ];
    const decisions = schedule(nodes, replicas('web', 2, { hostPorts: port80 }));
    assert.deepEqual(countByNode(decisions), { b: 1 });
    assert.deepEqual(explanations(decisions), [
      'no suitable node (host-mode port already in use on 2 nodes)',
    ]);
  });

  it('no nodes at all: plain "no suitable node"', () => {
    assert.deepEqual(explanations(schedule([], replicas('s', 2))), [
      'no suitable node',
      'no suitable node',
    ]);
  });
});

describe('filter order', () => {
  it('is ready, resources, constraints, max replicas, host ports', () => {
    assert.deepEqual(FILTER_ORDER, [
      'ready',
      'resources',
      'constraints',
      'max-replicas',
      'host-ports',
    ]);
  });

  it('charges a node that fails several filters to the first one only', () => {
    const t = task('t', 's', {
      constraints: zone1,
      maxReplicasPerNode: 1,
      hostPorts: port80,
      reservations: { nanoCpus: 8 * CPU, memoryBytes: 0 },
    });
    const failsAll: Partial<NodeInfo> = {
      status: 'down',
      tasks: running('s', 1, { hostPorts: port80 }),
    };
    const cases: [Partial<NodeInfo>, string | undefined][] = [
      [failsAll, 'ready'],
      [{ ...failsAll, status: 'ready' }, 'resources'],
      [
        { ...failsAll, status: 'ready', resources: { nanoCpus: 16 * CPU, memoryBytes: GIB } },
        'constraints',
      ],
      [
        {
          ...failsAll,
          status: 'ready',
          resources: { nanoCpus: 16 * CPU, memoryBytes: GIB },
          labels: { zone: 'z1' },
        },
        'max-replicas',
      ],
      [
        {
          status: 'ready',
          resources: { nanoCpus: 16 * CPU, memoryBytes: GIB },
          labels: { zone: 'z1' },
          tasks: running('other', 1, { hostPorts: port80 }),
        },
        'host-ports',
      ],
      [{ resources: { nanoCpus: 16 * CPU, memoryBytes: GIB }, labels: { zone: 'z1' } }, undefined],
    ];
    for (const [over, expected] of cases) {
      assert.equal(findFailingFilter(node('n', over), t), expected, JSON.stringify(over));
    }
  });

  it('lists the parts most nodes first, ties in filter order', () => {
    const nodes = [
      node('c1'),
      node('c2'),
      node('c3'),
      node('r1', { labels: { zone: 'z1' }, resources: { nanoCpus: CPU, memoryBytes: GIB } }),
      node('d1', { status: 'down', labels: { zone: 'z1' } }),
    ];
    const t = task('t', 's', {
      constraints: zone1,
      reservations: { nanoCpus: 2 * CPU, memoryBytes: 0 },
    });
    assert.equal(
      explain(nodes, t),
      'no suitable node (scheduling constraints not satisfied on 3 nodes; 1 node not available for new tasks; insufficient resources on 1 node)',
    );
  });
});

describe('explanation texts', () => {
  it('match swarmkit wording in the singular and plural', () => {
    assert.equal(explainFilter('ready', 1), '1 node not available for new tasks');
    assert.equal(explainFilter('ready', 2), '2 nodes not available for new tasks');
    assert.equal(explainFilter('resources', 1), 'insufficient resources on 1 node');
    assert.equal(
      explainFilter('constraints', 4),
      'scheduling constraints not satisfied on 4 nodes',
    );
    assert.equal(explainFilter('max-replicas', 3), 'max replicas per node limit exceed');
    assert.equal(explainFilter('host-ports', 2), 'host-mode port already in use on 2 nodes');
  });

  it('formats counts into the task error', () => {
    assert.equal(formatExplanation([0, 0, 0, 0, 0]), 'no suitable node');
    assert.equal(
      formatExplanation([1, 0, 0, 2, 5]),
      'no suitable node (host-mode port already in use on 5 nodes; max replicas per node limit exceed; 1 node not available for new tasks)',
    );
  });
});
