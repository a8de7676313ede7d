import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePlacementPref, schedule, type NodeInfo } from '../../../src/scheduler/index.js';
import { CPU, GIB, countByNode, explanations, node, replicas, running } from './fixtures.js';

const byZone = [parsePlacementPref('spread=node.labels.zone')];

/** Tasks assigned per value of a node label ("" for nodes without it). */
function countByLabel(nodes: readonly NodeInfo[], counts: Record<string, number>, label: string) {
  const out: Record<string, number> = {};
  for (const n of nodes) {
    const value = n.labels[label] ?? '';
    out[value] = (out[value] ?? 0) + (counts[n.id] ?? 0);
  }
  return out;
}

describe('spreading over nodes', () => {
  it('puts 6 replicas on 3 nodes 2/2/2', () => {
    const nodes = [node('a'), node('b'), node('c')];
    assert.deepEqual(countByNode(schedule(nodes, replicas('s', 6))), { a: 2, b: 2, c: 2 });
  });

  it('counts the service tasks already running', () => {
    const nodes = [node('a', { tasks: running('s', 2) }), node('b'), node('c')];
    assert.deepEqual(countByNode(schedule(nodes, replicas('s', 4))), { b: 2, c: 2 });
  });

  it('breaks ties with other services tasks, but the service count comes first', () => {
    const nodes = [node('a', { tasks: running('other', 3) }), node('b'), node('c')];
    assert.deepEqual(countByNode(schedule(nodes, replicas('s', 2))), { b: 1, c: 1 });
    assert.deepEqual(countByNode(schedule(nodes, replicas('s', 6))), { a: 2, b: 2, c: 2 });
  });

  it('breaks full ties by node ID, whatever the input order', () => {
    const nodes = [node('c'), node('a'), node('b')];
    assert.deepEqual(countByNode(schedule(nodes, replicas('s', 1))), { a: 1 });
    assert.deepEqual(countByNode(schedule(nodes, replicas('s', 2))), { a: 1, b: 1 });
  });

  it('sees the earlier services of the same batch', () => {
    const nodes = [node('a'), node('b'), node('c')];
    const decisions = schedule(nodes, [...replicas('first', 2), ...replicas('second', 1)]);
    // first → a, b; second goes to the emptiest node overall.
    assert.deepEqual(countByNode(decisions.slice(2)), { c: 1 });
  });
});

describe('placement preferences', () => {
  it('spreads 6 tasks over 2 zones of 3 nodes: 3 per zone', () => {
    const nodes = [
      node('a', { labels: { zone: 'z1' } }),
      node('b', { labels: { zone: 'z1' } }),
      node('c', { labels: { zone: 'z2' } }),
    ];
    const counts = countByNode(schedule(nodes, replicas('s', 6, { placementPrefs: byZone })));
    assert.deepEqual(countByLabel(nodes, counts, 'zone'), { z1: 3, z2: 3 });
    assert.deepEqual(counts, { a: 2, b: 1, c: 3 });
  });

  it('puts nodes without the label in their own group', () => {
    const nodes = [
      node('a', { labels: { zone: 'z1' } }),
      node('b', { labels: { zone: 'z2' } }),
      node('c'),
      node('d'),
    ];
    const counts = countByNode(schedule(nodes, replicas('s', 6, { placementPrefs: byZone })));
    assert.deepEqual(countByLabel(nodes, counts, 'zone'), { z1: 2, z2: 2, '': 2 });
    assert.deepEqual(counts, { a: 2, b: 2, c: 1, d: 1 });
  });

  it('counts tasks on nodes that cannot take more (as swarmkit)', () => {
    const nodes = [
      node('a', { labels: { zone: 'z1' }, availability: 'drain', tasks: running('s', 2) }),
      node('b', { labels: { zone: 'z1' } }),
      node('c', { labels: { zone: 'z2' } }),
    ];
    const counts = countByNode(schedule(nodes, replicas('s', 4, { placementPrefs: byZone })));
    assert.deepEqual(counts, { b: 1, c: 3 });
  });

  it('fills the other branches when one runs out of room', () => {
    const small = { nanoCpus: 1 * CPU, memoryBytes: GIB };
    const nodes = [
      node('a', { labels: { zone: 'z1' }, resources: small }),
      node('b', { labels: { zone: 'z2' } }),
    ];
    const decisions = schedule(
      nodes,
      replicas('s', 5, { placementPrefs: byZone, reservations: { nanoCpus: CPU, memoryBytes: 0 } }),
    );
    assert.deepEqual(countByNode(decisions), { a: 1, b: 4 });
    assert.deepEqual(explanations(decisions), []);
  });

  it('nests levels: zone first, then rack within each zone', () => {
    const nodes = [
      node('a', { labels: { zone: 'z1', rack: 'r1' } }),
      node('b', { labels: { zone: 'z1', rack: 'r1' } }),
      node('c', { labels: { zone: 'z1', rack: 'r2' } }),
      node('d', { labels: { zone: 'z2', rack: 'r1' } }),
    ];
    const prefs = ['zone', 'rack'].map((l) => parsePlacementPref(`spread=node.labels.${l}`));
    const counts = countByNode(schedule(nodes, replicas('s', 8, { placementPrefs: prefs })));
    // z1 gets 4: its racks r1 (a, b) and r2 (c) get 2 each.
    assert.deepEqual(counts, { a: 1, b: 1, c: 2, d: 4 });
  });

  it('spreads over engine labels too', () => {
    const nodes = [
      node('a', { engineLabels: { dc: 'x' } }),
      node('b', { engineLabels: { dc: 'x' } }),
      node('c', { engineLabels: { dc: 'y' } }),
    ];
    const prefs = [parsePlacementPref('spread=engine.labels.dc')];
    assert.deepEqual(countByNode(schedule(nodes, replicas('s', 2, { placementPrefs: prefs }))), {
      a: 1,
      c: 1,
    });
  });

  it('ignores descriptors it cannot read, as swarmkit', () => {
    const nodes = [
      node('a', { labels: { zone: 'z1' } }),
      node('b', { labels: { zone: 'z1' } }),
      node('c'),
    ];
    const prefs = [{ spreadDescriptor: 'node.hostname' }];
    assert.deepEqual(countByNode(schedule(nodes, replicas('s', 3, { placementPrefs: prefs }))), {
      a: 1,
      b: 1,
      c: 1,
    });
  });
});
