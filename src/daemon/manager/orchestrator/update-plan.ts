import type {
  Node,
  Service,
  ServiceSpec,
  Task,
  UpdateConfig,
  UpdateState,
} from '../../../shared/api-types.js';
import { NANOS_PER_MS } from '../../../shared/api-types.js';
import type { Command, TaskUpdate } from '../store/types.js';
import {
  groupKey,
  groupTasks,
  isActive,
  isTerminalState,
  newTask,
  reconcileService,
  sameSpec,
  type ReconcileInput,
} from './reconcile.js';
import { hostPorts } from './placement.js';

/*
 * Rolling updates and rollbacks as a pure step (Docker Swarm's semantics, swarmkit's updater
 * as the model). Everything it needs is in the store: the service (Spec, PreviousSpec,
 * UpdateStatus with StartedAt), its tasks (CreatedAt, Status, RunningSince) and the time, so a
 * new leader picks an update up where the old one left it. Per group (a replicated slot or a
 * global service's node):
 *
 *  - dirty: a live task runs an outdated spec and no live task runs the current one. A free
 *    worker (there are `Parallelism` of them, 0 = as many as dirty groups) takes the group:
 *    stop-first stops the old task and creates the new one; start-first creates the new one
 *    and stops the old one once the new one runs (the reconciler leaves such groups alone:
 *    `held`).
 *  - a worker stays busy with its group until the group's first task of this update settles
 *    (reaches running, or ends), then for `Delay`.
 *  - a task of this update that fails, is rejected or exits before it has run for `Monitor`
 *    counts its group as failed; past `MaxFailureRatio` of the update's groups, the failure
 *    action applies: pause, continue, or an automatic rollback to PreviousSpec (a rollback
 *    that fails pauses; a rollback is never rolled back).
 *  - with no outdated live task left, every worker free (its task settled, its delay over)
 *    and every monitor window closed, the update completes (a rollback: rollback_completed,
 *    an automatic one keeping its reason in the message).
 */

const NS_PER_S = 1_000_000_000;

/** Docker's defaults for UpdateConfig and RollbackConfig. */
export const DEFAULT_UPDATE_CONFIG: UpdateConfig = {
  Parallelism: 1,
  Delay: 0,
  FailureAction: 'pause',
  Monitor: 5 * NS_PER_S,
  MaxFailureRatio: 0,
  Order: 'stop-first',
};

export type UpdateStatus = NonNullable<Service['UpdateStatus']>;
type ServiceUpdateCommand = Extract<Command, { op: 'service.update' }>;

export const MANUAL_ROLLBACK_MESSAGE = 'manually requested rollback';

export interface UpdatePlanInput {
  readonly service: Service;
  readonly tasks: readonly Task[];
  readonly now: number;
  /** Makes task IDs (injected so the step stays pure). */
  readonly newId: () => string;
}

export interface UpdatePlan {
  /** New tasks for dirty groups (both orders). */
  readonly create: Task[];
  /** Old tasks to stop (desired state shutdown). */
  readonly update: TaskUpdate[];
  /**
   * A write to the service itself (a status transition or an automatic rollback), guarded by
   * `expectVersion`. When present, `create` and `update` are empty: the service changes first.
   */
  readonly service?: ServiceUpdateCommand;
  /** Group keys (`groupKey`) whose extra live tasks the reconciler must leave alone. */
  readonly held: ReadonlySet<string>;
  /** When a delay or monitor window ends, as an absolute time. */
  readonly wakeAt?: number;
  /** What was decided, for the logs. */
  readonly note?: string;
}

/** Is an update or rollback running (not paused, not finished)? */
export function isUpdateActive(st: UpdateStatus | undefined): boolean {
  return st?.State === 'updating' || st?.State === 'rollback_started';
}

function isPaused(st: UpdateStatus | undefined): boolean {
  return st?.State === 'paused' || st?.State === 'rollback_paused';
}

function isRollback(st: UpdateStatus | undefined): boolean {
  return st?.State === 'rollback_started' || st?.State === 'rollback_paused';
}

