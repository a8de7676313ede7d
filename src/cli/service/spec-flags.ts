import type {
  PortConfig,
  SecretReference,
  ServiceSpec,
  UpdateConfig,
} from '../../shared/api-types.js';
import { TswarmError } from '../../shared/errors.js';
import { DurationError, parseDuration } from '../format/duration.js';

/*
 * `service create/update` flags → ServiceSpec, with Docker's flag names, defaults and error
 * texts. Pure: validated here before anything is sent to the daemon.
 */

function bad(msg: string): never {
  throw new TswarmError('INVALID_ARGUMENT', msg);
}

/**
 * Go duration ("1m30s", "500ms", "1.5h", ".5s") → nanoseconds, with Go's time.ParseDuration
 * error texts ("missing unit", "unknown unit"). A bare 0 is allowed; signs are not.
 */
export function parseDurationNs(raw: string, flag: string): number {
  const fail = (why: string): never => bad(`invalid argument "${raw}" for "${flag}" flag: ${why}`);
  if (raw.startsWith('-') || raw.startsWith('+')) {
    fail(`time: invalid duration ${JSON.stringify(raw)}`);
  }
  try {
    return parseDuration(raw);
  } catch (err) {
    if (err instanceof DurationError) return fail(err.message);
    throw err;
  }
}

/**
 * A command line → words, as Docker's ShellWordsOpt (`--args`, `--entrypoint`): whitespace
 * separates words; single quotes keep everything; double quotes keep everything but
 * backslash escapes of `"`, `\\`, `$` and `` ` ``; a backslash outside quotes escapes the next
 * character.
 */
export function splitShellWords(raw: string, flag: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw.charAt(i);
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else word += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === '\\' && '"\\$`'.includes(raw.charAt(i + 1) || 'x')) word += raw.charAt(++i);
      else word += ch;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      inWord = true;
      if (ch === "'" || ch === '"') quote = ch;
      else if (ch === '\\') {
        if (i + 1 >= raw.length)
          bad(`invalid argument "${raw}" for "${flag}" flag: EOF found after escape character`);
        word += raw.charAt(++i);
      } else word += ch;
    }
  }
  if (quote)
    bad(`invalid argument "${raw}" for "${flag}" flag: EOF found when expecting closing quote`);
  if (inWord) words.push(word);
  return words;
}

/** "1.5" CPUs → NanoCPUs, exact to the nano CPU (Docker's ParseCPUs). */
export function parseCpus(raw: string, flag: string): number {
  const m = /^(\d*)(?:\.(\d*))?$/.exec(raw);
  if (!m || !/\d/.test(raw))
    bad(
      `invalid argument "${raw}" for "${flag}" flag: failed to parse ${raw} as a rational number`,
    );
  const frac = m[2] ?? '';
  if (/[1-9]/.test(frac.slice(9)))
    bad(`invalid argument "${raw}" for "${flag}" flag: value is too precise`);
  return Number(m[1] || '0') * 1e9 + Number(frac.slice(0, 9).padEnd(9, '0'));
}

const MEM: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "512m", "1g", "1024" → bytes (Docker's RAMInBytes). */
export function parseBytes(raw: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt])?i?b?$/i.exec(raw);
  if (!m) bad(`invalid argument "${raw}" for "${flag}" flag: invalid size: '${raw}'`);
  return Math.round(Number(m[1]) * (MEM[(m[2] ?? 'b').toLowerCase()] ?? 1));
}

export function parseUint(raw: string, flag: string): number {
  if (!/^\d+$/.test(raw))
    bad(
      `invalid argument "${raw}" for "${flag}" flag: strconv.ParseUint: parsing "${raw}": invalid syntax`,
    );
  return Number(raw);
}

/** KEY=VALUE or KEY (value ""): labels. */
export function parseKeyValues(list: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    const k = i < 0 ? kv : kv.slice(0, i);
    if (!k) bad(`invalid argument "${kv}" for "${flag}" flag: invalid label: empty key`);
    out[k] = i < 0 ? '' : kv.slice(i + 1);
  }
  return out;
}

