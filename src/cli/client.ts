import * as grpc from '@grpc/grpc-js';
import type { ProtoGrpcType as ControlProto } from '../../proto/gen/control.js';
import type { InfoResponse__Output } from '../../proto/gen/tswarm/control/v1/InfoResponse.js';
import type { ControlClient } from '../../proto/gen/tswarm/control/v1/Control.js';
import type { JsonObject__Output } from '../../proto/gen/tswarm/control/v1/JsonObject.js';
import type { JsonObjects__Output } from '../../proto/gen/tswarm/control/v1/JsonObjects.js';
import type { NodeListRequest } from '../../proto/gen/tswarm/control/v1/NodeListRequest.js';
import type { NodeRef } from '../../proto/gen/tswarm/control/v1/NodeRef.js';
import type { NodeRemoveRequest } from '../../proto/gen/tswarm/control/v1/NodeRemoveRequest.js';
import type { NodeUpdateRequest } from '../../proto/gen/tswarm/control/v1/NodeUpdateRequest.js';
import type { ReadRequest } from '../../proto/gen/tswarm/control/v1/ReadRequest.js';
import type { SwarmInitRequest } from '../../proto/gen/tswarm/control/v1/SwarmInitRequest.js';
import type { SwarmInitResponse__Output } from '../../proto/gen/tswarm/control/v1/SwarmInitResponse.js';
import type { SwarmJoinRequest } from '../../proto/gen/tswarm/control/v1/SwarmJoinRequest.js';
import type { SwarmJoinResponse__Output } from '../../proto/gen/tswarm/control/v1/SwarmJoinResponse.js';
import type { SwarmLeaveRequest } from '../../proto/gen/tswarm/control/v1/SwarmLeaveRequest.js';
import type { SwarmUpdateRequest } from '../../proto/gen/tswarm/control/v1/SwarmUpdateRequest.js';
import type { Node, Service, Swarm, Task } from '../shared/api-types.js';
import { TswarmError } from '../shared/errors.js';
import { fromServiceError } from '../shared/grpc-status.js';
import { loadProto } from '../shared/proto.js';
import type { CliIo } from './io.js';

export const DEFAULT_HOST = 'unix:///run/tswarm/tswarm.sock';

/** -H/--host, else TSWARM_HOST, else the default socket. */
export function resolveHost(flag: string | undefined, env: CliIo['env']): string {
  const raw = flag ?? env['TSWARM_HOST'] ?? DEFAULT_HOST;
  if (raw.startsWith('unix://')) return raw;
  if (raw.startsWith('/')) return `unix://${raw}`;
  throw new TswarmError(
    'INVALID_ARGUMENT',
    `invalid host "${raw}": use unix:///path/to/tswarm.sock`,
  );
}

/** Decodes one object the daemon sent as JSON; a malformed one is an INTERNAL error. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the API type
export function decodeObject<T>(json: string, what: string): T {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (err) {
    throw new TswarmError('INTERNAL', `invalid ${what} JSON from daemon`, { cause: err });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new TswarmError('INTERNAL', `invalid ${what} JSON from daemon: not an object`);
  }
  return v as T;
}

/** How long `swarm join` may take: the daemon waits for its certificate and first session. */
export const JOIN_TIMEOUT_MS = 60_000;

type Callback<Res> = (err: grpc.ServiceError | null, res?: Res) => void;

/** The local daemon's control API, with promise-returning calls and daemon errors as TswarmError. */
export class Client {
  private readonly raw: ControlClient;

  constructor(readonly host: string) {
    const proto = loadProto<ControlProto>('control.proto');
    this.raw = new proto.tswarm.control.v1.Control(host, grpc.credentials.createInsecure());
  }

  close(): void {
    this.raw.close();
  }