/** The policy in force: RollbackConfig while rolling back, UpdateConfig otherwise. */
export function updatePolicy(svc: Service): UpdateConfig {
  const cfg = isRollback(svc.UpdateStatus) ? svc.Spec.RollbackConfig : svc.Spec.UpdateConfig;
  return { ...DEFAULT_UPDATE_CONFIG, ...cfg };
}

/** Ended in a way that counts against an update: failed, rejected or exited. */
function isFailure(t: Task): boolean {
  const s = t.Status.State;
  return s === 'failed' || s === 'rejected' || s === 'complete';
}

const ms = (iso: string): number => Date.parse(iso);
const iso = (t: number): string => new Date(t).toISOString();

interface Group {
  readonly key: string;
  readonly slot?: number;
  readonly nodeId?: string;
  /** Live tasks running an outdated spec. */
  readonly liveOld: Task[];
  /**
   * The group's newest task when it runs an outdated spec, ended, and still waits for the
   * restart policy (desired running, nothing live): the update replaces it at once, as
   * swarmkit's updater does, instead of the reconciler restarting it later on the new spec.
   * A rollback of a failed update meets these: the failed tasks of the update.
   */
  readonly endedOld?: Task;
  /** The newest live task running the current spec. */
  readonly liveNew?: Task;
  /**
   * The update's task here: the first task of the current spec created since the update
   * started. Later ones are restarts (or `continue` retries): not watched, as in Swarm.
   */
  readonly first?: Task;
}

/** Does the group still run (or wait to restart) an outdated spec? */
const outdated = (g: Group): boolean => g.liveOld.length > 0 || g.endedOld !== undefined;

function groupsOf(svc: Service, tasks: readonly Task[], since: number): Group[] {
  const replicas = svc.Spec.Mode.Global ? undefined : (svc.Spec.Mode.Replicated?.Replicas ?? 1);
  const byKey = new Map<string, Task[]>();
  for (const t of tasks) {
    // Slots above the replica count are being scaled away by the reconciler.
    if (replicas !== undefined && (t.Slot === undefined || t.Slot > replicas)) continue;
    byKey.set(groupKey(t), [...(byKey.get(groupKey(t)) ?? []), t]);
  }
  const template = svc.Spec.TaskTemplate;
  const out: Group[] = [];
  for (const [key, ts] of byKey) {
    const sorted = [...ts].sort((a, b) => ms(b.CreatedAt) - ms(a.CreatedAt));
    const live = sorted.filter(isActive);
    const current = sorted.filter((t) => sameSpec(t.Spec, template));
    const liveNew = live.find((t) => sameSpec(t.Spec, template));
    const first = current.filter((t) => ms(t.CreatedAt) >= since).at(-1);
    const newest = sorted[0];
    const endedOld =
      live.length === 0 &&
      newest !== undefined &&
      isTerminalState(newest.Status.State) &&
      (newest.DesiredState === 'running' || newest.DesiredState === 'ready') &&
      !sameSpec(newest.Spec, template)
        ? newest
        : undefined;
    out.push({
      key,
      ...(sorted[0]?.Slot !== undefined ? { slot: sorted[0].Slot } : {}),
      ...(sorted[0]?.NodeID !== undefined && sorted[0].Slot === undefined
        ? { nodeId: sorted[0].NodeID }
        : {}),
      liveOld: live.filter((t) => !sameSpec(t.Spec, template)),
      ...(endedOld ? { endedOld } : {}),
      ...(liveNew ? { liveNew } : {}),
      ...(first ? { first } : {}),
    });
  }
  return out.sort(
    (a, b) => (a.slot ?? 0) - (b.slot ?? 0) || (a.nodeId ?? '').localeCompare(b.nodeId ?? ''),
  );
}

/** When the task stopped being a worker's concern: it ran, or it ended. */
function settledAt(t: Task): number | undefined {
  if (t.RunningSince !== undefined) return ms(t.RunningSince);
  if (isTerminalState(t.Status.State)) return ms(t.Status.Timestamp);
  // Stopped before it ran (its node was lost, ...): the worker moves on.
  if (!isActive(t)) return ms(t.UpdatedAt);
  return undefined;
}

