import type { Node, Service, Task } from '../../../shared/api-types.js';
import { TASK_STATES } from '../../../shared/api-types.js';
import type { ClusterObject, Command, CommandResult, StoredSecret } from './types.js';

/** The replicated state. Mutated only by `applyCommand`, identically on every manager. */
export interface StoreState {
  cluster: ClusterObject | undefined;
  readonly nodes: Map<string, Node>;
  /** Node IDs removed from the swarm: their certificates are refused from then on. */
  readonly removedNodes: Set<string>;
  readonly services: Map<string, Service>;
  readonly tasks: Map<string, Task>;
  /** Secrets with their sealed data (never the clear text). */
  readonly secrets: Map<string, StoredSecret>;
}

export function emptyState(): StoreState {
  return {
    cluster: undefined,
    nodes: new Map(),
    removedNodes: new Set(),
    services: new Map(),
    tasks: new Map(),
    secrets: new Map(),
  };
}

const OK: CommandResult = { ok: true };

function notFound(kind: string, id: string): CommandResult {
  return { ok: false, code: 'NOT_FOUND', message: `${kind} ${id} not found` };
}

/**
 * Applies one committed command at log position `index`. Deterministic: no clock, no
 * randomness, no I/O; the same sequence gives the same state on every manager.
 * Refusals (a node already gone, ...) are results, never exceptions.
 */
export function applyCommand(s: StoreState, cmd: Command, index: number): CommandResult {
  const version = { Index: index };
  switch (cmd.op) {
    case 'cluster.create': {
      if (s.cluster)
        return { ok: false, code: 'ALREADY_EXISTS', message: 'the cluster already exists' };
      s.cluster = { ...cmd.cluster, Version: version };
      return OK;
    }
    case 'cluster.update': {
      const c = s.cluster;
      if (!c) return notFound('cluster', '');
      s.cluster = {
        ...c,
        Version: version,
        UpdatedAt: cmd.at,
        Spec: cmd.spec ?? c.Spec,
        JoinTokens: cmd.joinTokens ?? c.JoinTokens,
      };
      return OK;
    }
    case 'node.create': {
      const existing = s.nodes.get(cmd.node.ID);
      if (s.removedNodes.has(cmd.node.ID)) {
        return {
          ok: false,
          code: 'FAILED_PRECONDITION',
          message: `node ${cmd.node.ID} was removed from the swarm`,
        };
      }
      s.nodes.set(cmd.node.ID, {
        ...cmd.node,
        Version: version,
        CreatedAt: existing?.CreatedAt ?? cmd.node.CreatedAt,
      });
      return OK;
    }
    case 'node.update-spec': {
      const n = s.nodes.get(cmd.id);
      if (!n) return notFound('node', cmd.id);
      // Docker's `node update` order: --label-add first, then --label-rm.
      const labels: Record<string, string> = { ...n.Spec.Labels, ...cmd.labelAdd };
      for (const k of cmd.labelRm ?? []) Reflect.deleteProperty(labels, k);
      s.nodes.set(cmd.id, {
        ...n,
        Version: version,
        UpdatedAt: cmd.at,
        Spec: {
          ...n.Spec,
          Labels: labels,
          Role: cmd.role ?? n.Spec.Role,
          Availability: cmd.availability ?? n.Spec.Availability,
        },
      });
      return OK;
    }
    case 'node.update-description': {
      const n = s.nodes.get(cmd.id);
      if (!n) return notFound('node', cmd.id);
      s.nodes.set(cmd.id, {
        ...n,
        Version: version,
        UpdatedAt: cmd.at,
        Description: cmd.description,
      });
      return OK;
    }
    case 'node.set-status': {
      for (const u of cmd.updates) {
        const n = s.nodes.get(u.id);
        if (!n) continue;
        const status = {
          State: u.state,
          Addr: u.addr ?? n.Status.Addr,
          ...(u.message !== undefined ? { Message: u.message } : {}),
        };
        s.nodes.set(u.id, { ...n, Version: version, UpdatedAt: cmd.at, Status: status });
      }
      return OK;
    }
    case 'node.set-manager': {
      const n = s.nodes.get(cmd.id);
      if (!n) return notFound('node', cmd.id);
      const { ManagerStatus: _ignored, ...rest } = n; // eslint-disable-line @typescript-eslint/no-unused-vars
      s.nodes.set(cmd.id, {
        ...rest,
        Version: version,
        UpdatedAt: cmd.at,
        ...(cmd.manager
          ? { ManagerStatus: { Addr: cmd.manager.addr, Reachability: cmd.manager.reachability } }
          : {}),
      });
      return OK;
    }
    case 'node.set-reachability': {
      for (const u of cmd.updates) {
        const n = s.nodes.get(u.id);
        if (!n?.ManagerStatus) continue;
        s.nodes.set(u.id, {
          ...n,
          Version: version,
          UpdatedAt: cmd.at,
          ManagerStatus: { ...n.ManagerStatus, Reachability: u.reachability },
        });
      }
      return OK;
    }
    case 'node.remove': {
      if (!s.nodes.has(cmd.id)) return notFound('node', cmd.id);
      s.nodes.delete(cmd.id);
      s.removedNodes.add(cmd.id);
      return OK;
    }
    case 'service.create': {
      const svc = cmd.service;
      if (s.services.has(svc.ID))
        return { ok: false, code: 'ALREADY_EXISTS', message: `service ${svc.ID} already exists` };
      for (const other of s.services.values()) {
        if (other.Spec.Name === svc.Spec.Name) {
          return {
            ok: false,
            code: 'ALREADY_EXISTS',
            message: `rpc error: code = AlreadyExists desc = name conflicts with an existing object: service ${svc.Spec.Name} already exists`,
          };
        }
      }
      s.services.set(svc.ID, { ...svc, Version: version });
      return { ok: true, value: svc.ID };
    }
    case 'service.update': {
      const old = s.services.get(cmd.id);
      if (!old) return notFound('service', cmd.id);
      if (cmd.expectVersion !== undefined && cmd.expectVersion !== old.Version.Index) {
        return { ok: false, code: 'FAILED_PRECONDITION', message: 'update out of sequence' };
      }
      s.services.set(cmd.id, {
        ...cmd.service,
        ID: old.ID,
        CreatedAt: old.CreatedAt,
        UpdatedAt: cmd.at,
        Version: version,
      });
      return OK;
    }
    case 'service.remove': {
      if (!s.services.delete(cmd.id)) return notFound('service', cmd.id);
      return OK;
    }
    case 'task.create': {
      for (const t of cmd.tasks) {
        if (!s.tasks.has(t.ID)) s.tasks.set(t.ID, { ...t, Version: version });
      }
      return OK;
    }
    case 'task.update': {
      for (const u of cmd.updates) {
        const t = s.tasks.get(u.id);
        if (!t) continue;
        let next: Task = t;
        if (u.nodeId !== undefined && u.nodeId !== t.NodeID) next = { ...next, NodeID: u.nodeId };
        if (u.desiredState !== undefined && u.desiredState !== t.DesiredState)
          next = { ...next, DesiredState: u.desiredState };
        if (
          u.status &&
          TASK_STATES.indexOf(u.status.State) >= TASK_STATES.indexOf(t.Status.State)
        ) {
          next = { ...next, Status: u.status };
          // The first `running` report opens the task's update monitor window (updater).
          if (u.status.State === 'running' && next.RunningSince === undefined)
            next = { ...next, RunningSince: u.status.Timestamp };
        }
        if (next !== t) s.tasks.set(u.id, { ...next, Version: version, UpdatedAt: cmd.at });
      }
      return OK;
    }
    case 'task.remove': {
      for (const id of cmd.ids) s.tasks.delete(id);
      return OK;
    }
    case 'secret.create': {
      const sec = cmd.secret;
      for (const other of s.secrets.values()) {
        if (other.Spec.Name === sec.Spec.Name || other.ID === sec.ID) {
          return {
            ok: false,
            code: 'ALREADY_EXISTS',
            message: `rpc error: code = AlreadyExists desc = secret ${sec.Spec.Name} already exists`,
          };
        }
      }
      s.secrets.set(sec.ID, { ...sec, Version: version });
      return { ok: true, value: sec.ID };
    }
    case 'secret.remove': {
      // Checked again here (the leader checked before proposing): a service created in
      // between must not lose its secret.
      const users = [...s.services.values()].filter((svc) =>
        (svc.Spec.TaskTemplate.ContainerSpec.Secrets ?? []).some((r) => r.SecretID === cmd.id),
      );
      const sec = s.secrets.get(cmd.id);
      if (!sec) return notFound('secret', cmd.id);
      if (users.length)
        return { ok: false, code: 'FAILED_PRECONDITION', message: secretInUse(sec, users) };
      s.secrets.delete(cmd.id);
      return OK;
    }
    default:
      return assertNever(cmd);
  }
}

