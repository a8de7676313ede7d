import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ProtoGrpcType as ControlProto } from '../../../proto/gen/control.js';
import type { ControlHandlers } from '../../../proto/gen/tswarm/control/v1/Control.js';
import type { InfoResponse } from '../../../proto/gen/tswarm/control/v1/InfoResponse.js';
import type { Node, NodeRole, Swarm } from '../../../src/shared/api-types.js';
import { TswarmError } from '../../../src/shared/errors.js';
import { loadProto } from '../../../src/shared/proto.js';
import { unary } from '../../../src/daemon/grpc/unary.js';

/** A node object in the Engine API's shape, with overridable parts. */
export function makeNode(
  id: string,
  hostname: string,
  opts: {
    role?: NodeRole;
    leader?: boolean;
    reachability?: 'reachable' | 'unreachable' | 'unknown';
    state?: Node['Status']['State'];
    availability?: Node['Spec']['Availability'];
    engine?: string;
    labels?: Record<string, string>;
    addr?: string;
  } = {},
): Node {
  const role = opts.role ?? 'worker';
  const addr = opts.addr ?? '10.0.0.1';
  return {
    ID: id,
    Version: { Index: 10 },
    CreatedAt: '2024-05-01T12:34:56.5Z',
    UpdatedAt: '2024-05-01T12:35:00Z',
    Spec: {
      Labels: opts.labels ?? {},
      Role: role,
      Availability: opts.availability ?? 'active',
    },
    Description: {
      Hostname: hostname,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 4e9, MemoryBytes: 8233017344 },
      Engine: { EngineVersion: opts.engine ?? '24.0.7', Labels: {} },
    },
    Status: { State: opts.state ?? 'ready', Addr: addr },
    ...(role === 'manager'
      ? {
          ManagerStatus: {
            Leader: opts.leader === true,
            Reachability: opts.reachability ?? 'reachable',
            Addr: `${addr}:2377`,
          },
        }
      : {}),
  };
}

export const WORKER_TOKEN = `SWMTKN-1-${'a'.repeat(50)}-workersecret0000000000000`;
export const MANAGER_TOKEN = `SWMTKN-1-${'a'.repeat(50)}-managersecret000000000000`;

function makeSwarm(): Swarm {
  return {
    ID: 'clusterid0000000000000000',
    Version: { Index: 3 },
    CreatedAt: '2024-05-01T12:00:00Z',
    UpdatedAt: '2024-05-01T12:00:00Z',
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
      Dispatcher: { HeartbeatPeriod: 5e9 },
      CAConfig: { NodeCertExpiry: 7776000e9 },
    },
    TLSInfo: { TrustRoot: '', CertIssuerSubject: '' },
    RootRotationInProgress: false,
    JoinTokens: { Worker: WORKER_TOKEN, Manager: MANAGER_TOKEN },
  };
}

export interface Call {
  readonly method: string;
  readonly request: unknown;
}

/**
 * An in-memory control API on a temporary unix socket: enough cluster behaviour to drive
 * the CLI's swarm and node commands, with every call recorded.
 */
