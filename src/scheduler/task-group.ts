import { formatConstraint } from './constraint.js';
import { parseSpreadDescriptor, type SpreadSource } from './placement-pref.js';
import type { Constraint, HostPort, PlacementPref, PortProtocol, TaskSpec } from './types.js';

/**
 * Pending tasks that only differ by ID and slot. The filters give the same answer for every
 * member, so a group is checked against the nodes once and then placed one task at a time
 * (swarmkit groups by service and spec version for the same reason).
 */
export interface TaskGroup {
  readonly serviceId: string;
  /** Set for tasks the orchestrator already bound to a node (global services). */
  readonly nodeId: string | undefined;
  readonly constraints: readonly Constraint[];
  /** Canonical text of `constraints`: equal keys mean equal constraint results. */
  readonly constraintKey: string;
  /** The usable spread levels, outermost first. */
  readonly spread: readonly SpreadSource[];
  /** Canonical text of `spread`: equal keys mean equal spread trees. */
  readonly spreadKey: string;
  readonly maxReplicasPerNode: number;
  readonly nanoCpus: number;
  readonly memoryBytes: number;
  /** Host ports encoded by `encodeHostPort`, without duplicates. */
  readonly portKeys: readonly number[];
  /** Indexes into the pending list, in input order. */
  readonly members: number[];
}

const PROTOCOL_CODE: Readonly<Record<PortProtocol, number>> = { tcp: 0, udp: 1, sctp: 2 };

/** A host port as one number, so per-node port sets stay cheap. */
export function encodeHostPort(p: HostPort): number {
  return p.port * 4 + PROTOCOL_CODE[p.protocol];
}

function checkSpec(t: TaskSpec): void {
  const r = t.reservations;
  const where = `task ${JSON.stringify(t.taskId)}`;
  if (!(r.nanoCpus >= 0 && r.memoryBytes >= 0)) {
    throw new RangeError(`${where}: reservations must be non-negative numbers`);
  }
  if (!Number.isInteger(t.maxReplicasPerNode) || t.maxReplicasPerNode < 0) {
    throw new RangeError(`${where}: maxReplicasPerNode must be a non-negative integer`);
  }
  for (const p of t.hostPorts) {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      throw new RangeError(`${where}: invalid host port ${p.port}`);
    }
  }
}

/** Whether two specs are equal for placement, judged by identity of their parts (cheap). */
function isSameSpec(a: TaskSpec, b: TaskSpec): boolean {
  return (
    a.serviceId === b.serviceId &&
    a.nodeId === b.nodeId &&
    a.constraints === b.constraints &&
    a.placementPrefs === b.placementPrefs &&
    a.hostPorts === b.hostPorts &&
    a.maxReplicasPerNode === b.maxReplicasPerNode &&
    a.reservations.nanoCpus === b.reservations.nanoCpus &&
    a.reservations.memoryBytes === b.reservations.memoryBytes
  );
}

/**
 * Groups `pending` by everything placement looks at. Groups come out in the order of their
 * first member, members in input order.
 *
 * @throws RangeError on a duplicate task ID or an invalid spec field.
 */
export function groupTasks(pending: readonly TaskSpec[]): TaskGroup[] {
  // Specs built from one service spec usually share their arrays, so key text is memoized
  // per array: this keeps grouping at a few map lookups per task.
  const constraintKeys = new Map<readonly Constraint[], string>();
  const prefKeys = new Map<readonly PlacementPref[], string>();
  const portKeys = new Map<readonly HostPort[], number[]>();
  const byKey = new Map<string, TaskGroup>();
  const groups: TaskGroup[] = [];
  const seen = new Set<string>();

  let previous: TaskSpec | undefined;
  let previousGroup: TaskGroup | undefined;
  pending.forEach((t, index) => {
    if (seen.has(t.taskId)) {
      throw new RangeError(`duplicate pending task ${JSON.stringify(t.taskId)}`);
    }
    seen.add(t.taskId);
    // Fast path: a service's tasks usually arrive together and share their spec objects.
    if (previousGroup !== undefined && previous !== undefined && isSameSpec(previous, t)) {
      previousGroup.members.push(index);
      previous = t;
      return;
    }
    previous = t;

    let ck = constraintKeys.get(t.constraints);
    if (ck === undefined) {
      ck = t.constraints.map(formatConstraint).sort().join('\n');
      constraintKeys.set(t.constraints, ck);
    }
    let pk = prefKeys.get(t.placementPrefs);
    if (pk === undefined) {
      pk = t.placementPrefs.map((p) => p.spreadDescriptor).join('\n');
      prefKeys.set(t.placementPrefs, pk);
    }
    let ports = portKeys.get(t.hostPorts);
    if (ports === undefined) {
      ports = [...new Set(t.hostPorts.map(encodeHostPort))].sort((a, b) => a - b);
      portKeys.set(t.hostPorts, ports);
    }
    const r = t.reservations;
    const key = `${t.serviceId}\0${t.nodeId ?? ''}\0${ck}\0${pk}\0${t.maxReplicasPerNode}\0${r.nanoCpus}\0${r.memoryBytes}\0${ports.join(',')}`;

    const existing = byKey.get(key);
    if (existing !== undefined) {
      existing.members.push(index);
      previousGroup = existing;
      return;
    }
    checkSpec(t);
    const spread: SpreadSource[] = [];
    for (const p of t.placementPrefs) {
      const s = parseSpreadDescriptor(p.spreadDescriptor);
      if (s !== undefined) spread.push(s);
    }
    const group: TaskGroup = {
      serviceId: t.serviceId,
      nodeId: t.nodeId,
      constraints: t.constraints,
      constraintKey: ck,
      spread,
      spreadKey: spread.map((x) => `${x.source}.${x.label}`).join('\n'),
      maxReplicasPerNode: t.maxReplicasPerNode,
      nanoCpus: r.nanoCpus,
      memoryBytes: r.memoryBytes,
      portKeys: ports,
      members: [index],
    };
    byKey.set(key, group);
    groups.push(group);
    previousGroup = group;
  });
  return groups;
}
