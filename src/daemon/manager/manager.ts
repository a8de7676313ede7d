import type * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { NodeDescription, NodeRole } from '../../shared/api-types.js';
import { NANOS_PER_MS } from '../../shared/api-types.js';
import { messages, TswarmError } from '../../shared/errors.js';
import { generateId } from '../../shared/ids.js';
import type { PeerAddr } from '../cluster/node-state.js';
import type { Logger } from '../log.js';
import { RaftDriver } from '../raft/driver.js';
import { GrpcTransport } from '../../raft/transport/grpc.js';
import { encodeCommand } from './store/fsm.js';
import { Store } from './store/store.js';
import type { ClusterObject, Command, CommandResult } from './store/types.js';
import { checkResult, now, type OpsContext } from './cluster-ops.js';
import { Dispatcher } from './dispatcher/dispatcher.js';
import { MembershipReconciler } from './membership.js';
import { Orchestrator } from './orchestrator/loop.js';
import { openSecret, secretKey } from './secrets/crypto.js';

export const DEFAULT_HEARTBEAT_MS = 1000;
export const DEFAULT_TASK_HISTORY = 5;
export const DEFAULT_CERT_EXPIRY_MS = 90 * 24 * 3600_000;
export const RAFT_TICK_MS = 50;
export const RAFT_ELECTION_TICKS = 10;
export const RAFT_HEARTBEAT_TICKS = 1;
export const SNAPSHOT_INTERVAL = 10_000;

export interface ManagerOptions {
  readonly nodeId: string;
  readonly dataRoot: string;
  /** host:port peers reach this manager's 2377 on. */
  readonly advertiseAddr: string;
  /** The node's shared 2377 server; the manager registers the Raft transport on it. */
  readonly server: grpc.Server;
  readonly channelCredentials: () => grpc.ChannelCredentials;
  readonly log: Logger;
  /** First manager of a new cluster: bootstrap Raft with itself as the only voter. */
  readonly bootstrap: boolean;
  /** --force-new-cluster was applied to the data before opening. */
  readonly forced?: boolean;
  /** Known managers (a joining manager needs its leader's address before Raft tells it). */
  readonly peers?: readonly { readonly id: string; readonly addr: string }[];
}

/** A join token secret: 128 random bits in base 36, 25 characters (swarmkit's format). */
export function newSecret(): string {
  return BigInt(`0x${randomBytes(16).toString('hex')}`)
    .toString(36)
    .padStart(25, '0');
}

export function defaultSwarmSpec(opts: {
  taskHistoryLimit?: number;
  heartbeatMs?: number;
}): ClusterObject['Spec'] {
  return {
    Name: 'default',
    Labels: {},
    Orchestration: { TaskHistoryRetentionLimit: opts.taskHistoryLimit ?? DEFAULT_TASK_HISTORY },
    Raft: {
      SnapshotInterval: SNAPSHOT_INTERVAL,
      KeepOldSnapshots: 0,
      LogEntriesForSlowFollowers: 500,
      ElectionTick: RAFT_ELECTION_TICKS,
      HeartbeatTick: RAFT_HEARTBEAT_TICKS,
    },
    Dispatcher: { HeartbeatPeriod: (opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS) * NANOS_PER_MS },
    CAConfig: { NodeCertExpiry: DEFAULT_CERT_EXPIRY_MS * NANOS_PER_MS },
  };
}

/**
 * A manager: the Raft member, the replicated store and, while it leads, the dispatcher and
 * the membership reconciler. Control calls reach it through the node's control service.
 */
export class Manager {
  readonly store = new Store();
  private readonly offRestore = this.store.onRestore(() => {
    this.managersCache = undefined;
  });
  private driverRef: RaftDriver | undefined;
  private dispatcher: Dispatcher | undefined;
  private reconciler: MembershipReconciler | undefined;
  private orchestrator: Orchestrator | undefined;
  private readonly log: Logger;
  private stopped = false;
  private readonly transport: GrpcTransport;

  private constructor(readonly opts: ManagerOptions) {
    this.log = opts.log.child({ component: 'manager' });
    this.transport = new GrpcTransport({
      id: opts.nodeId,
      server: opts.server,
      channelCredentials: opts.channelCredentials(),
      logger: opts.log.child({ component: 'raft-transport' }),
    });
  }

