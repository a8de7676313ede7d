/**
 * Builders shared by the manager unit tests: Docker-shaped nodes and cluster objects, Raft
 * entries carrying store commands, a silent logger and a hand-driven clock. Not a test file.
 */
import { pino } from 'pino';
import type {
  ContainerSpec,
  Node,
  NodeAvailability,
  NodeRole,
  NodeState,
  Reachability,
  Task,
  TaskState,
} from '../../../src/shared/api-types.js';
import type { Entry } from '../../../src/raft/types.js';
import { encodeCommand } from '../../../src/daemon/manager/store/fsm.js';
import type { Logger } from '../../../src/daemon/log.js';
import type { ClusterObject, Command } from '../../../src/daemon/manager/store/types.js';

export const T0 = '2026-01-01T00:00:00.000Z';
export const T1 = '2026-01-01T00:00:01.000Z';
export const T2 = '2026-01-01T00:00:02.000Z';

export interface NodeOpts {
  readonly hostname?: string;
  readonly name?: string;
  readonly role?: NodeRole;
  readonly availability?: NodeAvailability;
  readonly state?: NodeState;
  readonly addr?: string;
  readonly message?: string;
  readonly labels?: Record<string, string>;
  readonly engineLabels?: Record<string, string>;
  readonly manager?: { readonly addr: string; readonly reachability: Reachability };
}

/** A node as the CA would create it; every field Docker shows is present. */
export function makeNode(id: string, o: NodeOpts = {}): Node {
  return {
    ID: id,
    Version: { Index: 0 },
    CreatedAt: T0,
    UpdatedAt: T0,
    Spec: {
      ...(o.name !== undefined ? { Name: o.name } : {}),
      Labels: o.labels ?? {},
      Role: o.role ?? (o.manager ? 'manager' : 'worker'),
      Availability: o.availability ?? 'active',
    },
    Description: {
      Hostname: o.hostname ?? `host-${id.slice(0, 4)}`,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 2_000_000_000, MemoryBytes: 4 * 1024 ** 3 },
      Engine: { EngineVersion: '27.0.0', Labels: o.engineLabels ?? {} },
    },
    Status: {
      State: o.state ?? 'ready',
      Addr: o.addr ?? '127.0.0.1',
      ...(o.message !== undefined ? { Message: o.message } : {}),
    },
    ...(o.manager
      ? { ManagerStatus: { Addr: o.manager.addr, Reachability: o.manager.reachability } }
      : {}),
  };
}

/** The cluster object `swarm init` creates, with Docker's defaults. */
export function makeCluster(id = 'clusterid0001'): ClusterObject {
  return {
    ID: id,
    Version: { Index: 0 },
    CreatedAt: T0,
    UpdatedAt: T0,
    Spec: {
      Name: 'default',
      Labels: {},
      Orchestration: { TaskHistoryRetentionLimit: 5 },
      Raft: {
        SnapshotInterval: 10000,
        KeepOldSnapshots: 0,
        LogEntriesForSlowFollowers: 500,
        ElectionTick: 10,
        HeartbeatTick: 1,
      },
      Dispatcher: { HeartbeatPeriod: 5_000_000_000 },
      CAConfig: { NodeCertExpiry: 7_776_000_000_000_000 },
    },
    RootCA: { CertPem: 'CERT-PEM', KeyPem: 'SECRET-KEY-PEM' },
    JoinTokens: { Worker: 'workersecret', Manager: 'managersecret' },
  };
}

/** A committed Raft entry carrying `cmd`, as the driver hands it to the store. */
export function entryFor(index: number, cmd: Command): Entry {
  return { term: 1, index, type: 'normal', data: encodeCommand(cmd) };
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** A clock the test moves by hand; counts reads, so a test can tell a periodic check ran. */
export class FakeClock {
  reads = 0;
  constructor(public t = 1_000_000) {}
  readonly now = (): number => {
    this.reads++;
    return this.t;
  };
  advance(ms: number): void {
    this.t += ms;
  }
}

/** A task of service svc1, slot 1, assigned to `node` (the dispatcher sends it). */
export function makeAssignedTask(
  id: string,
  node: string,
  desired: TaskState = 'running',
  container: ContainerSpec = { Image: 'x' },
): Task {
  return {
    ID: id,
    Version: { Index: 0 },
    CreatedAt: T0,
    UpdatedAt: T0,
    Labels: {},
    ServiceID: 'svc1',
    Slot: 1,
    NodeID: node,
    DesiredState: desired,
    Status: { Timestamp: T0, State: 'assigned', Message: 'assigned' },
    Spec: { ContainerSpec: container },
  };
}
