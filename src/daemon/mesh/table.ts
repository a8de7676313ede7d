import type { Node, PortConfig, Service, Task } from '../../shared/api-types.js';

/**
 * The routing mesh's view of the cluster, computed by the leader from the store and sent to
 * every node over its dispatcher session: for each service with ingress ports, the published
 * ports and the tasks that may take connections, with the node address and ephemeral host port
 * their engine bound each target port to.
 */
export interface MeshTable {
  readonly services: readonly MeshService[];
}

export interface MeshService {
  readonly id: string;
  readonly name: string;
  readonly ports: readonly MeshListenPort[];
  readonly backends: readonly MeshBackend[];
}

export interface MeshListenPort {
  readonly protocol: 'tcp' | 'udp';
  readonly published: number;
  readonly target: number;
  readonly proxy?: 'v2';
}

export interface MeshBackend {
  readonly taskId: string;
  readonly nodeId: string;
  /** target port → where to dial it: "<node address>:<ephemeral port>". */
  readonly targets: Readonly<Record<string, { readonly host: string; readonly port: number }>>;
}

/** The ingress ports of a service that have a published port (assigned at create/update). */
export function ingressPorts(s: Service): PortConfig[] {
  return (s.Endpoint?.Ports ?? s.Spec.EndpointSpec?.Ports ?? []).filter(
    (p) => p.PublishMode === 'ingress' && (p.PublishedPort ?? 0) > 0,
  );
}

function targetKey(protocol: string, target: number): string {
  return `${target}/${protocol}`;
}

export function backendTarget(
  b: MeshBackend,
  p: Pick<MeshListenPort, 'protocol' | 'target'>,
): { host: string; port: number } | undefined {
  return b.targets[targetKey(p.protocol, p.target)];
}

function usableAddr(ip: string, node: Node): string {
  return ip && ip !== '0.0.0.0' && ip !== '::' ? ip : node.Status.Addr;
}

/**
 * Pure. A task takes connections when it is running and wanted running on a Ready node (a task
 * with a health check only reports running once healthy, and fails when it turns unhealthy).
 */
export function buildMeshTable(
  services: readonly Service[],
  tasks: readonly Task[],
  nodes: readonly Node[],
): MeshTable {
  const out: MeshService[] = [];
  const published = services.filter((s) => ingressPorts(s).length > 0);
  if (published.length === 0) return { services: out };
  const nodeById = new Map(nodes.map((n) => [n.ID, n]));
  // One pass over the tasks, not one per published service.
  const running = new Map<string, Task[]>();
  for (const t of tasks) {
    if (t.DesiredState !== 'running' || t.Status.State !== 'running') continue;
    const list = running.get(t.ServiceID);
    if (list) list.push(t);
    else running.set(t.ServiceID, [t]);
  }
  for (const s of published) {
    const ports = ingressPorts(s);
    const backends: MeshBackend[] = [];
    for (const t of running.get(s.ID) ?? []) {
      const n = t.NodeID ? nodeById.get(t.NodeID) : undefined;
      if (n?.Status.State !== 'ready') continue;
      const targets: Record<string, { host: string; port: number }> = {};
      for (const mp of t.Status.MeshPorts ?? []) {
        if (mp.HostPort > 0)
          targets[targetKey(mp.Protocol, mp.TargetPort)] = {
            host: usableAddr(mp.HostIP, n),
            port: mp.HostPort,
          };
      }
      if (Object.keys(targets).length === 0) continue;
      backends.push({ taskId: t.ID, nodeId: n.ID, targets });
    }
    backends.sort((a, b) => a.taskId.localeCompare(b.taskId));
    out.push({
      id: s.ID,
      name: s.Spec.Name,
      ports: ports.map((p) => ({
        protocol: p.Protocol,
        published: p.PublishedPort ?? 0,
        target: p.TargetPort,
        ...(p.ProxyProtocol ? { proxy: p.ProxyProtocol } : {}),
      })),
      backends,
    });
  }
  out.sort((a, b) => a.id.localeCompare(b.id));
  return { services: out };
}
