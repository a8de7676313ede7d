import type { PortConfig, Service, ServiceSpec, Task } from '../../shared/api-types.js';
import { TswarmError } from '../../shared/errors.js';
import { generateId } from '../../shared/ids.js';
import { parseConstraint, parsePlacementPref } from '../../scheduler/index.js';
import { now, type OpsContext } from './cluster-ops.js';
import type { Command } from './store/types.js';
import { isActive, sameSpec } from './orchestrator/reconcile.js';
import { isUpdateActive, MANUAL_ROLLBACK_MESSAGE } from './orchestrator/update-plan.js';
import { allocatePorts, redeployOnPortChange } from './port-allocator.js';
import { resolveSecretReferences } from './secret-ops.js';

const NAME_RE = /^[a-zA-Z0-9](?:[a-zA-Z0-9-_.]{0,62})$/;

function bad(msg: string): never {
  throw new TswarmError('INVALID_ARGUMENT', msg);
}

/** Checks a spec the way swarmkit's controlapi does, with its messages where it has them. */
export function validateServiceSpec(raw: unknown): ServiceSpec {
  if (typeof raw !== 'object' || raw === null) bad('invalid service spec');
  const spec = raw as ServiceSpec;
  if (!spec.Name || !NAME_RE.test(spec.Name)) {
    bad(`rpc error: code = InvalidArgument desc = name must be valid as a DNS name component`);
  }
  const c = spec.TaskTemplate.ContainerSpec;
  if (!c.Image)
    bad('rpc error: code = InvalidArgument desc = ContainerSpec: image reference must be provided');
  const mode = spec.Mode;
  if (mode.Global && mode.Replicated)
    bad('rpc error: code = InvalidArgument desc = service mode must be replicated or global');
  const replicas = mode.Replicated?.Replicas;
  if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 0)) {
    bad(`invalid replicas value ${String(replicas)}: must be a non-negative integer`);
  }
  const p = spec.TaskTemplate.Placement;
  for (const expr of p?.Constraints ?? []) {
    try {
      parseConstraint(expr);
    } catch (err) {
      bad(err instanceof Error ? err.message : String(err));
    }
  }
  for (const pref of p?.Preferences ?? []) {
    try {
      parsePlacementPref(`spread=${pref.Spread.SpreadDescriptor}`);
    } catch (err) {
      bad(err instanceof Error ? err.message : String(err));
    }
  }
  if (p?.MaxReplicas !== undefined && (p.MaxReplicas < 0 || !Number.isInteger(p.MaxReplicas)))
    bad('invalid max replicas per node');
  const rp = spec.TaskTemplate.RestartPolicy;
  if (rp?.Condition && !['none', 'on-failure', 'any'].includes(rp.Condition))
    bad(`invalid restart condition "${rp.Condition}"`);
  for (const port of spec.EndpointSpec?.Ports ?? []) {
    if (!(port.TargetPort >= 1 && port.TargetPort <= 65535))
      bad(`invalid target port ${port.TargetPort}`);
    if (
      port.PublishedPort !== undefined &&
      !(port.PublishedPort >= 0 && port.PublishedPort <= 65535)
    ) {
      bad(`invalid published port ${port.PublishedPort}`);
    }
  }
  const r = spec.TaskTemplate.Resources;
  for (const v of [
    r?.Limits?.NanoCPUs,
    r?.Limits?.MemoryBytes,
    r?.Reservations?.NanoCPUs,
    r?.Reservations?.MemoryBytes,
  ]) {
    if (v !== undefined && !(v >= 0)) bad('resources must be non-negative');
  }
  return spec;
}

export interface ServiceWithStatus extends Service {
  readonly ServiceStatus: { readonly RunningTasks: number; readonly DesiredTasks: number };
}

export function withStatus(ctx: OpsContext, s: Service): ServiceWithStatus {
  const tasks = ctx.store.tasksOfService(s.ID);
  const running = tasks.filter(
    (t) => t.Status.State === 'running' && t.DesiredState === 'running',
  ).length;
  const desired = s.Spec.Mode.Global
    ? tasks.filter((t) => isActive(t) && t.DesiredState === 'running').length
    : (s.Spec.Mode.Replicated?.Replicas ?? 1);
  return { ...s, ServiceStatus: { RunningTasks: running, DesiredTasks: desired } };
}

