/**
 * The wiring in loop.ts: the real Orchestrator over a real Store, writes applied in order as
 * a Raft driver would, a fake agent reacting to store events. Checks that the updater's
 * status writes land, its wake-ups fire (delay and monitor, with no store event to help), and
 * a refused status write (a user's update won the race) does not break the pass.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { Orchestrator } from '../../../src/daemon/manager/orchestrator/loop.js';
import { serviceUpdateCommand } from '../../../src/daemon/manager/service-ops.js';
import { encodeCommand } from '../../../src/daemon/manager/store/fsm.js';
import { Store } from '../../../src/daemon/manager/store/store.js';
import type { ClusterObject, Command } from '../../../src/daemon/manager/store/types.js';
import type { Node, Service, TaskState } from '../../../src/shared/api-types.js';
import { TASK_STATES } from '../../../src/shared/api-types.js';
import { NS_PER_MS, policy, SVC } from './sim.js';

const idx = (s: TaskState): number => TASK_STATES.indexOf(s);

class Harness {
  readonly store = new Store();
  readonly orch: Orchestrator;
  private index = 0;
  /** Service writes the orchestrator proposed, and how they ended. */
  readonly serviceWrites: { cmd: Command; ok: boolean }[] = [];
  refuseNextServiceWrite = false;
  private agentQueued = false;
  private stopped = false;

  constructor() {
    this.orch = new Orchestrator({
      store: this.store,
      propose: (cmd) => {
        if (cmd.op === 'service.update' && this.refuseNextServiceWrite) {
          this.refuseNextServiceWrite = false;
          this.serviceWrites.push({ cmd, ok: false });
          return Promise.reject(new Error('update out of sequence'));
        }
        const r = this.write(cmd);
        if (cmd.op === 'service.update') this.serviceWrites.push({ cmd, ok: r });
        return Promise.resolve();
      },
      log: pino({ level: 'silent' }),
    });
    this.store.onChange(() => {
      this.queueAgent();
    });
  }

  write(cmd: Command): boolean {
    const r = this.store.apply({
      term: 1,
      index: ++this.index,
      type: 'normal',
      data: encodeCommand(cmd),
    });
    return r?.ok ?? false;
  }

  /** The agent: assigned tasks start (a few ms later), stopped ones stop. */
  private queueAgent(): void {
    if (this.agentQueued || this.stopped) return;
    this.agentQueued = true;
    setTimeout(() => {
      this.agentQueued = false;
      if (this.stopped) return;
      const at = new Date().toISOString();
      const updates = [];
      for (const t of this.store.tasks()) {
        if (idx(t.Status.State) >= idx('complete')) continue;
        if (idx(t.DesiredState) > idx('running'))
          updates.push({ id: t.ID, status: { Timestamp: at, State: 'shutdown', Message: '' } });
        else if (t.Status.State === 'assigned')
          updates.push({ id: t.ID, status: { Timestamp: at, State: 'running', Message: '' } });
      }
      if (updates.length) this.write({ op: 'task.update', at, updates: updates as never });
    }, 3);
  }

  service(): Service {
    const s = this.store.service(SVC);
    assert.ok(s);
    return s;
  }

  async until(what: string, cond: () => boolean, ms = 5_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}: ${JSON.stringify(this.service().UpdateStatus)}`,
        );
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  stop(): void {
    this.stopped = true;
    this.orch.stop();
  }
}

function setup(h: Harness, replicas: number, maxPerNode = 0): void {
  const at = new Date().toISOString();
  h.write({ op: 'cluster.create', at, cluster: cluster(at) });
  h.write({ op: 'node.create', at, node: node(at) });
  h.write({
    op: 'service.create',
    at,
    service: {
      ID: SVC,
      Version: { Index: 0 },
      CreatedAt: at,
      UpdatedAt: at,
      Spec: {
        Name: 'web',
        Labels: {},
        TaskTemplate: {
          ContainerSpec: { Image: 'app:v1' },
          ...(maxPerNode ? { Placement: { MaxReplicas: maxPerNode } } : {}),
        },
        Mode: { Replicated: { Replicas: replicas } },
        UpdateConfig: policy({ Parallelism: 1, Delay: 60 * NS_PER_MS, Monitor: 80 * NS_PER_MS }),
      },
    },
  });
}

describe('Orchestrator with the rolling updater', () => {
  const harnesses: Harness[] = [];
  after(() => {
    for (const h of harnesses) h.stop();
  });

  it('runs an update to completion through delays and monitor windows', async () => {
    const h = new Harness();
    harnesses.push(h);
    setup(h, 3);
    h.orch.start();
    const running = (image: string) =>
      h.store
        .tasks()
        .filter((t) => t.Status.State === 'running' && t.Spec.ContainerSpec.Image === image);
    await h.until('deployment', () => running('app:v1').length === 3);
    const s = h.service();
    h.write(
      serviceUpdateCommand(
        s,
        {
          ...s.Spec,
          TaskTemplate: { ContainerSpec: { Image: 'app:v2' } },
        },
        false,
        new Date().toISOString(),
      ),
    );
    await h.until('completion', () => h.service().UpdateStatus?.State === 'completed');
    assert.equal(running('app:v2').length, 3);
    assert.equal(h.service().UpdateStatus?.Message, 'update completed');
    // Three batches, each after the previous one ran plus 60 ms: the wake-ups did their job.
    const created = h.store
      .tasks()
      .filter((t) => t.Spec.ContainerSpec.Image === 'app:v2')
      .map((t) => Date.parse(t.CreatedAt))
      .sort((a, b) => a - b);
    assert.equal(created.length, 3);
    for (let i = 1; i < created.length; i++)
      assert.ok((created[i] ?? 0) - (created[i - 1] ?? 0) >= 60);
  });

  it('a refused status write is retried by a later pass', async () => {
    const h = new Harness();
    harnesses.push(h);
    setup(h, 1);
    h.orch.start();
    await h.until('deployment', () => h.store.tasks().some((t) => t.Status.State === 'running'));
    h.refuseNextServiceWrite = true;
    const s = h.service();
    h.write(
      serviceUpdateCommand(
        s,
        { ...s.Spec, TaskTemplate: { ContainerSpec: { Image: 'app:v2' } } },
        false,
        new Date().toISOString(),
      ),
    );
    await h.until('completion', () => h.service().UpdateStatus?.State === 'completed');
    assert.deepEqual(
      h.serviceWrites.map((w) => w.ok),
      [false, true],
    );
  });
});

describe('Orchestrator: a stop-first update places each replacement as if its old task were gone', () => {
  it('with one replica per node allowed, no replacement waits as unplaceable', async () => {
    const h = new Harness();
    setup(h, 3, 1);
    const at = new Date().toISOString();
    for (const n of [2, 3]) h.write({ op: 'node.create', at, node: node(at, n) });
    // Every pending state a task goes through, as the store shows it.
    const unplaced: string[] = [];
    h.store.onChange(() => {
      for (const t of h.store.tasks())
        if (t.Status.State === 'pending' && t.Status.Err) unplaced.push(t.Status.Err);
    });
    h.orch.start();
    try {
      const perNode = (): number[] => {
        const m = new Map<string, number>();
        for (const t of h.store.tasks())
          if (t.Status.State === 'running' && t.DesiredState === 'running')
            m.set(t.NodeID ?? '', (m.get(t.NodeID ?? '') ?? 0) + 1);
        return [1, 2, 3].map((n) => m.get(node(at, n).ID) ?? 0);
      };
      await h.until('1/1/1', () => perNode().join() === '1,1,1');
      const s = h.service();
      h.write(
        serviceUpdateCommand(
          s,
          { ...s.Spec, TaskTemplate: { ...s.Spec.TaskTemplate, ForceUpdate: 1 } },
          false,
          new Date().toISOString(),
        ),
      );
      await h.until('completion', () => h.service().UpdateStatus?.State === 'completed');
      assert.deepEqual(perNode(), [1, 1, 1]);
      assert.deepEqual([...new Set(unplaced)], []);
    } finally {
      h.stop();
    }
  });
});

function cluster(at: string): ClusterObject {
  return {
    ID: 'cluster00000000000000000a',
    Version: { Index: 0 },
    CreatedAt: at,
    UpdatedAt: at,
    Spec: {
      Name: 'default',
      Labels: {},
      Orchestration: { TaskHistoryRetentionLimit: 5 },
      Raft: {
        SnapshotInterval: 10000,
        KeepOldSnapshots: 0,
        LogEntriesForSlowFollowers: 500,
        ElectionTick: 10,
        HeartbeatTick: 1,
      },
      Dispatcher: { HeartbeatPeriod: 5_000_000_000 },
      CAConfig: { NodeCertExpiry: 7_776_000_000_000_000 },
    },
    RootCA: { CertPem: 'CERT', KeyPem: 'KEY' },
    JoinTokens: { Worker: 'w', Manager: 'm' },
  };
}

function node(at: string, n = 1): Node {
  return {
    ID: `node0000000000000000000${n}a`,
    Version: { Index: 0 },
    CreatedAt: at,
    UpdatedAt: at,
    Spec: { Labels: {}, Role: 'worker', Availability: 'active' },
    Description: {
      Hostname: `w${n}`,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 4e9, MemoryBytes: 8 * 1024 ** 3 },
      Engine: { EngineVersion: '27.0.0', Labels: {} },
    },
    Status: { State: 'ready', Addr: '127.0.0.1' },
  };
}
