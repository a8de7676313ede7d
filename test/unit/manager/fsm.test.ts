import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyCommand,
  decodeCommand,
  decodeState,
  emptyState,
  encodeCommand,
  encodeState,
  type StoreState,
} from '../../../src/daemon/manager/store/fsm.js';
import type { Command, CommandResult } from '../../../src/daemon/manager/store/types.js';
import type { Node } from '../../../src/shared/api-types.js';
import { makeCluster, makeNode, T0, T1, T2 } from './fixtures.js';

const W1 = 'w1aaaaaaaaaaaaaaaaaaaaaaa';
const W2 = 'w2bbbbbbbbbbbbbbbbbbbbbbb';
const M1 = 'm1ccccccccccccccccccccccc';

function ok(r: CommandResult): void {
  assert.deepEqual(r, { ok: true });
}

function node(s: StoreState, id: string): Node {
  const n = s.nodes.get(id);
  assert.ok(n, `node ${id} missing`);
  return n;
}

/** A state with a cluster (index 1), a manager (2) and two workers (3, 4). */
function seeded(): StoreState {
  const s = emptyState();
  ok(applyCommand(s, { op: 'cluster.create', at: T0, cluster: makeCluster() }, 1));
  ok(
    applyCommand(
      s,
      {
        op: 'node.create',
        at: T0,
        node: makeNode(M1, { manager: { addr: '127.0.0.1:2377', reachability: 'reachable' } }),
      },
      2,
    ),
  );
  ok(applyCommand(s, { op: 'node.create', at: T0, node: makeNode(W1, { labels: { a: '1' } }) }, 3));
  ok(applyCommand(s, { op: 'node.create', at: T0, node: makeNode(W2) }, 4));
  return s;
}

describe('store fsm: cluster commands', () => {
  it('cluster.create stores the cluster at the entry index', () => {
    const s = emptyState();
    ok(applyCommand(s, { op: 'cluster.create', at: T0, cluster: makeCluster() }, 7));
    assert.equal(s.cluster?.ID, 'clusterid0001');
    assert.deepEqual(s.cluster.Version, { Index: 7 });
    assert.deepEqual(s.cluster.JoinTokens, { Worker: 'workersecret', Manager: 'managersecret' });
  });

  it('refuses a second cluster.create and keeps the first', () => {
    const s = emptyState();
    ok(applyCommand(s, { op: 'cluster.create', at: T0, cluster: makeCluster('first') }, 1));
    const r = applyCommand(s, { op: 'cluster.create', at: T1, cluster: makeCluster('second') }, 2);
    assert.deepEqual(r, {
      ok: false,
      code: 'ALREADY_EXISTS',
      message: 'the cluster already exists',
    });
    assert.equal(s.cluster?.ID, 'first');
    assert.equal(s.cluster.Version.Index, 1);
  });

  it('refuses cluster.update before the cluster exists', () => {
    const s = emptyState();
    const r = applyCommand(
      s,
      { op: 'cluster.update', at: T1, joinTokens: { Worker: 'x', Manager: 'y' } },
      1,
    );
    assert.equal(!r.ok && r.code, 'NOT_FOUND');
    assert.equal(s.cluster, undefined);
  });

  it('cluster.update replaces the spec and keeps the tokens when only the spec is given', () => {
    const s = seeded();
    const spec = { ...makeCluster().Spec, Orchestration: { TaskHistoryRetentionLimit: 9 } };
    ok(applyCommand(s, { op: 'cluster.update', at: T1, spec }, 10));
    const c = s.cluster;
    assert.ok(c);
    assert.equal(c.Spec.Orchestration.TaskHistoryRetentionLimit, 9);
    assert.deepEqual(c.JoinTokens, makeCluster().JoinTokens);
    assert.equal(c.Version.Index, 10);
    assert.equal(c.UpdatedAt, T1);
    assert.equal(c.CreatedAt, T0);
  });

  it('cluster.update replaces the tokens and keeps the spec when only tokens are given', () => {
    const s = seeded();
    ok(
      applyCommand(
        s,
        { op: 'cluster.update', at: T2, joinTokens: { Worker: 'neww', Manager: 'managersecret' } },
        11,
      ),
    );
    assert.deepEqual(s.cluster?.Spec, makeCluster().Spec);
    assert.deepEqual(s.cluster.JoinTokens, { Worker: 'neww', Manager: 'managersecret' });
    assert.equal(s.cluster.Version.Index, 11);
  });
});

