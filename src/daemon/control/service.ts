import type * as grpc from '@grpc/grpc-js';
import type { AuthContext } from '@grpc/grpc-js/build/src/auth-context.js';
import type {
  ControlClient,
  ControlHandlers,
} from '../../../proto/gen/tswarm/control/v1/Control.js';
import type { EngineInfo } from '../../../proto/gen/tswarm/control/v1/EngineInfo.js';
import type { InfoResponse } from '../../../proto/gen/tswarm/control/v1/InfoResponse.js';
import { messages, TswarmError } from '../../shared/errors.js';
import { VERSION } from '../../shared/version.js';
import { callUnary } from '../cluster/forward.js';
import type { SwarmNode } from '../cluster/swarm-node.js';
import { authorize } from '../cluster/tls.js';
import type { DaemonConfig } from '../config.js';
import type { Engine } from '../docker/engine.js';
import { unary } from '../grpc/unary.js';
import { toStatus } from '../../shared/grpc-status.js';
import type { ServiceLogsRequest__Output } from '../../../proto/gen/tswarm/control/v1/ServiceLogsRequest.js';
import type { LogLine } from '../../../proto/gen/tswarm/control/v1/LogLine.js';
import type { NodeLogLine__Output } from '../../../proto/gen/tswarm/cluster/v1/NodeLogLine.js';
import {
  inspectNode,
  inspectSwarm,
  listNodes,
  parseNodeUpdate,
  removeNode,
  updateNode,
  updateSwarm,
  validateSwarmSettings,
  type OpsContext,
} from '../manager/cluster-ops.js';
import type { Manager } from '../manager/manager.js';
import {
  createService,
  inspectService,
  listServices,
  listTasks,
  removeService,
  updateService,
} from '../manager/service-ops.js';
import { createSecret, inspectSecret, listSecrets, removeSecret } from '../manager/secret-ops.js';

export interface ControlDeps {
  readonly config: DaemonConfig;
  readonly engine: Engine;
  readonly swarm: () => SwarmNode;
  /** true for the copy served on 2377 to other managers (forwarded calls). */
  readonly remote: boolean;
}

async function engineInfo(engine: Engine): Promise<EngineInfo> {
  try {
    const f = await engine.facts();
    return {
      version: f.version,
      api_version: f.apiVersion,
      os: f.os,
      arch: f.arch,
      kernel_version: f.kernelVersion,
      storage_driver: f.storageDriver,
      containers: f.containers,
      containers_running: f.containersRunning,
      images: f.images,
    };
  } catch (err) {
    return { error: err instanceof TswarmError ? err.message : String(err) };
  }
}

function optional(n: string | number | null | undefined): number | undefined {
  if (n === null || n === undefined) return undefined;
  return Number(n);
}

/**
 * The control service. Served on the unix socket for the local CLI, and on 2377 (managers
 * only, mutual TLS) so a follower can forward a write to the leader. Reads run on the
 * manager that got them after a ReadIndex barrier; writes run on the leader.
 */