/** Leader only. */
export async function createService(ctx: OpsContext, raw: unknown): Promise<string> {
  const validated = validateServiceSpec(raw);
  await ctx.readBarrier();
  const spec = resolveSecretReferences(ctx.store, validated);
  if (ctx.store.services().some((s) => s.Spec.Name === spec.Name)) {
    throw new TswarmError(
      'ALREADY_EXISTS',
      `rpc error: code = AlreadyExists desc = name conflicts with an existing object: service ${spec.Name} already exists`,
    );
  }
  const ports = allocatePorts(ctx.store.services(), spec);
  const id = generateId();
  const at = now();
  await ctx.write({
    op: 'service.create',
    at,
    service: {
      ID: id,
      Version: { Index: 0 },
      CreatedAt: at,
      UpdatedAt: at,
      Spec: spec,
      ...(ports ? { Endpoint: { Ports: ports } } : {}),
    },
  });
  return id;
}

const SERVICE_FILTERS = ['id', 'name', 'label', 'mode'] as const;

export async function listServices(
  ctx: OpsContext,
  filters: readonly string[],
  staleOk: boolean,
): Promise<ServiceWithStatus[]> {
  if (!staleOk) await ctx.readBarrier();
  const fs = parseFilters(filters, SERVICE_FILTERS);
  return ctx.store
    .services()
    .filter((s) =>
      [...fs].every(([k, vs]) =>
        vs.some((v) => {
          if (k === 'id') return s.ID.startsWith(v);
          if (k === 'name') return s.Spec.Name.startsWith(v);
          if (k === 'mode') return v === (s.Spec.Mode.Global ? 'global' : 'replicated');
          const i = v.indexOf('=');
          return i < 0
            ? Object.hasOwn(s.Spec.Labels, v)
            : s.Spec.Labels[v.slice(0, i)] === v.slice(i + 1);
        }),
      ),
    )
    .sort((a, b) => a.Spec.Name.localeCompare(b.Spec.Name))
    .map((s) => withStatus(ctx, s));
}

export async function inspectService(
  ctx: OpsContext,
  ref: string,
  staleOk: boolean,
): Promise<ServiceWithStatus> {
  if (!staleOk) await ctx.readBarrier();
  return withStatus(ctx, ctx.store.resolveService(ref));
}

/**
 * Leader only. `rollback` swaps the spec and the previous spec (`service rollback`, Docker's
 * "manually requested rollback"); the rollback then proceeds with the RollbackConfig. An
 * update that changes the task template starts a rolling update (UpdateStatus `updating`,
 * stamped with its start: the updater counts the tasks created since as the update's).
 */
export async function updateService(
  ctx: OpsContext,
  ref: string,
  raw: unknown,
  version: number,
  rollback: boolean,
): Promise<ServiceWithStatus> {
  await ctx.readBarrier();
  const s = ctx.store.resolveService(ref);
  let spec: ServiceSpec;
  if (rollback) {
    if (!s.PreviousSpec)
      throw new TswarmError(
        'FAILED_PRECONDITION',
        `service ${s.Spec.Name} does not have a previous spec`,
      );
    spec = s.PreviousSpec;
  } else {
    spec = resolveSecretReferences(ctx.store, validateServiceSpec(raw));
    if (spec.Name !== s.Spec.Name) {
      throw new TswarmError(
        'INVALID_ARGUMENT',
        'rpc error: code = Unimplemented desc = renaming services is not supported',
      );
    }
  }
  if (!rollback) spec = redeployOnPortChange(s.Spec, spec, sameSpec);
  const ports = allocatePorts(ctx.store.services(), spec, s);
  const cmd = serviceUpdateCommand(s, spec, rollback, now(), ports);
  await ctx.write(version > 0 ? { ...cmd, expectVersion: version } : cmd);
  return withStatus(ctx, ctx.store.resolveService(s.ID));
}

