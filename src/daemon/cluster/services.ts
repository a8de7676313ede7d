import type * as grpc from '@grpc/grpc-js';
import type { CAHandlers } from '../../../proto/gen/tswarm/cluster/v1/CA.js';
import type { DispatcherHandlers } from '../../../proto/gen/tswarm/cluster/v1/Dispatcher.js';
import type { ManagerHandlers } from '../../../proto/gen/tswarm/cluster/v1/Manager.js';
import type { IssueNodeCertificateResponse } from '../../../proto/gen/tswarm/cluster/v1/IssueNodeCertificateResponse.js';
import type { SessionMessage } from '../../../proto/gen/tswarm/cluster/v1/SessionMessage.js';
import type { SessionRequest__Output } from '../../../proto/gen/tswarm/cluster/v1/SessionRequest.js';
import type { Node, NodeDescription, NodeRole, TaskStatus } from '../../shared/api-types.js';
import type { Assignment } from '../manager/dispatcher/dispatcher.js';
import type { MeshTable } from '../mesh/table.js';
import { NANOS_PER_MS } from '../../shared/api-types.js';
import type { AuthContext } from '@grpc/grpc-js/build/src/auth-context.js';
import { TswarmError } from '../../shared/errors.js';
import { toStatus } from '../../shared/grpc-status.js';
import { LEADER_ADDR_KEY } from '../agent/session.js';
import { unary } from '../grpc/unary.js';
import type { Logger } from '../log.js';
import { now } from '../manager/cluster-ops.js';
import type { Manager } from '../manager/manager.js';
import { callUnary, type PeerClients } from './forward.js';
import { caDigest, parseJoinToken, signNodeCsr, timingSafeEqualString } from './pki.js';
import { authorize, verifyPeer } from './tls.js';

export interface ClusterServiceDeps {
  manager(): Manager | undefined;
  readonly peers: PeerClients;
  readonly log: Logger;
}

function requireManager(d: ClusterServiceDeps): Manager {
  const m = d.manager();
  if (!m) throw new TswarmError('NOT_MANAGER', 'this node is not a manager');
  return m;
}

function leaderAddrOrThrow(m: Manager): string {
  const addr = m.leaderAddr();
  if (!addr) throw m.notLeader();
  return addr;
}

function caPem(m: Manager): string {
  return m.store.requireCluster().RootCA.CertPem;
}

function peerHost(call: { getPeer(): string }): string {
  const p = call.getPeer();
  const m = /^(?:ipv4:|ipv6:)?\[?([^\]]+?)\]?:\d+$/.exec(p);
  return m?.[1] ?? p;
}

