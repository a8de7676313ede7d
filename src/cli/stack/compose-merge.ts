import type { ComposeConfig, ComposeDeploy, ComposeSecret, ComposeService } from './compose.js';

/**
 * Merges several files as `-c a.yml -c b.yml` does: later files override earlier ones key by
 * key within a service (environment, labels and deploy merged deeply; lists replaced).
 */
export function mergeCompose(configs: readonly ComposeConfig[]): ComposeConfig {
  const services = new Map<string, ComposeService>();
  const secrets = new Map<string, ComposeSecret>();
  for (const c of configs) {
    for (const [name, s] of c.services) {
      const old = services.get(name);
      services.set(name, old ? mergeService(old, s) : s);
    }
    for (const [name, s] of c.secrets) secrets.set(name, { ...(secrets.get(name) ?? {}), ...s });
  }
  return { services, secrets };
}

function mergeService(a: ComposeService, b: ComposeService): ComposeService {
  const out: ComposeService = { ...a, ...b };
  const env = a.environment || b.environment ? { ...a.environment, ...b.environment } : undefined;
  const labels = a.labels || b.labels ? { ...a.labels, ...b.labels } : undefined;
  const deploy = a.deploy && b.deploy ? mergeDeploy(a.deploy, b.deploy) : (b.deploy ?? a.deploy);
  return {
    ...out,
    ...(env ? { environment: env } : {}),
    ...(labels ? { labels } : {}),
    ...(deploy ? { deploy } : {}),
  };
}

function mergeDeploy(a: ComposeDeploy, b: ComposeDeploy): ComposeDeploy {
  const labels = a.labels || b.labels ? { labels: { ...a.labels, ...b.labels } } : {};
  const nested = (k: 'placement' | 'restart_policy' | 'update_config' | 'rollback_config') =>
    a[k] || b[k] ? { [k]: { ...a[k], ...b[k] } } : {};
  const resources =
    a.resources || b.resources
      ? {
          resources: {
            ...((a.resources?.limits ?? b.resources?.limits)
              ? { limits: { ...a.resources?.limits, ...b.resources?.limits } }
              : {}),
            ...((a.resources?.reservations ?? b.resources?.reservations)
              ? { reservations: { ...a.resources?.reservations, ...b.resources?.reservations } }
              : {}),
          },
        }
      : {};
  return {
    ...a,
    ...b,
    ...labels,
    ...nested('placement'),
    ...nested('restart_policy'),
    ...nested('update_config'),
    ...nested('rollback_config'),
    ...resources,
  };
}
