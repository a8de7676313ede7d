import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeCommand } from '../../../src/daemon/manager/store/fsm.js';
import { Store, type StoreEvent } from '../../../src/daemon/manager/store/store.js';
import type { Command } from '../../../src/daemon/manager/store/types.js';
import { TswarmError } from '../../../src/shared/errors.js';
import { entryFor, makeCluster, makeNode, T0, T1 } from './fixtures.js';

function storeWith(nodes: Parameters<typeof makeNode>[] = []): Store {
  const s = new Store();
  let i = 0;
  s.apply(entryFor(++i, { op: 'cluster.create', at: T0, cluster: makeCluster() }));
  for (const args of nodes)
    s.apply(entryFor(++i, { op: 'node.create', at: T0, node: makeNode(...args) }));
  return s;
}

function events(s: Store): StoreEvent[] {
  const seen: StoreEvent[] = [];
  s.onChange((ev) => seen.push(ev));
  return seen;
}

/** Asserts `fn` throws a TswarmError with this code and exact message. */
function throwsTswarm(fn: () => unknown, code: string, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof TswarmError, `not a TswarmError: ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.message, message);
    return true;
  });
}

describe('Store.apply', () => {
  it('applies a normal entry, returns its result and emits one change event', () => {
    const s = new Store();
    const seen = events(s);
    const cmd: Command = { op: 'cluster.create', at: T0, cluster: makeCluster() };
    assert.deepEqual(s.apply(entryFor(3, cmd)), { ok: true });
    assert.equal(s.applied, 3);
    assert.equal(s.cluster()?.Version.Index, 3);
    assert.deepEqual(seen, [{ index: 3, cmd, result: { ok: true } }]);
  });

  it('emits refusals too, with their result', () => {
    const s = storeWith();
    const seen = events(s);
    const cmd: Command = { op: 'node.remove', at: T1, id: 'ghost' };
    const r = s.apply(entryFor(2, cmd));
    assert.deepEqual(r, { ok: false, code: 'NOT_FOUND', message: 'node ghost not found' });
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0]?.result, r);
    assert.equal(s.applied, 2);
  });

  it('a conf-change entry only advances the applied index', () => {
    const s = storeWith([['aaaa1111']]);
    const before = s.snapshot();
    const seen = events(s);
    const data = encodeCommand({ op: 'node.remove', at: T1, id: 'aaaa1111' });
    assert.equal(s.apply({ term: 2, index: 5, type: 'conf-change', data }), undefined);
    assert.equal(s.applied, 5);
    assert.deepEqual(seen, []);
    assert.deepEqual(Buffer.from(s.snapshot()), Buffer.from(before));
    assert.ok(s.node('aaaa1111'));
  });

  it('an empty normal entry (a new leader’s no-op) only advances the applied index', () => {
    const s = storeWith([['aaaa1111']]);
    const before = s.snapshot();
    const seen = events(s);
    assert.equal(s.apply({ term: 2, index: 6, type: 'normal', data: new Uint8Array() }), undefined);
    assert.equal(s.applied, 6);
    assert.deepEqual(seen, []);
    assert.deepEqual(Buffer.from(s.snapshot()), Buffer.from(before));
  });

  it('onChange returns an unsubscribe function', () => {
    const s = new Store();
    const seen: number[] = [];
    const off = s.onChange((ev) => seen.push(ev.index));
    s.apply(entryFor(1, { op: 'cluster.create', at: T0, cluster: makeCluster() }));
    off();
    s.apply(entryFor(2, { op: 'node.create', at: T0, node: makeNode('aaaa1111') }));
    assert.deepEqual(seen, [1]);
  });

  it('requireCluster refuses before the cluster is replicated', () => {
    const s = new Store();
    throwsTswarm(
      () => s.requireCluster(),
      'UNAVAILABLE',
      'the cluster object is not replicated here yet',
    );
    assert.equal(s.cluster(), undefined);
    assert.equal(storeWith().requireCluster().ID, 'clusterid0001');
  });
});

describe('Store snapshot and restore', () => {
  it('restores another store’s snapshot, replacing what was there, and emits restore', () => {
    const a = storeWith([['aaaa1111', { labels: { x: 'y' } }], ['bbbb2222']]);
    a.apply(entryFor(4, { op: 'node.remove', at: T1, id: 'bbbb2222' }));
    const b = storeWith([['cccc3333']]);
    let restores = 0;
    b.onRestore(() => restores++);
    const changes = events(b);
    b.restore(a.snapshot());
    assert.equal(restores, 1);
    assert.deepEqual(changes, []);
    assert.deepEqual(b.nodes(), a.nodes());
    assert.deepEqual(b.cluster(), a.cluster());
    assert.equal(b.node('cccc3333'), undefined);
    assert.equal(b.isRemoved('bbbb2222'), true);
    assert.equal(b.isRemoved('aaaa1111'), false);
    assert.deepEqual(Buffer.from(b.snapshot()), Buffer.from(a.snapshot()));
  });

  it('keeps applying after a restore', () => {
    const a = storeWith([['aaaa1111']]);
    const b = new Store();
    b.restore(a.snapshot());
    const r = b.apply(entryFor(3, { op: 'node.create', at: T1, node: makeNode('bbbb2222') }));
    assert.deepEqual(r, { ok: true });
    assert.deepEqual(
      b.nodes().map((n) => n.ID),
      ['aaaa1111', 'bbbb2222'],
    );
    assert.equal(b.applied, 3);
  });

  it('restoring an empty snapshot empties the store', () => {
    const s = storeWith([['aaaa1111']]);
    s.restore(new Uint8Array());
    assert.deepEqual(s.nodes(), []);
    assert.equal(s.cluster(), undefined);
  });

  it('onRestore returns an unsubscribe function', () => {
    const s = new Store();
    let n = 0;
    const off = s.onRestore(() => n++);
    s.restore(new Uint8Array());
    off();
    s.restore(new Uint8Array());
    assert.equal(n, 1);
  });
});

describe('Store.resolveNode', () => {
  const A = 'abc123aaaaaaaaaaaaaaaaaaa';
  const B = 'abd456bbbbbbbbbbbbbbbbbbb';
  const C = 'xyz789ccccccccccccccccccc';

  it('finds a node by exact ID, hostname, spec name and unique prefix', () => {
    const s = storeWith([
      [A, { hostname: 'alpha' }],
      [B, { hostname: 'beta', name: 'bee' }],
      [C, { hostname: 'gamma' }],
    ]);
    assert.equal(s.resolveNode(A).ID, A);
    assert.equal(s.resolveNode('alpha').ID, A);
    assert.equal(s.resolveNode('bee').ID, B);
    assert.equal(s.resolveNode('beta').ID, B, 'the hostname still resolves when a name is set');
    assert.equal(s.resolveNode('abc').ID, A);
    assert.equal(s.resolveNode('x').ID, C);
  });

  it('an exact ID wins over a hostname equal to it', () => {
    const s = storeWith([
      [A, { hostname: 'alpha' }],
      [B, { hostname: A }],
    ]);
    assert.equal(s.resolveNode(A).ID, A);
  });

  it('a name wins over an ID prefix', () => {
    const s = storeWith([
      [A, { hostname: 'alpha' }],
      [C, { hostname: 'abc' }],
    ]);
    assert.equal(s.resolveNode('abc').ID, C);
  });

  it('an ambiguous prefix is refused with Docker’s text', () => {
    const s = storeWith([[A], [B], [C]]);
    throwsTswarm(
      () => s.resolveNode('ab'),
      'INVALID_ARGUMENT',
      'node ab is ambiguous (2 matches found)',
    );
  });

  it('an ambiguous name is refused with Docker’s text, even when it is also an ID prefix', () => {
    const s = storeWith([
      [A, { hostname: 'worker' }],
      [B, { hostname: 'worker' }],
      [C, { hostname: 'worker' }],
    ]);
    throwsTswarm(
      () => s.resolveNode('worker'),
      'INVALID_ARGUMENT',
      'node worker is ambiguous (3 matches found)',
    );
    const t = storeWith([
      [A, { hostname: 'x' }],
      [C, { hostname: 'x' }],
    ]);
    throwsTswarm(
      () => t.resolveNode('x'),
      'INVALID_ARGUMENT',
      'node x is ambiguous (2 matches found)',
    );
  });

  it('an unknown reference is NOT_FOUND with Docker’s text', () => {
    const s = storeWith([[A, { hostname: 'alpha' }]]);
    throwsTswarm(() => s.resolveNode('nope'), 'NOT_FOUND', 'node nope not found');
    throwsTswarm(() => new Store().resolveNode('nope'), 'NOT_FOUND', 'node nope not found');
  });

  it('a removed node no longer resolves', () => {
    const s = storeWith([[A, { hostname: 'alpha' }]]);
    s.apply(entryFor(3, { op: 'node.remove', at: T1, id: A }));
    throwsTswarm(() => s.resolveNode('alpha'), 'NOT_FOUND', 'node alpha not found');
  });
});
