import type * as grpc from '@grpc/grpc-js';
import type { ProtoGrpcType as ClusterProto } from '../../../proto/gen/cluster.js';
import type { ProtoGrpcType as ControlProto } from '../../../proto/gen/control.js';
import type { CAClient } from '../../../proto/gen/tswarm/cluster/v1/CA.js';
import type { ManagerClient } from '../../../proto/gen/tswarm/cluster/v1/Manager.js';
import type { NodeClient } from '../../../proto/gen/tswarm/cluster/v1/Node.js';
import type { ControlClient } from '../../../proto/gen/tswarm/control/v1/Control.js';
import { fromServiceError } from '../../shared/grpc-status.js';
import { loadProto } from '../../shared/proto.js';
import { MTLS_CHANNEL_OPTIONS } from '../ca/index.js';

import type { IssueNodeCertificateRequest } from '../../../proto/gen/tswarm/cluster/v1/IssueNodeCertificateRequest.js';
import type { IssueNodeCertificateResponse__Output } from '../../../proto/gen/tswarm/cluster/v1/IssueNodeCertificateResponse.js';
import type { RaftJoinResponse__Output } from '../../../proto/gen/tswarm/cluster/v1/RaftJoinResponse.js';

export type AnyClient = CAClient | ManagerClient | ControlClient;

type Cb<Res> = (err: grpc.ServiceError | null, res?: Res) => void;

/** Calls one unary method and turns its failure into the TswarmError the server raised. */
export function callUnary<C extends grpc.Client, Res>(
  client: C,
  invoke: (c: C, opts: grpc.CallOptions, cb: Cb<Res>) => unknown,
  timeoutMs = 15_000,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    invoke(client, { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err) reject(fromServiceError(err));
      else if (res === undefined) reject(new Error('empty response'));
      else resolve(res);
    });
  });
}

const CHANNEL_OPTIONS = {
  ...MTLS_CHANNEL_OPTIONS,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
  'grpc.keepalive_time_ms': 5000,
};

/** Clients to peers' 2377, cached per address and dropped when credentials change. */
export class PeerClients {
  private readonly cache = new Map<
    string,
    { ca: CAClient; manager: ManagerClient; control: ControlClient }
  >();
  private readonly cluster = loadProto<ClusterProto>('cluster.proto').tswarm.cluster.v1;
  private readonly controlSvc = loadProto<ControlProto>('control.proto').tswarm.control.v1;

  constructor(private credentials: () => grpc.ChannelCredentials) {}

  resetCredentials(credentials: () => grpc.ChannelCredentials): void {
    this.credentials = credentials;
    this.close();
  }

  private entry(addr: string): { ca: CAClient; manager: ManagerClient; control: ControlClient } {
    let e = this.cache.get(addr);
    if (!e) {
      const creds = this.credentials();
      e = {
        ca: new this.cluster.CA(addr, creds, CHANNEL_OPTIONS),
        manager: new this.cluster.Manager(addr, creds, CHANNEL_OPTIONS),
        control: new this.controlSvc.Control(addr, creds, CHANNEL_OPTIONS),
      };
      this.cache.set(addr, e);
    }
    return e;
  }

  private readonly nodes = new Map<string, NodeClient>();

  /** A node's 7946 (node to node) service. */
  node(addr: string): NodeClient {
    let c = this.nodes.get(addr);
    if (!c) {
      c = new this.cluster.Node(addr, this.credentials(), CHANNEL_OPTIONS);
      this.nodes.set(addr, c);
    }
    return c;
  }

  ca(addr: string): CAClient {
    return this.entry(addr).ca;
  }

  manager(addr: string): ManagerClient {
    return this.entry(addr).manager;
  }

  control(addr: string): ControlClient {
    return this.entry(addr).control;
  }

  close(): void {
    for (const e of this.cache.values()) {
      e.ca.close();
      e.manager.close();
      e.control.close();
    }
    this.cache.clear();
    for (const c of this.nodes.values()) c.close();
    this.nodes.clear();
  }
}

/** A CA client over arbitrary credentials (joining: untrusted, then CA-verified without a cert). */
export function caClient(addr: string, creds: grpc.ChannelCredentials): CAClient {
  const cluster = loadProto<ClusterProto>('cluster.proto').tswarm.cluster.v1;
  return new cluster.CA(addr, creds, CHANNEL_OPTIONS);
}

export function managerClient(addr: string, creds: grpc.ChannelCredentials): ManagerClient {
  const cluster = loadProto<ClusterProto>('cluster.proto').tswarm.cluster.v1;
  return new cluster.Manager(addr, creds, CHANNEL_OPTIONS);
}

export function getRootCa(c: CAClient, timeoutMs = 10_000): Promise<string> {
  return callUnary<CAClient, { cert_pem: string }>(
    c,
    (cl, o, cb) => cl.GetRootCA({}, o, cb),
    timeoutMs,
  ).then((r) => r.cert_pem);
}

export function issueNodeCertificate(
  c: CAClient,
  req: IssueNodeCertificateRequest,
): Promise<IssueNodeCertificateResponse__Output> {
  return callUnary<CAClient, IssueNodeCertificateResponse__Output>(c, (cl, o, cb) =>
    cl.IssueNodeCertificate(req, o, cb),
  );
}

export function raftJoin(
  c: ManagerClient,
  nodeId: string,
  addr: string,
): Promise<RaftJoinResponse__Output> {
  return callUnary<ManagerClient, RaftJoinResponse__Output>(
    c,
    (cl, o, cb) => cl.RaftJoin({ node_id: nodeId, addr }, o, cb),
    60_000,
  );
}

export function raftLeave(c: ManagerClient, nodeId: string): Promise<unknown> {
  return callUnary<ManagerClient, unknown>(
    c,
    (cl, o, cb) => cl.RaftLeave({ node_id: nodeId }, o, cb),
    15_000,
  );
}
