import type { Node, Service, Task, TaskTemplate } from '../../../shared/api-types.js';
import { TASK_STATES } from '../../../shared/api-types.js';
import type { TaskUpdate } from '../store/types.js';

/*
 * The orchestrators' pure decision step: given one service, its tasks, the nodes and the time,
 * which tasks to create, which to stop, which to forget. The loop (loop.ts) proposes the result.
 */

export interface ReconcileInput {
  readonly service: Service;
  readonly tasks: readonly Task[];
  readonly nodes: readonly Node[];
  readonly now: number;
  readonly historyLimit: number;
  /** Makes task IDs (injected so the step stays pure). */
  readonly newId: () => string;
  /** Does this node satisfy the service's placement constraints (global services)? */
  readonly eligible: (node: Node) => boolean;
  /**
   * Groups (see `groupKey`) the rolling updater is working on: their extra live tasks are left
   * alone (a start-first update runs the old and the new task side by side for a while).
   */
  readonly hold?: ReadonlySet<string>;
}

export interface ReconcileResult {
  readonly create: Task[];
  readonly update: TaskUpdate[];
  readonly remove: string[];
  /** When to look again (a restart delay is pending), as an absolute time. */
  readonly wakeAt?: number;
}

const idx = (s: Task['Status']['State']): number => TASK_STATES.indexOf(s);
export const isTerminalState = (s: Task['Status']['State']): boolean => idx(s) >= idx('complete');
/** Desired to run and not yet ended. */
export const isActive = (t: Task): boolean =>
  idx(t.DesiredState) <= idx('running') && !isTerminalState(t.Status.State);
const NS_PER_MS = 1_000_000;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function newTask(
  svc: Service,
  id: string,
  now: number,
  slot: number | undefined,
  nodeId?: string,
): Task {
  const at = iso(now);
  return {
    ID: id,
    Version: { Index: 0 },
    CreatedAt: at,
    UpdatedAt: at,
    Labels: {},
    Spec: svc.Spec.TaskTemplate,
    ServiceID: svc.ID,
    ...(slot !== undefined ? { Slot: slot } : {}),
    ...(nodeId ? { NodeID: nodeId } : {}),
    Status: { Timestamp: at, State: 'new', Message: 'created' },
    DesiredState: 'running',
    SpecVersion: { Index: svc.Version.Index },
    ...(svc.Spec.EndpointSpec?.Ports?.length
      ? { Endpoint: { Ports: svc.Spec.EndpointSpec.Ports } }
      : {}),
  };
}

/** A task's group: its slot (replicated services) or its node (global services). */
export const groupKey = (t: Pick<Task, 'Slot' | 'NodeID'>): string =>
  t.Slot !== undefined ? `s${t.Slot}` : `n${t.NodeID ?? ''}`;

/** Tasks by group (`groupKey`): slots for replicated services, nodes for global ones. */
export function groupTasks(tasks: readonly Task[]): Map<string, Task[]> {
  const groups = new Map<string, Task[]>();
  for (const t of tasks) {
    const key = groupKey(t);
    const list = groups.get(key);
    if (list) list.push(t);
    else groups.set(key, [t]);
  }
  return groups;
}

/**
 * The canonical text of a spec, kept per object: store objects are never changed in place
 * (a write replaces them, and a task's status update keeps its Spec object), and every pass
 * compares every task's spec with its service's template; at 5,000 tasks re-serializing
 * both each time was most of the leader's CPU.
 */
const specText = new WeakMap<TaskTemplate, string>();
function textOf(spec: TaskTemplate): string {
  let t = specText.get(spec);
  if (t === undefined) {
    t = JSON.stringify(spec);
    specText.set(spec, t);
  }
  return t;
}

export function sameSpec(a: TaskTemplate, b: TaskTemplate): boolean {
  return a === b || textOf(a) === textOf(b);
}

/**
 * Does this ended task count toward the restart policy's MaxAttempts at `now`? Tasks the
 * orchestrator stopped on purpose (updates, scale, lost nodes) end in `shutdown` and do not.
 */