/** Did this task of the update fail within its monitor window? */
function failedInWindow(t: Task, monitorMs: number): boolean {
  if (!isFailure(t)) return false;
  if (t.RunningSince === undefined) return true;
  return ms(t.Status.Timestamp) - ms(t.RunningSince) <= monitorMs;
}

function serviceWrite(
  svc: Service,
  now: number,
  changes: {
    readonly spec?: ServiceSpec;
    readonly dropPrevious?: boolean;
    readonly status: UpdateStatus;
  },
): ServiceUpdateCommand {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { ID, Version, CreatedAt, UpdatedAt, PreviousSpec, Endpoint, ...rest } = svc;
  const spec = changes.spec ?? svc.Spec;
  const ports = changes.spec ? spec.EndpointSpec?.Ports : Endpoint?.Ports;
  return {
    op: 'service.update',
    at: iso(now),
    id: svc.ID,
    expectVersion: svc.Version.Index,
    service: {
      ...rest,
      Spec: spec,
      ...(PreviousSpec && !changes.dropPrevious ? { PreviousSpec } : {}),
      ...(changes.spec
        ? ports
          ? { Endpoint: { Ports: ports } }
          : {}
        : Endpoint
          ? { Endpoint }
          : {}),
      UpdateStatus: changes.status,
    },
  };
}

function statusOnly(
  svc: Service,
  now: number,
  state: UpdateState,
  message: string,
  note: string,
): UpdatePlan {
  const prev = svc.UpdateStatus;
  const done = state === 'completed' || state === 'rollback_completed';
  const status: UpdateStatus = {
    State: state,
    StartedAt: state === 'updating' || !prev?.StartedAt ? iso(now) : prev.StartedAt,
    ...(done ? { CompletedAt: iso(now) } : {}),
    Message: message,
  };
  return {
    create: [],
    update: [],
    held: new Set(),
    service: serviceWrite(svc, now, { status }),
    note,
  };
}

const NOTHING: UpdatePlan = { create: [], update: [], held: new Set() };

/** The failure action once too many groups failed. */
function onFailure(svc: Service, cfg: UpdateConfig, culprit: Task, now: number): UpdatePlan {
  const st = svc.UpdateStatus;
  if (isRollback(st)) {
    return statusOnly(
      svc,
      now,
      'rollback_paused',
      `rollback paused due to failure or early termination of task ${culprit.ID}`,
      'rollback paused',
    );
  }
  if (cfg.FailureAction === 'rollback' && svc.PreviousSpec) {
    const message = `update rolled back due to failure or early termination of task ${culprit.ID}`;
    return {
      ...NOTHING,
      service: serviceWrite(svc, now, {
        spec: svc.PreviousSpec,
        dropPrevious: true,
        status: { State: 'rollback_started', StartedAt: iso(now), Message: message },
      }),
      note: message,
    };
  }
  const why = cfg.FailureAction === 'rollback' ? ' (no previous spec to roll back to)' : '';
  return statusOnly(
    svc,
    now,
    'paused',
    `update paused due to failure or early termination of task ${culprit.ID}${why}`,
    'update paused',
  );
}

/**
 * Decides the next step of a service's rolling update or rollback from the store alone.
 * Services with nothing to update get an empty plan (and keep the reconciler's rules).
 */
