import { assertNever } from './constraint.js';

/**
 * The filters, in the fixed order they run. A node is rejected by the first filter it fails,
 * and only that filter counts it in an explanation.
 *
 * NOTE(scheduler): swarmkit runs host ports before max-replicas; tswarm's contract puts
 * max-replicas first. The order only shows when one node fails both.
 */
export const FILTER_ORDER = [
  'ready',
  'resources',
  'constraints',
  'max-replicas',
  'host-ports',
] as const;

export type FilterName = (typeof FILTER_ORDER)[number];

/** How many nodes each filter rejected first, in `FILTER_ORDER`'s order. */
export type FailureCounts = readonly number[];

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

/**
 * One filter's part of an explanation for `nodes` rejected nodes, worded as Docker
 * (swarmkit's `Filter.Explain`). The max-replicas text carries no count there either.
 */
export function explainFilter(filter: FilterName, nodes: number): string {
  switch (filter) {
    case 'ready':
      return `${nodes} ${plural(nodes, 'node', 'nodes')} not available for new tasks`;
    case 'resources':
      return `insufficient resources on ${nodes} ${plural(nodes, 'node', 'nodes')}`;
    case 'constraints':
      return `scheduling constraints not satisfied on ${nodes} ${plural(nodes, 'node', 'nodes')}`;
    case 'max-replicas':
      return 'max replicas per node limit exceed';
    case 'host-ports':
      return `host-mode port already in use on ${nodes} ${plural(nodes, 'node', 'nodes')}`;
    default:
      return assertNever(filter);
  }
}

/**
 * The full task error Docker shows in `service ps`: `no suitable node (a; b; c)`, parts
 * ordered by how many nodes each filter rejected (most first; ties in filter order, which is
 * what Go's stable small-slice sort gives swarmkit), or just `no suitable node` when no
 * filter rejected anything (e.g. the cluster has no nodes).
 */
export function formatExplanation(failures: FailureCounts): string {
  const parts = explainFailures(failures);
  return parts === '' ? 'no suitable node' : `no suitable node (${parts})`;
}

/**
 * The inside of an explanation: `a; b; c`, or '' when no filter rejected anything. On its
 * own it is swarmkit's error for a task preassigned to a node that cannot take it.
 */
export function explainFailures(failures: FailureCounts): string {
  const parts: { filter: FilterName; count: number; order: number }[] = [];
  FILTER_ORDER.forEach((filter, order) => {
    const count = failures[order] ?? 0;
    if (count > 0) parts.push({ filter, count, order });
  });
  parts.sort((a, b) => b.count - a.count || a.order - b.order);
  return parts.map((p) => explainFilter(p.filter, p.count)).join('; ');
}
