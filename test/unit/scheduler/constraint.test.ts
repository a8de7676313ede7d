import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatConstraint,
  matchesConstraint,
  matchesConstraints,
  parseConstraint,
  parsePlacementPref,
  schedule,
} from '../../../src/scheduler/index.js';
import { countByNode, node, replicas } from './fixtures.js';

describe('parseConstraint', () => {
  it('parses fields, node labels and engine labels with == and !=', () => {
    assert.deepEqual(parseConstraint('node.role==manager'), {
      kind: 'field',
      field: 'node.role',
      operator: '==',
      value: 'manager',
    });
    assert.deepEqual(parseConstraint(' node.hostname != web-1 '), {
      kind: 'field',
      field: 'node.hostname',
      operator: '!=',
      value: 'web-1',
    });
    assert.deepEqual(parseConstraint('node.labels.Zone==eu-1'), {
      kind: 'label',
      source: 'node.labels',
      label: 'Zone',
      operator: '==',
      value: 'eu-1',
    });
    assert.deepEqual(parseConstraint('engine.labels.storage!=hdd'), {
      kind: 'label',
      source: 'engine.labels',
      label: 'storage',
      operator: '!=',
      value: 'hdd',
    });
  });

  it('matches field names case-insensitively but keeps the label key as written', () => {
    assert.deepEqual(parseConstraint('NODE.Labels.Zone==a'), {
      kind: 'label',
      source: 'node.labels',
      label: 'Zone',
      operator: '==',
      value: 'a',
    });
    assert.equal(formatConstraint(parseConstraint('Node.ID==abc')), 'node.id==abc');
  });

  it('round-trips through formatConstraint', () => {
    for (const raw of ['node.id==x1', 'node.platform.os!=windows', 'engine.labels.a.b==c']) {
      assert.equal(formatConstraint(parseConstraint(raw)), raw);
    }
  });

  it('rejects a missing operator with a Docker-like message', () => {
    assert.throws(() => parseConstraint('node.role=manager'), {
      name: 'RangeError',
      message: 'invalid constraint "node.role=manager": use == or !=',
    });
    assert.throws(() => parseConstraint('node.labels.size>=3'), /use == or !=/);
  });

  it('rejects invalid keys, invalid values and unknown keys', () => {
    assert.throws(() => parseConstraint('==manager'), {
      name: 'RangeError',
      message: 'invalid constraint "==manager": key "" is invalid',
    });
    assert.throws(() => parseConstraint('node.role=='), /value "" is invalid/);
    assert.throws(() => parseConstraint('node.role==a!=b'), /value "a!=b" is invalid/);
    assert.throws(() => parseConstraint('node.colour==red'), /unknown key "node.colour"/);
    assert.throws(() => parseConstraint('node.labels.==x'), /unknown key "node.labels."/);
    assert.throws(() => parseConstraint('node.ip==10.0.0.1'), /unknown key "node.ip"/);
  });
});

describe('matchesConstraint', () => {
  const manager = node('m1', {
    role: 'manager',
    hostname: 'Alpha',
    labels: { zone: 'eu', tier: 'Gold' },
    engineLabels: { storage: 'ssd' },
    platform: { os: 'linux', architecture: 'x86_64' },
  });
  const worker = node('w1', { hostname: 'beta', labels: { zone: 'us' } });
  const check = (raw: string, n = manager): boolean => matchesConstraint(n, parseConstraint(raw));

  it('compares role, hostname, id and platform case-insensitively, as Docker', () => {
    assert.equal(check('node.role==MANAGER'), true);
    assert.equal(check('node.role!=manager'), false);
    assert.equal(check('node.role==manager', worker), false);
    assert.equal(check('node.hostname==alpha'), true);
    assert.equal(check('node.hostname!=ALPHA'), false);
    assert.equal(check('node.id==M1'), true);
    assert.equal(check('node.id!=m1'), false);
    assert.equal(check('node.platform.os==Linux'), true);
    assert.equal(check('node.platform.arch==x86_64'), true);
  });

  it('compares label values exactly', () => {
    assert.equal(check('node.labels.tier==Gold'), true);
    assert.equal(check('node.labels.tier==gold'), false);
    assert.equal(check('node.labels.tier!=gold'), true);
    assert.equal(check('engine.labels.storage==ssd'), true);
    assert.equal(check('engine.labels.storage==SSD'), false);
  });

  it('reads a missing label or platform as "": == fails and != holds', () => {
    assert.equal(check('node.labels.gpu==yes'), false);
    assert.equal(check('node.labels.gpu!=yes'), true);
    assert.equal(check('engine.labels.storage==ssd', worker), false);
    assert.equal(check('engine.labels.storage!=ssd', worker), true);
    assert.equal(check('node.platform.os==linux', worker), false);
    assert.equal(check('node.platform.os!=linux', worker), true);
    // Inherited object properties are not labels.
    assert.equal(check('node.labels.constructor==x', worker), false);
  });

  it('requires every constraint of a list', () => {
    const cs = ['node.role==manager', 'node.labels.zone==eu'].map(parseConstraint);
    assert.equal(matchesConstraints(manager, cs), true);
    assert.equal(matchesConstraints(worker, cs), false);
    assert.equal(matchesConstraints(worker, []), true);
  });

  it('places only on matching nodes (==, !=, labels, engine labels, role, hostname, id)', () => {
    const nodes = [
      node('a', { role: 'manager', labels: { zone: 'z1' }, engineLabels: { ssd: 'yes' } }),
      node('b', { labels: { zone: 'z1' } }),
      node('c', { labels: { zone: 'z2' }, engineLabels: { ssd: 'yes' } }),
    ];
    const placeOn = (...raw: string[]): string[] =>
      Object.keys(
        countByNode(schedule(nodes, replicas('s', 6, { constraints: raw.map(parseConstraint) }))),
      ).sort();
    assert.deepEqual(placeOn('node.labels.zone==z1'), ['a', 'b']);
    assert.deepEqual(placeOn('node.labels.zone!=z1'), ['c']);
    assert.deepEqual(placeOn('engine.labels.ssd==yes'), ['a', 'c']);
    assert.deepEqual(placeOn('node.role==manager'), ['a']);
    assert.deepEqual(placeOn('node.role!=manager'), ['b', 'c']);
    assert.deepEqual(placeOn('node.hostname==host-b'), ['b']);
    assert.deepEqual(placeOn('node.id!=a', 'engine.labels.ssd==yes'), ['c']);
  });
});

describe('parsePlacementPref', () => {
  it('parses spread over node and engine labels', () => {
    assert.deepEqual(parsePlacementPref('spread=node.labels.zone'), {
      spreadDescriptor: 'node.labels.zone',
    });
    assert.deepEqual(parsePlacementPref('spread=engine.labels.rack'), {
      spreadDescriptor: 'engine.labels.rack',
    });
  });

  it('rejects other formats, strategies and descriptors', () => {
    assert.throws(() => parsePlacementPref('node.labels.zone'), /"<strategy>=<arg>"/);
    assert.throws(() => parsePlacementPref('spread='), /"<strategy>=<arg>"/);
    assert.throws(() => parsePlacementPref('pack=node.labels.zone'), {
      name: 'RangeError',
      message:
        'unsupported placement preference "pack=node.labels.zone" (only spread is supported)',
    });
    assert.throws(() => parsePlacementPref('spread=node.hostname'), /node\.labels\.<key>/);
  });
});
