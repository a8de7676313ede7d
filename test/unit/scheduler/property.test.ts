/**
 * Property test: random clusters and task batches from a seeded PRNG, checked by an oracle
 * written here independently of the scheduler's code. A failure names its seed; rerun one
 * with SCHEDULER_SEED=<n>.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseConstraint,
  parsePlacementPref,
  schedule,
  type Decision,
  type HostPort,
  type NodeInfo,
  type NodeTask,
  type TaskSpec,
} from '../../../src/scheduler/index.js';
import { scheduleWith } from '../../../src/scheduler/schedule.js';
import { CPU, GIB, node, seededRandom, task } from './fixtures.js';

const SEEDS = process.env['SCHEDULER_SEED']
  ? [Number(process.env['SCHEDULER_SEED'])]
  : range(1, 300);

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

interface Spec {
  raw: string[];
  max: number;
  cpu: number;
  mem: number;
  ports: HostPort[];
  spread: boolean;
}

/** Cluster sizes: small (every group sees every node) or wide (many small groups, pruning). */
interface Shape {
  maxNodes: number;
  maxServices: number;
  maxTasks: number;
}
const SMALL: Shape = { maxNodes: 12, maxServices: 5, maxTasks: 40 };
const WIDE: Shape = { maxNodes: 60, maxServices: 25, maxTasks: 50 };

function generate(
  seed: number,
  shape: Shape,
): {
  nodes: NodeInfo[];
  pending: TaskSpec[];
  specs: Map<string, Spec>;
} {
  const rand = seededRandom(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)] as T;
  const zones = ['z1', 'z2', 'z3'];
  const ports: HostPort[] = [
    { port: 80, protocol: 'tcp' },
    { port: 80, protocol: 'udp' },
    { port: 443, protocol: 'tcp' },
  ];

  const nodes: NodeInfo[] = [];
  for (let i = int(0, shape.maxNodes); i > 0; i--) {
    const freePorts = [...ports];
    const tasks: NodeTask[] = [];
    for (let k = int(0, 3); k > 0; k--) {
      const port = rand() < 0.3 ? freePorts.splice(int(0, freePorts.length - 1), 1) : [];
      tasks.push({
        taskId: `old-${i}-${k}`,
        serviceId: `old-${int(0, 2)}`,
        reservations: { nanoCpus: int(0, 2) * CPU, memoryBytes: int(0, 2) * GIB },
        hostPorts: port,
      });
    }
    const labels: Record<string, string> = rand() < 0.8 ? { zone: pick(zones) } : {};
    nodes.push(
      node(`n${i}`, {
        role: rand() < 0.3 ? 'manager' : 'worker',
        status: rand() < 0.85 ? 'ready' : pick(['down', 'unknown', 'disconnected'] as const),
        availability: rand() < 0.85 ? 'active' : pick(['pause', 'drain'] as const),
        labels,
        engineLabels: rand() < 0.5 ? { disk: 'ssd' } : {},
        resources: { nanoCpus: int(1, 6) * CPU, memoryBytes: int(1, 6) * GIB },
        tasks,
      }),
    );
  }

  const vocabulary = [
    ...zones.flatMap((z) => [`node.labels.zone==${z}`, `node.labels.zone!=${z}`]),
    'node.role==manager',
    'node.role!=manager',
    'engine.labels.disk==ssd',
  ];
  const specs = new Map<string, Spec>();
  const pending: TaskSpec[] = [];
  for (let s = int(1, shape.maxServices); s > 0; s--) {
    const spec: Spec = {
      raw: rand() < 0.5 ? [pick(vocabulary)] : [],
      max: rand() < 0.3 ? int(1, 3) : 0,
      cpu: rand() < 0.4 ? int(1, 2) * CPU : 0,
      mem: rand() < 0.3 ? GIB : 0,
      ports: rand() < 0.2 ? [pick(ports)] : [],
      spread: rand() < 0.4,
    };
    specs.set(`svc${s}`, spec);
  }
  const serviceIds = [...specs.keys()];
  for (let t = int(0, shape.maxTasks); t > 0; t--) {
    const serviceId = pick(serviceIds);
    const spec = specs.get(serviceId);
    if (spec === undefined) continue;
    pending.push(
      task(`t${t}`, serviceId, {
        constraints: spec.raw.map(parseConstraint),
        placementPrefs: spec.spread ? [parsePlacementPref('spread=node.labels.zone')] : [],
        maxReplicasPerNode: spec.max,
        reservations: { nanoCpus: spec.cpu, memoryBytes: spec.mem },
        hostPorts: spec.ports,
      }),
    );
  }
  return { nodes, pending, specs };
}

/** The oracle's own reading of the constraint vocabulary above. */
function satisfies(n: NodeInfo, raw: string): boolean {
  const op = raw.includes('==') ? '==' : '!=';
  const [key = '', value = ''] = raw.split(op);
  const actual =
    key === 'node.role'
      ? n.role
      : key.startsWith('node.labels.')
        ? (n.labels['zone'] ?? '')
        : (n.engineLabels['disk'] ?? '');
  return op === '==' ? actual === value : actual !== value;
}