  static async start(opts: ManagerOptions): Promise<Manager> {
    const m = new Manager(opts);
    await m.open();
    return m;
  }

  private async open(): Promise<void> {
    await this.transport.start();
    this.driverRef = await RaftDriver.open({
      id: this.opts.nodeId,
      dataDir: path.join(this.opts.dataRoot, 'swarm', 'raft'),
      transport: this.transport,
      fsm: this.store,
      ...(this.opts.bootstrap
        ? { bootstrapVoters: [{ id: this.opts.nodeId, addr: this.opts.advertiseAddr }] }
        : {}),
      ...(this.opts.peers ? { peers: this.opts.peers } : {}),
      tickMs: RAFT_TICK_MS,
      electionTicks: RAFT_ELECTION_TICKS,
      heartbeatTicks: RAFT_HEARTBEAT_TICKS,
      snapshotEvery: SNAPSHOT_INTERVAL,
      logger: this.opts.log.child({ component: 'raft' }),
    });
    this.driverRef.onLeaderChange(() => {
      this.onLeadership();
    });
    this.onLeadership();
  }

  get driver(): RaftDriver {
    if (!this.driverRef) throw new TswarmError('UNAVAILABLE', 'raft is not running');
    return this.driverRef;
  }

  isLeader(): boolean {
    return this.driverRef?.isLeader() ?? false;
  }

  leaderId(): string {
    return this.driverRef?.leaderId() ?? '';
  }

  /** host:port of the leader's 2377, when known. */
  leaderAddr(): string | undefined {
    const id = this.leaderId();
    if (!id) return undefined;
    if (id === this.opts.nodeId) return this.opts.advertiseAddr;
    const fromStore = this.store.node(id)?.ManagerStatus?.Addr;
    if (fromStore) return fromStore;
    return this.driver.status().peers.get(id);
  }

  /**
   * The managers' addresses, as every dispatcher push carries them. Kept per applied index:
   * a task write pushed to N sessions asked for it N times, each a scan of every node (at
   * 5,000 nodes that blocked the leader for seconds).
   */
  managers(): PeerAddr[] {
    const at = this.store.applied;
    if (this.managersCache?.at !== at) {
      this.managersCache = {
        at,
        list: this.store
          .nodes()
          .filter((n) => n.ManagerStatus)
          .map((n) => ({ node_id: n.ID, addr: n.ManagerStatus?.Addr ?? '' })),
      };
    }
    return this.managersCache.list;
  }
  private managersCache: { at: number; list: PeerAddr[] } | undefined;

  heartbeatPeriodMs(): number {
    const c = this.store.cluster();
    return c ? c.Spec.Dispatcher.HeartbeatPeriod / NANOS_PER_MS : DEFAULT_HEARTBEAT_MS;
  }

  /** Leader only: proposes and waits until applied; returns the command's result. */
  async propose(cmd: Command): Promise<CommandResult> {
    if (!this.isLeader()) throw this.notLeader();
    const { result } = await this.driver.propose(encodeCommand(cmd), 10_000);
    return (result as CommandResult | undefined) ?? { ok: true };
  }

  async write(cmd: Command): Promise<unknown> {
    return checkResult(await this.propose(cmd));
  }

