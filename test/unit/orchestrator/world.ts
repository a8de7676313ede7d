/**
 * A tiny pure world for the orchestrator's reconcile step: one service, its tasks and the
 * nodes, a hand-moved clock, and `pass()`, which runs `reconcileService` and applies the
 * result the way the store's fsm would (creates, desired-state and node updates, removals).
 * The agent's side (a task starting, failing, completing) is played by `setState`.
 * Not a test file.
 */
import type {
  Node,
  Service,
  ServiceSpec,
  Task,
  TaskState,
  TaskTemplate,
} from '../../../src/shared/api-types.js';
import { TASK_STATES } from '../../../src/shared/api-types.js';
import {
  reconcileService,
  type ReconcileResult,
} from '../../../src/daemon/manager/orchestrator/reconcile.js';
import { makeNode, type NodeOpts } from '../manager/fixtures.js';

export const SEC = 1000;
export const NS_PER_SEC = 1_000_000_000;
/** 2026-01-01T00:00:00Z in ms. */
export const START = Date.parse('2026-01-01T00:00:00.000Z');

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export interface ServiceOpts {
  readonly replicas?: number;
  readonly global?: boolean;
  readonly restart?: TaskTemplate['RestartPolicy'];
  readonly constraints?: readonly string[];
  readonly image?: string;
}

/** A service as the control API stores it; restart policy omitted unless given. */
export function makeService(id: string, o: ServiceOpts = {}): Service {
  const spec: ServiceSpec = {
    Name: `svc-${id}`,
    Labels: {},
    TaskTemplate: {
      ContainerSpec: { Image: o.image ?? 'busybox:latest' },
      ...(o.restart ? { RestartPolicy: o.restart } : {}),
      ...(o.constraints ? { Placement: { Constraints: o.constraints } } : {}),
    },
    Mode: o.global ? { Global: {} } : { Replicated: { Replicas: o.replicas ?? 1 } },
  };
  return {
    ID: id,
    Version: { Index: 10 },
    CreatedAt: iso(START),
    UpdatedAt: iso(START),
    Spec: spec,
  };
}

export interface TaskOpts {
  readonly slot?: number;
  readonly node?: string;
  readonly state?: TaskState;
  readonly desired?: TaskState;
  /** CreatedAt in ms. */
  readonly created?: number;
  /** Status.Timestamp in ms (defaults to created). */
  readonly at?: number;
}

/** A task of `svc` in any state, for setting up a scenario directly. */
export function makeTask(svc: Service, id: string, o: TaskOpts = {}): Task {
  const created = iso(o.created ?? START);
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: created,
    UpdatedAt: created,
    Labels: {},
    Spec: svc.Spec.TaskTemplate,
    ServiceID: svc.ID,
    ...(o.slot !== undefined ? { Slot: o.slot } : {}),
    ...(o.node !== undefined ? { NodeID: o.node } : {}),
    Status: {
      Timestamp: iso(o.at ?? o.created ?? START),
      State: o.state ?? 'running',
      Message: '',
    },
    DesiredState: o.desired ?? 'running',
  };
}

/** Applies a reconcile result to a task list as the fsm applies task.create/update/remove. */
export function applyResult(tasks: readonly Task[], r: ReconcileResult): Task[] {
  const byId = new Map<string, Task>(tasks.map((t) => [t.ID, t]));
  for (const t of r.create) if (!byId.has(t.ID)) byId.set(t.ID, t);
  for (const u of r.update) {
    const t = byId.get(u.id);
    if (!t) continue;
    let next = t;
    if (u.nodeId !== undefined) next = { ...next, NodeID: u.nodeId };
    if (u.desiredState !== undefined) next = { ...next, DesiredState: u.desiredState };
    if (u.status && TASK_STATES.indexOf(u.status.State) >= TASK_STATES.indexOf(t.Status.State))
      next = { ...next, Status: u.status };
    byId.set(u.id, next);
  }
  for (const id of r.remove) byId.delete(id);
  return [...byId.values()];
}

