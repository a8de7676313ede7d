/**
 * A small simulated cluster for the rolling-update tests (not a test file): the real store
 * reducer (fsm.ts), the real orchestration step (planService: updater + reconciler), the
 * real `service update` write (serviceUpdateCommand), and a fake agent that moves tasks
 * through their states on a simulated clock. Each step: the agent acts, then the leader's
 * orchestrator runs one pass; the number of running containers is sampled after both.
 */
import {
  applyCommand,
  decodeState,
  emptyState,
  encodeState,
  type StoreState,
} from '../../../src/daemon/manager/store/fsm.js';
import type { Command, CommandResult } from '../../../src/daemon/manager/store/types.js';
import {
  planService,
  type ServicePlan,
} from '../../../src/daemon/manager/orchestrator/update-plan.js';
import { serviceUpdateCommand } from '../../../src/daemon/manager/service-ops.js';
import type {
  Node,
  Service,
  ServiceSpec,
  Task,
  TaskState,
  UpdateConfig,
} from '../../../src/shared/api-types.js';
import { TASK_STATES } from '../../../src/shared/api-types.js';

export const NS_PER_MS = 1_000_000;
export const SVC = 'svc000000000000000000web1';
export const T_START = Date.parse('2026-01-01T00:00:00.000Z');

/** How the fake agent runs one task. */
export interface Behaviour {
  /** Steps from creation to `running` (default 3). */
  readonly startSteps?: number;
  /** Never becomes healthy: fails at `startSteps` with "task: container unhealthy". */
  readonly unhealthy?: boolean;
  /** The image pull fails: rejected at the first step. */
  readonly rejected?: boolean;
  /** Exits with an error this many steps after it started running. */
  readonly crashAfter?: number;
}

export interface SimOptions {
  readonly replicas?: number;
  /** A global service over this many nodes instead of a replicated one. */
  readonly globalNodes?: number;
  readonly image?: string;
  readonly update?: Partial<UpdateConfig>;
  readonly rollback?: Partial<UpdateConfig>;
  /** Per task: how the agent runs it (default: starts in 3 steps, keeps running). */
  readonly behaviour?: (t: Task) => Behaviour;
  readonly stepMs?: number;
  /** Steps a container takes to stop (default 2). */
  readonly stopSteps?: number;
}

const idx = (s: TaskState): number => TASK_STATES.indexOf(s);
const terminal = (s: TaskState): boolean => idx(s) >= idx('complete');

export function policy(p: Partial<UpdateConfig> = {}): UpdateConfig {
  return {
    Parallelism: 1,
    Delay: 0,
    FailureAction: 'pause',
    Monitor: 5_000 * NS_PER_MS,
    MaxFailureRatio: 0,
    Order: 'stop-first',
    ...p,
  };
}

export class UpdateSim {
  state: StoreState = emptyState();
  now = T_START;
  steps = 0;
  readonly stepMs: number;
  /** Running containers after each half-step (agent, orchestrator). */
  readonly samples: number[] = [];
  /** Every orchestration result, in order. */
  readonly plans: ServicePlan[] = [];
  private index = 0;
  private ids = 0;
  /** Agent side: steps each task has been under way / running / stopping. */
  private readonly age = new Map<string, number>();
  private readonly runFor = new Map<string, number>();
  private readonly stopping = new Map<string, number>();
  private readonly nodes: Node[];

  constructor(private readonly o: SimOptions = {}) {
    this.stepMs = o.stepMs ?? 100;
    const n = o.globalNodes ?? 1;
    this.nodes = Array.from({ length: n }, (_, i) => makeNode(`node${i + 1}`));
    const spec: ServiceSpec = {
      Name: 'web',
      Labels: {},
      TaskTemplate: {
        ContainerSpec: { Image: o.image ?? 'app:v1' },
        RestartPolicy: { Condition: 'any', Delay: 500 * NS_PER_MS },
      },
      Mode: o.globalNodes ? { Global: {} } : { Replicated: { Replicas: o.replicas ?? 6 } },
      UpdateConfig: policy(o.update),
      RollbackConfig: policy(o.rollback),
    };
    const at = new Date(this.now).toISOString();
    this.apply({
      op: 'service.create',
      at,
      service: { ID: SVC, Version: { Index: 0 }, CreatedAt: at, UpdatedAt: at, Spec: spec },
    });
  }

  apply(cmd: Command): CommandResult {
    return applyCommand(this.state, cmd, ++this.index);
  }

  service(): Service {
    const s = this.state.services.get(SVC);
    if (!s) throw new Error('service gone');
    return s;
  }

  tasks(): Task[] {
    return [...this.state.tasks.values()];
  }

  /** Containers up: tasks whose observed state is running (stopping ones included). */
  running(): Task[] {
    return this.tasks().filter((t) => t.Status.State === 'running');
  }

  /** Tasks wanted running and not ended. */
  live(): Task[] {
    return this.tasks().filter(
      (t) => idx(t.DesiredState) <= idx('running') && !terminal(t.Status.State),
    );
  }

  private iso(): string {
    return new Date(this.now).toISOString();
  }

  private report(t: Task, state: TaskState, message: string, err?: string): Command {
    return {
      op: 'task.update',
      at: this.iso(),
      updates: [
        {
          id: t.ID,
          ...(t.NodeID ? {} : { nodeId: this.nodes[0]?.ID ?? 'node1' }),
          status: {
            Timestamp: this.iso(),
            State: state,
            Message: message,
            ...(err ? { Err: err } : {}),
          },
        },
      ],
    };
  }

