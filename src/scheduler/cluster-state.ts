import { matchesConstraints } from './constraint.js';
import { FILTER_ORDER, type FailureCounts } from './filter.js';
import { readSpreadValue, type SpreadSource } from './placement-pref.js';
import { LoadOrder } from './load-order.js';
import { encodeHostPort, type TaskGroup } from './task-group.js';
import type { NodeInfo } from './types.js';

/** Filter positions in `FILTER_ORDER`; `PASS` means every filter accepted the node. */
const READY = 0;
const RESOURCES = 1;
const CONSTRAINTS = 2;
const MAX_REPLICAS = 3;
const HOST_PORTS = 4;
export const PASS = -1;

/** One spread level over all nodes: `values[codes[i]]` is node i's value. */
export interface SpreadColumn {
  readonly codes: Int32Array;
  readonly values: readonly string[];
}

/**
 * The leaves of a spread tree over all nodes, shared by every group with the same placement
 * preferences. Without preferences there is one leaf holding every node.
 */
export interface SpreadShape {
  /** The leaf of each node. */
  readonly leafOf: Int32Array;
  /** Each leaf's value at every level, outermost first. */
  readonly leafPaths: readonly (readonly string[])[];
  /** Ready nodes of each leaf in load order, once some group asked (`loadOrders`). */
  orders: LoadOrder[] | undefined;
}

/**
 * The mutable, indexed copy of the cluster that one `schedule` call works on. Nodes are
 * addressed by their index in the input array; every counter lives in a typed array so the
 * filters and the ordering cost a few loads per node. Assignments made during the call update
 * it, which is how later placements in a batch see earlier ones.
 *
 * The caller's `NodeInfo` objects are never modified.
 */
export class ClusterState {
  readonly size: number;
  readonly isReady: Uint8Array;
  readonly freeCpu: Float64Array;
  readonly freeMem: Float64Array;
  readonly totalTasks: Int32Array;
  /** Each node's position in ascending ID order: the final, stable tie-break. */
  readonly idRank: Int32Array;
  private readonly usedPorts: (Set<number> | undefined)[];
  /** serviceId → node index → tasks of that service on the node (sparse). */
  private readonly byService = new Map<string, Map<number, number>>();
  private readonly constraintMasks = new Map<string, Uint8Array>();
  private readonly spreadColumns = new Map<string, SpreadColumn>();
  private readonly indexById = new Map<string, number>();
  private readonly shapes = new Map<string, SpreadShape>();
  private readonly scratch: Int32Array;

  /** @throws RangeError when two nodes share an ID. */
  constructor(readonly nodes: readonly NodeInfo[]) {
    const n = nodes.length;
    this.size = n;
    this.isReady = new Uint8Array(n);
    this.freeCpu = new Float64Array(n);
    this.freeMem = new Float64Array(n);
    this.totalTasks = new Int32Array(n);
    this.idRank = new Int32Array(n);
    this.usedPorts = new Array<Set<number> | undefined>(n);
    this.scratch = new Int32Array(n);

    nodes.forEach((node, i) => {
      if (this.indexById.has(node.id)) {
        throw new RangeError(`duplicate node ${JSON.stringify(node.id)}`);
      }
      this.indexById.set(node.id, i);
      this.isReady[i] = node.status === 'ready' && node.availability === 'active' ? 1 : 0;
      let cpu = node.resources.nanoCpus;
      let mem = node.resources.memoryBytes;
      for (const t of node.tasks) {
        cpu -= t.reservations.nanoCpus;
        mem -= t.reservations.memoryBytes;
        this.addServiceTask(t.serviceId, i);
        for (const p of t.hostPorts) this.portsOf(i).add(encodeHostPort(p));
      }
      this.freeCpu[i] = cpu;
      this.freeMem[i] = mem;
      this.totalTasks[i] = node.tasks.length;
    });

    const order = nodes.map((_, i) => i);
    order.sort((a, b) => {
      const x = nodes[a]?.id ?? '';
      const y = nodes[b]?.id ?? '';
      return x < y ? -1 : x > y ? 1 : 0;
    });
    order.forEach((nodeIndex, rank) => (this.idRank[nodeIndex] = rank));
  }

  /**
   * This service's task count per node, as a dense array. The array is a scratch buffer shared
   * by all services: hand it back with `releaseServiceCounts` before borrowing it again.
   */
  borrowServiceCounts(serviceId: string): Int32Array {
    const dense = this.scratch;
    const sparse = this.byService.get(serviceId);
    if (sparse !== undefined) for (const [i, count] of sparse) dense[i] = count;
    return dense;
  }

  /** Zeroes the scratch buffer again (every non-zero entry is in the sparse map). */
  releaseServiceCounts(serviceId: string): void {
    const sparse = this.byService.get(serviceId);
    if (sparse !== undefined) for (const i of sparse.keys()) this.scratch[i] = 0;
  }

  /** 1 where the node satisfies the group's constraints; computed once per constraint set. */
  constraintMask(group: TaskGroup): Uint8Array {
    let mask = this.constraintMasks.get(group.constraintKey);
    if (mask === undefined) {
      mask = new Uint8Array(this.size);
      this.nodes.forEach((node, i) => {
        if (mask !== undefined) mask[i] = matchesConstraints(node, group.constraints) ? 1 : 0;
      });
      this.constraintMasks.set(group.constraintKey, mask);
    }
    return mask;
  }