describe('store fsm: node.create and node.remove', () => {
  it('creates a node with Version.Index = the entry index', () => {
    const s = seeded();
    assert.equal(node(s, M1).Version.Index, 2);
    assert.equal(node(s, W1).Version.Index, 3);
    assert.equal(node(s, W2).Version.Index, 4);
    assert.deepEqual([...s.nodes.keys()], [M1, W1, W2]);
  });

  it('re-creating an existing node keeps its CreatedAt and bumps its version', () => {
    const s = seeded();
    const again = { ...makeNode(W1, { hostname: 'renamed' }), CreatedAt: T2 };
    ok(applyCommand(s, { op: 'node.create', at: T2, node: again }, 20));
    const n = node(s, W1);
    assert.equal(n.CreatedAt, T0);
    assert.equal(n.Description.Hostname, 'renamed');
    assert.equal(n.Version.Index, 20);
  });

  it('removes a node and remembers it as removed', () => {
    const s = seeded();
    ok(applyCommand(s, { op: 'node.remove', at: T1, id: W1 }, 5));
    assert.equal(s.nodes.has(W1), false);
    assert.equal(s.removedNodes.has(W1), true);
    assert.equal(s.nodes.size, 2);
  });

  it('refuses to remove a node that does not exist (twice is NOT_FOUND)', () => {
    const s = seeded();
    ok(applyCommand(s, { op: 'node.remove', at: T1, id: W1 }, 5));
    const r = applyCommand(s, { op: 'node.remove', at: T1, id: W1 }, 6);
    assert.deepEqual(r, { ok: false, code: 'NOT_FOUND', message: `node ${W1} not found` });
    const r2 = applyCommand(s, { op: 'node.remove', at: T1, id: 'nosuchnode' }, 7);
    assert.equal(!r2.ok && r2.code, 'NOT_FOUND');
  });

  it('refuses to re-create a removed node', () => {
    const s = seeded();
    ok(applyCommand(s, { op: 'node.remove', at: T1, id: W1 }, 5));
    const r = applyCommand(s, { op: 'node.create', at: T2, node: makeNode(W1) }, 6);
    assert.deepEqual(r, {
      ok: false,
      code: 'FAILED_PRECONDITION',
      message: `node ${W1} was removed from the swarm`,
    });
    assert.equal(s.nodes.has(W1), false);
  });
});

describe('store fsm: node.update-spec', () => {
  it('changes role and availability and keeps the rest', () => {
    const s = seeded();
    const before = node(s, W1);
    ok(
      applyCommand(
        s,
        { op: 'node.update-spec', at: T1, id: W1, role: 'manager', availability: 'drain' },
        9,
      ),
    );
    const n = node(s, W1);
    assert.equal(n.Spec.Role, 'manager');
    assert.equal(n.Spec.Availability, 'drain');
    assert.deepEqual(n.Spec.Labels, { a: '1' });
    assert.equal(n.Version.Index, 9);
    assert.equal(n.UpdatedAt, T1);
    assert.deepEqual(n.Status, before.Status);
    assert.deepEqual(n.Description, before.Description);
    assert.equal('ManagerStatus' in n, false, 'promotion alone does not make a Raft member');
  });

  it('adds and removes labels', () => {
    const s = seeded();
    ok(
      applyCommand(
        s,
        { op: 'node.update-spec', at: T1, id: W1, labelAdd: { b: '2', c: '' }, labelRm: ['a'] },
        9,
      ),
    );
    assert.deepEqual(node(s, W1).Spec.Labels, { b: '2', c: '' });
    ok(applyCommand(s, { op: 'node.update-spec', at: T1, id: W1, labelAdd: { b: '3' } }, 10));
    assert.deepEqual(node(s, W1).Spec.Labels, { b: '3', c: '' });
  });

  it('applies label-add before label-rm, as docker node update does', () => {
    const s = seeded();
    ok(
      applyCommand(
        s,
        { op: 'node.update-spec', at: T1, id: W1, labelAdd: { a: '9', z: '1' }, labelRm: ['a'] },
        9,
      ),
    );
    assert.deepEqual(node(s, W1).Spec.Labels, { z: '1' });
  });

  it('removing an absent label is a no-op at the FSM (the check is the caller’s)', () => {
    const s = seeded();
    ok(applyCommand(s, { op: 'node.update-spec', at: T1, id: W1, labelRm: ['nope'] }, 9));
    assert.deepEqual(node(s, W1).Spec.Labels, { a: '1' });
  });

  it('does not mutate the previous node object (event consumers may hold it)', () => {
    const s = seeded();
    const before = node(s, W1);
    const labelsBefore = before.Spec.Labels;
    ok(applyCommand(s, { op: 'node.update-spec', at: T1, id: W1, labelAdd: { b: '2' } }, 9));
    assert.deepEqual(labelsBefore, { a: '1' });
    assert.equal(before.Version.Index, 3);
    assert.notEqual(node(s, W1), before);
  });

  it('refuses an unknown node', () => {
    const s = seeded();
    const r = applyCommand(s, { op: 'node.update-spec', at: T1, id: 'ghost', role: 'worker' }, 9);
    assert.deepEqual(r, { ok: false, code: 'NOT_FOUND', message: 'node ghost not found' });
  });
});