export class FakeDaemon {
  readonly calls: Call[] = [];
  nodes: Node[] = [];
  swarm: Swarm = makeSwarm();
  selfId = '';
  nodeAddr = '10.0.0.1';
  managerAddrs: string[] = [];
  /** Methods that fail with this error instead of answering. */
  readonly failures = new Map<string, TswarmError>();
  private readonly server = new grpc.Server();
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'tswarm-cli-'));
  readonly socket = path.join(this.dir, 'control.sock');
  readonly host = `unix://${this.socket}`;

  async start(): Promise<void> {
    const proto = loadProto<ControlProto>('control.proto');
    this.server.addService(proto.tswarm.control.v1.Control.service, this.handlers());
    await new Promise<void>((resolve, reject) => {
      this.server.bindAsync(this.host, grpc.ServerCredentials.createInsecure(), (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.tryShutdown(() => {
        resolve();
      });
    });
    rmSync(this.dir, { recursive: true, force: true });
  }

  methods(): string[] {
    return this.calls.map((c) => c.method);
  }

  private resolve(ref: string): Node {
    const id = ref === 'self' ? this.selfId : ref;
    const exact = this.nodes.find((n) => n.ID === id || n.Description.Hostname === id);
    if (exact) return exact;
    const prefixed = this.nodes.filter((n) => n.ID.startsWith(id));
    const [only] = prefixed;
    if (prefixed.length === 1 && only) return only;
    throw new TswarmError('NOT_FOUND', `node ${ref} not found`);
  }

  private replace(node: Node): void {
    this.nodes = this.nodes.map((n) => (n.ID === node.ID ? node : n));
  }

  private handle<Req, Res>(method: string, fn: (req: Req) => Res) {
    return unary<Req, Res>((req) => {
      this.calls.push({ method, request: req });
      const failure = this.failures.get(method);
      if (failure) return Promise.reject(failure);
      return new Promise<Res>((resolve) => {
        resolve(fn(req)); // a throw inside becomes the rejection
      });
    });
  }

  private handlers(): ControlHandlers {
    return {
      Info: this.handle('Info', (): InfoResponse => ({
        daemon_version: '0.0.0-test',
        node_name: 'test',
        swarm: {
          local_node_state: this.selfId ? 'active' : 'inactive',
          node_id: this.selfId,
          node_addr: this.nodeAddr,
          is_manager: true,
          manager_addrs: this.managerAddrs,
        },
      })),
      SwarmInit: this.handle('SwarmInit', () => ({
        node_id: 'newnodeid0000000000000000',
        worker_token: WORKER_TOKEN,
        manager_token: MANAGER_TOKEN,
        remote_addr: '192.168.1.10:2377',
      })),
      SwarmJoin: this.handle('SwarmJoin', (req: { token: string }) => ({
        node_id: 'joinednode000000000000000',
        role: req.token === MANAGER_TOKEN ? 'manager' : 'worker',
      })),
      SwarmLeave: this.handle('SwarmLeave', () => ({})),
      SwarmInspect: this.handle('SwarmInspect', () => ({ json: JSON.stringify(this.swarm) })),
      SwarmUpdate: this.handle(
        'SwarmUpdate',
        (req: { rotate_worker_token: boolean; rotate_manager_token: boolean }) => {
          const t = this.swarm.JoinTokens;
          this.swarm = {
            ...this.swarm,
            JoinTokens: {
              Worker: req.rotate_worker_token
                ? t.Worker.replace('workersecret', 'rotatedwork')
                : t.Worker,
              Manager: req.rotate_manager_token
                ? t.Manager.replace('managersecret', 'rotatedmanag')
                : t.Manager,
            },
          };
          return {};
        },
      ),
      NodeList: this.handle('NodeList', () => ({ json: this.nodes.map((n) => JSON.stringify(n)) })),
      NodeInspect: this.handle('NodeInspect', (req: { ref: string }) => ({
        json: JSON.stringify(this.resolve(req.ref)),
      })),
      NodeUpdate: this.handle(
        'NodeUpdate',
        (req: {
          ref: string;
          role: string;
          availability: string;
          label_add: Record<string, string>;
          label_rm: string[];
        }) => {
          const node = this.resolve(req.ref);
          const labels = Object.fromEntries(
            Object.entries({ ...node.Spec.Labels, ...req.label_add }).filter(
              ([k]) => !req.label_rm.includes(k),
            ),
          );
          const updated: Node = {
            ...node,
            Spec: {
              ...node.Spec,
              Labels: labels,
              Role: (req.role || node.Spec.Role) as NodeRole,
              Availability: (req.availability ||
                node.Spec.Availability) as Node['Spec']['Availability'],
            },
          };
          this.replace(updated);
          return { json: JSON.stringify(updated) };
        },
      ),
      NodeRemove: this.handle('NodeRemove', (req: { ref: string; force: boolean }) => {
        const node = this.resolve(req.ref);
        if (node.Status.State !== 'down' && !req.force) {
          throw new TswarmError(
            'FAILED_PRECONDITION',
            `rpc error: code = FailedPrecondition desc = node ${node.ID} is not down and can't be removed`,
          );
        }
        this.nodes = this.nodes.filter((n) => n.ID !== node.ID);
        return {};
      }),
      // Services are not exercised by these tests.
      ServiceCreate: this.unsupported('ServiceCreate'),
      ServiceList: this.unsupported('ServiceList'),
      ServiceInspect: this.unsupported('ServiceInspect'),
      ServiceUpdate: this.unsupported('ServiceUpdate'),
      ServiceRemove: this.unsupported('ServiceRemove'),
      TaskList: this.unsupported('TaskList'),
      SecretCreate: this.unsupported('SecretCreate'),
      SecretList: this.unsupported('SecretList'),
      SecretInspect: this.unsupported('SecretInspect'),
      SecretRemove: this.unsupported('SecretRemove'),
      ServiceLogs: (call: grpc.ServerWritableStream<unknown, unknown>) => {
        call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'not in the fake daemon' });
      },
    };
  }

  private unsupported(
    method: string,
  ): (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<never>) => void {
    return (_call, cb) => {
      this.calls.push({ method, request: undefined });
      cb({ code: grpc.status.UNIMPLEMENTED, details: `${method} is not in the fake daemon` });
    };
  }
}
