/**
 * Scheduler benchmark: places 100,000 pending tasks onto 5,000 nodes in one schedule() call.
 * The workload is generated from a seeded PRNG, so every run sees the same cluster.
 *
 *   npm run bench -- scheduler [--seed N] [--runs N] [--max-replicas N]
 *
 * Services get 1..max-replicas tasks each (default 400, about 480 services).
 *
 * Prints one line per run on stderr, then one final JSON line of figures on stdout; `ms` is the wall time of the
 * first (cold) run, which is what a freshly started manager pays, and `cpu_ms` its CPU time
 * (user + system, all threads: GC included), a steadier figure on a busy machine.
 */
import {
  parseConstraint,
  parsePlacementPref,
  schedule,
  type Constraint,
  type HostPort,
  type NodeInfo,
  type PlacementPref,
  type TaskSpec,
} from '../src/scheduler/index.js';
import { emit, progress } from './lib.js';
import { seededRandom } from '../test/helpers/prng.js';

const NODES = 5000;
const TASKS = 100_000;
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const CPU = 1e9;

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const raw = i >= 0 ? process.argv[i + 1] : undefined;
  return raw === undefined ? fallback : Number(raw);
}

function generate(
  seed: number,
  maxService: number,
): { nodes: NodeInfo[]; pending: TaskSpec[]; services: number } {
  const rand = seededRandom(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => {
    const x = xs[Math.floor(rand() * xs.length)];
    if (x === undefined) throw new RangeError('pick from an empty list');
    return x;
  };
  const zones = ['z1', 'z2', 'z3', 'z4', 'z5'];

  const nodes: NodeInfo[] = [];
  for (let i = 0; i < NODES; i++) {
    const r = rand();
    const labels: Record<string, string> = { rack: `r${int(0, 99)}` };
    if (rand() < 0.9) labels['zone'] = pick(zones);
    const tasks = [];
    for (let k = int(0, 4); k > 0; k--) {
      tasks.push({
        taskId: `existing-${i}-${k}`,
        serviceId: `old-${int(0, 199)}`,
        reservations: { nanoCpus: 0.25 * CPU, memoryBytes: 256 * MIB },
        hostPorts: [],
      });
    }
    nodes.push({
      id: `${Math.floor(rand() * 36 ** 8)
        .toString(36)
        .padStart(8, '0')}${i.toString(36).padStart(4, '0')}`,
      hostname: `host-${i}`,
      role: i < 5 ? 'manager' : 'worker',
      status: r < 0.98 ? 'ready' : r < 0.99 ? 'down' : 'unknown',
      availability: rand() < 0.97 ? 'active' : pick(['drain', 'pause'] as const),
      labels,
      engineLabels: { storage: rand() < 0.3 ? 'ssd' : 'hdd' },
      resources: {
        nanoCpus: pick([8, 16, 32, 64]) * CPU,
        memoryBytes: pick([16, 32, 64, 128]) * GIB,
      },
      tasks,
    });
  }

  const pending: TaskSpec[] = [];
  let services = 0;
  while (pending.length < TASKS) {
    const serviceId = `svc-${services++}`;
    const replicas = Math.min(int(1, maxService), TASKS - pending.length);
    const constraints: Constraint[] = [];
    if (rand() < 0.3) constraints.push(parseConstraint('node.role==worker'));
    if (rand() < 0.2) constraints.push(parseConstraint(`node.labels.zone==${pick(zones)}`));
    if (rand() < 0.1) constraints.push(parseConstraint('engine.labels.storage==ssd'));
    if (rand() < 0.05) constraints.push(parseConstraint('node.hostname!=host-3'));
    if (rand() < 0.02) constraints.push(parseConstraint('node.labels.gpu==true')); // no node has it
    const prefs: PlacementPref[] = [];
    const p = rand();
    if (p < 0.3) prefs.push(parsePlacementPref('spread=node.labels.zone'));
    else if (p < 0.4)
      prefs.push(...['zone', 'rack'].map((l) => parsePlacementPref(`spread=node.labels.${l}`)));
    const reserve = rand() < 0.5;
    const reservations = {
      nanoCpus: reserve ? int(1, 10) * 0.1 * CPU : 0,
      memoryBytes: reserve ? int(1, 16) * 64 * MIB : 0,
    };
    const hostPorts: HostPort[] = rand() < 0.03 ? [{ port: 8000 + services, protocol: 'tcp' }] : [];
    const maxReplicasPerNode = rand() < 0.15 ? int(1, 3) : 0;
    for (let slot = 1; slot <= replicas; slot++) {
      pending.push({
        taskId: `${serviceId}.${slot}`,
        serviceId,
        slot,
        constraints,
        placementPrefs: prefs,
        maxReplicasPerNode,
        reservations,
        hostPorts,
      });
    }
  }
  return { nodes, pending, services };
}

const seed = argValue('--seed', 42);
const runs = Math.max(1, argValue('--runs', 5));
const maxService = argValue('--max-replicas', 400);
const { nodes, pending, services } = generate(seed, maxService);

const times: number[] = [];
const cpuTimes: number[] = [];
let assigned = 0;
for (let run = 0; run < runs; run++) {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const decisions = schedule(nodes, pending);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  times.push(ms);
  cpuTimes.push(cpuMs);
  assigned = decisions.filter((d) => d.kind === 'assign').length;
  progress(
    `run ${run + 1}: ${ms.toFixed(1)} ms wall, ${cpuMs.toFixed(1)} ms CPU, ${assigned} assigned`,
  );
}

const cold = times[0] ?? 0;
const sorted = [...times].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
emit('scheduler', {
  seed,
  tasks: pending.length,
  nodes: nodes.length,
  services,
  assigned,
  unschedulable: pending.length - assigned,
  ms: Math.round(cold),
  median_ms: Math.round(median),
  cpu_ms: Math.round(cpuTimes[0] ?? 0),
  tasks_per_s: Math.round(pending.length / (cold / 1000)),
  runs_ms: times.map((t) => Math.round(t)),
  target: { ms: '< 1000 (cold run)', met: cold < 1000 },
});