/**
 * `-p 8080:80`, `-p 8080:80/udp`, `-p published=8080,target=80,mode=host,protocol=tcp`, and
 * tswarm's `proxy=v2` (the routing mesh sends a PROXY protocol v2 header to the task).
 */
export function parsePublish(raw: string): PortConfig {
  if (raw.includes('=')) {
    const fields: Record<string, string> = {};
    for (const part of raw.split(',')) {
      const i = part.indexOf('=');
      if (i <= 0) bad(`invalid field '${part}' must be a key=value pair`);
      fields[part.slice(0, i)] = part.slice(i + 1);
    }
    for (const k of Object.keys(fields)) {
      if (!['published', 'target', 'mode', 'protocol', 'proxy'].includes(k))
        bad(`invalid field key ${k}`);
    }
    const target = fields['target'];
    if (!target) bad('missing mandatory field "target"');
    const mode = fields['mode'] ?? 'ingress';
    if (mode !== 'ingress' && mode !== 'host')
      bad(`invalid publish mode value (${mode}): must be either "ingress" or "host"`);
    const protocol = fields['protocol'] ?? 'tcp';
    if (protocol !== 'tcp' && protocol !== 'udp')
      bad(`invalid protocol value (${protocol}): must be either "tcp" or "udp"`);
    const published = fields['published'];
    const proxy = fields['proxy'];
    if (proxy !== undefined && proxy !== 'v2') bad(`invalid proxy value (${proxy}): must be "v2"`);
    if (proxy && (mode !== 'ingress' || protocol !== 'tcp'))
      bad('proxy=v2 is only supported on tcp ports published in ingress mode');
    return {
      Protocol: protocol,
      TargetPort: port(target, raw),
      ...(published ? { PublishedPort: port(published, raw) } : {}),
      PublishMode: mode,
      ...(proxy ? { ProxyProtocol: 'v2' as const } : {}),
    };
  }
  const m = /^(?:(\d+):)?(\d+)(?:\/(tcp|udp))?$/.exec(raw);
  if (!m?.[2])
    bad(
      `invalid argument "${raw}" for "-p, --publish" flag: invalid port format: use [published=]PORT:[target=]PORT[/tcp|udp]`,
    );
  return {
    Protocol: m[3] === 'udp' ? 'udp' : 'tcp',
    TargetPort: port(m[2], raw),
    ...(m[1] ? { PublishedPort: port(m[1], raw) } : {}),
    PublishMode: 'ingress',
  };
}

/**
 * `--secret NAME` or `--secret source=NAME,target=FILE,uid=0,gid=0,mode=0444` (Docker's
 * SecretOpt; mode is octal). The manager fills in the secret's ID.
 */
export function parseSecretRef(raw: string): SecretReference {
  const fields: Record<string, string> = {};
  if (!raw.includes('=')) fields['source'] = raw;
  else {
    for (const part of raw.split(',')) {
      const i = part.indexOf('=');
      if (i <= 0) bad(`invalid field '${part}' must be a key=value pair`);
      const k = part.slice(0, i).toLowerCase();
      const v = part.slice(i + 1);
      if (k === 'source' || k === 'src') fields['source'] = v;
      else if (k === 'target' || k === 'uid' || k === 'gid' || k === 'mode') fields[k] = v;
      else bad(`invalid field key ${k}`);
    }
  }
  const source = fields['source'];
  if (!source) bad('source is required');
  const mode = fields['mode'] ?? '0444';
  if (!/^[0-7]{1,4}$/.test(mode))
    bad(`invalid argument "${raw}" for "--secret" flag: invalid file mode ${mode}`);
  for (const k of ['uid', 'gid']) {
    const v = fields[k];
    if (v !== undefined && !/^\d+$/.test(v))
      bad(`invalid argument "${raw}" for "--secret" flag: invalid ${k} ${v}`);
  }
  return {
    File: {
      Name: fields['target'] ?? source,
      UID: fields['uid'] ?? '0',
      GID: fields['gid'] ?? '0',
      Mode: parseInt(mode, 8),
    },
    SecretID: '',
    SecretName: source,
  };
}

function port(v: string, raw: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535)
    bad(`invalid port "${v}" in "${raw}": must be 1-65535`);
  return n;
}