  /** The fake agent: one step of every task's lifecycle. */
  agentStep(): void {
    for (const t of this.tasks()) {
      if (terminal(t.Status.State)) continue;
      if (idx(t.DesiredState) > idx('running')) {
        const n = (this.stopping.get(t.ID) ?? 0) + 1;
        this.stopping.set(t.ID, n);
        if (n >= (this.o.stopSteps ?? 2) || idx(t.Status.State) < idx('starting'))
          this.apply(this.report(t, 'shutdown', 'shutdown'));
        continue;
      }
      const b = this.o.behaviour?.(t) ?? {};
      if (t.DesiredState === 'ready') {
        // A stop-first replacement: prepared, then it waits for desired running.
        if (b.rejected)
          this.apply(this.report(t, 'rejected', 'preparing failed', 'No such image: bad'));
        else if (idx(t.Status.State) < idx('assigned'))
          this.apply(this.report(t, 'assigned', 'scheduler assigned task to node'));
        else if (idx(t.Status.State) < idx('ready'))
          this.apply(this.report(t, 'ready', 'prepared'));
        continue;
      }
      if (t.Status.State === 'running') {
        const r = (this.runFor.get(t.ID) ?? 0) + 1;
        this.runFor.set(t.ID, r);
        if (b.crashAfter !== undefined && r >= b.crashAfter)
          this.apply(this.report(t, 'failed', 'started', 'task: non-zero exit (1)'));
        continue;
      }
      const a = (this.age.get(t.ID) ?? 0) + 1;
      this.age.set(t.ID, a);
      const start = b.startSteps ?? 3;
      if (b.rejected) {
        this.apply(this.report(t, 'rejected', 'preparing failed', 'No such image: bad'));
      } else if (a >= start) {
        this.apply(
          b.unhealthy
            ? this.report(t, 'failed', 'task: container unhealthy', 'task: container unhealthy')
            : this.report(t, 'running', 'started'),
        );
      } else if (a === 1) {
        this.apply(this.report(t, 'assigned', 'scheduler assigned task to node'));
      } else {
        this.apply(this.report(t, 'starting', 'starting'));
      }
    }
  }

  /** One pass of the leader's orchestrator over the service, as loop.ts proposes it. */
  orchestrate(): ServicePlan {
    const plan = planService({
      service: this.service(),
      tasks: this.tasks().filter((t) => t.ServiceID === SVC),
      nodes: this.nodes,
      now: this.now,
      historyLimit: 5,
      newId: () => `task${String(++this.ids).padStart(21, '0')}`,
      eligible: () => true,
    });
    this.plans.push(plan);
    const at = this.iso();
    if (plan.create.length) this.apply({ op: 'task.create', at, tasks: plan.create });
    if (plan.update.length) this.apply({ op: 'task.update', at, updates: plan.update });
    if (plan.remove.length) this.apply({ op: 'task.remove', at, ids: plan.remove });
    if (plan.service) this.apply(plan.service);
    return plan;
  }

  step(): void {
    this.now += this.stepMs;
    this.steps++;
    this.agentStep();
    this.samples.push(this.running().length);
    this.orchestrate();
    this.samples.push(this.running().length);
  }

  /** Steps until `done` holds; throws after `max` steps (a stuck update fails its test). */
  runUntil(done: (sim: this) => boolean, max = 2_000): void {
    for (let i = 0; i < max; i++) {
      if (done(this)) return;
      this.step();
    }
    throw new Error(
      `not done after ${max} steps: ${JSON.stringify(this.service().UpdateStatus)} ` +
        `live=${this.live()
          .map((t) => `${String(t.Slot)}:${t.Spec.ContainerSpec.Image}:${t.Status.State}`)
          .join(',')}`,
    );
  }

  /** Runs until every slot has a running task (the initial deployment). */
  deploy(): void {
    const want = this.o.globalNodes ?? this.o.replicas ?? 6;
    this.runUntil(() => this.running().length === want && this.live().length === want);
    this.samples.length = 0;
  }

  /** `service update` through the real control-API write. */
  updateSpec(change: (s: ServiceSpec) => ServiceSpec): CommandResult {
    const s = this.service();
    return this.apply(serviceUpdateCommand(s, change(s.Spec), false, this.iso()));
  }

  /** `service update --image`. */
  updateImage(image: string): CommandResult {
    return this.updateSpec((s) => ({
      ...s,
      TaskTemplate: {
        ...s.TaskTemplate,
        ContainerSpec: { ...s.TaskTemplate.ContainerSpec, Image: image },
      },
    }));
  }

  /** `service rollback`. */
  rollback(): CommandResult {
    const s = this.service();
    if (!s.PreviousSpec) throw new Error('no previous spec');
    return this.apply(serviceUpdateCommand(s, s.PreviousSpec, true, this.iso()));
  }

  /**
   * A leader change: the new leader has the store (through a snapshot round trip) and nothing
   * else; for `gapMs` no orchestrator runs while the agent keeps going.
   */
  failover(gapMs: number): void {
    this.state = decodeState(encodeState(this.state));
    const end = this.now + gapMs;
    while (this.now < end) {
      this.now += this.stepMs;
      this.agentStep();
      this.samples.push(this.running().length);
    }
  }

  status(): Service['UpdateStatus'] {
    return this.service().UpdateStatus;
  }

  imagesOfLive(): string[] {
    return this.live().map((t) => t.Spec.ContainerSpec.Image);
  }
}

function makeNode(id: string): Node {
  const at = new Date(T_START).toISOString();
  return {
    ID: id,
    Version: { Index: 0 },
    CreatedAt: at,
    UpdatedAt: at,
    Spec: { Labels: {}, Role: 'worker', Availability: 'active' },
    Description: {
      Hostname: id,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 4e9, MemoryBytes: 8 * 1024 ** 3 },
      Engine: { EngineVersion: '27.0.0', Labels: {} },
    },
    Status: { State: 'ready', Addr: '127.0.0.1' },
  };
}