/** swarmkit's text for removing a secret that services still reference. */
export function secretInUse(sec: StoredSecret, users: readonly Service[]): string {
  const names = users.map((u) => u.Spec.Name).sort();
  const which = names.length === 1 ? 'service' : 'services';
  return `rpc error: code = InvalidArgument desc = secret '${sec.Spec.Name}' is in use by the following ${which}: ${names.join(', ')}`;
}

function assertNever(x: never): never {
  throw new Error(`unknown store command ${JSON.stringify(x)}`);
}

interface SnapshotImage {
  readonly v: number;
  readonly cluster: ClusterObject | undefined;
  readonly nodes: readonly Node[];
  readonly removedNodes: readonly string[];
  readonly services?: readonly Service[];
  readonly tasks?: readonly Task[];
  readonly secrets?: readonly StoredSecret[];
}

export function encodeState(s: StoreState): Uint8Array {
  const image: SnapshotImage = {
    v: 1,
    cluster: s.cluster,
    nodes: [...s.nodes.values()],
    removedNodes: [...s.removedNodes],
    services: [...s.services.values()],
    tasks: [...s.tasks.values()],
    secrets: [...s.secrets.values()],
  };
  return new TextEncoder().encode(JSON.stringify(image));
}

export function decodeState(data: Uint8Array): StoreState {
  if (data.length === 0) return emptyState();
  const image = JSON.parse(new TextDecoder().decode(data)) as SnapshotImage;
  if (image.v !== 1) throw new Error(`unsupported store snapshot version ${String(image.v)}`);
  return {
    cluster: image.cluster,
    nodes: new Map(image.nodes.map((n) => [n.ID, n])),
    removedNodes: new Set(image.removedNodes),
    services: new Map((image.services ?? []).map((x) => [x.ID, x])),
    tasks: new Map((image.tasks ?? []).map((x) => [x.ID, x])),
    secrets: new Map((image.secrets ?? []).map((x) => [x.ID, x])),
  };
}

export function encodeCommand(cmd: Command): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(cmd));
}

export function decodeCommand(data: Uint8Array): Command {
  return JSON.parse(new TextDecoder().decode(data)) as Command;
}