describe('store fsm: node.update-description', () => {
  it('replaces the description', () => {
    const s = seeded();
    const description = { ...makeNode(W2).Description, Hostname: 'newhost' };
    ok(applyCommand(s, { op: 'node.update-description', at: T1, id: W2, description }, 12));
    assert.deepEqual(node(s, W2).Description, description);
    assert.equal(node(s, W2).Version.Index, 12);
  });

  it('refuses an unknown node', () => {
    const s = seeded();
    const r = applyCommand(
      s,
      { op: 'node.update-description', at: T1, id: 'ghost', description: makeNode(W2).Description },
      9,
    );
    assert.equal(!r.ok && r.code, 'NOT_FOUND');
  });
});

describe('store fsm: node.set-status', () => {
  it('updates several nodes in one entry and skips unknown ones', () => {
    const s = seeded();
    const m1 = node(s, M1);
    ok(
      applyCommand(
        s,
        {
          op: 'node.set-status',
          at: T1,
          updates: [
            { id: W1, state: 'down', message: 'heartbeat failure' },
            { id: 'ghost', state: 'down' },
            { id: W2, state: 'ready', addr: '10.0.0.2' },
          ],
        },
        13,
      ),
    );
    assert.deepEqual(node(s, W1).Status, {
      State: 'down',
      Addr: '127.0.0.1',
      Message: 'heartbeat failure',
    });
    assert.deepEqual(node(s, W2).Status, { State: 'ready', Addr: '10.0.0.2' });
    assert.equal(node(s, W1).Version.Index, 13);
    assert.equal(node(s, W2).Version.Index, 13);
    assert.equal(node(s, M1), m1, 'untouched nodes are not rewritten');
    assert.equal(s.nodes.has('ghost'), false);
  });

  it('clears the message when the node comes back', () => {
    const s = seeded();
    ok(
      applyCommand(
        s,
        { op: 'node.set-status', at: T1, updates: [{ id: W1, state: 'down', message: 'gone' }] },
        13,
      ),
    );
    ok(
      applyCommand(
        s,
        { op: 'node.set-status', at: T2, updates: [{ id: W1, state: 'ready', addr: '10.0.0.9' }] },
        14,
      ),
    );
    assert.deepEqual(node(s, W1).Status, { State: 'ready', Addr: '10.0.0.9' });
    assert.equal(node(s, W1).UpdatedAt, T2);
  });
});

describe('store fsm: manager status', () => {
  it('sets and clears ManagerStatus', () => {
    const s = seeded();
    ok(
      applyCommand(
        s,
        {
          op: 'node.set-manager',
          at: T1,
          id: W1,
          manager: { addr: '127.0.0.2:2377', reachability: 'unknown' },
        },
        15,
      ),
    );
    assert.deepEqual(node(s, W1).ManagerStatus, {
      Addr: '127.0.0.2:2377',
      Reachability: 'unknown',
    });
    assert.equal(node(s, W1).Version.Index, 15);
    ok(applyCommand(s, { op: 'node.set-manager', at: T2, id: W1 }, 16));
    assert.equal('ManagerStatus' in node(s, W1), false);
    assert.equal(node(s, W1).Version.Index, 16);
  });

  it('refuses an unknown node', () => {
    const s = seeded();
    const r = applyCommand(s, { op: 'node.set-manager', at: T1, id: 'ghost' }, 15);
    assert.equal(!r.ok && r.code, 'NOT_FOUND');
  });

  it('updates reachability of managers only', () => {
    const s = seeded();
    const w1 = node(s, W1);
    ok(
      applyCommand(
        s,
        {
          op: 'node.set-reachability',
          at: T1,
          updates: [
            { id: M1, reachability: 'unreachable' },
            { id: W1, reachability: 'reachable' },
            { id: 'ghost', reachability: 'reachable' },
          ],
        },
        17,
      ),
    );
    assert.deepEqual(node(s, M1).ManagerStatus, {
      Addr: '127.0.0.1:2377',
      Reachability: 'unreachable',
    });
    assert.equal(node(s, M1).Version.Index, 17);
    assert.equal(node(s, W1), w1, 'a worker gets no ManagerStatus and no new version');
    assert.equal('ManagerStatus' in node(s, W1), false);
  });
});

