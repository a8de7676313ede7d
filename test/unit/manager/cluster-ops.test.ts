import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkResult,
  inspectNode,
  inspectSwarm,
  listNodes,
  parseNodeUpdate,
  presentNode,
  removeNode,
  updateNode,
  updateSwarm,
  validateSwarmSettings,
  type OpsContext,
  type SwarmUpdate,
} from '../../../src/daemon/manager/cluster-ops.js';
import { Store } from '../../../src/daemon/manager/store/store.js';
import type { Command } from '../../../src/daemon/manager/store/types.js';
import { NANOS_PER_MS } from '../../../src/shared/api-types.js';
import { messages, TswarmError } from '../../../src/shared/errors.js';
import { entryFor, makeCluster, makeNode, T0, type NodeOpts } from './fixtures.js';

const LEADER = 'leader0000000000000000000';
const M2 = 'manager200000000000000000';
const W1 = 'worker1000000000000000000';
const W2 = 'worker2000000000000000000';
const mgr = (addr: string) => ({ addr, reachability: 'reachable' as const });

/**
 * A manager reduced to what cluster-ops needs: writes go through a real Store at increasing
 * indexes (so refusals come back exactly as on a real manager), read barriers are counted.
 */
class FakeManager implements OpsContext {
  readonly store = new Store();
  readonly writes: Command[] = [];
  barriers = 0;
  private index = 0;

  constructor(
    nodes: readonly [string, NodeOpts][],
    readonly selfId = LEADER,
    private readonly leader = LEADER,
  ) {
    this.apply({ op: 'cluster.create', at: T0, cluster: makeCluster() });
    for (const [id, o] of nodes) this.apply({ op: 'node.create', at: T0, node: makeNode(id, o) });
  }

  private apply(cmd: Command): unknown {
    return checkResult(this.store.apply(entryFor(++this.index, cmd)));
  }

  leaderId(): string {
    return this.leader;
  }

  write(cmd: Command): Promise<unknown> {
    this.writes.push(cmd);
    return new Promise((resolve) => {
      resolve(this.apply(cmd));
    });
  }

  readBarrier(): Promise<void> {
    this.barriers++;
    return Promise.resolve();
  }

  readonly token = (secret: string): string => `SWMTKN-1-digest-${secret}`;
}

/** One leader (also a manager), one worker: the smallest useful swarm. */
function small(): FakeManager {
  return new FakeManager([
    [LEADER, { hostname: 'lead', manager: mgr('127.0.0.1:2377') }],
    [W1, { hostname: 'w1', labels: { zone: 'a' } }],
  ]);
}

