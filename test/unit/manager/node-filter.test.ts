import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { filterNodes } from '../../../src/daemon/manager/node-filter.js';
import { TswarmError } from '../../../src/shared/errors.js';
import { makeNode } from './fixtures.js';

const mgr = { addr: '127.0.0.1:2377', reachability: 'reachable' as const };
const NODES = [
  makeNode('aaa111', {
    hostname: 'manager-1',
    manager: mgr,
    labels: { zone: 'a', ssd: 'true' },
    engineLabels: { gpu: 'no' },
  }),
  makeNode('aab222', { hostname: 'worker-1', labels: { zone: 'b' }, engineLabels: { gpu: 'yes' } }),
  makeNode('bbb333', { hostname: 'worker-2', name: 'named', labels: { zone: 'a' } }),
  makeNode('ccc444', {
    hostname: 'other',
    labels: { ssd: 'false' },
    engineLabels: { gpu: 'yes', os: 'x' },
  }),
];

function ids(filters: string[]): string[] {
  return filterNodes(NODES, filters).map((n) => n.ID);
}

function rejects(filters: string[], message: string): void {
  assert.throws(
    () => filterNodes(NODES, filters),
    (err: unknown) => {
      assert.ok(err instanceof TswarmError);
      assert.equal(err.code, 'INVALID_ARGUMENT');
      assert.equal(err.message, message);
      return true;
    },
  );
}

describe('node filters: keys', () => {
  it('no filter keeps every node, in order', () => {
    assert.deepEqual(ids([]), ['aaa111', 'aab222', 'bbb333', 'ccc444']);
  });

  it('id matches a prefix', () => {
    assert.deepEqual(ids(['id=aa']), ['aaa111', 'aab222']);
    assert.deepEqual(ids(['id=aab222']), ['aab222']);
    assert.deepEqual(ids(['id=zz']), []);
  });

  it('name matches a prefix of the hostname (or of the spec name)', () => {
    assert.deepEqual(ids(['name=worker']), ['aab222', 'bbb333']);
    assert.deepEqual(ids(['name=manager-1']), ['aaa111']);
    assert.deepEqual(ids(['name=nam']), ['bbb333']);
    assert.deepEqual(ids(['name=aaa']), [], 'name does not match IDs');
  });

  it('label matches engine labels, by key alone or key=value', () => {
    assert.deepEqual(ids(['label=gpu']), ['aaa111', 'aab222', 'ccc444']);
    assert.deepEqual(ids(['label=gpu=yes']), ['aab222', 'ccc444']);
    assert.deepEqual(ids(['label=zone']), [], 'label does not look at node (spec) labels');
  });

  it('node.label matches node labels, by key alone or key=value', () => {
    assert.deepEqual(ids(['node.label=zone']), ['aaa111', 'aab222', 'bbb333']);
    assert.deepEqual(ids(['node.label=zone=a']), ['aaa111', 'bbb333']);
    assert.deepEqual(ids(['node.label=ssd=false']), ['ccc444']);
    assert.deepEqual(ids(['node.label=gpu']), [], 'node.label does not look at engine labels');
  });

  it('an empty label value means the key alone, as Docker', () => {
    assert.deepEqual(ids(['node.label=zone=']), ['aaa111', 'aab222', 'bbb333']);
  });

  it('role matches managers or workers (case-insensitive, as Docker)', () => {
    assert.deepEqual(ids(['role=manager']), ['aaa111']);
    assert.deepEqual(ids(['role=worker']), ['aab222', 'bbb333', 'ccc444']);
    assert.deepEqual(ids(['role=Manager']), ['aaa111']);
  });

  it('membership: every node is accepted, none pending', () => {
    assert.deepEqual(ids(['membership=accepted']), ['aaa111', 'aab222', 'bbb333', 'ccc444']);
    assert.deepEqual(ids(['membership=pending']), []);
  });
});

describe('node filters: combining', () => {
  it('values of one key OR together', () => {
    assert.deepEqual(ids(['id=aaa', 'id=ccc']), ['aaa111', 'ccc444']);
    assert.deepEqual(ids(['name=other', 'name=manager']), ['aaa111', 'ccc444']);
    assert.deepEqual(ids(['role=manager', 'role=worker']), [
      'aaa111',
      'aab222',
      'bbb333',
      'ccc444',
    ]);
  });

  it('different keys AND together', () => {
    assert.deepEqual(ids(['role=worker', 'node.label=zone=a']), ['bbb333']);
    assert.deepEqual(ids(['id=aa', 'label=gpu=yes']), ['aab222']);
    assert.deepEqual(ids(['role=manager', 'name=worker']), []);
  });

  it('label values AND together (a node must carry all of them), as Docker', () => {
    assert.deepEqual(ids(['node.label=zone=a', 'node.label=ssd']), ['aaa111']);
    assert.deepEqual(ids(['label=gpu=yes', 'label=os']), ['ccc444']);
    assert.deepEqual(ids(['node.label=zone=a', 'node.label=zone']), ['aaa111', 'bbb333']);
  });
});

describe('node filters: errors', () => {
  it('refuses a filter without name=value', () => {
    assert.throws(
      () => filterNodes(NODES, ['role']),
      /bad format of filter \(expected name=value\)/,
    );
    assert.throws(() => filterNodes(NODES, ['=x']), /bad format of filter/);
  });

  it('refuses an unknown key', () => {
    rejects(['colour=red'], "invalid filter 'colour'");
    rejects(['role=worker', 'Node.Label=x'], "invalid filter 'Node.Label'");
  });

  it('refuses a bad role or membership with Docker’s text', () => {
    rejects(['role=boss'], "Invalid role filter: 'boss'");
    rejects(['membership=maybe'], "Invalid membership filter: 'maybe'");
  });

  it('refuses a bad value whatever the nodes and the other filters', () => {
    rejects(['name=nomatch', 'role=boss'], "Invalid role filter: 'boss'");
    rejects(['role=manager', 'role=boss'], "Invalid role filter: 'boss'");
    assert.throws(
      () => filterNodes([], ['membership=maybe']),
      /Invalid membership filter: 'maybe'/,
    );
  });
});
