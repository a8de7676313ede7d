import type { Node, Task } from '../../../shared/api-types.js';
import { generateId } from '../../../shared/ids.js';
import type { Logger } from '../../log.js';
import type { Store } from '../store/store.js';
import type { Command, TaskUpdate } from '../store/types.js';
import { isTerminalState } from './reconcile.js';
import { placeTasks, nodeEligible } from './placement.js';
import { RollingUpdater } from './updater.js';

export interface OrchestratorOptions {
  readonly store: Store;
  readonly propose: (cmd: Command) => Promise<unknown>;
  readonly log: Logger;
}

/**
 * The leader's orchestration loop: after every store change (coalesced), reconcile each
 * service's slots, schedule unassigned tasks, reap history, and write the result as a few
 * batched Raft entries. Pending tasks are retried whenever nodes or tasks change.
 */
export class Orchestrator {
  private timer: NodeJS.Timeout | undefined;
  private wake: NodeJS.Timeout | undefined;
  private running = false;
  private dirty = false;
  private lastPassMs = 0;
  private stopped = false;
  private unsubscribe: (() => void) | undefined;
  private readonly log: Logger;
  readonly updater: RollingUpdater;

  constructor(private readonly o: OrchestratorOptions) {
    this.log = o.log.child({ component: 'orchestrator' });
    this.updater = new RollingUpdater(o.propose, o.log);
  }

  start(): void {
    this.unsubscribe = this.o.store.onChange(() => {
      this.kick();
    });
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    if (this.wake) clearTimeout(this.wake);
  }

  /** Coalesces bursts of store events into one pass a few ms later. */
  kick(): void {
    if (this.stopped) return;
    this.dirty = true;
    if (this.timer || this.running) return;
    // At least as long as the last pass computed: with thousands of tasks reporting, passes
    // back to back would take the whole event loop (heartbeats and Raft wait behind them).
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        void this.pass();
      },
      Math.max(5, Math.min(this.lastPassMs, 1_000)),
    );
  }

  private async pass(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    this.dirty = false;
    try {
      await this.reconcileAll();
    } catch (err) {
      this.log.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'orchestration pass failed',
      );
      this.dirty = true;
    } finally {
      this.running = false;
      // kick() does nothing once stopped.
      if (this.dirty) this.kick();
    }
  }

  private async reconcileAll(): Promise<void> {
    const store = this.o.store;
    const cluster = store.cluster();
    if (!cluster) return;
    const started = performance.now();
    const now = Date.now();
    const nodes = store.nodes();
    const byService = new Map<string, Task[]>();
    for (const t of store.tasks()) {
      const list = byService.get(t.ServiceID);
      if (list) list.push(t);
      else byService.set(t.ServiceID, [t]);
    }

    const create: Task[] = [];
    const update: TaskUpdate[] = [];
    const remove: string[] = [];
    const serviceWrites: Extract<Command, { op: 'service.update' }>[] = [];
    let wakeAt: number | undefined;

    for (const svc of store.services()) {
      const tasks = byService.get(svc.ID) ?? [];
      byService.delete(svc.ID);
      // The rolling updater's step merged with the reconciler's (update-plan.ts).
      const r = this.updater.step({
        service: svc,
        tasks,
        nodes,
        now,
        historyLimit: cluster.Spec.Orchestration.TaskHistoryRetentionLimit,
        newId: generateId,
        eligible: (n: Node) => nodeEligible(svc, n),
      });
      create.push(...r.create);
      update.push(...r.update);
      remove.push(...r.remove);
      if (r.service) serviceWrites.push(r.service);
      if (r.wakeAt !== undefined) wakeAt = Math.min(wakeAt ?? r.wakeAt, r.wakeAt);
    }
    // Tasks of removed services: stop and remove their containers, then forget them.
    const nodeById = new Map(nodes.map((n) => [n.ID, n]));
    for (const tasks of byService.values()) {
      for (const t of tasks) {
        const gone = !t.NodeID || nodeById.get(t.NodeID)?.Status.State !== 'ready';
        if (isTerminalState(t.Status.State) || gone) remove.push(t.ID);
        else if (t.DesiredState !== 'remove') update.push({ id: t.ID, desiredState: 'remove' });
      }
    }

    this.lastPassMs = performance.now() - started;
    const at = new Date(now).toISOString();
    if (create.length) await this.o.propose({ op: 'task.create', at, tasks: create });
    // Scheduling sees the tasks just created, and the tasks this pass stops as stopped.
    const placements = placeTasks(store, nodes, update);
    const all = mergeUpdates([...update, ...placements]);
    if (all.length) await this.o.propose({ op: 'task.update', at, updates: all });
    if (remove.length) await this.o.propose({ op: 'task.remove', at, ids: remove });
    // A status write that did not go through is planned again by another pass.
    for (const cmd of serviceWrites) if (!(await this.updater.commit(cmd))) this.dirty = true;

    if (this.wake) clearTimeout(this.wake);
    this.wake = undefined;
    if (wakeAt !== undefined) {
      this.wake = setTimeout(
        () => {
          this.kick();
        },
        Math.max(10, wakeAt - Date.now()),
      );
    }
  }
}

function mergeUpdates(us: readonly TaskUpdate[]): TaskUpdate[] {
  const m = new Map<string, TaskUpdate>();
  for (const u of us) m.set(u.id, { ...m.get(u.id), ...u });
  return [...m.values()];
}