/**
 * The store write of a `service update` (pure): the new spec, the replaced one as
 * PreviousSpec (a rollback swaps the two, as Docker), and the update status it leaves.
 */
export function serviceUpdateCommand(
  s: Service,
  spec: ServiceSpec,
  rollback: boolean,
  at: string,
  /** The Endpoint ports with their published ports assigned (default: the spec's). */
  ports: readonly PortConfig[] | undefined = spec.EndpointSpec?.Ports,
): Extract<Command, { op: 'service.update' }> {
  const status = nextUpdateStatus(s, spec, rollback, at);
  return {
    op: 'service.update',
    at,
    id: s.ID,
    service: {
      Spec: spec,
      PreviousSpec: s.Spec,
      ...(ports ? { Endpoint: { Ports: ports } } : {}),
      ...(status ? { UpdateStatus: status } : {}),
    },
  };
}

/**
 * The UpdateStatus a `service update` leaves: a rollback or a new task template starts one;
 * other changes (replicas, update policy, labels) keep an update in progress going and
 * otherwise reset the status as Docker does (the updater restarts a paused update then).
 */
function nextUpdateStatus(
  s: Service,
  spec: ServiceSpec,
  rollback: boolean,
  at: string,
): Service['UpdateStatus'] {
  if (rollback)
    return { State: 'rollback_started', StartedAt: at, Message: MANUAL_ROLLBACK_MESSAGE };
  if (!sameSpec(spec.TaskTemplate, s.Spec.TaskTemplate))
    return { State: 'updating', StartedAt: at, Message: 'update in progress' };
  return isUpdateActive(s.UpdateStatus) ? s.UpdateStatus : undefined;
}

export async function removeService(ctx: OpsContext, ref: string): Promise<void> {
  await ctx.readBarrier();
  const s = ctx.store.resolveService(ref);
  await ctx.write({ op: 'service.remove', at: now(), id: s.ID });
}

const TASK_FILTERS = ['id', 'name', 'service', 'node', 'desired-state'] as const;

export async function listTasks(
  ctx: OpsContext,
  filters: readonly string[],
  staleOk: boolean,
): Promise<Task[]> {
  if (!staleOk) await ctx.readBarrier();
  const fs = parseFilters(filters, TASK_FILTERS);
  const services = fs.get('service')?.map((r) => ctx.store.resolveService(r).ID);
  const nodes = fs.get('node')?.map((r) => ctx.store.resolveNode(r).ID);
  return ctx.store.tasks().filter((t) => {
    if (services && !services.includes(t.ServiceID)) return false;
    if (nodes && !nodes.includes(t.NodeID ?? '')) return false;
    const ds = fs.get('desired-state');
    if (
      ds &&
      !ds.some((v) =>
        v === 'running'
          ? t.DesiredState === 'running' || t.DesiredState === 'ready'
          : t.DesiredState === v || (v === 'shutdown' && t.DesiredState !== 'running'),
      )
    ) {
      return false;
    }
    const ids = fs.get('id');
    if (ids && !ids.some((v) => t.ID.startsWith(v))) return false;
    const names = fs.get('name');
    if (names) {
      // The NAME column of service ps / node ps: service.slot, or service.node for global.
      const svc = ctx.store.service(t.ServiceID)?.Spec.Name ?? t.ServiceID;
      const name = `${svc}.${t.Slot !== undefined ? String(t.Slot) : (t.NodeID ?? '')}`;
      if (!names.some((v) => name.startsWith(v))) return false;
    }
    return true;
  });
}

function parseFilters(raw: readonly string[], keys: readonly string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const f of raw) {
    const i = f.indexOf('=');
    if (i <= 0)
      throw new TswarmError('INVALID_ARGUMENT', `bad format of filter (expected name=value): ${f}`);
    const k = f.slice(0, i);
    if (!keys.includes(k)) throw new TswarmError('INVALID_ARGUMENT', `invalid filter '${k}'`);
    m.set(k, [...(m.get(k) ?? []), f.slice(i + 1)]);
  }
  return m;
}