  /** Calls a unary method; `Cannot connect` when no daemon answers. */
  call<Res>(
    invoke: (raw: ControlClient, opts: grpc.CallOptions, cb: Callback<Res>) => unknown,
    timeoutMs = 30_000,
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      invoke(this.raw, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) {
          if (
            err.code === grpc.status.UNAVAILABLE &&
            !err.metadata.get('tswarm-error-code').length
          ) {
            reject(
              new TswarmError(
                'UNAVAILABLE',
                `Cannot connect to the tswarm daemon at ${this.host}. Is the tswarm daemon running?`,
                { cause: err },
              ),
            );
          } else reject(fromServiceError(err));
        } else if (res === undefined) {
          reject(new TswarmError('INTERNAL', 'empty response from daemon'));
        } else resolve(res);
      });
    });
  }

  info(): Promise<InfoResponse__Output> {
    return this.call((c, o, cb) => c.Info({}, o, cb));
  }

  /** Streams `service logs` lines until the daemon ends the stream (or forever with follow). */
  logs(
    req: { ref: string; follow: boolean; tail: number; timestamps: boolean },
    onLine: (l: { source: string; stream: string; line: string }) => void,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const stream = this.raw.ServiceLogs(req);
      stream.on('data', (l: { source: string; stream: string; line: string }) => {
        onLine(l);
      });
      stream.on('end', () => {
        resolve();
      });
      stream.on('error', (err: grpc.ServiceError) => {
        reject(fromServiceError(err));
      });
    });
  }

  /** Creates a swarm with this node as its first manager. */
  swarmInit(req: SwarmInitRequest): Promise<SwarmInitResponse__Output> {
    return this.call((c, o, cb) => c.SwarmInit(req, o, cb));
  }

  /** Joins the swarm whose manager is `req.remote_addr`; resolves once the node is in. */
  swarmJoin(req: SwarmJoinRequest): Promise<SwarmJoinResponse__Output> {
    return this.call((c, o, cb) => c.SwarmJoin(req, o, cb), JOIN_TIMEOUT_MS);
  }

  swarmLeave(req: SwarmLeaveRequest): Promise<void> {
    return this.call((c, o, cb) => c.SwarmLeave(req, o, cb)).then(() => undefined);
  }

  /** The cluster object, join tokens included (managers only). */
  async swarmInspect(req: ReadRequest = {}): Promise<Swarm> {
    const res = await this.call<JsonObject__Output>((c, o, cb) => c.SwarmInspect(req, o, cb));
    return decodeObject<Swarm>(res.json, 'swarm');
  }

  swarmUpdate(req: SwarmUpdateRequest): Promise<void> {
    return this.call((c, o, cb) => c.SwarmUpdate(req, o, cb)).then(() => undefined);
  }

  /** Nodes matching `req.filters` (KEY=VALUE), in the daemon's order. */
  async nodeList(req: NodeListRequest = {}): Promise<Node[]> {
    const res = await this.call<JsonObjects__Output>((c, o, cb) => c.NodeList(req, o, cb));
    return res.json.map((j) => decodeObject<Node>(j, 'node'));
  }

  /** One node by ID, unique ID prefix, hostname or "self". */
  async nodeInspect(req: NodeRef): Promise<Node> {
    const res = await this.call<JsonObject__Output>((c, o, cb) => c.NodeInspect(req, o, cb));
    return decodeObject<Node>(res.json, 'node');
  }

  /** Applies role/availability/label changes; resolves with the updated node. */
  async nodeUpdate(req: NodeUpdateRequest): Promise<Node> {
    const res = await this.call<JsonObject__Output>((c, o, cb) => c.NodeUpdate(req, o, cb));
    return decodeObject<Node>(res.json, 'node');
  }

  nodeRemove(req: NodeRemoveRequest): Promise<void> {
    return this.call((c, o, cb) => c.NodeRemove(req, o, cb)).then(() => undefined);
  }

  /** Services matching `filters`, each with its running / desired task counts. */
  async serviceList(
    filters: readonly string[] = [],
  ): Promise<(Service & { ServiceStatus: { RunningTasks: number; DesiredTasks: number } })[]> {
    const res = await this.call<JsonObjects__Output>((c, o, cb) =>
      c.ServiceList({ filters: [...filters], stale_ok: false }, o, cb),
    );
    return res.json.map((j) =>
      decodeObject<Service & { ServiceStatus: { RunningTasks: number; DesiredTasks: number } }>(
        j,
        'service',
      ),
    );
  }

  /** Tasks matching `filters` (id, name, service, node, desired-state). */
  async taskList(filters: readonly string[] = []): Promise<Task[]> {
    const res = await this.call<JsonObjects__Output>((c, o, cb) =>
      c.TaskList({ filters: [...filters], stale_ok: false }, o, cb),
    );
    return res.json.map((j) => decodeObject<Task>(j, 'task'));
  }
}