/** CA service: root CA for anyone; certificates for joiners (token) and members (renewal). */
export function caHandlers(d: ClusterServiceDeps): CAHandlers {
  return {
    GetRootCA: unary(() => {
      const m = requireManager(d);
      return Promise.resolve({ cert_pem: caPem(m) });
    }),
    IssueNodeCertificate: unary(async (req, call): Promise<IssueNodeCertificateResponse> => {
      const m = requireManager(d);
      const cluster = m.store.requireCluster();
      const peer = verifyPeer(call, cluster.RootCA.CertPem);
      const validityMs = cluster.Spec.CAConfig.NodeCertExpiry / NANOS_PER_MS;
      const managers = m.managers();

      if (!req.token) {
        // Renewal (or a role change): the caller's own certificate names it.
        if (!peer)
          throw new TswarmError(
            'PERMISSION_DENIED',
            'a join token or a node certificate is required',
          );
        if (m.store.isRemoved(peer.nodeId)) {
          throw new TswarmError(
            'PERMISSION_DENIED',
            `node ${peer.nodeId} has been removed from the swarm`,
          );
        }
        const node = m.store.node(peer.nodeId);
        if (!node) throw new TswarmError('NOT_FOUND', `node ${peer.nodeId} not found`);
        const role = node.Spec.Role;
        const cert = await signNodeCsr(cluster.RootCA, req.csr_pem, {
          nodeId: node.ID,
          role,
          clusterId: cluster.ID,
          validityMs,
        });
        return { node_id: node.ID, role, cert_pem: cert, cluster_id: cluster.ID, managers };
      }

      // Joining: creating the node is a write, so only the leader does it.
      if (!m.isLeader()) {
        const addr = leaderAddrOrThrow(m);
        return callUnary(d.peers.ca(addr), (c, o, cb) => c.IssueNodeCertificate(req, o, cb));
      }
      const token = parseJoinToken(req.token);
      if (token.caDigest !== caDigest(cluster.RootCA.CertPem)) {
        throw new TswarmError(
          'PERMISSION_DENIED',
          "invalid join token: it does not match this swarm's CA",
        );
      }
      let role: NodeRole;
      if (timingSafeEqualString(token.secret, cluster.JoinTokens.Manager)) role = 'manager';
      else if (timingSafeEqualString(token.secret, cluster.JoinTokens.Worker)) role = 'worker';
      else throw new TswarmError('PERMISSION_DENIED', 'invalid join token');

      let description: NodeDescription;
      try {
        description = JSON.parse(req.description_json) as NodeDescription;
      } catch {
        throw new TswarmError('INVALID_ARGUMENT', 'invalid node description');
      }
      const nodeId = m.newNodeId();
      const addrHost = req.advertise_addr
        ? req.advertise_addr.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')
        : peerHost(call);
      await m.createNode(nodeId, role, description, addrHost);
      const cert = await signNodeCsr(cluster.RootCA, req.csr_pem, {
        nodeId,
        role,
        clusterId: cluster.ID,
        validityMs,
      });
      d.log.info({ nodeId, role, hostname: description.Hostname }, 'node joined');
      return { node_id: nodeId, role, cert_pem: cert, cluster_id: cluster.ID, managers };
    }),
  };
}

/** Manager-only calls: Raft membership of managers. */
export function managerHandlers(d: ClusterServiceDeps): ManagerHandlers {
  const auth = (m: Manager, call: { getAuthContext(): AuthContext }): void => {
    authorize(call, caPem(m), { roles: ['manager'], isRemoved: (id) => m.store.isRemoved(id) });
  };
  return {
    RaftJoin: unary(async (req, call) => {
      const m = requireManager(d);
      auth(m, call);
      if (!m.isLeader()) {
        return callUnary(
          d.peers.manager(leaderAddrOrThrow(m)),
          (c, o, cb) => c.RaftJoin(req, o, cb),
          60_000,
        );
      }
      const node = m.store.node(req.node_id);
      if (node?.Spec.Role !== 'manager') {
        throw new TswarmError('FAILED_PRECONDITION', `node ${req.node_id} is not a manager`);
      }
      await m.driver.addMember(req.node_id, req.addr);
      await m.write({
        op: 'node.set-manager',
        at: now(),
        id: req.node_id,
        manager: { addr: req.addr, reachability: 'reachable' },
      });
      return { members: m.managers() };
    }),
    RaftLeave: unary(async (req, call) => {
      const m = requireManager(d);
      auth(m, call);
      if (!m.isLeader()) {
        return callUnary(
          d.peers.manager(leaderAddrOrThrow(m)),
          (c, o, cb) => c.RaftLeave(req, o, cb),
          30_000,
        );
      }
      if (req.node_id === m.nodeId) {
        await m.driver.transferLeadership();
        throw new TswarmError('NOT_LEADER', 'leadership transferred; retry on the new leader');
      }
      await m.driver.removeMember(req.node_id);
      if (m.store.node(req.node_id))
        await m.write({ op: 'node.set-manager', at: now(), id: req.node_id });
      return {};
    }),
  };
}

function sessionError(err: TswarmError, m: Manager): Partial<grpc.StatusObject> {
  const st = toStatus(err);
  const leader = m.leaderAddr();
  if (leader && st.metadata) st.metadata.set(LEADER_ADDR_KEY, leader);
  return st;
}