function samePort(a: PortConfig, b: PortConfig): boolean {
  return (
    a.Protocol === b.Protocol &&
    a.TargetPort === b.TargetPort &&
    a.PublishedPort === b.PublishedPort &&
    a.PublishMode === b.PublishMode
  );
}

/** Two ports that publish the same number: `--publish-add` replaces the old one, as Docker. */
function samePublished(a: PortConfig, b: PortConfig): boolean {
  return (
    a.PublishedPort !== undefined &&
    a.PublishedPort === b.PublishedPort &&
    a.Protocol === b.Protocol
  );
}

/** The flags `service create` and `service update` share (commander's camelCase keys). */
export interface SpecFlags {
  name?: string;
  replicas?: string;
  mode?: string;
  env?: string[];
  label?: string[];
  containerLabel?: string[];
  constraint?: string[];
  placementPref?: string[];
  maxReplicasPerNode?: string;
  reserveCpu?: string;
  reserveMemory?: string;
  limitCpu?: string;
  limitMemory?: string;
  restartCondition?: string;
  restartDelay?: string;
  restartMaxAttempts?: string;
  restartWindow?: string;
  stopGracePeriod?: string;
  entrypoint?: string;
  workdir?: string;
  user?: string;
  hostname?: string;
  publish?: string[];
  /** `--secret` (create) / `--secret-add` (update). */
  secret?: string[];
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  healthcheck?: boolean;
  updateParallelism?: string;
  updateDelay?: string;
  updateOrder?: string;
  updateFailureAction?: string;
  updateMonitor?: string;
  updateMaxFailureRatio?: string;
  rollbackParallelism?: string;
  rollbackDelay?: string;
  rollbackOrder?: string;
  rollbackFailureAction?: string;
  rollbackMonitor?: string;
  rollbackMaxFailureRatio?: string;
}

export const DEFAULT_UPDATE_CONFIG: UpdateConfig = {
  Parallelism: 1,
  Delay: 0,
  FailureAction: 'pause',
  Monitor: 5e9,
  MaxFailureRatio: 0,
  Order: 'stop-first',
};

function updateConfig(
  f: SpecFlags,
  prefix: 'update' | 'rollback',
  base: UpdateConfig,
): UpdateConfig {
  const get = (k: string): string | undefined =>
    (f as Record<string, string | undefined>)[`${prefix}${k}`];
  const flag = (k: string): string => `--${prefix}-${k}`;
  const order = get('Order');
  if (order !== undefined && order !== 'stop-first' && order !== 'start-first') {
    bad(
      `invalid argument "${order}" for "${flag('order')}" flag: must be stop-first or start-first`,
    );
  }
  const action = get('FailureAction');
  const actions = prefix === 'update' ? ['pause', 'continue', 'rollback'] : ['pause', 'continue'];
  if (action !== undefined && !actions.includes(action)) {
    bad(
      `invalid argument "${action}" for "${flag('failure-action')}" flag: must be ${actions.join(', ')}`,
    );
  }
  const ratio = get('MaxFailureRatio');
  if (ratio !== undefined && (!/^\d*\.?\d+$/.test(ratio) || Number(ratio) > 1)) {
    bad(
      `invalid argument "${ratio}" for "${flag('max-failure-ratio')}" flag: must be a number between 0 and 1`,
    );
  }
  const p = get('Parallelism');
  const d = get('Delay');
  const m = get('Monitor');
  return {
    Parallelism: p !== undefined ? parseUint(p, flag('parallelism')) : base.Parallelism,
    Delay: d !== undefined ? parseDurationNs(d, flag('delay')) : base.Delay,
    FailureAction: (action as UpdateConfig['FailureAction'] | undefined) ?? base.FailureAction,
    Monitor: m !== undefined ? parseDurationNs(m, flag('monitor')) : base.Monitor,
    MaxFailureRatio: ratio !== undefined ? Number(ratio) : base.MaxFailureRatio,
    Order: order ?? base.Order,
  };
}

/**
 * Builds a new spec for `service create` (base undefined) or applies the flags that were given
 * onto `base` for `service update`. Only flags present change anything.
 */