  /**
   * Linearizable read barrier (ReadIndex). A request caught by a leader change is retried
   * against the new leader, so a read right after a failover waits for the election
   * (about a second) instead of the whole timeout; without a leader for 3 s it fails with
   * Docker's no-leader error.
   */
  async readBarrier(): Promise<void> {
    const deadline = Date.now() + 3_000;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new TswarmError('NO_QUORUM', messages.noLeader);
      if (!this.leaderId()) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      try {
        await this.driver.readBarrier(Math.min(600, left));
        return;
      } catch (err) {
        if (Date.now() >= deadline)
          throw err instanceof TswarmError ? err : new TswarmError('NO_QUORUM', messages.noLeader);
      }
    }
  }

  notLeader(): TswarmError {
    const id = this.leaderId();
    if (!id) return new TswarmError('NO_QUORUM', messages.noLeader);
    return new TswarmError('NOT_LEADER', `not the leader: the leader is ${id}`);
  }

  ops(token: (secret: string) => string): OpsContext {
    return {
      store: this.store,
      selfId: this.opts.nodeId,
      leaderId: () => this.leaderId(),
      write: (cmd) => this.write(cmd),
      readBarrier: () => this.readBarrier(),
      token,
    };
  }

  get currentDispatcher(): Dispatcher | undefined {
    return this.dispatcher;
  }

  /** First manager: writes the cluster object and its own node once it leads. */
  async initCluster(o: {
    clusterId: string;
    rootCa: { certPem: string; keyPem: string };
    description: NodeDescription;
    nodeAddr: string;
    taskHistoryLimit?: number;
    heartbeatMs?: number;
  }): Promise<void> {
    await this.waitLeader(10_000);
    const at = now();
    await this.write({
      op: 'cluster.create',
      at,
      cluster: {
        ID: o.clusterId,
        Version: { Index: 0 },
        CreatedAt: at,
        UpdatedAt: at,
        Spec: defaultSwarmSpec({
          ...(o.taskHistoryLimit !== undefined ? { taskHistoryLimit: o.taskHistoryLimit } : {}),
          ...(o.heartbeatMs !== undefined ? { heartbeatMs: o.heartbeatMs } : {}),
        }),
        RootCA: { CertPem: o.rootCa.certPem, KeyPem: o.rootCa.keyPem },
        JoinTokens: { Worker: newSecret(), Manager: newSecret() },
      },
    });
    await this.createNode(
      this.opts.nodeId,
      'manager',
      o.description,
      o.nodeAddr,
      this.opts.advertiseAddr,
    );
  }

  /** Leader only: records a joining node. */
  async createNode(
    id: string,
    role: NodeRole,
    d: NodeDescription,
    addr: string,
    managerAddr?: string,
  ): Promise<void> {
    const at = now();
    await this.write({
      op: 'node.create',
      at,
      node: {
        ID: id,
        Version: { Index: 0 },
        CreatedAt: at,
        UpdatedAt: at,
        Spec: { Labels: {}, Role: role, Availability: 'active' },
        Description: d,
        Status: { State: 'ready', Addr: addr },
        ...(managerAddr ? { ManagerStatus: { Addr: managerAddr, Reachability: 'reachable' } } : {}),
      },
    });
  }

  async waitLeader(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.leaderId()) {
      if (Date.now() > deadline) throw new TswarmError('NO_QUORUM', messages.noLeader);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  newNodeId(): string {
    return generateId();
  }

  private onLeadership(): void {
    if (this.stopped) return;
    const leading = this.isLeader();
    if (leading && !this.dispatcher) {
      this.log.info({ term: this.driver.status().term }, 'became leader: starting dispatcher');
      this.dispatcher = new Dispatcher({
        store: this.store,
        propose: (cmd) => this.propose(cmd),
        heartbeatPeriodMs: () => this.heartbeatPeriodMs(),
        openSecret: (id) => this.openSecret(id),
        log: this.opts.log,
      });
      this.dispatcher.start();
      this.reconciler = new MembershipReconciler(this, this.opts.log);
      this.reconciler.start();
      this.orchestrator = new Orchestrator({
        store: this.store,
        propose: (cmd) => this.write(cmd),
        log: this.opts.log,
      });
      this.orchestrator.start();
    } else if (!leading && this.dispatcher) {
      this.log.info({ leader: this.leaderId() }, 'lost leadership: stopping dispatcher');
      this.dispatcher.stop();
      this.dispatcher = undefined;
      this.reconciler?.stop();
      this.reconciler = undefined;
      this.orchestrator?.stop();
      this.orchestrator = undefined;
    }
  }

  get nodeId(): string {
    return this.opts.nodeId;
  }

  /** A secret's clear data, decrypted in memory with the cluster's secret key. */
  openSecret(id: string): Buffer | undefined {
    const sec = this.store.secret(id);
    const cluster = this.store.cluster();
    if (!sec || !cluster) return undefined;
    try {
      return openSecret(secretKey(cluster), sec.ID, sec.Sealed);
    } catch (err) {
      this.log.error(
        { secret: id, err: err instanceof Error ? err.message : String(err) },
        'cannot open secret',
      );
      return undefined;
    }
  }

  async stop(): Promise<void> {
    this.offRestore();
    this.stopped = true;
    this.dispatcher?.stop();
    this.dispatcher = undefined;
    this.reconciler?.stop();
    this.reconciler = undefined;
    this.orchestrator?.stop();
    this.orchestrator = undefined;
    await this.driverRef?.stop();
    await this.transport.stop();
  }
}
