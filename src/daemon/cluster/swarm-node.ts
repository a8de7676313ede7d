import * as grpc from '@grpc/grpc-js';
import { rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import { forceNewCluster } from '../raft/force-new-cluster.js';
import { Store } from '../manager/store/store.js';
import type { ProtoGrpcType as ClusterProto } from '../../../proto/gen/cluster.js';
import type { ProtoGrpcType as ControlProto } from '../../../proto/gen/control.js';
import type { ControlHandlers } from '../../../proto/gen/tswarm/control/v1/Control.js';
import type { SwarmInfo } from '../../../proto/gen/tswarm/control/v1/SwarmInfo.js';
import type { Node, NodeRole } from '../../shared/api-types.js';
import { NANOS_PER_MS } from '../../shared/api-types.js';
import { messages, TswarmError } from '../../shared/errors.js';
import { generateId } from '../../shared/ids.js';
import { loadProto } from '../../shared/proto.js';
import { AgentSession } from '../agent/session.js';
import { DockerAdapter } from '../agent/docker/adapter.js';
import { Executor } from '../agent/executor.js';
import { streamTaskLogs } from '../agent/logs.js';
import { toStatus } from '../../shared/grpc-status.js';
import type { NodeLogsRequest__Output } from '../../../proto/gen/tswarm/cluster/v1/NodeLogsRequest.js';
import type { NodeLogLine } from '../../../proto/gen/tswarm/cluster/v1/NodeLogLine.js';
import type { DaemonConfig } from '../config.js';
import type { Engine } from '../docker/engine.js';
import type { Logger } from '../log.js';
import {
  DEFAULT_HEARTBEAT_MS,
  Manager,
  newSecret,
  RAFT_ELECTION_TICKS,
  RAFT_HEARTBEAT_TICKS,
  RAFT_TICK_MS,
  SNAPSHOT_INTERVAL,
} from '../manager/manager.js';
import {
  chooseAdvertiseAddr,
  DEFAULT_PORT,
  formatHostPort,
  NODE_PORT,
  parseHostPort,
} from './addr.js';
import { describeNode } from './description.js';
import {
  caClient,
  getRootCa,
  issueNodeCertificate,
  managerClient,
  PeerClients,
  raftJoin,
  raftLeave,
} from './forward.js';
import {
  loadNodeState,
  saveNodeState,
  swarmDir,
  type NodeState,
  type PeerAddr,
} from './node-state.js';
import {
  caDigest,
  certNotAfter,
  createKeyAndCsr,
  createRootCa,
  formatJoinToken,
  loadIdentity,
  needsRenewal,
  parseJoinToken,
  saveIdentity,
  signNodeCsr,
} from './pki.js';
import { caHandlers, dispatcherHandlers, managerHandlers } from './services.js';
import { RoutingMesh } from '../mesh/mesh.js';
import { RAFT_SERVER_OPTIONS } from '../../raft/transport/index.js';
import {
  anonymousChannelCredentials,
  authorize,
  cachePeerCertificates,
  clusterChannelCredentials,
  clusterServerCredentials,
  IdentityProvider,
  nodeServerCredentials,
  raftAuthInterceptor,
  untrustedChannelCredentials,
  type TlsIdentity,
} from './tls.js';

export interface InitOptions {
  readonly advertiseAddr?: string;
  readonly listenAddr?: string;
  readonly forceNewCluster: boolean;
  readonly taskHistoryLimit?: number;
  readonly dispatcherHeartbeatMs?: number;
}

export interface JoinOptions {
  readonly token: string;
  readonly remoteAddr: string;
  readonly advertiseAddr?: string;
  readonly listenAddr?: string;
}

async function bindServer(
  server: grpc.Server,
  addr: string,
  creds: grpc.ServerCredentials,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(addr, creds, (err) => {
      if (err)
        reject(
          new TswarmError('UNAVAILABLE', `cannot listen on ${addr}: ${err.message}`, {
            cause: err,
          }),
        );
      else resolve();
    });
  });
}