function isAttempt(svc: Service, t: Task, now: number): boolean {
  const windowMs = (svc.Spec.TaskTemplate.RestartPolicy?.Window ?? 0) / NS_PER_MS;
  return (
    isTerminalState(t.Status.State) &&
    t.Status.State !== 'shutdown' &&
    t.Status.State !== 'remove' &&
    (windowMs === 0 || now - Date.parse(t.Status.Timestamp) <= windowMs)
  );
}

/**
 * A slot's (or global node's) tasks, current first: tasks still desired to run before those
 * told to stop, then newest first. Desired state breaks ties that creation times cannot (two
 * passes in one millisecond, or a new leader whose clock is behind the old one's).
 */
function byRecency(a: Task, b: Task): number {
  const d = idx(a.DesiredState) - idx(b.DesiredState);
  return d !== 0 ? d : Date.parse(b.CreatedAt) - Date.parse(a.CreatedAt);
}

/** The restart policy's verdict for a slot whose last task ended. */
function restartVerdict(
  svc: Service,
  ended: Task,
  history: readonly Task[],
  now: number,
): 'now' | 'later' | 'never' {
  const rp = svc.Spec.TaskTemplate.RestartPolicy ?? {};
  const cond = rp.Condition ?? 'any';
  const failed = ended.Status.State !== 'complete';
  if (cond === 'none') return 'never';
  if (cond === 'on-failure' && !failed) return 'never';
  const max = rp.MaxAttempts ?? 0;
  if (max > 0 && history.filter((t) => isAttempt(svc, t, now)).length > max) return 'never';
  const delayMs = (rp.Delay ?? 5_000 * NS_PER_MS) / NS_PER_MS;
  return now - Date.parse(ended.Status.Timestamp) >= delayMs ? 'now' : 'later';
}

function nodeUsable(n: Node | undefined): boolean {
  return n !== undefined && n.Status.State !== 'down' && n.Spec.Availability !== 'drain';
}