/** A sequence that touches every command, including refusals. */
function script(): Command[] {
  const mgr = { addr: '127.0.0.1:2377', reachability: 'reachable' as const };
  return [
    { op: 'cluster.create', at: T0, cluster: makeCluster() },
    { op: 'node.create', at: T0, node: makeNode(M1, { manager: mgr }) },
    { op: 'node.create', at: T0, node: makeNode(W1, { labels: { a: '1' } }) },
    { op: 'node.create', at: T0, node: makeNode(W2) },
    { op: 'cluster.create', at: T1, cluster: makeCluster('dup') },
    { op: 'node.update-spec', at: T1, id: W1, labelAdd: { b: '2' }, labelRm: ['a'] },
    { op: 'node.update-spec', at: T1, id: W2, role: 'manager', availability: 'pause' },
    {
      op: 'node.set-manager',
      at: T1,
      id: W2,
      manager: { addr: '127.0.0.3:2377', reachability: 'unknown' },
    },
    { op: 'node.set-reachability', at: T1, updates: [{ id: W2, reachability: 'reachable' }] },
    {
      op: 'node.update-description',
      at: T1,
      id: W1,
      description: makeNode(W1, { hostname: 'x' }).Description,
    },
    {
      op: 'node.set-status',
      at: T2,
      updates: [{ id: W1, state: 'down', message: 'heartbeat failure' }],
    },
    { op: 'cluster.update', at: T2, joinTokens: { Worker: 'rotated', Manager: 'managersecret' } },
    { op: 'node.remove', at: T2, id: W1 },
    { op: 'node.create', at: T2, node: makeNode(W1) },
    { op: 'node.update-spec', at: T2, id: 'ghost', role: 'worker' },
  ];
}

function run(cmds: readonly Command[]): { state: StoreState; results: CommandResult[] } {
  const state = emptyState();
  const results = cmds.map((c, i) => applyCommand(state, decodeCommand(encodeCommand(c)), i + 1));
  return { state, results };
}

describe('store fsm: determinism and snapshots', () => {
  it('the same command sequence gives identical encoded state and results', () => {
    const a = run(script());
    const b = run(script());
    assert.deepEqual(Buffer.from(encodeState(a.state)), Buffer.from(encodeState(b.state)));
    assert.deepEqual(a.results, b.results);
    assert.deepEqual(
      a.results.map((r) => (r.ok ? 'ok' : r.code)),
      [
        'ok',
        'ok',
        'ok',
        'ok',
        'ALREADY_EXISTS',
        'ok',
        'ok',
        'ok',
        'ok',
        'ok',
        'ok',
        'ok',
        'ok',
        'FAILED_PRECONDITION',
        'NOT_FOUND',
      ],
    );
  });

  it('applying decoded commands equals applying the originals', () => {
    const direct = emptyState();
    script().forEach((c, i) => applyCommand(direct, c, i + 1));
    const viaWire = run(script()).state;
    assert.deepEqual(Buffer.from(encodeState(direct)), Buffer.from(encodeState(viaWire)));
  });

  it('a snapshot decodes to the live state and re-encodes to the same bytes', () => {
    const { state } = run(script());
    const bytes = encodeState(state);
    const restored = decodeState(bytes);
    assert.deepEqual(restored, state);
    assert.deepEqual(Buffer.from(encodeState(restored)), Buffer.from(bytes));
    assert.equal(restored.removedNodes.has(W1), true);
    assert.deepEqual([...restored.nodes.keys()], [...state.nodes.keys()]);
  });

  it('a restored state applies the rest of the log like the original', () => {
    const cmds = script();
    const full = run(cmds).state;
    const half = run(cmds.slice(0, 8)).state;
    const restored = decodeState(encodeState(half));
    cmds.slice(8).forEach((c, i) => applyCommand(restored, decodeCommand(encodeCommand(c)), i + 9));
    assert.deepEqual(Buffer.from(encodeState(restored)), Buffer.from(encodeState(full)));
  });

  it('an empty snapshot is the empty state; an unknown version is refused', () => {
    assert.deepEqual(decodeState(new Uint8Array()), emptyState());
    const v2 = new TextEncoder().encode(JSON.stringify({ v: 2, nodes: [], removedNodes: [] }));
    assert.throws(() => decodeState(v2), /unsupported store snapshot version 2/);
  });

  it('every command survives encode/decode', () => {
    for (const c of script()) assert.deepEqual(decodeCommand(encodeCommand(c)), c);
  });
});
