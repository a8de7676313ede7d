import { ClusterState, PASS } from './cluster-state.js';
import { FILTER_ORDER, explainFailures, type FilterName } from './filter.js';
import { placeGroup, type CandidateScan } from './spread.js';
import { groupTasks, type TaskGroup } from './task-group.js';
import type { Decision, NodeInfo, TaskSpec } from './types.js';

/**
 * Decides a node for each pending task. Pure and deterministic: the same nodes (in any
 * order) and the same pending list give the same decisions.
 *
 * Tasks are placed group by group (a group is the tasks whose specs are equal apart from ID
 * and slot), groups in the order of their first task, and every placement is visible to the
 * next one: resources, host ports, per-service and total counts all update within the call.
 *
 * For each task, filters run in this order: ready and active node, resources, constraints,
 * max replicas per node, host ports. Among the nodes left, placement preferences spread the
 * tasks over label values, then the node with the fewest tasks of the service wins, then the
 * one with the fewest tasks in total, then the smallest node ID.
 *
 * @returns one decision per pending task, in input order.
 * @throws RangeError on duplicate node or task IDs, or an invalid task spec field.
 */
export function schedule(nodes: readonly NodeInfo[], pending: readonly TaskSpec[]): Decision[] {
  return scheduleWith(nodes, pending, 'auto');
}

/**
 * `schedule` with the candidate scan forced, so tests can check that pruning changes no
 * decision. Internal: not exported from the folder's index.
 */
export function scheduleWith(
  nodes: readonly NodeInfo[],
  pending: readonly TaskSpec[],
  scan: CandidateScan,
): Decision[] {
  const state = new ClusterState(nodes);
  const decisions = new Array<Decision | undefined>(pending.length);
  const groups = groupTasks(pending);
  // As swarmkit: tasks bound to a node first, so the free placements see their resources.
  for (const group of groups) {
    if (group.nodeId !== undefined) placePreassigned(state, group, pending, decisions);
  }
  for (const group of groups) {
    if (group.nodeId !== undefined) continue;
    const { nodes: placed, explanation } = placeGroup(state, group, scan);
    group.members.forEach((member, k) => {
      const taskId = pending[member]?.taskId ?? '';
      const node = placed[k];
      decisions[member] =
        node === undefined
          ? { kind: 'unschedulable', taskId, explanation: explanation ?? 'no suitable node' }
          : { kind: 'assign', taskId, nodeId: nodes[node]?.id ?? '' };
    });
  }
  return decisions.map((d, i) => {
    if (d === undefined) throw new RangeError(`internal: no decision for pending task ${i}`);
    return d;
  });
}

/**
 * Tasks the orchestrator bound to a node: assigned if that node passes every filter, else
 * unschedulable with the bare filter explanation swarmkit gives them (e.g.
 * `insufficient resources on 1 node`, without `no suitable node (...)`).
 */
function placePreassigned(
  state: ClusterState,
  group: TaskGroup,
  pending: readonly TaskSpec[],
  decisions: (Decision | undefined)[],
): void {
  const nodeId = group.nodeId ?? '';
  const i = state.indexOf(nodeId);
  const mask = state.constraintMask(group);
  for (const member of group.members) {
    const taskId = pending[member]?.taskId ?? '';
    if (i === undefined) {
      decisions[member] = {
        kind: 'unschedulable',
        taskId,
        explanation: `node ${JSON.stringify(nodeId)} not found`,
      };
      continue;
    }
    const f = state.firstFailure(i, group, state.serviceCount(group.serviceId, i), mask[i] === 1);
    if (f === PASS) {
      state.assign(i, group);
      decisions[member] = { kind: 'assign', taskId, nodeId };
    } else {
      const counts = FILTER_ORDER.map((_, k) => (k === f ? 1 : 0));
      decisions[member] = { kind: 'unschedulable', taskId, explanation: explainFailures(counts) };
    }
  }
}

/**
 * Why `task` cannot be placed on `nodes` right now, in the words `schedule` would use
 * (`no suitable node (...)`), or undefined when some node accepts it. Each node is counted
 * by the first filter that rejects it. A task with `nodeId` is judged on that node alone.
 */
export function explain(nodes: readonly NodeInfo[], task: TaskSpec): string | undefined {
  const decision = schedule(nodes, [task])[0];
  return decision?.kind === 'unschedulable' ? decision.explanation : undefined;
}

/**
 * The first filter that rejects `task` on `node`, or undefined when the node accepts it.
 * Filters only look at the node itself, so the rest of the cluster is not needed.
 */
export function findFailingFilter(node: NodeInfo, task: TaskSpec): FilterName | undefined {
  const state = new ClusterState([node]);
  const [group] = groupTasks([task]);
  if (group === undefined) return undefined;
  const matches = state.constraintMask(group)[0] === 1;
  const f = state.firstFailure(0, group, state.serviceCount(group.serviceId, 0), matches);
  return f === PASS ? undefined : FILTER_ORDER[f];
}