/** The cluster after the decisions, tallied by the oracle. */
class Tally {
  readonly cpu = new Map<string, number>();
  readonly mem = new Map<string, number>();
  readonly ports = new Map<string, string[]>();
  readonly perService = new Map<string, number>();
  constructor(
    nodes: readonly NodeInfo[],
    pending: readonly TaskSpec[],
    decisions: readonly Decision[],
  ) {
    const byId = new Map(pending.map((t) => [t.taskId, t]));
    for (const n of nodes) {
      this.cpu.set(n.id, n.resources.nanoCpus);
      this.mem.set(n.id, n.resources.memoryBytes);
      for (const t of n.tasks) this.add(n.id, t.serviceId, t.reservations, t.hostPorts);
    }
    for (const d of decisions) {
      const t = byId.get(d.taskId);
      if (d.kind === 'assign' && t) this.add(d.nodeId, t.serviceId, t.reservations, t.hostPorts);
    }
  }
  count(nodeId: string, serviceId: string): number {
    return this.perService.get(`${nodeId}/${serviceId}`) ?? 0;
  }
  private add(
    nodeId: string,
    serviceId: string,
    r: TaskSpec['reservations'],
    ports: readonly HostPort[],
  ) {
    this.cpu.set(nodeId, (this.cpu.get(nodeId) ?? 0) - r.nanoCpus);
    this.mem.set(nodeId, (this.mem.get(nodeId) ?? 0) - r.memoryBytes);
    this.ports.set(nodeId, [
      ...(this.ports.get(nodeId) ?? []),
      ...ports.map((p) => `${p.port}/${p.protocol}`),
    ]);
    this.perService.set(`${nodeId}/${serviceId}`, this.count(nodeId, serviceId) + 1);
  }
}

function isUsable(n: NodeInfo): boolean {
  return n.status === 'ready' && n.availability === 'active';
}

function check(seed: number, shape: Shape): void {
  const { nodes, pending, specs } = generate(seed, shape);
  const decisions = schedule(nodes, pending);
  const at = `seed ${seed} (${shape === WIDE ? 'wide' : 'small'})`;
  assert.equal(decisions.length, pending.length, at);
  const tally = new Tally(nodes, pending, decisions);
  const nodeById = new Map(nodes.map((n) => [n.id, n]));

  decisions.forEach((d, i) => {
    const t = pending[i];
    const spec = t ? specs.get(t.serviceId) : undefined;
    assert.ok(t && spec && d.taskId === t.taskId, `${at}: decision ${i} out of order`);
    if (d.kind === 'assign') {
      const n = nodeById.get(d.nodeId);
      assert.ok(n, `${at}: unknown node ${d.nodeId}`);
      const where = `${at}: ${t.taskId} on ${n.id}`;
      assert.ok(isUsable(n), `${where}: node not ready/active`);
      assert.ok(
        spec.raw.every((c) => satisfies(n, c)),
        `${where}: constraints ${spec.raw.join()}`,
      );
      if (spec.max > 0)
        assert.ok(tally.count(n.id, t.serviceId) <= spec.max, `${where}: max replicas`);
      if (spec.cpu > 0 || spec.mem > 0) {
        assert.ok(
          (tally.cpu.get(n.id) ?? 0) >= 0 && (tally.mem.get(n.id) ?? 0) >= 0,
          `${where}: overcommitted`,
        );
      }
      const used = tally.ports.get(n.id) ?? [];
      assert.equal(
        new Set(used).size,
        used.length,
        `${where}: host port used twice ${used.join()}`,
      );
    } else {
      // Filters only tighten during a call, so a task that found no node still finds none.
      assert.match(d.explanation, /^no suitable node( \(.+\))?$/, at);
      for (const n of nodes) {
        const fits =
          isUsable(n) &&
          (spec.cpu + spec.mem === 0 ||
            (spec.cpu <= (tally.cpu.get(n.id) ?? 0) && spec.mem <= (tally.mem.get(n.id) ?? 0))) &&
          spec.raw.every((c) => satisfies(n, c)) &&
          (spec.max === 0 || tally.count(n.id, t.serviceId) < spec.max) &&
          spec.ports.every(
            (p) => !(tally.ports.get(n.id) ?? []).includes(`${p.port}/${p.protocol}`),
          );
        assert.ok(!fits, `${at}: ${t.taskId} unschedulable but fits on ${n.id}`);
      }
    }
  });

  // Unconstrained services spread evenly over the usable nodes.
  for (const [serviceId, spec] of specs) {
    if (spec.raw.length + spec.max + spec.cpu + spec.mem + spec.ports.length > 0 || spec.spread)
      continue;
    const counts = nodes.filter(isUsable).map((n) => tally.count(n.id, serviceId));
    if (counts.length > 0)
      assert.ok(
        Math.max(...counts) - Math.min(...counts) <= 1,
        `${at}: ${serviceId} uneven ${counts.join()}`,
      );
  }

  // Node order never changes the outcome, nor does pruning the candidates.
  assert.deepEqual(
    schedule([...nodes].reverse(), pending),
    decisions,
    `${at}: depends on node order`,
  );
  assert.deepEqual(scheduleWith(nodes, pending, 'full'), decisions, `${at}: full scan differs`);
  assert.deepEqual(scheduleWith(nodes, pending, 'pruned'), decisions, `${at}: pruned differs`);
}

describe('schedule: property sweep', () => {
  it(`never violates a filter, leaves no placeable task behind, stays deterministic (${SEEDS.length} seeds)`, () => {
    for (const seed of SEEDS) check(seed, SMALL);
  });

  it(`gives the same decisions with and without candidate pruning on wide clusters (${SEEDS.length} seeds)`, () => {
    for (const seed of SEEDS) check(seed, WIDE);
  });
});
