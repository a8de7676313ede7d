import type { SecretReference, ServiceSpec, TaskTemplate } from '../../shared/api-types.js';
import { TswarmError } from '../../shared/errors.js';
import { DEFAULT_UPDATE_CONFIG } from '../service/spec-flags.js';
import type { ComposeConfig, ComposeService } from './compose.js';

/** The label Docker puts on everything a stack owns. */
export const STACK_LABEL = 'com.docker.stack.namespace';
export const STACK_IMAGE_LABEL = 'com.docker.stack.image';

/** A secret the stack needs: created from `file` unless external (then it must exist). */
export interface StackSecret {
  readonly key: string;
  readonly name: string;
  readonly external: boolean;
  readonly file?: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface StackPlan {
  readonly services: readonly ServiceSpec[];
  readonly secrets: readonly StackSecret[];
}

/** Docker's stack name rule (it becomes a prefix of service names). */
export function validateStackName(name: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name))
    throw new TswarmError('INVALID_ARGUMENT', `invalid stack name: "${name}"`);
}

/** `<stack>_<name>`, as Docker scopes a stack's objects. */
export function scopedName(stack: string, name: string): string {
  return `${stack}_${name}`;
}

/**
 * Turns a merged compose config into the stack's service specs and secrets, as
 * `docker stack deploy` converts them (command → Args, entrypoint → Command, `labels` on
 * containers and `deploy.labels` on the service, the namespace label on both). Pure.
 */
export function convertStack(stack: string, c: ComposeConfig): StackPlan {
  validateStackName(stack);
  const secrets: StackSecret[] = [];
  const used = new Set<string>();
  for (const s of c.services.values()) for (const r of s.secrets ?? []) used.add(r.source);
  for (const [key, s] of [...c.secrets].sort(([a], [b]) => a.localeCompare(b))) {
    if (!used.has(key)) continue;
    const external = s.external === true;
    secrets.push({
      key,
      name: s.name ?? (external ? key : scopedName(stack, key)),
      external,
      ...(s.file ? { file: s.file } : {}),
      labels: { ...(s.labels ?? {}), [STACK_LABEL]: stack },
    });
  }
  const services = [...c.services]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, s]) => convertService(stack, name, s, secrets));
  return { services, secrets };
}

function convertService(
  stack: string,
  name: string,
  s: ComposeService,
  secrets: readonly StackSecret[],
): ServiceSpec {
  const key = `services.${name}`;
  if (!s.image)
    throw new TswarmError('INVALID_ARGUMENT', `${key}: image is required (build is not supported)`);
  const d = s.deploy ?? {};
  const refs: SecretReference[] = (s.secrets ?? []).map((r) => {
    const sec = secrets.find((x) => x.key === r.source);
    if (!sec) throw new TswarmError('INVALID_ARGUMENT', `${key}: undefined secret "${r.source}"`);
    return {
      File: {
        Name: r.target ?? r.source,
        UID: r.uid ?? '0',
        GID: r.gid ?? '0',
        Mode: r.mode ?? 0o444,
      },
      SecretID: '',
      SecretName: sec.name,
    };
  });
  const env = Object.entries(s.environment ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  const lim = d.resources?.limits;
  const res = d.resources?.reservations;
  const resources: TaskTemplate['Resources'] =
    lim || res
      ? {
          Limits: {
            ...(lim?.cpus !== undefined ? { NanoCPUs: lim.cpus } : {}),
            ...(lim?.memory !== undefined ? { MemoryBytes: lim.memory } : {}),
          },
          Reservations: {
            ...(res?.cpus !== undefined ? { NanoCPUs: res.cpus } : {}),
            ...(res?.memory !== undefined ? { MemoryBytes: res.memory } : {}),
          },
        }
      : undefined;
  const rp = d.restart_policy;
  const pl = d.placement;
  const placement = {
    ...(pl?.constraints?.length ? { Constraints: [...pl.constraints] } : {}),
    ...(pl?.preferences?.length
      ? { Preferences: pl.preferences.map((p) => ({ Spread: { SpreadDescriptor: p } })) }
      : {}),
    ...(pl?.max_replicas_per_node !== undefined ? { MaxReplicas: pl.max_replicas_per_node } : {}),
  };
  const global = d.mode === 'global';
  if (global && d.replicas !== undefined)
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `${key}.deploy: replicas can only be used with replicated mode`,
    );
  return {
    Name: scopedName(stack, name),
    Labels: { ...(d.labels ?? {}), [STACK_LABEL]: stack, [STACK_IMAGE_LABEL]: s.image },
    TaskTemplate: {
      ContainerSpec: {
        Image: s.image,
        Labels: { ...(s.labels ?? {}), [STACK_LABEL]: stack },
        ...(s.entrypoint?.length ? { Command: [...s.entrypoint] } : {}),
        ...(s.command?.length ? { Args: [...s.command] } : {}),
        ...(env.length ? { Env: env } : {}),
        ...(s.working_dir !== undefined ? { Dir: s.working_dir } : {}),
        ...(s.user !== undefined ? { User: s.user } : {}),
        ...(s.hostname !== undefined ? { Hostname: s.hostname } : {}),
        ...(s.stop_grace_period !== undefined ? { StopGracePeriod: s.stop_grace_period } : {}),
        ...(s.healthcheck ? { Healthcheck: s.healthcheck } : {}),
        ...(refs.length ? { Secrets: refs } : {}),
      },
      ...(resources ? { Resources: resources } : {}),
      RestartPolicy: {
        Condition: rp?.condition ?? 'any',
        Delay: rp?.delay ?? 5e9,
        MaxAttempts: rp?.max_attempts ?? 0,
        Window: rp?.window ?? 0,
      },
      ...(Object.keys(placement).length ? { Placement: placement } : {}),
    },
    Mode: global ? { Global: {} } : { Replicated: { Replicas: d.replicas ?? 1 } },
    UpdateConfig: { ...DEFAULT_UPDATE_CONFIG, ...d.update_config },
    RollbackConfig: { ...DEFAULT_UPDATE_CONFIG, ...d.rollback_config },
    ...(s.ports?.length ? { EndpointSpec: { Ports: [...s.ports] } } : {}),
  };
}