export function planUpdate(inp: UpdatePlanInput): UpdatePlan {
  const { service: svc, now } = inp;
  const st = svc.UpdateStatus;
  if (isPaused(st)) return NOTHING;
  const active = isUpdateActive(st);
  const since = active && st?.StartedAt ? ms(st.StartedAt) : Number.POSITIVE_INFINITY;
  const groups = groupsOf(svc, inp.tasks, since);

  if (!active) {
    // Outdated tasks without an update in progress (its status was reset): start one.
    if (groups.some((g) => g.liveOld.length > 0 && !g.liveNew))
      return statusOnly(svc, now, 'updating', 'update in progress', 'update started');
    return NOTHING;
  }

  const cfg = updatePolicy(svc);
  const monitorMs = cfg.Monitor / NANOS_PER_MS;
  const delayMs = cfg.Delay / NANOS_PER_MS;

  // Failures first: they may stop the update before anything else happens.
  const inUpdate = groups.filter((g) => outdated(g) || g.first !== undefined);
  if (cfg.FailureAction !== 'continue' && inUpdate.length > 0) {
    const failed = inUpdate
      .map((g) => g.first)
      .filter((t): t is Task => t !== undefined && failedInWindow(t, monitorMs))
      .sort((a, b) => ms(a.Status.Timestamp) - ms(b.Status.Timestamp));
    const culprit = failed[0];
    if (culprit && failed.length / inUpdate.length > cfg.MaxFailureRatio)
      return onFailure(svc, cfg, culprit, now);
  }

  const create: Task[] = [];
  const update: TaskUpdate[] = [];
  const held = new Set<string>();
  let wakeAt: number | undefined;
  const wake = (at: number): void => {
    wakeAt = Math.min(wakeAt ?? at, at);
  };
  const stop = (ts: readonly Task[]): void => {
    for (const t of ts) update.push({ id: t.ID, desiredState: 'shutdown' });
  };

  let busy = 0;
  let windowsOpen = false;
  const dirty: Group[] = [];
  for (const g of groups) {
    // A new task runs next to old ones: stop them once it runs (start-first), or now. The
    // updater alone decides which task of such a group stays, so the reconciler holds off
    // (its own rule might keep the old task, which is further along, and stop the new one).
    if (g.liveNew && g.liveOld.length > 0) {
      held.add(g.key);
      if (g.liveNew.Status.State === 'running' || cfg.Order === 'stop-first') stop(g.liveOld);
    }
    // The group's worker is busy until the update's task there settles, then for Delay.
    let isBusy = false;
    const t = g.first;
    if (t) {
      const settled = settledAt(t);
      if (settled === undefined) isBusy = true;
      else if (settled + delayMs > now) {
        isBusy = true;
        wake(settled + delayMs);
      }
      if (isActive(t) && t.RunningSince !== undefined) {
        const closes = ms(t.RunningSince) + monitorMs;
        if (closes > now) {
          windowsOpen = true;
          wake(closes);
        }
      }
    }
    if (isBusy) busy++;
    else if (outdated(g) && !g.liveNew) dirty.push(g);
  }

  const workers = cfg.Parallelism === 0 ? Number.POSITIVE_INFINITY : cfg.Parallelism;
  const take = dirty.slice(0, Math.max(0, workers - busy));
  for (const g of take) {
    const t = newTask(svc, inp.newId(), now, g.slot, g.nodeId);
    if (g.endedOld) stop([g.endedOld]);
    if (cfg.Order === 'stop-first' && g.liveOld.length > 0) {
      // As swarmkit: the replacement is prepared (desired ready) while the old task stops,
      // and started once it has (`promoteReady`), so the two never run side by side.
      create.push({ ...t, DesiredState: 'ready' });
      stop(g.liveOld);
    } else {
      create.push(t);
      if (cfg.Order !== 'stop-first') held.add(g.key);
    }
  }

  const finished = busy === 0 && !windowsOpen && !groups.some(outdated);
  if (finished) {
    const rollback = isRollback(st);
    const message = rollback
      ? st?.Message && st.Message !== MANUAL_ROLLBACK_MESSAGE
        ? `rollback completed (${st.Message})`
        : 'rollback completed'
      : 'update completed';
    return statusOnly(
      svc,
      now,
      rollback ? 'rollback_completed' : 'completed',
      message,
      rollback ? 'rollback completed' : 'update completed',
    );
  }
  const note =
    take.length > 0
      ? `${isRollback(st) ? 'rolling back' : 'updating'} ${take.map((g) => g.key).join(' ')}`
      : undefined;
  return {
    create,
    update,
    held,
    ...(wakeAt !== undefined ? { wakeAt } : {}),
    ...(note ? { note } : {}),
  };
}