export function reconcileService(inp: ReconcileInput): ReconcileResult {
  const { service: svc, now } = inp;
  const create: Task[] = [];
  const update: TaskUpdate[] = [];
  const nodes = new Map(inp.nodes.map((n) => [n.ID, n]));
  let wakeAt: number | undefined;
  const shutdown = (t: Task): void => {
    if (idx(t.DesiredState) < idx('shutdown')) update.push({ id: t.ID, desiredState: 'shutdown' });
  };

  const groups = groupTasks(inp.tasks);

  const handleGroup = (
    key: string,
    tasks: readonly Task[],
    want: boolean,
    make: () => Task,
  ): void => {
    const sorted = [...tasks].sort(byRecency);
    const active = sorted.filter(isActive);
    // Tasks on a node that is gone, down or draining are replaced in the same slot.
    const live = active.filter((t) => !t.NodeID || nodeUsable(nodes.get(t.NodeID)));
    for (const t of active) if (!live.includes(t)) shutdown(t);
    // The ended task whose restart the policy is deciding, if any (it keeps desired running).
    let candidate: Task | undefined;
    if (!want) {
      for (const t of live) shutdown(t);
    } else {
      // Keep one live task, the furthest along (running over not yet placed), newest on ties;
      // extras (e.g. after a failover race) go, unless the updater holds the slot.
      const keep = live.reduce<Task | undefined>(
        (best, t) => (!best || idx(t.Status.State) > idx(best.Status.State) ? t : best),
        undefined,
      );
      if (!inp.hold?.has(key)) for (const t of live) if (t !== keep) shutdown(t);
      if (!keep) {
        const last = sorted[0];
        if (
          last &&
          isTerminalState(last.Status.State) &&
          idx(last.DesiredState) <= idx('running')
        ) {
          // The slot's task ended while wanted: the restart policy decides.
          candidate = last;
          const v = restartVerdict(svc, last, sorted, now);
          if (v === 'now') {
            shutdown(last);
            create.push(make());
          } else if (v === 'never') {
            // Done for good: desired `complete` marks the slot as finished by policy.
            update.push({ id: last.ID, desiredState: 'complete' });
          } else {
            const rp = svc.Spec.TaskTemplate.RestartPolicy ?? {};
            const at =
              Date.parse(last.Status.Timestamp) + (rp.Delay ?? 5_000 * NS_PER_MS) / NS_PER_MS;
            wakeAt = Math.min(wakeAt ?? at, at);
          }
        } else if (last?.DesiredState !== 'complete') {
          // An empty slot, or its task was stopped on purpose (node lost, drained, updated).
          create.push(make());
        }
      }
    }
    // Ended tasks that should no longer run get desired shutdown so they read as history.
    for (const t of sorted)
      if (
        isTerminalState(t.Status.State) &&
        idx(t.DesiredState) <= idx('running') &&
        t !== candidate
      )
        shutdown(t);
  };

  if (svc.Spec.Mode.Global) {
    const eligible = inp.nodes.filter(
      (n) => n.Status.State !== 'down' && n.Spec.Availability === 'active' && inp.eligible(n),
    );
    const seen = new Set<string>();
    // A paused node keeps what it runs but gets nothing new: its tasks are left as they are.
    for (const n of inp.nodes)
      if (n.Status.State !== 'down' && n.Spec.Availability === 'pause' && inp.eligible(n))
        seen.add(n.ID);
    for (const n of eligible) {
      seen.add(n.ID);
      handleGroup(`n${n.ID}`, groups.get(`n${n.ID}`) ?? [], true, () =>
        newTask(svc, inp.newId(), now, undefined, n.ID),
      );
    }
    for (const [k, tasks] of groups) {
      if (!seen.has(k.slice(1)))
        handleGroup(k, tasks, false, () => newTask(svc, inp.newId(), now, undefined));
    }
  } else {
    const replicas = svc.Spec.Mode.Replicated?.Replicas ?? 1;
    const slots = new Set<number>();
    for (const t of inp.tasks) if (t.Slot !== undefined) slots.add(t.Slot);
    for (let s = 1; s <= replicas; s++) slots.add(s);
    for (const s of [...slots].sort((a, b) => b - a)) {
      handleGroup(`s${s}`, groups.get(`s${s}`) ?? [], s <= replicas, () =>
        newTask(svc, inp.newId(), now, s),
      );
    }
  }

  // Task reaper: keep `historyLimit` ended tasks per slot/node, oldest go first.
  const remove: string[] = [];
  const pendingShutdown = new Set(
    update.filter((u) => u.desiredState === 'shutdown').map((u) => u.id),
  );
  const finishing = new Set(update.filter((u) => u.desiredState === 'complete').map((u) => u.id));
  const rp = svc.Spec.TaskTemplate.RestartPolicy;
  const maxAttempts = rp?.Condition === 'none' ? 0 : (rp?.MaxAttempts ?? 0);
  for (const tasks of groups.values()) {
    const history = tasks
      .filter(
        (t) =>
          isTerminalState(t.Status.State) &&
          (idx(t.DesiredState) >= idx('shutdown') || pendingShutdown.has(t.ID)),
      )
      .sort((a, b) => Date.parse(b.CreatedAt) - Date.parse(a.CreatedAt));
    // NOTE(orch-tests): the restart attempts are counted from the slot's ended tasks, so
    // while the slot may still restart, the reaper keeps the newest MaxAttempts+1 that count
    // (even past the history limit); otherwise a limit below MaxAttempts restarts forever.
    const finished = tasks.some((t) => t.DesiredState === 'complete' || finishing.has(t.ID));
    let attempts = tasks.filter(
      (t) =>
        !history.includes(t) && idx(t.DesiredState) <= idx('running') && isAttempt(svc, t, now),
    ).length;
    history.forEach((t, i) => {
      const counts = maxAttempts > 0 && !finished && isAttempt(svc, t, now);
      if (counts && attempts <= maxAttempts) {
        attempts++;
        return;
      }
      if (i >= Math.max(0, inp.historyLimit)) remove.push(t.ID);
    });
  }
  return { create, update, remove, ...(wakeAt !== undefined ? { wakeAt } : {}) };
}
