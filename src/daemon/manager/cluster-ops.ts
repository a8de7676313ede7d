import type { Node, NodeAvailability, NodeRole, Swarm, SwarmSpec } from '../../shared/api-types.js';
import { NANOS_PER_MS } from '../../shared/api-types.js';
import { messages, TswarmError } from '../../shared/errors.js';
import type { Store } from './store/store.js';
import type { ClusterObject, Command, CommandResult } from './store/types.js';
import { filterNodes } from './node-filter.js';

/** What the cluster operations need from the manager they run on. */
export interface OpsContext {
  readonly store: Store;
  readonly selfId: string;
  leaderId(): string;
  /** Proposes on the leader and waits until applied here; throws the refusal as TswarmError. */
  write(cmd: Command): Promise<unknown>;
  /** Linearizable read barrier (ReadIndex), skipped when stale reads are allowed. */
  readBarrier(): Promise<void>;
  /** Full join token for a secret: SWMTKN-1-<digest>-<secret>. */
  token: (secret: string) => string;
}

export function now(): string {
  return new Date().toISOString();
}

export function checkResult(r: CommandResult | undefined): unknown {
  if (!r) return undefined;
  if (r.ok) return r.value;
  throw new TswarmError(r.code, r.message);
}

/** The node as clients see it: the Leader flag comes from Raft, not the store. */
export function presentNode(n: Node, leaderId: string): Node {
  if (!n.ManagerStatus) return n;
  const leader = n.ID === leaderId;
  return {
    ...n,
    ManagerStatus: {
      ...n.ManagerStatus,
      ...(leader ? { Leader: true, Reachability: 'reachable' as const } : {}),
    },
  };
}

export function presentSwarm(c: ClusterObject, token: (s: string) => string): Swarm {
  return {
    ID: c.ID,
    Version: c.Version,
    CreatedAt: c.CreatedAt,
    UpdatedAt: c.UpdatedAt,
    Spec: c.Spec,
    TLSInfo: { TrustRoot: c.RootCA.CertPem, CertIssuerSubject: 'CN=swarm-ca' },
    RootRotationInProgress: false,
    JoinTokens: { Worker: token(c.JoinTokens.Worker), Manager: token(c.JoinTokens.Manager) },
  };
}

function resolve(ctx: OpsContext, ref: string): Node {
  return ctx.store.resolveNode(ref === 'self' ? ctx.selfId : ref);
}

export async function listNodes(
  ctx: OpsContext,
  filters: readonly string[],
  staleOk: boolean,
): Promise<Node[]> {
  if (!staleOk) await ctx.readBarrier();
  const leader = ctx.leaderId();
  return filterNodes(ctx.store.nodes(), filters).map((n) => presentNode(n, leader));
}

export async function inspectNode(ctx: OpsContext, ref: string, staleOk: boolean): Promise<Node> {
  if (!staleOk) await ctx.readBarrier();
  return presentNode(resolve(ctx, ref), ctx.leaderId());
}

export interface NodeUpdate {
  readonly role?: NodeRole;
  readonly availability?: NodeAvailability;
  readonly labelAdd: Readonly<Record<string, string>>;
  readonly labelRm: readonly string[];
}

function parseRole(raw: string): NodeRole | undefined {
  if (raw === '') return undefined;
  if (raw === 'manager' || raw === 'worker') return raw;
  throw new TswarmError(
    'INVALID_ARGUMENT',
    `invalid role "${raw}", only worker and manager are supported`,
  );
}

function parseAvailability(raw: string): NodeAvailability | undefined {
  if (raw === '') return undefined;
  if (raw === 'active' || raw === 'pause' || raw === 'drain') return raw;
  throw new TswarmError(
    'INVALID_ARGUMENT',
    `invalid availability "${raw}", only active, pause and drain are supported`,
  );
}

export function parseNodeUpdate(req: {
  role: string;
  availability: string;
  label_add: Record<string, string>;
  label_rm: string[];
}): NodeUpdate {
  const role = parseRole(req.role);
  const availability = parseAvailability(req.availability);
  for (const k of [...Object.keys(req.label_add), ...req.label_rm]) {
    if (k === '') throw new TswarmError('INVALID_ARGUMENT', 'invalid label: empty key');
  }
  return {
    ...(role ? { role } : {}),
    ...(availability ? { availability } : {}),
    labelAdd: req.label_add,
    labelRm: req.label_rm,
  };
}