async function rejectsWith(p: Promise<unknown>, code: string, message: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof TswarmError, `not a TswarmError: ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.message, message);
    return true;
  });
}

const noLabels = { labelAdd: {}, labelRm: [] };

describe('cluster-ops: presentNode and checkResult', () => {
  it('marks the leader and makes it reachable', () => {
    const n = makeNode(LEADER, { manager: { addr: 'a:2377', reachability: 'unknown' } });
    assert.deepEqual(presentNode(n, LEADER).ManagerStatus, {
      Addr: 'a:2377',
      Reachability: 'reachable',
      Leader: true,
    });
  });

  it('leaves other managers and workers as they are', () => {
    const m = makeNode(M2, { manager: { addr: 'b:2377', reachability: 'unreachable' } });
    assert.deepEqual(presentNode(m, LEADER), m);
    assert.equal('Leader' in (presentNode(m, LEADER).ManagerStatus ?? {}), false);
    const w = makeNode(W1);
    assert.equal(presentNode(w, W1), w, 'a worker never gets a ManagerStatus');
  });

  it('checkResult returns values and throws refusals as TswarmError', () => {
    assert.equal(checkResult(undefined), undefined);
    assert.equal(checkResult({ ok: true, value: 42 }), 42);
    assert.throws(
      () => checkResult({ ok: false, code: 'NOT_FOUND', message: 'node x not found' }),
      (e: unknown) =>
        e instanceof TswarmError && e.code === 'NOT_FOUND' && e.message === 'node x not found',
    );
  });
});

describe('cluster-ops: list and inspect nodes', () => {
  it('lists with filters, marks the leader, and honours staleOk', async () => {
    const ctx = small();
    const all = await listNodes(ctx, [], false);
    assert.equal(ctx.barriers, 1);
    assert.deepEqual(
      all.map((n) => n.ID),
      [LEADER, W1],
    );
    assert.equal(all[0]?.ManagerStatus?.Leader, true);
    const workers = await listNodes(ctx, ['role=worker'], true);
    assert.equal(ctx.barriers, 1, 'a stale read skips the barrier');
    assert.deepEqual(
      workers.map((n) => n.ID),
      [W1],
    );
  });

  it('inspects by name, prefix and self', async () => {
    const ctx = new FakeManager(
      [
        [LEADER, { hostname: 'lead', manager: mgr('127.0.0.1:2377') }],
        [W1, { hostname: 'w1' }],
      ],
      W1,
    );
    assert.equal((await inspectNode(ctx, 'self', true)).ID, W1);
    assert.equal((await inspectNode(ctx, 'lead', false)).ManagerStatus?.Leader, true);
    assert.equal(ctx.barriers, 1);
    assert.equal((await inspectNode(ctx, 'work', true)).ID, W1);
    await rejectsWith(inspectNode(ctx, 'ghost', true), 'NOT_FOUND', 'node ghost not found');
  });
});

describe('cluster-ops: parseNodeUpdate', () => {
  it('parses role, availability and labels; empty strings mean unchanged', () => {
    assert.deepEqual(
      parseNodeUpdate({
        role: 'manager',
        availability: 'drain',
        label_add: { a: '1' },
        label_rm: ['b'],
      }),
      { role: 'manager', availability: 'drain', labelAdd: { a: '1' }, labelRm: ['b'] },
    );
    assert.deepEqual(parseNodeUpdate({ role: '', availability: '', label_add: {}, label_rm: [] }), {
      labelAdd: {},
      labelRm: [],
    });
  });

  it('refuses bad values', () => {
    const base = { role: '', availability: '', label_add: {}, label_rm: [] };
    assert.throws(
      () => parseNodeUpdate({ ...base, role: 'boss' }),
      /invalid role "boss", only worker and manager are supported/,
    );
    assert.throws(
      () => parseNodeUpdate({ ...base, availability: 'off' }),
      /invalid availability "off", only active, pause and drain are supported/,
    );
    assert.throws(
      () => parseNodeUpdate({ ...base, label_add: { '': 'x' } }),
      /invalid label: empty key/,
    );
    assert.throws(() => parseNodeUpdate({ ...base, label_rm: [''] }), /invalid label: empty key/);
  });
});

describe('cluster-ops: updateNode', () => {
  it('refuses to demote the last manager, and writes nothing', async () => {
    const ctx = small();
    await rejectsWith(
      updateNode(ctx, LEADER, { role: 'worker', ...noLabels }),
      'FAILED_PRECONDITION',
      messages.demoteLastManager,
    );
    assert.equal(messages.demoteLastManager, 'attempting to demote the last manager of the swarm');
    assert.deepEqual(ctx.writes, []);
    assert.equal(ctx.store.node(LEADER)?.Spec.Role, 'manager');
  });

  it('demotes a manager when another remains; promotes a worker', async () => {
    const ctx = new FakeManager([
      [LEADER, { manager: mgr('127.0.0.1:2377') }],
      [M2, { hostname: 'm2', manager: mgr('127.0.0.2:2377') }],
      [W1, { hostname: 'w1' }],
    ]);
    const demoted = await updateNode(ctx, 'm2', { role: 'worker', ...noLabels });
    assert.equal(demoted.Spec.Role, 'worker');
    assert.equal(ctx.barriers, 1, 'updates read through a barrier first');
    await rejectsWith(
      updateNode(ctx, 'self', { role: 'worker', ...noLabels }),
      'FAILED_PRECONDITION',
      messages.demoteLastManager,
    );
    const promoted = await updateNode(ctx, 'w1', { role: 'manager', ...noLabels });
    assert.equal(promoted.Spec.Role, 'manager');
  });

  it('re-asserting the role of the last manager is not a demotion', async () => {
    const ctx = small();
    const n = await updateNode(ctx, LEADER, {
      role: 'manager',
      availability: 'drain',
      ...noLabels,
    });
    assert.equal(n.Spec.Availability, 'drain');
    assert.equal(n.ManagerStatus?.Leader, true, 'the result is presented');
  });

  it('adds and removes labels; the result carries the new version', async () => {
    const ctx = small();
    const before = ctx.store.node(W1)?.Version.Index ?? 0;
    const n = await updateNode(ctx, 'w1', { labelAdd: { disk: 'ssd' }, labelRm: ['zone'] });
    assert.deepEqual(n.Spec.Labels, { disk: 'ssd' });
    assert.ok(n.Version.Index > before);
    assert.equal(ctx.writes.length, 1);
  });

  it('refuses to remove a label the node does not have, with Docker’s text', async () => {
    const ctx = small();
    await rejectsWith(
      updateNode(ctx, 'w1', { labelAdd: {}, labelRm: ['nope'] }),
      'INVALID_ARGUMENT',
      "key nope doesn't exist in node's labels",
    );
    assert.deepEqual(ctx.writes, []);
  });

  it('a label added and removed in one update ends up removed, as docker node update', async () => {
    const ctx = small();
    const n = await updateNode(ctx, 'w1', { labelAdd: { tmp: '1', keep: '2' }, labelRm: ['tmp'] });
    assert.deepEqual(n.Spec.Labels, { zone: 'a', keep: '2' });
  });

  it('an unknown node is NOT_FOUND', async () => {
    await rejectsWith(
      updateNode(small(), 'ghost', { ...noLabels }),
      'NOT_FOUND',
      'node ghost not found',
    );
  });
});

describe('cluster-ops: removeNode', () => {
  it('refuses a manager with Docker’s FailedPrecondition text', async () => {
    const ctx = small();
    await rejectsWith(
      removeNode(ctx, 'lead', true),
      'FAILED_PRECONDITION',
      `rpc error: code = FailedPrecondition desc = node ${LEADER} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`,
    );
    assert.deepEqual(ctx.writes, []);
  });

  it('refuses a demoted node that is still a Raft member', async () => {
    const ctx = new FakeManager([
      [LEADER, { manager: mgr('127.0.0.1:2377') }],
      [M2, { role: 'worker', manager: mgr('127.0.0.2:2377') }],
    ]);
    await assert.rejects(
      removeNode(ctx, M2, true),
      /is a cluster manager and is a member of the raft cluster/,
    );
  });

  it('refuses a ready worker without --force, with Docker’s text', async () => {
    const ctx = small();
    await rejectsWith(
      removeNode(ctx, 'w1', false),
      'FAILED_PRECONDITION',
      `rpc error: code = FailedPrecondition desc = node ${W1} is not down and can't be removed`,
    );
    assert.ok(ctx.store.node(W1));
  });

  it('--force removes a ready worker, which can then never come back', async () => {
    const ctx = small();
    await removeNode(ctx, 'w1', true);
    assert.equal(ctx.store.node(W1), undefined);
    assert.equal(ctx.store.isRemoved(W1), true);
    await rejectsWith(
      ctx.write({ op: 'node.create', at: T0, node: makeNode(W1) }),
      'FAILED_PRECONDITION',
      `node ${W1} was removed from the swarm`,
    );
  });

  it('removes a down worker without --force', async () => {
    const ctx = new FakeManager([
      [LEADER, { manager: mgr('127.0.0.1:2377') }],
      [W2, { hostname: 'w2', state: 'down' }],
    ]);
    await removeNode(ctx, 'w2', false);
    assert.equal(ctx.store.node(W2), undefined);
  });

  it('only a ready node needs --force, as Docker (unknown, disconnected)', async () => {
    const ctx = new FakeManager([
      [LEADER, { manager: mgr('127.0.0.1:2377') }],
      [W1, { hostname: 'w1', state: 'unknown' }],
      [W2, { hostname: 'w2', state: 'disconnected' }],
    ]);
    await removeNode(ctx, 'w1', false);
    await removeNode(ctx, 'w2', false);
    assert.deepEqual(
      ctx.store.nodes().map((n) => n.ID),
      [LEADER],
    );
  });

  it('removing twice is NOT_FOUND', async () => {
    const ctx = small();
    await removeNode(ctx, W1, true);
    await rejectsWith(removeNode(ctx, W1, true), 'NOT_FOUND', `node ${W1} not found`);
  });
});