export function applySpecFlags(
  f: SpecFlags,
  base: ServiceSpec | undefined,
  image: string | undefined,
  args: readonly string[],
): ServiceSpec {
  const tt = base?.TaskTemplate;
  const cs = tt?.ContainerSpec;
  if (!base && !image) bad('"tswarm service create" requires at least 1 argument.');
  let mode = base?.Mode ?? { Replicated: { Replicas: 1 } };
  if (f.mode !== undefined) {
    if (f.mode !== 'replicated' && f.mode !== 'global')
      bad(`invalid argument "${f.mode}" for "--mode" flag: must be replicated or global`);
    if (base && (f.mode === 'global') !== Boolean(base.Mode.Global))
      bad('service mode cannot be changed; remove and re-create the service');
    mode =
      f.mode === 'global'
        ? { Global: {} }
        : { Replicated: { Replicas: mode.Replicated?.Replicas ?? 1 } };
  }
  if (f.replicas !== undefined) {
    if (mode.Global) bad('replicas can only be used with replicated mode');
    mode = { Replicated: { Replicas: parseUint(f.replicas, '--replicas') } };
  }
  const env = [...(cs?.Env ?? [])];
  for (const e of f.env ?? []) {
    if (!e || e.startsWith('='))
      bad(`invalid argument "${e}" for "-e, --env" flag: invalid environment variable`);
    const key = e.split('=')[0];
    const i = env.findIndex((x) => x.split('=')[0] === key);
    if (i >= 0) env[i] = e;
    else env.push(e);
  }
  const health = (): ServiceSpec['TaskTemplate']['ContainerSpec']['Healthcheck'] => {
    if (f.healthcheck === false) {
      if (
        f.healthCmd ||
        f.healthInterval ||
        f.healthTimeout ||
        f.healthRetries ||
        f.healthStartPeriod
      ) {
        bad('--no-healthcheck conflicts with --health-* options');
      }
      return { Test: ['NONE'] };
    }
    const old = cs?.Healthcheck;
    if (
      !f.healthCmd &&
      !f.healthInterval &&
      !f.healthTimeout &&
      !f.healthRetries &&
      !f.healthStartPeriod
    )
      return old;
    return {
      ...(old ?? {}),
      ...(f.healthCmd ? { Test: ['CMD-SHELL', f.healthCmd] } : {}),
      ...(f.healthInterval
        ? { Interval: parseDurationNs(f.healthInterval, '--health-interval') }
        : {}),
      ...(f.healthTimeout ? { Timeout: parseDurationNs(f.healthTimeout, '--health-timeout') } : {}),
      ...(f.healthRetries ? { Retries: parseUint(f.healthRetries, '--health-retries') } : {}),
      ...(f.healthStartPeriod
        ? { StartPeriod: parseDurationNs(f.healthStartPeriod, '--health-start-period') }
        : {}),
    };
  };
  const hc = health();
  const lim = tt?.Resources?.Limits ?? {};
  const res = tt?.Resources?.Reservations ?? {};
  const limits = {
    ...lim,
    ...(f.limitCpu ? { NanoCPUs: parseCpus(f.limitCpu, '--limit-cpu') } : {}),
    ...(f.limitMemory ? { MemoryBytes: parseBytes(f.limitMemory, '--limit-memory') } : {}),
  };
  const reservations = {
    ...res,
    ...(f.reserveCpu ? { NanoCPUs: parseCpus(f.reserveCpu, '--reserve-cpu') } : {}),
    ...(f.reserveMemory ? { MemoryBytes: parseBytes(f.reserveMemory, '--reserve-memory') } : {}),
  };
  const rp = tt?.RestartPolicy ?? {};
  if (
    f.restartCondition !== undefined &&
    !['none', 'on-failure', 'any'].includes(f.restartCondition)
  ) {
    bad(
      `invalid argument "${f.restartCondition}" for "--restart-condition" flag: must be none, on-failure or any`,
    );
  }
  const restart = {
    ...rp,
    ...(f.restartCondition
      ? { Condition: f.restartCondition as 'none' | 'on-failure' | 'any' }
      : {}),
    ...(f.restartDelay ? { Delay: parseDurationNs(f.restartDelay, '--restart-delay') } : {}),
    ...(f.restartMaxAttempts
      ? { MaxAttempts: parseUint(f.restartMaxAttempts, '--restart-max-attempts') }
      : {}),
    ...(f.restartWindow ? { Window: parseDurationNs(f.restartWindow, '--restart-window') } : {}),
  };
  const pl = tt?.Placement ?? {};
  const prefs = [...(pl.Preferences ?? [])];
  for (const p of f.placementPref ?? []) {
    const m = /^spread=(.+)$/.exec(p);
    if (!m?.[1])
      bad(
        `invalid argument "${p}" for "--placement-pref" flag: placement preference must be of the format "spread=node.labels.LABEL"`,
      );
    prefs.push({ Spread: { SpreadDescriptor: m[1] } });
  }
  const placement = {
    ...pl,
    ...(f.constraint?.length ? { Constraints: [...(pl.Constraints ?? []), ...f.constraint] } : {}),
    ...(prefs.length ? { Preferences: prefs } : {}),
    ...(f.maxReplicasPerNode !== undefined
      ? { MaxReplicas: parseUint(f.maxReplicasPerNode, '--max-replicas-per-node') }
      : {}),
  };
  // An identical port is not added twice, and a port publishing the same number as one the
  // service has replaces it (Docker's --publish-add).
  const ports: PortConfig[] = [...(base?.EndpointSpec?.Ports ?? [])];
  const had = ports.length;
  for (const p of (f.publish ?? []).map(parsePublish)) {
    if (ports.some((q) => samePort(p, q))) continue;
    const i = ports.findIndex((q) => samePublished(p, q));
    if (i >= 0 && i < had) ports[i] = p;
    else ports.push(p);
  }
  const labels = { ...(base?.Labels ?? {}), ...parseKeyValues(f.label ?? [], '--label') };
  const containerLabels = {
    ...(cs?.Labels ?? {}),
    ...parseKeyValues(f.containerLabel ?? [], '--container-label'),
  };
  const command =
    f.entrypoint !== undefined ? splitShellWords(f.entrypoint, '--entrypoint') : cs?.Command;
  const cmdArgs = args.length ? [...args] : cs?.Args;
  const secrets = [...(cs?.Secrets ?? [])];
  for (const r of (f.secret ?? []).map(parseSecretRef)) {
    const i = secrets.findIndex((x) => x.File?.Name === r.File?.Name);
    if (i >= 0) secrets[i] = r;
    else secrets.push(r);
  }
  const name = f.name ?? base?.Name ?? '';
  return {
    Name: name,
    Labels: labels,
    TaskTemplate: {
      ...(tt ?? {}),
      ContainerSpec: {
        ...(cs ?? {}),
        Image: image ?? cs?.Image ?? '',
        ...(Object.keys(containerLabels).length ? { Labels: containerLabels } : {}),
        ...(command?.length ? { Command: command } : {}),
        ...(cmdArgs?.length ? { Args: cmdArgs } : {}),
        ...(env.length ? { Env: env } : {}),
        ...(f.workdir !== undefined ? { Dir: f.workdir } : {}),
        ...(f.user !== undefined ? { User: f.user } : {}),
        ...(f.hostname !== undefined ? { Hostname: f.hostname } : {}),
        ...(f.stopGracePeriod !== undefined
          ? { StopGracePeriod: parseDurationNs(f.stopGracePeriod, '--stop-grace-period') }
          : {}),
        ...(hc ? { Healthcheck: hc } : {}),
        ...(secrets.length ? { Secrets: secrets } : {}),
      },
      ...(Object.keys(limits).length || Object.keys(reservations).length
        ? { Resources: { Limits: limits, Reservations: reservations } }
        : {}),
      RestartPolicy: { Condition: 'any', Delay: 5e9, MaxAttempts: 0, Window: 0, ...restart },
      ...(Object.keys(placement).length ? { Placement: placement } : {}),
    },
    Mode: mode,
    UpdateConfig: updateConfig(f, 'update', base?.UpdateConfig ?? DEFAULT_UPDATE_CONFIG),
    RollbackConfig: updateConfig(f, 'rollback', base?.RollbackConfig ?? DEFAULT_UPDATE_CONFIG),
    ...(ports.length ? { EndpointSpec: { Ports: ports } } : {}),
  };
}