async function shutdownServer(server: grpc.Server | undefined): Promise<void> {
  if (!server) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, 2000);
    server.tryShutdown(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

/**
 * This daemon's swarm membership: init, join, leave, restart from the data root, promotion and
 * demotion at run time. Owns the 2377 server (managers), the 7946 server (every node), the
 * Manager (Raft + store) and the agent session with the leader's dispatcher.
 */
export class SwarmNode {
  private state: NodeState | undefined;
  private provider: IdentityProvider | undefined;
  private managerRef: Manager | undefined;
  private session: AgentSession | undefined;
  private executor: Executor | undefined;
  private mesh: RoutingMesh | undefined;
  private server2377: grpc.Server | undefined;
  private server7946: grpc.Server | undefined;
  private lastNode: Node | undefined;
  private readonly peers: PeerClients;
  private readonly log: Logger;
  private transition: Promise<void> = Promise.resolve();
  private renewTimer: NodeJS.Timeout | undefined;
  private roleTimer: NodeJS.Timeout | undefined;
  /** The leader asked this manager to step down and it has not yet. */
  private demoteAsked = false;
  /** Set while the node is between states (init/join/leave in progress). */
  private busy = false;

  constructor(
    private readonly config: DaemonConfig,
    private readonly engine: Engine,
    rootLog: Logger,
    private readonly controlHandlers: () => ControlHandlers,
  ) {
    this.log = rootLog.child({ component: 'swarm' });
    this.peers = new PeerClients(() => this.channelCredentials());
  }

  get nodeId(): string | undefined {
    return this.state?.nodeId;
  }

  get manager(): Manager | undefined {
    return this.managerRef;
  }

  get role(): NodeRole | undefined {
    return this.state?.role;
  }

  /** The routing mesh's listening ports (for `info` and tests). */
  get meshPorts(): number[] {
    return this.mesh?.listeningPorts() ?? [];
  }

  get peerClients(): PeerClients {
    return this.peers;
  }

  private channelCredentials(): grpc.ChannelCredentials {
    if (!this.provider) throw new TswarmError('NOT_IN_SWARM', messages.notInSwarm);
    return clusterChannelCredentials(this.provider.identity);
  }

  /** On daemon start: rejoin the swarm recorded in the data root, if any. */
  async restore(): Promise<void> {
    const st = await loadNodeState(this.config.dataRoot);
    if (!st) return;
    const id = await loadIdentity(this.config.dataRoot);
    if (!id)
      throw new Error(`swarm state found in ${swarmDir(this.config.dataRoot)} but no certificates`);
    this.state = st;
    this.provider = new IdentityProvider(id);
    this.log.info({ nodeId: st.nodeId, role: st.role }, 'rejoining the swarm from the data root');
    await this.startRole(false);
  }

  private async startRole(bootstrap: boolean): Promise<void> {
    const st = this.requireState();
    const provider = this.requireProvider();
    const advertise = parseHostPort(st.advertiseAddr, DEFAULT_PORT, 'advertise address');
    if (!this.server7946) {
      this.server7946 = new grpc.Server();
      const cluster = loadProto<ClusterProto>('cluster.proto').tswarm.cluster.v1;
      this.server7946.addService(cluster.Node.service, {
        Ping: (
          call: grpc.ServerUnaryCall<unknown, unknown>,
          cb: grpc.sendUnaryData<{ node_id: string }>,
        ) => {
          try {
            authorize(call, provider.identity.caCertPem, {
              roles: ['manager', 'worker'],
              isRemoved: () => false,
            });
            cb(null, { node_id: st.nodeId });
          } catch (err) {
            cb({
              code: grpc.status.PERMISSION_DENIED,
              details: err instanceof Error ? err.message : String(err),
            });
          }
        },
        Logs: (call: grpc.ServerWritableStream<NodeLogsRequest__Output, NodeLogLine>) => {
          try {
            authorize(call, provider.identity.caCertPem, {
              roles: ['manager'],
              isRemoved: () => false,
            });
          } catch (err) {
            call.emit('error', {
              code: grpc.status.PERMISSION_DENIED,
              details: err instanceof Error ? err.message : String(err),
            });
            return;
          }
          const ac = new AbortController();
          call.on('cancelled', () => {
            ac.abort();
          });
          const r = call.request;
          streamTaskLogs(
            this.engine.docker,
            new DockerAdapter(this.engine.docker),
            st.nodeId,
            { taskIds: r.task_ids, follow: r.follow, tail: r.tail, timestamps: r.timestamps },
            (l) => {
              if (!ac.signal.aborted)
                call.write({ task_id: l.taskId, stream: l.stream, line: l.line });
            },
            ac.signal,
          ).then(
            () => {
              call.end();
            },
            (err: unknown) => {
              call.emit('error', toStatus(err));
            },
          );
        },
      });
      const listen = parseHostPort(st.listenAddr, DEFAULT_PORT, 'listen address');
      await bindServer(
        this.server7946,
        formatHostPort({ host: listen.host, port: NODE_PORT }),
        nodeServerCredentials(provider),
      );
    }
    if (st.role === 'manager') await this.startManager(bootstrap);
    this.startSession(advertise.host);
    this.scheduleRenewal();
  }

  private async startManager(bootstrap: boolean): Promise<void> {
    const st = this.requireState();
    const provider = this.requireProvider();
    if (!this.server2377) {
      cachePeerCertificates();
      const server = new grpc.Server({
        ...RAFT_SERVER_OPTIONS,
        interceptors: [
          raftAuthInterceptor(() => {
            const m = this.managerRef;
            const p = this.provider;
            return m && p
              ? {
                  caCertPem: p.identity.caCertPem,
                  isRemoved: (id: string) => m.store.isRemoved(id),
                }
              : undefined;
          }),
        ],
      });
      const cluster = loadProto<ClusterProto>('cluster.proto').tswarm.cluster.v1;
      const deps = { manager: () => this.managerRef, peers: this.peers, log: this.log };
      server.addService(cluster.CA.service, caHandlers(deps));
      server.addService(cluster.Manager.service, managerHandlers(deps));
      server.addService(cluster.Dispatcher.service, dispatcherHandlers(deps));
      server.addService(
        loadProto<ControlProto>('control.proto').tswarm.control.v1.Control.service,
        this.controlHandlers(),
      );
      this.server2377 = server;
      this.managerRef = await Manager.start({
        nodeId: st.nodeId,
        dataRoot: this.config.dataRoot,
        advertiseAddr: st.advertiseAddr,
        server,
        channelCredentials: () => this.channelCredentials(),
        log: this.log,
        bootstrap,
        peers: st.managers
          .filter((p) => p.node_id && p.node_id !== st.nodeId)
          .map((p) => ({ id: p.node_id, addr: p.addr })),
      });
      await bindServer(server, st.listenAddr, clusterServerCredentials(provider));
    }
  }

  private startSession(addrHost: string): void {
    if (this.session) return;
    const st = this.requireState();
    // Published ports: the routing mesh and host-mode ports listen on the listen address
    // (0.0.0.0 unless --listen-addr names one); tasks' ingress target ports are bound to
    // ephemeral ports of the advertise address, which every node's mesh dials.
    const listenHost = parseHostPort(st.listenAddr, DEFAULT_PORT, 'listen address').host;
    const specific = isIP(listenHost) !== 0 && listenHost !== '0.0.0.0' && listenHost !== '::';
    const mesh = new RoutingMesh({ bindHost: specific ? listenHost : '0.0.0.0', log: this.log });
    this.mesh = mesh;
    const executor = new Executor(
      st.nodeId,
      new DockerAdapter(this.engine.docker),
      (taskId, status) => {
        this.session?.reportStatus(taskId, status);
      },
      this.log,
      { publishIp: specific ? listenHost : '', meshIp: isIP(addrHost) ? addrHost : '' },
    );
    this.executor = executor;
    void executor.start();
    this.session = new AgentSession({
      nodeId: st.nodeId,
      addr: addrHost,
      managers: () => this.state?.managers ?? [],
      credentials: () => this.channelCredentials(),
      description: () => describeNode(this.engine, this.config.nodeName),
      onMessage: (m) => {
        this.onSessionMessage(m.node, m.managers);
        if (m.assignments) executor.setAssignments(m.assignments);
        if (m.mesh) mesh.update(m.mesh);
      },
      log: this.log,
    });
    this.session.start();
  }

  private onSessionMessage(node: Node, managers: PeerAddr[]): void {
    this.lastNode = node;
    const st = this.state;
    if (!st) return;
    if (managers.length && JSON.stringify(managers) !== JSON.stringify(st.managers)) {
      this.state = { ...st, managers };
      void saveNodeState(this.config.dataRoot, this.state).catch((err: unknown) => {
        this.log.warn({ err }, 'saving node state failed');
      });
    }
    const change = this.roleChange(node, st);
    // A demotion once asked is carried out even if a promotion follows before it runs: the
    // leader has already taken this manager out of Raft, so it must rejoin from scratch.
    if (change === 'demote') this.demoteAsked = true;
    if (change) this.enqueue(() => this.reconcileRole());
  }

  /** What the node object asks of this daemon's role, if anything. */
  private roleChange(node: Node, st: NodeState): 'promote' | 'demote' | undefined {
    if (node.Spec.Role === 'manager' && st.role === 'worker') return 'promote';
    if (node.Spec.Role === 'worker' && st.role === 'manager' && !node.ManagerStatus)
      return 'demote';
    return undefined;
  }

  /**
   * Brings the role in line with the node object, read when the queued transition runs: a
   * promotion that arrives while a demotion is under way is carried out once it is done (read
   * when the message came, it found the role still manager and was lost, leaving the node a
   * worker for good). A failed change is tried again a second later.
   */
  private async reconcileRole(): Promise<void> {
    try {
      if (this.demoteAsked) {
        await this.demoteSelf();
        this.demoteAsked = false;
      }
      const node = this.lastNode;
      const st = this.state;
      if (!node || !st || this.roleChange(node, st) !== 'promote') return;
      await this.promoteSelf();
      // The CA reads the role from the store, which may lag the node object we were sent.
      if (this.state?.role === 'worker') this.retryRole();
    } catch (err) {
      this.log.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'role change failed, retrying',
      );
      this.retryRole();
    }
  }

  private retryRole(): void {
    if (this.roleTimer) return;
    this.roleTimer = setTimeout(() => {
      this.roleTimer = undefined;
      if (this.state && this.lastNode) this.enqueue(() => this.reconcileRole());
    }, 1_000);
    this.roleTimer.unref();
  }

  private enqueue(fn: () => Promise<void>): void {
    this.transition = this.transition.then(fn).catch((err: unknown) => {
      this.log.error(
        { err: err instanceof Error ? err.message : String(err) },
        'role change failed',
      );
    });
  }

  /** Renews this node's certificate from any manager; the CA sets the role from the store. */
  private async renewCertificate(): Promise<NodeRole> {
    const st = this.requireState();
    const provider = this.requireProvider();
    const { keyPem, csrPem } = await createKeyAndCsr();
    let lastErr: unknown;
    for (const m of st.managers) {
      try {
        const res = await issueNodeCertificate(this.peers.ca(m.addr), {
          csr_pem: csrPem,
          token: '',
          description_json: '',
          advertise_addr: '',
        });
        const next: TlsIdentity = {
          caCertPem: provider.identity.caCertPem,
          certPem: res.cert_pem,
          keyPem,
        };
        await saveIdentity(this.config.dataRoot, next);
        provider.update(next);
        this.peers.resetCredentials(() => this.channelCredentials());
        return res.role === 'manager' ? 'manager' : 'worker';
      } catch (err) {
        lastErr = err;
      }
    }
    throw lastErr instanceof Error
      ? lastErr
      : new TswarmError('UNAVAILABLE', 'no manager reachable to renew the certificate');
  }

  private scheduleRenewal(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = setInterval(() => {
      const p = this.provider;
      if (!p || !needsRenewal(p.identity.certPem, new Date())) return;
      this.enqueue(async () => {
        await this.renewCertificate();
        this.log.info('node certificate renewed');
      });
    }, 60_000);
    this.renewTimer.unref();
  }

  private async promoteSelf(): Promise<void> {
    const st = this.requireState();
    if (st.role === 'manager') return;
    this.log.info('promoted: becoming a manager');
    const role = await this.renewCertificate();
    if (role !== 'manager') return;
    this.state = { ...st, role: 'manager' };
    await rm(`${swarmDir(this.config.dataRoot)}/raft`, { recursive: true, force: true });
    try {
      await this.startManager(false);
      await this.raftJoin();
    } catch (err) {
      // Back to a plain worker, so that the retry starts the promotion from the beginning
      // rather than finding the role already manager and a manager outside Raft.
      await this.stopManager();
      this.state = { ...this.state, role: 'worker' };
      throw err;
    }
    await saveNodeState(this.config.dataRoot, this.state);
  }

  private async raftJoin(): Promise<void> {
    const st = this.requireState();
    let lastErr: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      for (const m of st.managers.filter((p) => p.node_id !== st.nodeId)) {
        try {
          const res = await raftJoin(this.peers.manager(m.addr), st.nodeId, st.advertiseAddr);
          if (this.state)
            this.state = {
              ...this.state,
              managers: res.members.map((p) => ({ node_id: p.node_id, addr: p.addr })),
            };
          return;
        } catch (err) {
          lastErr = err;
        }
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw lastErr instanceof Error
      ? lastErr
      : new TswarmError('UNAVAILABLE', 'no manager reachable to join raft');
  }

  private async demoteSelf(): Promise<void> {
    const st = this.requireState();
    if (st.role === 'worker') return;
    this.log.info('demoted: stopping the manager');
    await this.stopManager();
    await rm(`${swarmDir(this.config.dataRoot)}/raft`, { recursive: true, force: true });
    this.state = { ...st, role: 'worker' };
    await saveNodeState(this.config.dataRoot, this.state);
    await this.renewCertificate();
  }

  private async stopManager(): Promise<void> {
    const m = this.managerRef;
    this.managerRef = undefined;
    const server = this.server2377;
    this.server2377 = undefined;
    await m?.stop();
    await shutdownServer(server);
  }

  private requireState(): NodeState {
    if (!this.state) throw new TswarmError('NOT_IN_SWARM', messages.notInSwarm);
    return this.state;
  }

  private requireProvider(): IdentityProvider {
    if (!this.provider) throw new TswarmError('NOT_IN_SWARM', messages.notInSwarm);
    return this.provider;
  }

  private guardIdle(): void {
    if (this.busy)
      throw new TswarmError(
        'FAILED_PRECONDITION',
        'a swarm operation is already in progress on this node',
      );
  }

  async init(
    o: InitOptions,
  ): Promise<{ nodeId: string; workerToken: string; managerToken: string; remoteAddr: string }> {
    this.guardIdle();
    if (o.forceNewCluster) return this.forceNewCluster(o);
    if (this.state) throw new TswarmError('ALREADY_EXISTS', messages.alreadyInSwarm);
    const listen = parseHostPort(
      o.listenAddr ?? `0.0.0.0:${DEFAULT_PORT}`,
      DEFAULT_PORT,
      'listen address',
    );
    const advertise = chooseAdvertiseAddr(o.advertiseAddr, listen);
    this.busy = true;
    try {
      const nodeId = generateId();
      const clusterId = generateId();
      const ca = await createRootCa();
      const { keyPem, csrPem } = await createKeyAndCsr();
      const certPem = await signNodeCsr(ca, csrPem, {
        nodeId,
        role: 'manager',
        clusterId,
        validityMs: 90 * 24 * 3600_000,
      });
      const identity = { caCertPem: ca.certPem, certPem, keyPem };
      await saveIdentity(this.config.dataRoot, identity);
      this.provider = new IdentityProvider(identity);
      const advertiseAddr = formatHostPort(advertise);
      this.state = {
        nodeId,
        clusterId,
        role: 'manager',
        listenAddr: formatHostPort(listen),
        advertiseAddr,
        managers: [{ node_id: nodeId, addr: advertiseAddr }],
      };
      try {
        await this.startManager(true);
        const m = this.managerRef;
        if (!m) throw new Error('manager did not start');
        await m.initCluster({
          clusterId,
          rootCa: ca,
          description: await describeNode(this.engine, this.config.nodeName),
          nodeAddr: advertise.host,
          ...(o.taskHistoryLimit !== undefined ? { taskHistoryLimit: o.taskHistoryLimit } : {}),
          ...(o.dispatcherHeartbeatMs !== undefined
            ? { heartbeatMs: o.dispatcherHeartbeatMs }
            : {}),
        });
        await saveNodeState(this.config.dataRoot, this.state);
        await this.startRole(false);
      } catch (err) {
        await this.teardown();
        throw err;
      }
      const cluster = this.managerRef?.store.requireCluster();
      if (!cluster) throw new Error('cluster missing after init');
      this.log.info({ nodeId, clusterId, advertiseAddr }, 'swarm initialized');
      return {
        nodeId,
        workerToken: formatJoinToken(ca.certPem, cluster.JoinTokens.Worker),
        managerToken: formatJoinToken(ca.certPem, cluster.JoinTokens.Manager),
        remoteAddr: advertiseAddr,
      };
    } finally {
      this.busy = false;
    }
  }

  /**
   * Recovers a manager that lost quorum: its Raft state becomes a one-manager cluster that
   * keeps every object it holds. Other managers stay listed, unreachable, until demoted and
   * removed (or re-joined).
   */
  private async forceNewCluster(
    _o: InitOptions,
  ): Promise<{ nodeId: string; workerToken: string; managerToken: string; remoteAddr: string }> {
    const st = this.state;
    if (!st) throw new TswarmError('NOT_IN_SWARM', messages.notInSwarm);
    if (st.role !== 'manager') throw new TswarmError('NOT_MANAGER', messages.notManager);
    this.busy = true;
    try {
      await this.session?.stop();
      this.session = undefined;
      await this.mesh?.stop();
      this.mesh = undefined;
      await this.executor?.stop();
      this.executor = undefined;
      await this.stopManager();
      const store = new Store();
      await forceNewCluster({
        dataDir: path.join(swarmDir(this.config.dataRoot), 'raft'),
        id: st.nodeId,
        addr: st.advertiseAddr,
        fsm: store,
        logger: this.log.child({ component: 'raft' }),
      });
      this.state = { ...st, managers: [{ node_id: st.nodeId, addr: st.advertiseAddr }] };
      await saveNodeState(this.config.dataRoot, this.state);
      await this.startManager(false);
      await this.managerRef?.waitLeader(10_000);
      await this.startRole(false);
      const cluster = this.managerRef?.store.requireCluster();
      const ca = this.requireProvider().identity.caCertPem;
      if (!cluster) throw new Error('cluster missing after --force-new-cluster');
      this.log.warn({ nodeId: st.nodeId }, 'forced a new cluster from this manager');
      return {
        nodeId: st.nodeId,
        workerToken: formatJoinToken(ca, cluster.JoinTokens.Worker),
        managerToken: formatJoinToken(ca, cluster.JoinTokens.Manager),
        remoteAddr: st.advertiseAddr,
      };
    } finally {
      this.busy = false;
    }
  }

  async join(o: JoinOptions): Promise<{ nodeId: string; role: NodeRole }> {
    this.guardIdle();
    if (this.state) throw new TswarmError('ALREADY_EXISTS', messages.alreadyInSwarm);
    const token = parseJoinToken(o.token);
    const remote = formatHostPort(parseHostPort(o.remoteAddr, DEFAULT_PORT, 'remote address'));
    const listen = parseHostPort(
      o.listenAddr ?? `0.0.0.0:${DEFAULT_PORT}`,
      DEFAULT_PORT,
      'listen address',
    );
    const advertise = chooseAdvertiseAddr(o.advertiseAddr, listen);
    this.busy = true;
    try {
      // 1. Fetch the root CA over an unverified channel and pin it to the token's digest.
      const untrusted = caClient(remote, untrustedChannelCredentials());
      let caCertPem: string;
      try {
        caCertPem = await getRootCa(untrusted);
      } catch (err) {
        throw new TswarmError(
          'UNAVAILABLE',
          `could not reach the manager at ${remote}: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      } finally {
        untrusted.close();
      }
      const digest = caDigest(caCertPem);
      if (digest !== token.caDigest) {
        throw new TswarmError(
          'PERMISSION_DENIED',
          `remote CA does not match fingerprint. Expected: ${token.caDigest}`,
        );
      }
      // 2. Only now, over a channel that verifies the pinned CA, send the CSR and the secret.
      const { keyPem, csrPem } = await createKeyAndCsr();
      const trusted = caClient(remote, anonymousChannelCredentials(caCertPem));
      const description = await describeNode(this.engine, this.config.nodeName);
      let res;
      try {
        res = await issueNodeCertificate(trusted, {
          csr_pem: csrPem,
          token: o.token,
          description_json: JSON.stringify(description),
          advertise_addr: formatHostPort(advertise),
        });
      } finally {
        trusted.close();
      }
      const role: NodeRole = res.role === 'manager' ? 'manager' : 'worker';
      const identity = { caCertPem, certPem: res.cert_pem, keyPem };
      await saveIdentity(this.config.dataRoot, identity);
      this.provider = new IdentityProvider(identity);
      this.peers.resetCredentials(() => this.channelCredentials());
      const managers = res.managers.map((p) => ({ node_id: p.node_id, addr: p.addr }));
      this.log.info({ managers, role: res.role }, 'certificate issued; joining');
      this.state = {
        nodeId: res.node_id,
        clusterId: res.cluster_id,
        role,
        listenAddr: formatHostPort(listen),
        advertiseAddr: formatHostPort(advertise),
        managers: managers.length ? managers : [{ node_id: '', addr: remote }],
      };
      try {
        if (role === 'manager') {
          await this.startManager(false);
          await this.raftJoin();
        }
        await saveNodeState(this.config.dataRoot, this.state);
        await this.startRole(false);
      } catch (err) {
        await this.teardown();
        throw err;
      }
      this.log.info({ nodeId: res.node_id, role }, 'joined the swarm');
      return { nodeId: res.node_id, role };
    } finally {
      this.busy = false;
    }
  }

  async leave(force: boolean): Promise<void> {
    this.guardIdle();
    const st = this.state;
    if (!st) throw new TswarmError('NOT_IN_SWARM', messages.notInSwarm);
    const m = this.managerRef;
    if (st.role === 'manager' && m) {
      const managers = m.store.nodes().filter((n) => n.ManagerStatus).length;
      if (!force) {
        if (managers <= 1) {
          throw new TswarmError(
            'FAILED_PRECONDITION',
            'You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message.',
          );
        }
        const remaining = managers - 1;
        const quorum = Math.floor(managers / 2) + 1;
        throw new TswarmError(
          'FAILED_PRECONDITION',
          `You are attempting to leave the swarm on a node that is participating as a manager. Removing this node leaves ${remaining} managers out of a potential quorum of ${quorum}. Without a Raft quorum your swarm will be inaccessible. The only way to restore a swarm that has lost consensus is to reinitialize it with \`--force-new-cluster\`. Use \`--force\` to suppress this message.`,
        );
      }
      if (managers > 1) {
        const others = st.managers.filter((p) => p.node_id !== st.nodeId);
        for (let attempt = 0; attempt < 3; attempt++) {
          const target =
            m.leaderAddr() && m.leaderId() !== st.nodeId
              ? m.leaderAddr()
              : others[attempt % Math.max(1, others.length)]?.addr;
          if (!target) break;
          try {
            if (m.isLeader()) await m.driver.transferLeadership();
            const client = managerClient(target, this.channelCredentials());
            try {
              await raftLeave(client, st.nodeId);
            } finally {
              client.close();
            }
            break;
          } catch (err) {
            this.log.warn(
              { err: err instanceof Error ? err.message : String(err) },
              'raft leave failed, retrying',
            );
            await new Promise((r) => setTimeout(r, 300));
          }
        }
      }
    }
    this.busy = true;
    try {
      await this.teardown();
      this.log.info('left the swarm');
    } finally {
      this.busy = false;
    }
  }

  /** Stops everything swarm-related and erases the swarm state from the data root. */
  private async teardown(): Promise<void> {
    await this.stop();
    this.state = undefined;
    this.provider = undefined;
    this.lastNode = undefined;
    this.demoteAsked = false;
    await rm(swarmDir(this.config.dataRoot), { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    if (this.roleTimer) clearTimeout(this.roleTimer);
    this.roleTimer = undefined;
    await this.session?.stop();
    this.session = undefined;
    await this.mesh?.stop();
    this.mesh = undefined;
    await this.executor?.stop();
    this.executor = undefined;
    await this.stopManager();
    await shutdownServer(this.server7946);
    this.server7946 = undefined;
    this.peers.close();
  }

  /** The Swarm section of `info`. */
  info(): SwarmInfo {
    const st = this.state;
    if (!st) return { local_node_state: 'inactive' };
    const m = this.managerRef;
    const base: SwarmInfo = {
      local_node_state: 'active',
      node_id: st.nodeId,
      node_addr: parseHostPort(st.advertiseAddr, DEFAULT_PORT, 'advertise address').host,
      is_manager: st.role === 'manager',
      cluster_id: st.clusterId,
      manager_addrs: st.managers.map((p) => p.addr).sort(),
      ca_not_after: this.provider
        ? certNotAfter(this.provider.identity.caCertPem).toISOString()
        : '',
    };
    if (!m) {
      if (!this.session?.isConnected) return { ...base, error: 'not connected to a manager' };
      return base;
    }
    const c = m.store.cluster();
    const nodes = m.store.nodes();
    return {
      ...base,
      managers: nodes.filter((n) => n.ManagerStatus).length,
      nodes: nodes.length,
      manager_addrs: nodes.flatMap((n) => (n.ManagerStatus ? [n.ManagerStatus.Addr] : [])).sort(),
      snapshot_interval: SNAPSHOT_INTERVAL,
      heartbeat_tick: RAFT_HEARTBEAT_TICKS,
      election_tick: RAFT_ELECTION_TICKS,
      tick_ms: RAFT_TICK_MS,
      dispatcher_heartbeat_ms: c
        ? c.Spec.Dispatcher.HeartbeatPeriod / NANOS_PER_MS
        : DEFAULT_HEARTBEAT_MS,
      cert_expiry_ms: c ? c.Spec.CAConfig.NodeCertExpiry / NANOS_PER_MS : 0,
      task_history_limit: c?.Spec.Orchestration.TaskHistoryRetentionLimit ?? 0,
      leader_id: m.leaderId(),
      ...(m.leaderId() ? {} : { error: messages.noLeader }),
    };
  }

  /** The full token for a secret of this cluster. */
  token(secret: string): string {
    return formatJoinToken(this.requireProvider().identity.caCertPem, secret);
  }

  newSecret(): string {
    return newSecret();
  }

  get currentNode(): Node | undefined {
    return this.lastNode;
  }
}