/** One service's world: the orchestrator's view plus a clock. */
export class World {
  tasks: Task[] = [];
  nodes: Node[] = [];
  now = START;
  historyLimit = 5;
  eligible: (n: Node) => boolean = () => true;
  private seq = 0;

  constructor(public service: Service) {}

  addNode(id: string, o: NodeOpts = {}): void {
    this.nodes = [...this.nodes.filter((n) => n.ID !== id), makeNode(id, o)];
  }

  /** Replaces a node's availability or state, as node update / the dispatcher would. */
  setNode(id: string, o: NodeOpts): void {
    const old = this.nodes.find((n) => n.ID === id);
    if (!old) throw new Error(`no node ${id}`);
    this.addNode(id, {
      availability: o.availability ?? old.Spec.Availability,
      state: o.state ?? old.Status.State,
      labels: o.labels ?? { ...old.Spec.Labels },
    });
  }

  advance(ms: number): void {
    this.now += ms;
  }

  /** Reconciles without applying (for inspecting one decision). */
  reconcile(): ReconcileResult {
    return reconcileService({
      service: this.service,
      tasks: this.tasks,
      nodes: this.nodes,
      now: this.now,
      historyLimit: this.historyLimit,
      newId: () => `t${String(++this.seq).padStart(3, '0')}`,
      eligible: this.eligible,
    });
  }

  /** Reconciles and applies the result; returns it. */
  pass(): ReconcileResult {
    const r = this.reconcile();
    this.tasks = applyResult(this.tasks, r);
    return r;
  }

  /** Runs passes until one changes nothing; throws if that never happens. */
  settle(maxPasses = 10): ReconcileResult[] {
    const out: ReconcileResult[] = [];
    for (let i = 0; i < maxPasses; i++) {
      const r = this.pass();
      out.push(r);
      if (isEmpty(r)) return out;
    }
    throw new Error(`no fixed point after ${maxPasses} passes: ${JSON.stringify(out.at(-1))}`);
  }

  /** The agent (or scheduler) reports a task's observed state at the current time. */
  setState(id: string, state: TaskState, nodeId?: string): void {
    this.tasks = this.tasks.map((t) =>
      t.ID === id
        ? {
            ...t,
            ...(nodeId !== undefined ? { NodeID: nodeId } : {}),
            Status: { Timestamp: iso(this.now), State: state, Message: state },
          }
        : t,
    );
  }

  /** Places every new task on `nodeId` and marks it running, as scheduler + agent would. */
  runAll(nodeId: string): void {
    for (const t of this.tasks)
      if (t.DesiredState === 'running' && t.Status.State === 'new')
        this.setState(t.ID, 'running', t.NodeID ?? nodeId);
  }

  task(id: string): Task {
    const t = this.tasks.find((x) => x.ID === id);
    if (!t) throw new Error(`no task ${id}`);
    return t;
  }

  /** Tasks that are desired to run, by slot (replicated) or node (global). */
  liveBy(key: 'slot' | 'node'): Map<string, Task[]> {
    const m = new Map<string, Task[]>();
    for (const t of this.tasks) {
      if (t.DesiredState !== 'running' || TASK_STATES.indexOf(t.Status.State) > 7) continue;
      const k = key === 'slot' ? String(t.Slot) : (t.NodeID ?? '');
      m.set(k, [...(m.get(k) ?? []), t]);
    }
    return m;
  }

  inSlot(slot: number): Task[] {
    return this.tasks.filter((t) => t.Slot === slot);
  }
}

export function isEmpty(r: ReconcileResult): boolean {
  return r.create.length === 0 && r.update.length === 0 && r.remove.length === 0;
}

/** The IDs a result stops (desired → shutdown). */
export function stopped(r: ReconcileResult): string[] {
  return r.update.filter((u) => u.desiredState === 'shutdown').map((u) => u.id);
}