/**
 * Tasks waiting in desired `ready` (stop-first replacements) whose group has no other task
 * still up: the old task ended, or its node is down (it reports nothing more). They go to
 * desired `running`. Decided from the store alone, so a new leader finishes the handover.
 *
 * With `fixedHostPort` (the service publishes a fixed port in host mode) a replacement also waits
 * for every other task of the service up on its node: the scheduler does not count tasks that
 * are stopping, so a replacement can be placed next to another slot's old task, which still
 * holds the port ("port is already allocated" if it started then).
 */
export function promoteReady(
  tasks: readonly Task[],
  nodes: readonly Pick<Node, 'ID' | 'Status'>[],
  fixedHostPort = false,
): TaskUpdate[] {
  const waiting = tasks.filter(
    (t) => t.DesiredState === 'ready' && !isTerminalState(t.Status.State),
  );
  if (waiting.length === 0) return [];
  const down = new Set(nodes.filter((n) => n.Status.State === 'down').map((n) => n.ID));
  const up = (t: Task): boolean =>
    !isTerminalState(t.Status.State) && t.NodeID !== undefined && !down.has(t.NodeID);
  // Another waiting replacement does not hold one back (the reconciler keeps one).
  const holds = (u: Task): boolean => u.DesiredState !== 'ready' && up(u);
  const byGroup = groupTasks(tasks);
  // Nodes with a task of the service up: computed once, not per waiting task.
  const busy = fixedHostPort ? new Set(tasks.filter(holds).map((u) => u.NodeID)) : undefined;
  const out: TaskUpdate[] = [];
  for (const t of waiting) {
    if ((byGroup.get(groupKey(t)) ?? []).some(holds)) continue;
    if (busy && t.NodeID !== undefined && busy.has(t.NodeID)) continue;
    out.push({ id: t.ID, desiredState: 'running' });
  }
  return out;
}

export interface ServicePlan {
  readonly create: Task[];
  readonly update: TaskUpdate[];
  readonly remove: string[];
  readonly service?: ServiceUpdateCommand;
  readonly wakeAt?: number;
  readonly note?: string;
}

/**
 * One service's orchestration step: the rolling updater's plan, then the reconciler with the
 * updater's groups held, merged so that the two never both replace a group: where the
 * reconciler already creates or stops tasks in a group, the updater's new task there waits.
 */
export function planService(inp: ReconcileInput): ServicePlan {
  const up = planUpdate({
    service: inp.service,
    tasks: inp.tasks,
    now: inp.now,
    newId: inp.newId,
  });
  const r = reconcileService({ ...inp, hold: up.held });
  const touched = new Set<string>();
  const byId = new Map(inp.tasks.map((t) => [t.ID, t]));
  for (const t of r.create) touched.add(groupKey(t));
  for (const u of r.update) {
    const t = byId.get(u.id);
    if (t && u.desiredState !== undefined && isActive(t)) touched.add(groupKey(t));
  }
  const create = up.create.filter((t) => !touched.has(groupKey(t)));
  const kept = new Set(create.map(groupKey));
  // Without its new task, a stop-first group keeps its old one running.
  const dropped = new Set(up.create.filter((t) => !kept.has(groupKey(t))).map(groupKey));
  const upUpdates = up.update.filter((u) => {
    const t = byId.get(u.id);
    return !t || !dropped.has(groupKey(t));
  });
  // Stop-first replacements whose old task has stopped start now (unless this pass stops them).
  const decided = new Set([...r.update, ...upUpdates].map((u) => u.id));
  const promote = promoteReady(inp.tasks, inp.nodes, hostPorts(inp.service).length > 0).filter(
    (u) => !decided.has(u.id),
  );
  const wakes = [r.wakeAt, up.wakeAt].filter((x): x is number => x !== undefined);
  // An automatic rollback changes the spec: new tasks wait for the pass that sees it.
  const respec = up.service !== undefined && up.service.service.Spec !== inp.service.Spec;
  return {
    create: respec ? [] : [...r.create, ...create],
    update: [...r.update, ...upUpdates, ...promote],
    remove: r.remove,
    ...(up.service ? { service: up.service } : {}),
    ...(wakes.length ? { wakeAt: Math.min(...wakes) } : {}),
    ...(up.note ? { note: up.note } : {}),
  };
}
