import type { PortConfig, Service, ServiceSpec } from '../../shared/api-types.js';
import { TswarmError } from '../../shared/errors.js';

/** Docker's dynamic range for ingress ports published without a number. */
export const DYNAMIC_PORT_START = 30000;
export const DYNAMIC_PORT_END = 32767;

function bad(msg: string): never {
  throw new TswarmError('INVALID_ARGUMENT', `rpc error: code = InvalidArgument desc = ${msg}`);
}

const key = (p: Pick<PortConfig, 'Protocol' | 'PublishedPort'>): string =>
  `${p.PublishedPort ?? 0}/${p.Protocol}`;

/** Checks a spec's ports among themselves (swarmkit's validateEndpointSpec). */
export function validatePorts(spec: ServiceSpec): void {
  const seen = new Set<string>();
  for (const p of spec.EndpointSpec?.Ports ?? []) {
    const proxy: unknown = p.ProxyProtocol;
    if (proxy !== undefined && proxy !== 'v2')
      bad(`invalid proxy protocol ${JSON.stringify(proxy)}: only v2 is supported`);
    if (p.ProxyProtocol && (p.PublishMode !== 'ingress' || p.Protocol !== 'tcp'))
      bad('the PROXY protocol is only supported on tcp ports published in ingress mode');
    if (!p.PublishedPort) continue;
    const k = key(p);
    if (seen.has(k)) bad('duplicate published ports provided');
    seen.add(k);
  }
}

/**
 * The service's Endpoint ports for a new or updated spec: ingress ports without a published
 * port get one from 30000-32767 (the one the service already had for that target, on update),
 * and published ports that another service already uses are refused with Docker's message
 * (swarmkit's checkPortConflicts: ingress ports conflict with any other published port; two
 * host-mode ports may coexist, the scheduler keeps them on different nodes).
 */
export function allocatePorts(
  services: readonly Service[],
  spec: ServiceSpec,
  self?: Service,
): PortConfig[] | undefined {
  const ports = spec.EndpointSpec?.Ports;
  if (!ports?.length) return undefined;
  validatePorts(spec);
  const others = services.filter((s) => s.ID !== self?.ID);
  const used = new Set<string>();
  for (const s of others) for (const p of s.Endpoint?.Ports ?? []) used.add(key(p));
  const ingress = new Set(
    ports.filter((p) => p.PublishMode === 'ingress' && p.PublishedPort).map(key),
  );
  const host = new Set(ports.filter((p) => p.PublishMode === 'host' && p.PublishedPort).map(key));
  for (const s of others) {
    for (const p of s.Endpoint?.Ports ?? []) {
      if (!p.PublishedPort) continue;
      const k = key(p);
      if (p.PublishMode === 'host' && ingress.has(k))
        bad(
          `port '${p.PublishedPort}' is already in use by service '${s.Spec.Name}' (${s.ID}) as a host-published port`,
        );
      if (p.PublishMode === 'ingress' && (ingress.has(k) || host.has(k)))
        bad(
          `port '${p.PublishedPort}' is already in use by service '${s.Spec.Name}' (${s.ID}) as an ingress port`,
        );
    }
  }
  for (const p of ports) if (p.PublishedPort) used.add(key(p));
  const out: PortConfig[] = [];
  for (const p of ports) {
    if (p.PublishMode !== 'ingress' || p.PublishedPort) {
      out.push(p);
      continue;
    }
    const before = self?.Endpoint?.Ports?.find(
      (q) =>
        q.PublishMode === 'ingress' &&
        q.TargetPort === p.TargetPort &&
        q.Protocol === p.Protocol &&
        q.PublishedPort &&
        !used.has(key(q)),
    );
    let published = before?.PublishedPort;
    for (let n = DYNAMIC_PORT_START; !published && n <= DYNAMIC_PORT_END; n++)
      if (!used.has(`${n}/${p.Protocol}`)) published = n;
    if (!published) bad('could not find an available port in the dynamic range 30000-32767');
    used.add(`${published}/${p.Protocol}`);
    out.push({ ...p, PublishedPort: published });
  }
  return out;
}

/** What a task's container is created with: its bindings change only with these. */
function bindingShape(spec: ServiceSpec | undefined): string {
  return JSON.stringify(
    (spec?.EndpointSpec?.Ports ?? [])
      .map((p) =>
        p.PublishMode === 'host'
          ? `host:${p.TargetPort}/${p.Protocol}:${p.PublishedPort ?? 0}`
          : `ingress:${p.TargetPort}/${p.Protocol}`,
      )
      .sort(),
  );
}

/**
 * A container cannot gain or lose port bindings, so a port change that alters them redeploys
 * the tasks (Docker's orchestrator treats such tasks as dirty): when the task template is
 * otherwise unchanged, the spec's ForceUpdate counter is bumped to start a rolling update.
 * Changing only an ingress published port (or the PROXY option) needs no new tasks.
 */
export function redeployOnPortChange(
  old: ServiceSpec,
  spec: ServiceSpec,
  sameTemplate: (a: ServiceSpec['TaskTemplate'], b: ServiceSpec['TaskTemplate']) => boolean,
): ServiceSpec {
  if (bindingShape(old) === bindingShape(spec)) return spec;
  if (!sameTemplate(old.TaskTemplate, spec.TaskTemplate)) return spec;
  return {
    ...spec,
    TaskTemplate: { ...spec.TaskTemplate, ForceUpdate: (spec.TaskTemplate.ForceUpdate ?? 0) + 1 },
  };
}
