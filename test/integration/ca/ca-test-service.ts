/**
 * A tiny gRPC service for the CA integration tests, defined in code with JSON
 * serialization: a CA service (GetRootCa, IssueNodeCertificate, as the join flow needs)
 * and two authorized methods (ManagerOnly, AnyNode). Handlers go through the project's
 * `unary()` wrapper, so errors take the same TswarmError → status path as the daemon.
 */
import {
  Client,
  Server,
  type ChannelCredentials,
  type ChannelOptions,
  type MethodDefinition,
  type ServerCredentials,
} from '@grpc/grpc-js';
import { fromServiceError } from '../../../src/shared/grpc-status.js';
import { TswarmError } from '../../../src/shared/errors.js';
import { generateId } from '../../../src/shared/ids.js';
import { unary } from '../../../src/daemon/grpc/unary.js';
import {
  authorize,
  issueNodeCertificate,
  MTLS_CHANNEL_OPTIONS,
  roleForJoinToken,
  type JoinTokens,
  type NodeRole,
  type RootCa,
} from '../../../src/daemon/ca/index.js';

type Empty = Record<string, never>;

function method<Req, Res>(name: string): MethodDefinition<Req, Res> {
  return {
    path: `/tswarm.test.CaTest/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (v: Req) => Buffer.from(JSON.stringify(v)),
    requestDeserialize: (b: Buffer) => JSON.parse(b.toString('utf8')) as Req,
    responseSerialize: (v: Res) => Buffer.from(JSON.stringify(v)),
    responseDeserialize: (b: Buffer) => JSON.parse(b.toString('utf8')) as Res,
  };
}

export const caTest = {
  GetRootCa: method<Empty, { caCertPem: string }>('GetRootCa'),
  IssueNodeCertificate: method<
    { token: string; csrPem: string },
    { nodeId: string; role: NodeRole; certPem: string }
  >('IssueNodeCertificate'),
  ManagerOnly: method<Empty, { nodeId: string }>('ManagerOnly'),
  AnyNode: method<Empty, { nodeId: string; role: NodeRole }>('AnyNode'),
} as const;

export interface TestServerOptions {
  readonly credentials: ServerCredentials;
  /** The CA the server issues from (a rogue server may serve a different one). */
  readonly ca: RootCa;
  readonly clusterId: string;
  readonly tokens: JoinTokens;
  readonly revoked?: ReadonlySet<string>;
}

export interface ReceivedCall {
  readonly method: string;
  readonly request: unknown;
}

export interface TestServer {
  readonly address: string;
  /** Every request any handler received, in order (to prove what a joiner sent where). */
  readonly received: ReceivedCall[];
  close(): void;
}

/** Starts the test service on 127.0.20.1 with an ephemeral port. */
export async function startTestServer(opts: TestServerOptions): Promise<TestServer> {
  const received: ReceivedCall[] = [];
  const server = new Server();
  const revoked = opts.revoked ?? new Set<string>();
  const isRevoked = (id: string): boolean => revoked.has(id);
  server.addService(caTest, {
    GetRootCa: unary<Empty, { caCertPem: string }>((req) => {
      received.push({ method: 'GetRootCa', request: req });
      return Promise.resolve({ caCertPem: opts.ca.certPem });
    }),
    IssueNodeCertificate: unary<
      { token: string; csrPem: string },
      { nodeId: string; role: NodeRole; certPem: string }
    >(async (req) => {
      received.push({ method: 'IssueNodeCertificate', request: req });
      const role = roleForJoinToken(req.token, opts.tokens);
      if (!role) throw new TswarmError('PERMISSION_DENIED', 'invalid join token');
      const nodeId = generateId();
      const certPem = await issueNodeCertificate(opts.ca, req.csrPem, {
        nodeId,
        role,
        clusterId: opts.clusterId,
      });
      return { nodeId, role, certPem };
    }),
    // NOTE(ca): unary() calls fn(...).then(...), so a handler must reject, not throw
    // synchronously (a sync throw escapes to grpc-js as "Unknown error").
    ManagerOnly: unary<Empty, { nodeId: string }>(
      (req, call) =>
        new Promise((resolve) => {
          received.push({ method: 'ManagerOnly', request: req });
          const peer = authorize(call, { roles: ['manager'], isRevoked });
          resolve({ nodeId: peer.nodeId });
        }),
    ),
    AnyNode: unary<Empty, { nodeId: string; role: NodeRole }>(
      (req, call) =>
        new Promise((resolve) => {
          received.push({ method: 'AnyNode', request: req });
          const peer = authorize(call, { roles: ['manager', 'worker'], isRevoked });
          resolve({ nodeId: peer.nodeId, role: peer.role });
        }),
    ),
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.20.1:0', opts.credentials, (err, p) => {
      if (err) reject(err);
      else resolve(p);
    });
  });
  return {
    address: `127.0.20.1:${port}`,
    received,
    close: () => {
      server.forceShutdown();
    },
  };
}

/** A client with its own subchannel pool, so no test reuses another test's TLS session. */
export function connect(address: string, creds: ChannelCredentials): Client {
  const options: ChannelOptions = { ...MTLS_CHANNEL_OPTIONS, 'grpc.use_local_subchannel_pool': 1 };
  return new Client(address, creds, options);
}

/** One unary call with a 5 s deadline; failures come back as TswarmError. */
export function call<Req, Res>(
  client: Client,
  def: MethodDefinition<Req, Res>,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      req,
      { deadline: Date.now() + 5000 },
      (err, res) => {
        if (err) reject(fromServiceError(err));
        else if (res === undefined) reject(new Error('empty response'));
        else resolve(res);
      },
    );
  });
}