export function controlHandlers(deps: ControlDeps): ControlHandlers {
  const swarm = (): SwarmNode => deps.swarm();

  const managerFor = (call: { getAuthContext(): AuthContext }): Manager => {
    const s = swarm();
    const m = s.manager;
    if (!s.nodeId) throw new TswarmError('NOT_IN_SWARM', messages.notManager);
    if (!m) throw new TswarmError('NOT_MANAGER', messages.notManager);
    if (deps.remote) {
      const ca = m.store.cluster()?.RootCA.CertPem;
      if (!ca) throw new TswarmError('UNAVAILABLE', 'this manager has no cluster state yet');
      authorize(call, ca, { roles: ['manager'], isRemoved: (id) => m.store.isRemoved(id) });
    }
    if (!m.leaderId()) throw new TswarmError('NO_QUORUM', messages.noLeader);
    return m;
  };

  const ops = (m: Manager): OpsContext => m.ops((secret) => swarm().token(secret));

  /** Runs `local` on the leader, or forwards the call to it (once; a moved leader is retried). */
  const write = async <Res>(
    call: { getAuthContext(): AuthContext },
    local: (o: OpsContext) => Promise<Res>,
    forward: (
      c: ControlClient,
      opts: grpc.CallOptions,
      cb: (err: grpc.ServiceError | null, res?: Res) => void,
    ) => unknown,
  ): Promise<Res> => {
    const m = managerFor(call);
    if (m.isLeader()) return local(ops(m));
    if (deps.remote) throw m.notLeader();
    for (let attempt = 0; ; attempt++) {
      const addr = m.leaderAddr();
      if (!addr) throw new TswarmError('NO_QUORUM', messages.noLeader);
      try {
        return await callUnary(swarm().peerClients.control(addr), forward);
      } catch (err) {
        if (
          attempt >= 2 ||
          !(err instanceof TswarmError) ||
          (err.code !== 'NOT_LEADER' && err.code !== 'UNAVAILABLE')
        ) {
          throw err;
        }
        await new Promise((r) => setTimeout(r, 300));
        if (m.isLeader()) return local(ops(m));
      }
    }
  };

  return {
    Info: unary(async (): Promise<InfoResponse> => ({
      daemon_version: VERSION,
      node_name: deps.config.nodeName,
      data_root: deps.config.dataRoot,
      docker_host: deps.config.dockerHost,
      engine: await engineInfo(deps.engine),
      swarm: swarm().info(),
    })),

    SwarmInit: unary(async (req) => {
      if (deps.remote) throw new TswarmError('PERMISSION_DENIED', 'swarm init is a local call');
      const taskHistoryLimit = optional(req.task_history_limit);
      const dispatcherHeartbeatMs = optional(req.dispatcher_heartbeat_ms);
      validateSwarmSettings({
        ...(taskHistoryLimit !== undefined ? { taskHistoryLimit } : {}),
        ...(dispatcherHeartbeatMs !== undefined ? { dispatcherHeartbeatMs } : {}),
      });
      const r = await swarm().init({
        forceNewCluster: req.force_new_cluster,
        ...(req.advertise_addr ? { advertiseAddr: req.advertise_addr } : {}),
        ...(req.listen_addr ? { listenAddr: req.listen_addr } : {}),
        ...(taskHistoryLimit !== undefined ? { taskHistoryLimit } : {}),
        ...(dispatcherHeartbeatMs !== undefined ? { dispatcherHeartbeatMs } : {}),
      });
      return {
        node_id: r.nodeId,
        worker_token: r.workerToken,
        manager_token: r.managerToken,
        remote_addr: r.remoteAddr,
      };
    }),

    SwarmJoin: unary(async (req) => {
      if (deps.remote) throw new TswarmError('PERMISSION_DENIED', 'swarm join is a local call');
      const r = await swarm().join({
        token: req.token,
        remoteAddr: req.remote_addr,
        ...(req.advertise_addr ? { advertiseAddr: req.advertise_addr } : {}),
        ...(req.listen_addr ? { listenAddr: req.listen_addr } : {}),
      });
      return { node_id: r.nodeId, role: r.role };
    }),

    SwarmLeave: unary(async (req) => {
      if (deps.remote) throw new TswarmError('PERMISSION_DENIED', 'swarm leave is a local call');
      await swarm().leave(req.force);
      return {};
    }),

    SwarmInspect: unary(async (req, call) => {
      const m = managerFor(call);
      return { json: JSON.stringify(await inspectSwarm(ops(m), req.stale_ok)) };
    }),

    SwarmUpdate: unary((req, call) =>
      write(
        call,
        async (o) => {
          const taskHistoryLimit = optional(req.task_history_limit);
          const dispatcherHeartbeatMs = optional(req.dispatcher_heartbeat_ms);
          const certExpiryMs = optional(req.cert_expiry_ms);
          await updateSwarm(
            o,
            {
              ...(taskHistoryLimit !== undefined ? { taskHistoryLimit } : {}),
              ...(dispatcherHeartbeatMs !== undefined ? { dispatcherHeartbeatMs } : {}),
              ...(certExpiryMs !== undefined ? { certExpiryMs } : {}),
              rotateWorker: req.rotate_worker_token,
              rotateManager: req.rotate_manager_token,
            },
            () => swarm().newSecret(),
          );
          return {};
        },
        (c, opts, cb) => c.SwarmUpdate(req, opts, cb),
      ),
    ),

    NodeList: unary(async (req, call) => {
      const m = managerFor(call);
      const nodes = await listNodes(ops(m), req.filters, req.stale_ok);
      return { json: nodes.map((n) => JSON.stringify(n)) };
    }),

    NodeInspect: unary(async (req, call) => {
      const m = managerFor(call);
      const ref = req.ref === 'self' ? (swarm().nodeId ?? 'self') : req.ref;
      return { json: JSON.stringify(await inspectNode(ops(m), ref, req.stale_ok)) };
    }),

    NodeUpdate: unary((req, call) => {
      const u = parseNodeUpdate(req);
      const ref = req.ref === 'self' ? (swarm().nodeId ?? 'self') : req.ref;
      const fwd = { ...req, ref };
      return write(
        call,
        async (o) => ({ json: JSON.stringify(await updateNode(o, ref, u)) }),
        (c, opts, cb) => c.NodeUpdate(fwd, opts, cb),
      );
    }),

    NodeRemove: unary((req, call) => {
      const ref = req.ref === 'self' ? (swarm().nodeId ?? 'self') : req.ref;
      const fwd = { ...req, ref };
      return write(
        call,
        async (o) => {
          await removeNode(o, ref, req.force);
          return {};
        },
        (c, opts, cb) => c.NodeRemove(fwd, opts, cb),
      );
    }),

    ServiceCreate: unary((req, call) => {
      const spec = parseSpecJson(req.spec_json);
      return write(
        call,
        async (o) => ({ id: await createService(o, spec), warnings: [] as string[] }),
        (c, opts, cb) => c.ServiceCreate(req, opts, cb),
      );
    }),

    ServiceList: unary(async (req, call) => {
      const m = managerFor(call);
      const list = await listServices(ops(m), req.filters, req.stale_ok);
      return { json: list.map((x) => JSON.stringify(x)) };
    }),

    ServiceInspect: unary(async (req, call) => {
      const m = managerFor(call);
      return { json: JSON.stringify(await inspectService(ops(m), req.ref, req.stale_ok)) };
    }),

    ServiceUpdate: unary((req, call) => {
      const spec = req.rollback ? undefined : parseSpecJson(req.spec_json);
      return write(
        call,
        async (o) => ({
          json: JSON.stringify(
            await updateService(o, req.ref, spec, Number(req.version), req.rollback),
          ),
          warnings: [] as string[],
        }),
        (c, opts, cb) => c.ServiceUpdate(req, opts, cb),
      );
    }),

    ServiceRemove: unary((req, call) =>
      write(
        call,
        async (o) => {
          await removeService(o, req.ref);
          return {};
        },
        (c, opts, cb) => c.ServiceRemove(req, opts, cb),
      ),
    ),

    SecretCreate: unary((req, call) =>
      write(
        call,
        async (o) => ({
          id: await createSecret(o, { name: req.name, labels: req.labels, data: req.data }),
        }),
        (c, opts, cb) => c.SecretCreate(req, opts, cb),
      ),
    ),

    SecretList: unary(async (req, call) => {
      const m = managerFor(call);
      const list = await listSecrets(ops(m), req.filters, req.stale_ok);
      return { json: list.map((x) => JSON.stringify(x)) };
    }),

    SecretInspect: unary(async (req, call) => {
      const m = managerFor(call);
      return { json: JSON.stringify(await inspectSecret(ops(m), req.ref, req.stale_ok)) };
    }),

    SecretRemove: unary((req, call) =>
      write(
        call,
        async (o) => {
          await removeSecret(o, req.ref);
          return {};
        },
        (c, opts, cb) => c.SecretRemove(req, opts, cb),
      ),
    ),

    TaskList: unary(async (req, call) => {
      const m = managerFor(call);
      const tasks = await listTasks(ops(m), req.filters, req.stale_ok);
      return { json: tasks.map((t) => JSON.stringify(t)) };
    }),

    ServiceLogs: (call: grpc.ServerWritableStream<ServiceLogsRequest__Output, LogLine>) => {
      const fail = (err: unknown): void => {
        call.emit('error', toStatus(err));
      };
      let m: Manager;
      try {
        m = managerFor(call);
      } catch (err) {
        fail(err);
        return;
      }
      const r = call.request;
      void (async () => {
        await m.readBarrier();
        const svc = m.store.resolveService(r.ref);
        const tasks = m.store.tasksOfService(svc.ID).filter((t) => t.NodeID);
        const byNode = new Map<string, string[]>();
        for (const t of tasks)
          byNode.set(t.NodeID ?? '', [...(byNode.get(t.NodeID ?? '') ?? []), t.ID]);
        const taskById = new Map(tasks.map((t) => [t.ID, t]));
        const streams: Promise<void>[] = [];
        const calls: grpc.ClientReadableStream<unknown>[] = [];
        call.on('cancelled', () => {
          for (const c of calls) c.cancel();
        });
        for (const [nodeId, ids] of byNode) {
          const node = m.store.node(nodeId);
          if (!node || node.Status.State !== 'ready') continue;
          const client = swarm().peerClients.node(`${node.Status.Addr}:7946`);
          const stream = client.Logs({
            task_ids: ids,
            follow: r.follow,
            tail: r.tail,
            timestamps: r.timestamps,
          });
          calls.push(stream);
          streams.push(
            new Promise<void>((resolve) => {
              stream.on('data', (l: NodeLogLine__Output) => {
                const t = taskById.get(l.task_id);
                const slot = t?.Slot !== undefined ? String(t.Slot) : nodeId;
                call.write({
                  task_id: l.task_id,
                  node_id: nodeId,
                  source: `${svc.Spec.Name}.${slot}.${l.task_id.slice(0, 12)}@${node.Description.Hostname}`,
                  stream: l.stream,
                  line: l.line,
                });
              });
              stream.on('end', resolve);
              stream.on('error', () => {
                resolve();
              });
            }),
          );
        }
        await Promise.all(streams);
        call.end();
      })().catch(fail);
    },
  };
}

/** A service spec as the CLI sent it; bad JSON is the caller's error. */
function parseSpecJson(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    throw new TswarmError('INVALID_ARGUMENT', 'invalid service spec JSON');
  }
}
