/** Builders for scheduler unit tests (a helper: not a test file). */
import type { Decision, NodeInfo, NodeTask, TaskSpec } from '../../../src/scheduler/index.js';
export { seededRandom } from '../../helpers/prng.js';

export const CPU = 1e9;
export const GIB = 1024 ** 3;

/** A ready, active worker with 4 CPUs and 8 GiB, no labels and no tasks, unless overridden. */
export function node(id: string, over: Partial<NodeInfo> = {}): NodeInfo {
  return {
    id,
    hostname: `host-${id}`,
    role: 'worker',
    status: 'ready',
    availability: 'active',
    labels: {},
    engineLabels: {},
    resources: { nanoCpus: 4 * CPU, memoryBytes: 8 * GIB },
    tasks: [],
    ...over,
  };
}

/** A pending task with no constraints, preferences, reservations or ports, unless overridden. */
export function task(taskId: string, serviceId: string, over: Partial<TaskSpec> = {}): TaskSpec {
  return {
    taskId,
    serviceId,
    constraints: [],
    placementPrefs: [],
    maxReplicasPerNode: 0,
    reservations: { nanoCpus: 0, memoryBytes: 0 },
    hostPorts: [],
    ...over,
  };
}

/** `n` tasks of one service sharing one spec, IDs `<serviceId>.1` … `<serviceId>.n`. */
export function replicas(serviceId: string, n: number, over: Partial<TaskSpec> = {}): TaskSpec[] {
  return Array.from({ length: n }, (_, i) => task(`${serviceId}.${i + 1}`, serviceId, over));
}

/** `n` already-running tasks of a service, with optional reservations per task. */
export function running(serviceId: string, n: number, over: Partial<NodeTask> = {}): NodeTask[] {
  return Array.from({ length: n }, (_, i) => ({
    taskId: `${serviceId}-running-${i}`,
    serviceId,
    reservations: { nanoCpus: 0, memoryBytes: 0 },
    hostPorts: [],
    ...over,
  }));
}

/** Tasks assigned per node ID, for nodes that received any. */
export function countByNode(decisions: readonly Decision[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of decisions) if (d.kind === 'assign') out[d.nodeId] = (out[d.nodeId] ?? 0) + 1;
  return out;
}

/** The explanations of the unschedulable decisions, in order. */
export function explanations(decisions: readonly Decision[]): string[] {
  return decisions.flatMap((d) => (d.kind === 'unschedulable' ? [d.explanation] : []));
}