/** Leader only. Demoting the last manager is refused, as Docker. */
export async function updateNode(ctx: OpsContext, ref: string, u: NodeUpdate): Promise<Node> {
  await ctx.readBarrier();
  const n = resolve(ctx, ref);
  if (u.role === 'worker' && n.Spec.Role === 'manager') {
    const managers = ctx.store.nodes().filter((m) => m.Spec.Role === 'manager');
    if (managers.length <= 1)
      throw new TswarmError('FAILED_PRECONDITION', messages.demoteLastManager);
  }
  for (const k of u.labelRm) {
    if (!Object.hasOwn(n.Spec.Labels, k) && !Object.hasOwn(u.labelAdd, k)) {
      throw new TswarmError('INVALID_ARGUMENT', `key ${k} doesn't exist in node's labels`);
    }
  }
  await ctx.write({
    op: 'node.update-spec',
    at: now(),
    id: n.ID,
    ...(u.role ? { role: u.role } : {}),
    ...(u.availability ? { availability: u.availability } : {}),
    labelAdd: u.labelAdd,
    labelRm: u.labelRm,
  });
  return presentNode(ctx.store.resolveNode(n.ID), ctx.leaderId());
}

/** Leader only: Docker's preconditions for `node rm`. */
export async function removeNode(ctx: OpsContext, ref: string, force: boolean): Promise<void> {
  await ctx.readBarrier();
  const n = resolve(ctx, ref);
  if (n.Spec.Role === 'manager' || n.ManagerStatus) {
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `rpc error: code = FailedPrecondition desc = node ${n.ID} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`,
    );
  }
  // As swarmkit: only a Ready node needs --force (Unknown and Disconnected ones do not).
  if (!force && n.Status.State === 'ready') {
    throw new TswarmError(
      'FAILED_PRECONDITION',
      `rpc error: code = FailedPrecondition desc = node ${n.ID} is not down and can't be removed`,
    );
  }
  await ctx.write({ op: 'node.remove', at: now(), id: n.ID });
}

export async function inspectSwarm(ctx: OpsContext, staleOk: boolean): Promise<Swarm> {
  if (!staleOk) await ctx.readBarrier();
  return presentSwarm(ctx.store.requireCluster(), ctx.token);
}

export interface SwarmUpdate {
  readonly taskHistoryLimit?: number;
  readonly dispatcherHeartbeatMs?: number;
  readonly certExpiryMs?: number;
  readonly rotateWorker: boolean;
  readonly rotateManager: boolean;
}

export function validateSwarmSettings(u: {
  taskHistoryLimit?: number;
  dispatcherHeartbeatMs?: number;
  certExpiryMs?: number;
}): void {
  if (
    u.taskHistoryLimit !== undefined &&
    (!Number.isInteger(u.taskHistoryLimit) || u.taskHistoryLimit < 0)
  ) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `invalid task history limit ${u.taskHistoryLimit}: must be >= 0`,
    );
  }
  if (
    u.dispatcherHeartbeatMs !== undefined &&
    (!(u.dispatcherHeartbeatMs >= 100) || u.dispatcherHeartbeatMs > 24 * 3600_000)
  ) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `invalid dispatcher heartbeat period: must be between 100ms and 24h`,
    );
  }
  if (u.certExpiryMs !== undefined && u.certExpiryMs < 3600_000) {
    throw new TswarmError('INVALID_ARGUMENT', 'minimum certificate expiry time is: 1h0m0s');
  }
}

export async function updateSwarm(
  ctx: OpsContext,
  u: SwarmUpdate,
  newSecret: () => string,
): Promise<void> {
  validateSwarmSettings(u);
  await ctx.readBarrier();
  const c = ctx.store.requireCluster();
  const spec: SwarmSpec = {
    ...c.Spec,
    Orchestration: {
      TaskHistoryRetentionLimit:
        u.taskHistoryLimit ?? c.Spec.Orchestration.TaskHistoryRetentionLimit,
    },
    Dispatcher: {
      HeartbeatPeriod:
        u.dispatcherHeartbeatMs !== undefined
          ? u.dispatcherHeartbeatMs * NANOS_PER_MS
          : c.Spec.Dispatcher.HeartbeatPeriod,
    },
    CAConfig: {
      NodeCertExpiry:
        u.certExpiryMs !== undefined
          ? u.certExpiryMs * NANOS_PER_MS
          : c.Spec.CAConfig.NodeCertExpiry,
    },
  };
  await ctx.write({
    op: 'cluster.update',
    at: now(),
    spec,
    joinTokens: {
      Worker: u.rotateWorker ? newSecret() : c.JoinTokens.Worker,
      Manager: u.rotateManager ? newSecret() : c.JoinTokens.Manager,
    },
  });
}
