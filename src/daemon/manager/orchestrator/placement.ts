import { TASK_STATES, type Node, type Service, type Task } from '../../../shared/api-types.js';
import {
  matchesConstraints,
  parseConstraint,
  parsePlacementPref,
  schedule,
  type NodeInfo,
  type TaskSpec,
} from '../../../scheduler/index.js';
import type { Store } from '../store/store.js';
import type { TaskUpdate } from '../store/types.js';
import { isActive } from './reconcile.js';

/** The fixed host-mode ports of a service: one task per node can hold each. */
export function hostPorts(svc: Service | undefined): { port: number; protocol: 'tcp' | 'udp' }[] {
  return (svc?.Spec.EndpointSpec?.Ports ?? [])
    .filter((p) => p.PublishMode === 'host' && p.PublishedPort)
    .map((p) => ({ port: p.PublishedPort ?? 0, protocol: p.Protocol }));
}

function toNodeInfo(n: Node, onNode: readonly Task[], services: Map<string, Service>): NodeInfo {
  return {
    id: n.ID,
    hostname: n.Description.Hostname,
    role: n.Spec.Role,
    status: n.Status.State,
    availability: n.Spec.Availability,
    labels: n.Spec.Labels,
    engineLabels: n.Description.Engine.Labels,
    resources: {
      nanoCpus: n.Description.Resources.NanoCPUs,
      memoryBytes: n.Description.Resources.MemoryBytes,
    },
    tasks: onNode
      .filter((t) => isActive(t))
      .map((t) => {
        const r = t.Spec.Resources?.Reservations;
        return {
          taskId: t.ID,
          serviceId: t.ServiceID,
          reservations: { nanoCpus: r?.NanoCPUs ?? 0, memoryBytes: r?.MemoryBytes ?? 0 },
          hostPorts: hostPorts(services.get(t.ServiceID)),
        };
      }),
  };
}

function toTaskSpec(t: Task, svc: Service | undefined): TaskSpec {
  const p = t.Spec.Placement;
  const r = t.Spec.Resources?.Reservations;
  return {
    taskId: t.ID,
    serviceId: t.ServiceID,
    ...(t.Slot !== undefined ? { slot: t.Slot } : {}),
    constraints: (p?.Constraints ?? []).map(parseConstraint),
    placementPrefs: (p?.Preferences ?? []).map((x) =>
      parsePlacementPref(`spread=${x.Spread.SpreadDescriptor}`),
    ),
    maxReplicasPerNode: p?.MaxReplicas ?? 0,
    reservations: { nanoCpus: r?.NanoCPUs ?? 0, memoryBytes: r?.MemoryBytes ?? 0 },
    hostPorts: hostPorts(svc),
  };
}

/** Global services: does the node satisfy the service's constraints? */
export function nodeEligible(svc: Service, n: Node): boolean {
  const constraints = (svc.Spec.TaskTemplate.Placement?.Constraints ?? []).map(parseConstraint);
  if (constraints.length === 0) return true;
  return matchesConstraints(toNodeInfo(n, [], new Map()), constraints);
}

/**
 * The tasks as they will be once `pending` (updates of this pass, not yet written) lands. A
 * stop-first update stops a slot's old task in the same pass that creates its new one: the
 * scheduler must not count the old task on its node, or the replacement avoids that node
 * (and a rebalancing `service update --force` piles tasks onto the others).
 */
function withPending(tasks: readonly Task[], pending: readonly TaskUpdate[]): readonly Task[] {
  if (pending.length === 0) return tasks;
  const byId = new Map<string, TaskUpdate>();
  for (const u of pending) byId.set(u.id, { ...byId.get(u.id), ...u });
  return tasks.map((t) => {
    const u = byId.get(t.ID);
    if (!u) return t;
    return {
      ...t,
      ...(u.desiredState !== undefined ? { DesiredState: u.desiredState } : {}),
      // As the store applies it: an observed state only moves forward.
      ...(u.status !== undefined &&
      TASK_STATES.indexOf(u.status.State) >= TASK_STATES.indexOf(t.Status.State)
        ? { Status: u.status }
        : {}),
      ...(u.nodeId !== undefined ? { NodeID: u.nodeId } : {}),
    };
  });
}

/**
 * Assigns nodes to tasks that want to run and have none (new or pending): `assigned` with the
 * node, or `pending` with Docker's `no suitable node (...)` explanation. Global tasks come
 * with their node and are only checked.
 */
export function placeTasks(
  store: Store,
  nodes: readonly Node[],
  unwritten: readonly TaskUpdate[] = [],
): TaskUpdate[] {
  const tasks = withPending(store.tasks(), unwritten);
  const services = new Map(store.services().map((s) => [s.ID, s]));
  const pending = tasks.filter(
    (t) =>
      (t.DesiredState === 'running' || t.DesiredState === 'ready') &&
      (t.Status.State === 'new' || t.Status.State === 'pending') &&
      services.has(t.ServiceID),
  );
  if (pending.length === 0) return [];
  const at = new Date().toISOString();
  const out: TaskUpdate[] = [];
  const toSchedule: Task[] = [];
  for (const t of pending) {
    if (t.NodeID) {
      out.push({
        id: t.ID,
        status: { Timestamp: at, State: 'assigned', Message: 'scheduler assigned task to node' },
      });
    } else toSchedule.push(t);
  }
  if (toSchedule.length === 0) return out;
  // Tasks grouped by node once: per node a scan of every task was O(nodes x tasks) per pass.
  const byNode = new Map<string, Task[]>();
  for (const t of tasks) {
    if (!t.NodeID) continue;
    const list = byNode.get(t.NodeID);
    if (list) list.push(t);
    else byNode.set(t.NodeID, [t]);
  }
  const infos = nodes.map((n) => toNodeInfo(n, byNode.get(n.ID) ?? [], services));
  const decisions = schedule(
    infos,
    toSchedule.map((t) => toTaskSpec(t, services.get(t.ServiceID))),
  );
  const byId = new Map(toSchedule.map((t) => [t.ID, t]));
  for (const d of decisions) {
    const t = byId.get(d.taskId);
    if (!t) continue;
    if (d.kind === 'assign') {
      out.push({
        id: t.ID,
        nodeId: d.nodeId,
        status: { Timestamp: at, State: 'assigned', Message: 'scheduler assigned task to node' },
      });
    } else if (t.Status.State !== 'pending' || t.Status.Err !== d.explanation) {
      out.push({
        id: t.ID,
        status: {
          Timestamp: at,
          State: 'pending',
          Message: 'pending task scheduling',
          Err: d.explanation,
        },
      });
    }
  }
  return out;
}