/** Dispatcher: node sessions and heartbeats, on the leader. */
export function dispatcherHandlers(d: ClusterServiceDeps): DispatcherHandlers {
  return {
    Session: (call: grpc.ServerWritableStream<SessionRequest__Output, SessionMessage>) => {
      const m = d.manager();
      const fail = (err: unknown): void => {
        const e = err instanceof TswarmError ? err : new TswarmError('INTERNAL', String(err));
        call.emit('error', m ? sessionError(e, m) : toStatus(e));
      };
      if (!m) {
        fail(new TswarmError('NOT_MANAGER', 'this node is not a manager'));
        return;
      }
      let peer;
      try {
        peer = authorize(call, caPem(m), {
          roles: ['manager', 'worker'],
          isRemoved: (id) => m.store.isRemoved(id),
        });
      } catch (err) {
        fail(err);
        return;
      }
      const dispatcher = m.currentDispatcher;
      if (!m.isLeader() || !dispatcher) {
        fail(m.notLeader());
        return;
      }
      let sessionId = '';
      let ended = false;
      const sink = {
        push: (node: Node, assignments?: readonly Assignment[], mesh?: MeshTable) => {
          if (ended) return;
          call.write({
            session_id: sessionId,
            managers: m.managers(),
            node_json: JSON.stringify(node),
            heartbeat_period_ms: m.heartbeatPeriodMs(),
            leader_id: m.leaderId(),
            has_assignments: assignments !== undefined,
            assignments: (assignments ?? []).map((a) => ({
              task_json: JSON.stringify(a.task),
              service_name: a.serviceName,
              secrets: (a.secrets ?? []).map((x) => ({ id: x.id, name: x.name, data: x.data })),
            })),
            has_mesh: mesh !== undefined,
            mesh_json: mesh ? JSON.stringify(mesh) : '',
          });
        },
        end: (err?: TswarmError) => {
          if (ended) return;
          ended = true;
          if (err) call.emit('error', sessionError(err, m));
          else call.end();
        },
      };
      call.on('cancelled', () => {
        ended = true;
        dispatcher.closeSession(sessionId);
      });
      let description: NodeDescription | undefined;
      try {
        description = call.request.description_json
          ? (JSON.parse(call.request.description_json) as NodeDescription)
          : undefined;
      } catch {
        description = undefined;
      }
      const nodeId = peer.nodeId;
      // The id is known before the first push: openSession pushes once registered.
      const pending = { sessionId: '' };
      dispatcher
        .openSession(nodeId, description, call.request.addr || peerHost(call), {
          push: (node, assignments, mesh) => {
            if (!sessionId) return;
            sink.push(node, assignments, mesh);
          },
          end: sink.end,
        })
        .then((id) => {
          pending.sessionId = id;
          sessionId = id;
          dispatcher.sendInitial(id);
        })
        .catch(fail);
    },
    Heartbeat: unary((req, call) => {
      const m = requireManager(d);
      const peer = authorize(call, caPem(m), {
        roles: ['manager', 'worker'],
        isRemoved: (id) => m.store.isRemoved(id),
      });
      const dispatcher = m.currentDispatcher;
      if (!m.isLeader() || !dispatcher) throw m.notLeader();
      return Promise.resolve({
        period_ms: String(dispatcher.heartbeat(peer.nodeId, req.session_id, req.stopping)),
      });
    }),
    UpdateTaskStatus: unary((req, call) => {
      const m = requireManager(d);
      const peer = authorize(call, caPem(m), {
        roles: ['manager', 'worker'],
        isRemoved: (id) => m.store.isRemoved(id),
      });
      const dispatcher = m.currentDispatcher;
      if (!m.isLeader() || !dispatcher) throw m.notLeader();
      dispatcher.updateTaskStatus(
        peer.nodeId,
        req.session_id,
        req.updates.map((u) => ({
          taskId: u.task_id,
          status: JSON.parse(u.status_json) as TaskStatus,
        })),
      );
      return Promise.resolve({});
    }),
  };
}
