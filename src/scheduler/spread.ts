import { PASS, type ClusterState } from './cluster-state.js';
import { formatExplanation } from './filter.js';
import { IndexHeap } from './heap.js';
import type { TaskGroup } from './task-group.js';

/**
 * One branch of the spread tree. Each placement-preference level splits a branch by the
 * nodes' value for that label; nodes without the label share the "" branch. A group without
 * preferences has a single leaf: the root.
 */
interface Branch {
  readonly value: string;
  readonly parent: Branch | undefined;
  /** Tasks of the group's service on every node below, eligible or not (as swarmkit). */
  tasks: number;
  /** Inner branches: children by value; undefined on leaves. */
  readonly children: Map<string, number> | undefined;
  /** During the build: candidate node indexes (leaf) or usable child branch indexes. */
  readonly items: number[];
  /** Leaf: candidate nodes, best first. Inner: children with a candidate, fewest tasks first. */
  heap: IndexHeap;
}

/** What `placeGroup` decided: a node for a prefix of the members, an explanation for the rest. */
export interface GroupPlacement {
  /** Node indexes for `group.members[0..nodes.length)`. */
  readonly nodes: number[];
  /** Set when some members were not placed; it applies to all of them. */
  readonly explanation: string | undefined;
}

/** How `placeGroup` finds candidates: filter every node, or only the best few per leaf. */
export type CandidateScan = 'auto' | 'full' | 'pruned';

const EMPTY = new IndexHeap(() => false);

/**
 * Places the members of `group` one at a time and records each placement in `state`.
 *
 * Each task walks the tree from the root, taking at every level the usable branch with the
 * fewest tasks of the service (ties: smaller value), and in the leaf the node with the fewest
 * tasks of the service, then the fewest tasks overall, then the smallest ID. Placing a task
 * only changes the chosen node, so only that node is re-checked against the filters, and only
 * the heaps along its path are repaired: O(depth · log nodes) per task.
 *
 * Candidates: a leaf never receives more than k tasks (k = group size), and a node without
 * tasks of the service beats every node with some. So a leaf needs only the nodes that
 * already hold the service plus its k best other eligible nodes in load order (`LoadOrder`):
 * after j < k placements at least k − j of those are still untouched and beat every node
 * left out. Small groups use this ('pruned'); large ones filter every node ('full'). Both
 * give the same decisions (a test checks it).
 *
 * Once a task finds no candidate, no node of the cluster can take it (pruning only leaves out
 * nodes while k candidates remain), nor any later member: they share the explanation.
 */
export function placeGroup(
  state: ClusterState,
  group: TaskGroup,
  scan: CandidateScan = 'auto',
): GroupPlacement {
  const svc = state.borrowServiceCounts(group.serviceId);
  try {
    return placeWith(state, group, svc, scan);
  } finally {
    state.releaseServiceCounts(group.serviceId);
  }
}

function placeWith(
  state: ClusterState,
  group: TaskGroup,
  svc: Int32Array,
  scan: CandidateScan,
): GroupPlacement {
  const mask = state.constraintMask(group);
  const { totalTasks, idRank } = state;
  const nodeLess = (a: number, b: number): boolean => {
    const sa = svc[a] ?? 0;
    const sb = svc[b] ?? 0;
    if (sa !== sb) return sa < sb;
    const ta = totalTasks[a] ?? 0;
    const tb = totalTasks[b] ?? 0;
    if (ta !== tb) return ta < tb;
    return (idRank[a] ?? 0) < (idRank[b] ?? 0);
  };
  const passes = (i: number): boolean =>
    state.firstFailure(i, group, svc[i] ?? 0, mask[i] === 1) === PASS;

  const branches: Branch[] = [];
  const newBranch = (value: string, parent: Branch | undefined, leaf: boolean): Branch => {
    const children = leaf ? undefined : new Map<string, number>();
    const branch: Branch = { value, parent, tasks: 0, children, items: [], heap: EMPTY };
    branches.push(branch);
    return branch;
  };
  const branchLess = (a: number, b: number): boolean => {
    const x = branches[a];
    const y = branches[b];
    if (x === undefined || y === undefined) return false;
    return x.tasks !== y.tasks ? x.tasks < y.tasks : x.value < y.value;
  };

  // The tree, built lazily: a leaf's path exists once it holds the service or a candidate
  // (a branch with neither is never chosen and adds nothing to its parents' counts).
  const shape = state.spreadShape(group);
  const depth = group.spread.length;
  const root = newBranch('', undefined, depth === 0);
  const leaves: (Branch | undefined)[] = [];
  const leafOf = (i: number): Branch => {
    const leaf = shape.leafOf[i] ?? 0;
    const known = leaves[leaf];
    if (known !== undefined) return known;
    let b = root;
    (shape.leafPaths[leaf] ?? []).forEach((value, level) => {
      const index = b.children?.get(value);
      let child = index === undefined ? undefined : branches[index];
      if (child === undefined) {
        b.children?.set(value, branches.length);
        child = newBranch(value, b, level === depth - 1);
      }
      b = child;
    });
    leaves[leaf] = b;
    return b;
  };
  const holders = state.serviceEntries(group.serviceId) ?? new Map<number, number>();
  for (const [i, count] of holders) {
    for (let b: Branch | undefined = leafOf(i); b !== undefined; b = b.parent) b.tasks += count;
  }

  // Candidates, per leaf.
  const k = group.members.length;
  const leafCount = shape.leafPaths.length;
  const pruned = scan === 'pruned' || (scan === 'auto' && k * leafCount * 4 < state.size);
  if (pruned) {
    for (const i of holders.keys()) if (passes(i)) leafOf(i).items.push(i);
    for (const order of state.loadOrders(shape)) {
      for (let p = 0, found = 0; p < order.size && found < k; p++) {
        const i = order.at(p);
        if ((svc[i] ?? 0) === 0 && passes(i)) {
          leafOf(i).items.push(i);
          found++;
        }
      }
    }
  } else {
    for (let i = 0; i < state.size; i++) if (passes(i)) leafOf(i).items.push(i);
  }

  // Heaps. Children were created after their parents, so a reverse sweep builds bottom-up.
  for (let b = branches.length - 1; b >= 0; b--) {
    const branch = branches[b];
    if (branch === undefined) continue;
    if (branch.children === undefined) {
      branch.heap = new IndexHeap(nodeLess, branch.items);
    } else {
      for (const child of branch.children.values()) {
        if ((branches[child]?.heap.size ?? 0) > 0) branch.items.push(child);
      }
      branch.heap = new IndexHeap(branchLess, branch.items);
    }
  }

  const placed: number[] = [];
  for (let m = 0; m < k; m++) {
    if (root.heap.size === 0) {
      const failures = state.countFailures(group, svc, mask);
      return { nodes: placed, explanation: formatExplanation(failures) };
    }
    let b = root;
    while (b.children !== undefined) {
      const next = branches[b.heap.top()];
      if (next === undefined) throw new RangeError('internal: dangling spread branch');
      b = next;
    }
    const node = b.heap.top();
    state.assign(node, group, svc);
    placed.push(node);

    if (passes(node)) b.heap.siftDownTop();
    else b.heap.pop();
    // Up the path: one more task everywhere; re-sift (or drop an exhausted child) in each parent.
    for (let child: Branch = b; ;) {
      child.tasks++;
      const parent = child.parent;
      if (parent === undefined) break;
      if (child.heap.size === 0) parent.heap.pop();
      else parent.heap.siftDownTop();
      child = parent;
    }
  }
  return { nodes: placed, explanation: undefined };
}