  /** The spread tree's leaves for `group`'s preferences; computed once per preference list. */
  spreadShape(group: TaskGroup): SpreadShape {
    let shape = this.shapes.get(group.spreadKey);
    if (shape === undefined) {
      const columns = group.spread.map((s) => this.spreadColumn(s));
      const leafOf = new Int32Array(this.size);
      const leafPaths: string[][] = [];
      const leafByCodes = new Map<string, number>();
      for (let i = 0; i < this.size; i++) {
        const codes = columns.map((c) => c.codes[i] ?? 0).join(',');
        let leaf = leafByCodes.get(codes);
        if (leaf === undefined) {
          leaf = leafPaths.length;
          leafPaths.push(columns.map((c) => c.values[c.codes[i] ?? 0] ?? ''));
          leafByCodes.set(codes, leaf);
        }
        leafOf[i] = leaf;
      }
      if (this.size === 0) leafPaths.push(columns.map(() => ''));
      shape = { leafOf, leafPaths, orders: undefined };
      this.shapes.set(group.spreadKey, shape);
    }
    return shape;
  }

  /** The ready nodes of each leaf of `shape`, sorted by load; `assign` keeps them sorted. */
  loadOrders(shape: SpreadShape): LoadOrder[] {
    if (shape.orders === undefined) {
      const members = shape.leafPaths.map((): number[] => []);
      for (let i = 0; i < this.size; i++) {
        if (this.isReady[i] === 1) members[shape.leafOf[i] ?? 0]?.push(i);
      }
      shape.orders = members.map((m) => new LoadOrder(m, this.totalTasks, this.idRank));
    }
    return shape.orders;
  }

  private spreadColumn(s: SpreadSource): SpreadColumn {
    const key = `${s.source}.${s.label}`;
    let column = this.spreadColumns.get(key);
    if (column === undefined) {
      const codes = new Int32Array(this.size);
      const values: string[] = [];
      const codeOf = new Map<string, number>();
      this.nodes.forEach((node, i) => {
        const value = readSpreadValue(node, s);
        let code = codeOf.get(value);
        if (code === undefined) {
          code = values.length;
          values.push(value);
          codeOf.set(value, code);
        }
        codes[i] = code;
      });
      column = { codes, values };
      this.spreadColumns.set(key, column);
    }
    return column;
  }

  /**
   * The index in `FILTER_ORDER` of the first filter that rejects node `i` for `group`, or
   * `PASS`. `serviceCount` is the group's service tasks on the node and `matches` whether the
   * node satisfies the group's constraints (from `borrowServiceCounts`, `constraintMask`).
   */
  firstFailure(i: number, group: TaskGroup, serviceCount: number, matches: boolean): number {
    if (this.isReady[i] !== 1) return READY;
    const { nanoCpus, memoryBytes } = group;
    // As swarmkit, the resource filter is off for tasks that reserve nothing.
    if (
      (nanoCpus > 0 || memoryBytes > 0) &&
      (nanoCpus > (this.freeCpu[i] ?? 0) || memoryBytes > (this.freeMem[i] ?? 0))
    ) {
      return RESOURCES;
    }
    if (!matches) return CONSTRAINTS;
    const max = group.maxReplicasPerNode;
    if (max > 0 && serviceCount >= max) return MAX_REPLICAS;
    if (group.portKeys.length > 0) {
      const used = this.usedPorts[i];
      if (used !== undefined) for (const k of group.portKeys) if (used.has(k)) return HOST_PORTS;
    }
    return PASS;
  }

  /** How many nodes each filter rejects first for `group`, right now. */
  countFailures(group: TaskGroup, svc: Int32Array, mask: Uint8Array): FailureCounts {
    const counts = FILTER_ORDER.map(() => 0);
    for (let i = 0; i < this.size; i++) {
      const f = this.firstFailure(i, group, svc[i] ?? 0, mask[i] === 1);
      if (f !== PASS) counts[f] = (counts[f] ?? 0) + 1;
    }
    return counts;
  }

  /** The nodes holding tasks of `serviceId`, with their counts. */
  serviceEntries(serviceId: string): ReadonlyMap<number, number> | undefined {
    return this.byService.get(serviceId);
  }

  /** Tasks of `serviceId` on node `i`. */
  serviceCount(serviceId: string, i: number): number {
    return this.byService.get(serviceId)?.get(i) ?? 0;
  }

  /** The index of the node with this ID, or undefined. */
  indexOf(nodeId: string): number | undefined {
    return this.indexById.get(nodeId);
  }

  /** Records one task of `group` on node `i` (and in the group's dense `svc` counts, if given). */
  assign(i: number, group: TaskGroup, svc?: Int32Array): void {
    this.freeCpu[i] = (this.freeCpu[i] ?? 0) - group.nanoCpus;
    this.freeMem[i] = (this.freeMem[i] ?? 0) - group.memoryBytes;
    const before = this.totalTasks[i] ?? 0;
    this.totalTasks[i] = before + 1;
    if (this.isReady[i] === 1) {
      for (const shape of this.shapes.values()) {
        shape.orders?.[shape.leafOf[i] ?? 0]?.bump(i, before);
      }
    }
    if (svc !== undefined) svc[i] = (svc[i] ?? 0) + 1;
    this.addServiceTask(group.serviceId, i);
    if (group.portKeys.length > 0) {
      const used = this.portsOf(i);
      for (const k of group.portKeys) used.add(k);
    }
  }

  private addServiceTask(serviceId: string, i: number): void {
    let sparse = this.byService.get(serviceId);
    if (sparse === undefined) {
      sparse = new Map();
      this.byService.set(serviceId, sparse);
    }
    sparse.set(i, (sparse.get(i) ?? 0) + 1);
  }

  private portsOf(i: number): Set<number> {
    let used = this.usedPorts[i];
    if (used === undefined) {
      used = new Set();
      this.usedPorts[i] = used;
    }
    return used;
  }
}