describe('cluster-ops: swarm inspect and update', () => {
  const none: SwarmUpdate = { rotateWorker: false, rotateManager: false };

  function secrets(): { next: () => string; calls: () => number } {
    let n = 0;
    return { next: () => `fresh${++n}`, calls: () => n };
  }

  it('inspect shows full join tokens and never the CA key', async () => {
    const ctx = small();
    const s = await inspectSwarm(ctx, false);
    assert.equal(ctx.barriers, 1);
    assert.deepEqual(s.JoinTokens, {
      Worker: 'SWMTKN-1-digest-workersecret',
      Manager: 'SWMTKN-1-digest-managersecret',
    });
    assert.equal(s.TLSInfo.TrustRoot, 'CERT-PEM');
    assert.equal(JSON.stringify(s).includes('SECRET-KEY-PEM'), false);
    await inspectSwarm(ctx, true);
    assert.equal(ctx.barriers, 1);
  });

  it('inspect before the cluster is replicated is UNAVAILABLE', async () => {
    const ctx = small();
    ctx.store.restore(new Uint8Array());
    await rejectsWith(
      inspectSwarm(ctx, true),
      'UNAVAILABLE',
      'the cluster object is not replicated here yet',
    );
  });

  it('validates settings before writing anything', async () => {
    const ctx = small();
    const s = secrets();
    const bad: [SwarmUpdate, RegExp][] = [
      [{ ...none, taskHistoryLimit: -1 }, /invalid task history limit -1: must be >= 0/],
      [{ ...none, taskHistoryLimit: 1.5 }, /invalid task history limit 1.5/],
      [
        { ...none, dispatcherHeartbeatMs: 99 },
        /invalid dispatcher heartbeat period: must be between 100ms and 24h/,
      ],
      [{ ...none, dispatcherHeartbeatMs: 24 * 3600_000 + 1 }, /between 100ms and 24h/],
      [{ ...none, dispatcherHeartbeatMs: Number.NaN }, /between 100ms and 24h/],
      [{ ...none, certExpiryMs: 3600_000 - 1 }, /^minimum certificate expiry time is: 1h0m0s$/],
    ];
    for (const [u, re] of bad) {
      await assert.rejects(updateSwarm(ctx, { ...u, rotateWorker: true }, s.next), (e: unknown) => {
        assert.ok(e instanceof TswarmError);
        assert.equal(e.code, 'INVALID_ARGUMENT');
        assert.match(e.message, re);
        return true;
      });
    }
    assert.deepEqual(ctx.writes, []);
    assert.equal(s.calls(), 0, 'no secret is drawn for a refused update');
  });

  it('accepts the bounds', () => {
    validateSwarmSettings({
      taskHistoryLimit: 0,
      dispatcherHeartbeatMs: 100,
      certExpiryMs: 3600_000,
    });
    validateSwarmSettings({ dispatcherHeartbeatMs: 24 * 3600_000 });
    validateSwarmSettings({});
  });

  it('updates settings in Docker’s nanoseconds and keeps the rest of the spec', async () => {
    const ctx = small();
    await updateSwarm(
      ctx,
      { ...none, taskHistoryLimit: 10, dispatcherHeartbeatMs: 2000, certExpiryMs: 48 * 3600_000 },
      secrets().next,
    );
    const c = ctx.store.requireCluster();
    assert.equal(c.Spec.Orchestration.TaskHistoryRetentionLimit, 10);
    assert.equal(c.Spec.Dispatcher.HeartbeatPeriod, 2000 * NANOS_PER_MS);
    assert.equal(c.Spec.CAConfig.NodeCertExpiry, 48 * 3600_000 * NANOS_PER_MS);
    assert.deepEqual(c.Spec.Raft, makeCluster().Spec.Raft);
    assert.equal(c.Spec.Name, 'default');
    assert.deepEqual(c.JoinTokens, makeCluster().JoinTokens);
  });

  it('an update with no settings changes neither the spec nor the tokens', async () => {
    const ctx = small();
    await updateSwarm(ctx, none, secrets().next);
    const c = ctx.store.requireCluster();
    assert.deepEqual(c.Spec, makeCluster().Spec);
    assert.deepEqual(c.JoinTokens, makeCluster().JoinTokens);
  });

  it('rotating the worker token changes only the worker secret', async () => {
    const ctx = small();
    const s = secrets();
    await updateSwarm(ctx, { ...none, rotateWorker: true }, s.next);
    assert.deepEqual(ctx.store.requireCluster().JoinTokens, {
      Worker: 'fresh1',
      Manager: 'managersecret',
    });
    assert.equal(s.calls(), 1);
    assert.equal((await inspectSwarm(ctx, true)).JoinTokens.Worker, 'SWMTKN-1-digest-fresh1');
  });

  it('rotating the manager token changes only the manager secret', async () => {
    const ctx = small();
    await updateSwarm(ctx, { ...none, rotateManager: true }, secrets().next);
    assert.deepEqual(ctx.store.requireCluster().JoinTokens, {
      Worker: 'workersecret',
      Manager: 'fresh1',
    });
  });

  it('rotating both draws two different secrets', async () => {
    const ctx = small();
    const s = secrets();
    await updateSwarm(ctx, { rotateWorker: true, rotateManager: true }, s.next);
    const t = ctx.store.requireCluster().JoinTokens;
    assert.notEqual(t.Worker, t.Manager);
    assert.equal(s.calls(), 2);
  });
});
