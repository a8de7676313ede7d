import path from 'node:path';
import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import type { HealthConfig, PortConfig, UpdateConfig } from '../../shared/api-types.js';
import { TswarmError } from '../../shared/errors.js';
import { parseConstraint } from '../../scheduler/index.js';
import { parseBytes, parseCpus, parsePublish } from '../service/spec-flags.js';
import { interpolate, InterpolationError } from './interpolate.js';
import { composeError, Walker } from './compose-walker.js';

export { composeError, splitShell } from './compose-walker.js';
export { mergeCompose } from './compose-merge.js';

/*
 * The compose subset `stack deploy` reads, parsed from YAML with positions so that a bad
 * file fails with its line and key, and normalized (durations in ns, CPUs in nano CPUs,
 * environment and labels as maps) for conversion to service specs. Pure: file contents and
 * the environment come in as arguments.
 */

export interface ComposeServiceSecret {
  readonly source: string;
  readonly target?: string;
  readonly uid?: string;
  readonly gid?: string;
  readonly mode?: number;
}

export interface ComposeResources {
  readonly cpus?: number;
  readonly memory?: number;
}

export interface ComposeDeploy {
  readonly mode?: 'replicated' | 'global';
  readonly replicas?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly placement?: {
    readonly constraints?: readonly string[];
    readonly preferences?: readonly string[];
    readonly max_replicas_per_node?: number;
  };
  readonly resources?: {
    readonly limits?: ComposeResources;
    readonly reservations?: ComposeResources;
  };
  readonly restart_policy?: {
    readonly condition?: 'none' | 'on-failure' | 'any';
    readonly delay?: number;
    readonly max_attempts?: number;
    readonly window?: number;
  };
  readonly update_config?: Partial<UpdateConfig>;
  readonly rollback_config?: Partial<UpdateConfig>;
}

export interface ComposeService {
  readonly image?: string;
  readonly command?: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly environment?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly ports?: readonly PortConfig[];
  readonly secrets?: readonly ComposeServiceSecret[];
  readonly hostname?: string;
  readonly user?: string;
  readonly working_dir?: string;
  /** Nanoseconds. */
  readonly stop_grace_period?: number;
  readonly healthcheck?: HealthConfig;
  readonly deploy?: ComposeDeploy;
}

export interface ComposeSecret {
  /** Absolute path (resolved against the compose file's directory). */
  readonly file?: string;
  readonly external?: boolean;
  /** The secret's name in the swarm (default `<stack>_<key>`; external: the key). */
  readonly name?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface ComposeConfig {
  readonly services: ReadonlyMap<string, ComposeService>;
  readonly secrets: ReadonlyMap<string, ComposeSecret>;
}

export interface ParsedCompose {
  readonly config: ComposeConfig;
  /** "Ignoring unsupported options: build" and the like, in Docker's words. */
  readonly warnings: readonly string[];
}

/** Keys Docker's stack deploy accepts but ignores (it says so), per service. */
const IGNORED_SERVICE_KEYS = new Set([
  'build',
  'cap_add',
  'cap_drop',
  'cgroup_parent',
  'container_name',
  'depends_on',
  'devices',
  'dns',
  'dns_search',
  'domainname',
  'env_file',
  'expose',
  'external_links',
  'extra_hosts',
  'init',
  'ipc',
  'isolation',
  'links',
  'logging',
  'mac_address',
  'network_mode',
  'networks',
  'pid',
  'privileged',
  'read_only',
  'restart',
  'security_opt',
  'shm_size',
  'stdin_open',
  'stop_signal',
  'sysctls',
  'tmpfs',
  'tty',
  'ulimits',
  'userns_mode',
  'volumes',
  'configs',
]);
const IGNORED_TOP_KEYS = new Set(['networks', 'volumes', 'configs', 'name']);
const IGNORED_DEPLOY_KEYS = new Set(['endpoint_mode']);

/** Interpolates every string value (not keys) of the document in place. */
function interpolateDocument(
  doc: Document,
  w: Walker,
  env: Readonly<Record<string, string | undefined>>,
): void {
  visit(doc, {
    Pair(_key, pair) {
      const v = pair.value;
      if (isScalar(v) && typeof v.value === 'string') {
        try {
          const r = interpolate(v.value, env);
          for (const m of r.missing) w.missing.add(m);
          v.value = r.value;
        } catch (err) {
          if (err instanceof InterpolationError) {
            const k = isScalar(pair.key) ? String(pair.key.value) : '';
            w.fail(v, `${k}: ${err.message}`);
          }
          throw err;
        }
      }
    },
    Seq(_key, seq) {
      for (const it of seq.items) {
        if (isScalar(it) && typeof it.value === 'string') {
          try {
            const r = interpolate(it.value, env);
            for (const m of r.missing) w.missing.add(m);
            it.value = r.value;
          } catch (err) {
            if (err instanceof InterpolationError) w.fail(it, err.message);
            throw err;
          }
        }
      }
    },
  });
}

/**
 * Parses one compose file. `file` names it in errors and anchors relative secret paths.
 * Throws INVALID_ARGUMENT with the line and key of the first problem.
 */
export function parseCompose(
  text: string,
  file: string,
  env: Readonly<Record<string, string | undefined>>,
): ParsedCompose {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, version: '1.1', uniqueKeys: true });
  const w = new Walker(file, lc);
  const [first] = doc.errors;
  if (first) {
    const pos = first.linePos?.[0];
    throw composeError(file, pos?.line, `yaml: ${first.message.split('\n')[0] ?? ''}`);
  }
  interpolateDocument(doc, w, env);
  const root = doc.contents;
  if (root === null) throw composeError(file, undefined, 'the file is empty');
  const top = w.map(root, 'top level');
  w.keys(top, 'top level', ['version', 'services', 'secrets'], IGNORED_TOP_KEYS);
  const services = new Map<string, ComposeService>();
  const secrets = new Map<string, ComposeSecret>();
  const dir = path.dirname(path.resolve(file));
  for (const [k, , v] of top) {
    if (k === 'services') {
      for (const [name, nameNode, sv] of w.map(v, 'services')) {
        if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name))
          w.fail(nameNode, `services.${name}: invalid service name`);
        services.set(name, parseService(w, sv, `services.${name}`, env));
      }
    } else if (k === 'secrets') {
      if (v === null) continue;
      for (const [name, , sv] of w.map(v, 'secrets'))
        secrets.set(name, parseSecret(w, sv, `secrets.${name}`, dir));
    } else if (k === 'version') {
      w.string(v, 'version');
    }
  }
  const warnings: string[] = [];
  if (w.ignored.size)
    warnings.push(`Ignoring unsupported options: ${[...w.ignored].sort().join(', ')}`);
  for (const m of [...w.missing].sort())
    warnings.push(`The "${m}" variable is not set. Defaulting to a blank string.`);
  return { config: { services, secrets }, warnings };
}

function parseSecret(w: Walker, node: YamlNode | null, key: string, dir: string): ComposeSecret {
  const e = w.map(node, key);
  w.keys(e, key, ['file', 'external', 'name', 'labels']);
  let out: ComposeSecret = {};
  for (const [k, , v] of e) {
    if (k === 'file') out = { ...out, file: path.resolve(dir, w.string(v, `${key}.file`)) };
    else if (k === 'external') {
      // `external: true` or the old `external: {name: x}`.
      if (isMap(v)) {
        const name = w.map(v, `${key}.external`).find(([n]) => n === 'name');
        out = {
          ...out,
          external: true,
          ...(name ? { name: w.string(name[2], `${key}.external.name`) } : {}),
        };
      } else out = { ...out, external: w.bool(v, `${key}.external`) };
    } else if (k === 'name') out = { ...out, name: w.string(v, `${key}.name`) };
    else out = { ...out, labels: w.dict(v, `${key}.labels`) };
  }
  if (!out.external && !out.file) w.fail(node, `${key}: a secret needs "file" or "external: true"`);
  if (out.external && out.file) w.fail(node, `${key}: "external" and "file" cannot both be set`);
  return out;
}

const SERVICE_KEYS = [
  'image',
  'command',
  'entrypoint',
  'environment',
  'labels',
  'ports',
  'secrets',
  'hostname',
  'user',
  'working_dir',
  'stop_grace_period',
  'healthcheck',
  'deploy',
];

function parseService(
  w: Walker,
  node: YamlNode | null,
  key: string,
  env: Readonly<Record<string, string | undefined>>,
): ComposeService {
  const e = w.map(node, key);
  w.keys(e, key, SERVICE_KEYS, IGNORED_SERVICE_KEYS);
  const s: Record<string, unknown> = {};
  for (const [k, , v] of e) {
    const kk = `${key}.${k}`;
    switch (k) {
      case 'image':
      case 'hostname':
      case 'user':
      case 'working_dir':
        s[k] = w.string(v, kk);
        break;
      case 'command':
      case 'entrypoint':
        s[k] = w.command(v, kk);
        break;
      case 'environment':
        s[k] = w.dict(v, kk, env);
        break;
      case 'labels':
        s[k] = w.dict(v, kk);
        break;
      case 'stop_grace_period':
        s[k] = w.duration(v, kk);
        break;
      case 'ports':
        s[k] = parsePorts(w, v, kk);
        break;
      case 'secrets':
        s[k] = parseServiceSecrets(w, v, kk);
        break;
      case 'healthcheck':
        s[k] = parseHealthcheck(w, v, kk);
        break;
      case 'deploy':
        s[k] = parseDeploy(w, v, kk);
        break;
      default:
        break;
    }
  }
  return s;
}

function parsePorts(w: Walker, node: YamlNode | null, key: string): PortConfig[] {
  if (!isSeq(node)) w.fail(node, `${key} must be a list`);
  return node.items.map((it, i) => {
    const n = it as YamlNode;
    const k = `${key}.${i}`;
    if (isMap(n)) {
      const e = w.map(n, k);
      w.keys(e, k, ['target', 'published', 'protocol', 'mode']);
      const parts = e.map(([f, , v]) => `${f}=${String(w.scalar(v, `${k}.${f}`))}`);
      return w.wrap(n, k, () => parsePublish(parts.join(',')));
    }
    const raw = String(w.scalar(n, k));
    return w.wrap(n, k, () => parsePublish(raw));
  });
}

function parseServiceSecrets(
  w: Walker,
  node: YamlNode | null,
  key: string,
): ComposeServiceSecret[] {
  if (!isSeq(node)) w.fail(node, `${key} must be a list`);
  return node.items.map((it, i) => {
    const n = it as YamlNode;
    const k = `${key}.${i}`;
    if (!isMap(n)) return { source: w.string(n, k) };
    const e = w.map(n, k);
    w.keys(e, k, ['source', 'target', 'uid', 'gid', 'mode']);
    const out: Record<string, unknown> = {};
    for (const [f, , v] of e) {
      if (f === 'mode') {
        const raw = w.scalar(v, `${k}.mode`);
        // YAML 1.1 reads 0440 as octal already; a string is taken as octal too.
        const mode =
          typeof raw === 'number'
            ? raw
            : /^[0-7]{1,4}$/.test(String(raw))
              ? parseInt(String(raw), 8)
              : NaN;
        if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777)
          w.fail(v, `${k}.mode must be a file mode`);
        out['mode'] = mode;
      } else out[f] = w.string(v, `${k}.${f}`);
    }
    if (typeof out['source'] !== 'string' || !out['source']) w.fail(n, `${k}.source is required`);
    return out as unknown as ComposeServiceSecret;
  });
}

function parseHealthcheck(w: Walker, node: YamlNode | null, key: string): HealthConfig {
  const e = w.map(node, key);
  w.keys(e, key, ['test', 'interval', 'timeout', 'retries', 'start_period', 'disable']);
  let h: HealthConfig = {};
  for (const [k, , v] of e) {
    const kk = `${key}.${k}`;
    if (k === 'test') {
      if (isSeq(v)) {
        const t = w.strings(v, kk);
        if (!['CMD', 'CMD-SHELL', 'NONE'].includes(t[0] ?? ''))
          w.fail(v, `${kk} must start with "CMD", "CMD-SHELL" or "NONE"`);
        h = { ...h, Test: t };
      } else h = { ...h, Test: ['CMD-SHELL', w.string(v, kk)] };
    } else if (k === 'interval') h = { ...h, Interval: w.duration(v, kk) };
    else if (k === 'timeout') h = { ...h, Timeout: w.duration(v, kk) };
    else if (k === 'start_period') h = { ...h, StartPeriod: w.duration(v, kk) };
    else if (k === 'retries') h = { ...h, Retries: w.int(v, kk) };
    else if (w.bool(v, kk)) h = { Test: ['NONE'] };
  }
  return h;
}

function parseResources(w: Walker, node: YamlNode | null, key: string): ComposeResources {
  const e = w.map(node, key);
  w.keys(e, key, ['cpus', 'memory'], new Set(['pids', 'devices', 'generic_resources']));
  let r: ComposeResources = {};
  for (const [k, , v] of e) {
    const kk = `${key}.${k}`;
    const raw = String(w.scalar(v, kk));
    if (k === 'cpus') r = { ...r, cpus: w.wrap(v, kk, () => parseCpus(raw, kk)) };
    else if (k === 'memory') r = { ...r, memory: w.wrap(v, kk, () => parseBytes(raw, kk)) };
  }
  return r;
}

function parseUpdateConfig(
  w: Walker,
  node: YamlNode | null,
  key: string,
  rollback: boolean,
): Partial<UpdateConfig> {
  const e = w.map(node, key);
  w.keys(e, key, [
    'parallelism',
    'delay',
    'failure_action',
    'monitor',
    'max_failure_ratio',
    'order',
  ]);
  const u: Record<string, unknown> = {};
  for (const [k, , v] of e) {
    const kk = `${key}.${k}`;
    if (k === 'parallelism') u['Parallelism'] = w.int(v, kk);
    else if (k === 'delay') u['Delay'] = w.duration(v, kk);
    else if (k === 'monitor') u['Monitor'] = w.duration(v, kk);
    else if (k === 'max_failure_ratio') {
      const r = w.number(v, kk);
      if (r < 0 || r > 1) w.fail(v, `${kk} must be a number between 0 and 1`);
      u['MaxFailureRatio'] = r;
    } else if (k === 'order') {
      const o = w.string(v, kk);
      if (o !== 'stop-first' && o !== 'start-first')
        w.fail(v, `${kk} must be one of "stop-first", "start-first"`);
      u['Order'] = o;
    } else {
      const a = w.string(v, kk);
      const allowed = rollback ? ['pause', 'continue'] : ['pause', 'continue', 'rollback'];
      if (!allowed.includes(a))
        w.fail(v, `${kk} must be one of ${allowed.map((x) => `"${x}"`).join(', ')}`);
      u['FailureAction'] = a;
    }
  }
  return u;
}

function parseDeploy(w: Walker, node: YamlNode | null, key: string): ComposeDeploy {
  const e = w.map(node, key);
  w.keys(
    e,
    key,
    [
      'mode',
      'replicas',
      'labels',
      'placement',
      'resources',
      'restart_policy',
      'update_config',
      'rollback_config',
    ],
    IGNORED_DEPLOY_KEYS,
  );
  const d: Record<string, unknown> = {};
  for (const [k, , v] of e) {
    const kk = `${key}.${k}`;
    switch (k) {
      case 'mode': {
        const m = w.string(v, kk);
        if (m !== 'replicated' && m !== 'global')
          w.fail(v, `${kk} must be one of "replicated", "global"`);
        d['mode'] = m;
        break;
      }
      case 'replicas':
        d['replicas'] = w.int(v, kk);
        break;
      case 'labels':
        d['labels'] = w.dict(v, kk);
        break;
      case 'placement': {
        const pe = w.map(v, kk);
        w.keys(pe, kk, ['constraints', 'preferences', 'max_replicas_per_node']);
        const p: Record<string, unknown> = {};
        for (const [pk, , pv] of pe) {
          const pkk = `${kk}.${pk}`;
          if (pk === 'constraints') {
            const list = w.strings(pv, pkk);
            for (const [i, c] of list.entries()) {
              const item = isSeq(pv) ? (pv.items[i] as YamlNode) : pv;
              w.wrap(item, `${pkk}.${i}`, () => {
                try {
                  parseConstraint(c);
                } catch (err) {
                  throw new TswarmError(
                    'INVALID_ARGUMENT',
                    err instanceof Error ? err.message : String(err),
                  );
                }
              });
            }
            p['constraints'] = list;
          } else if (pk === 'preferences') {
            if (!isSeq(pv)) w.fail(pv, `${pkk} must be a list`);
            p['preferences'] = pv.items.map((it, i) => {
              const pre = w.map(it, `${pkk}.${i}`);
              w.keys(pre, `${pkk}.${i}`, ['spread']);
              const spread = pre[0];
              if (!spread) w.fail(it as YamlNode, `${pkk}.${i}.spread is required`);
              return w.string(spread[2], `${pkk}.${i}.spread`);
            });
          } else p['max_replicas_per_node'] = w.int(pv, pkk);
        }
        d['placement'] = p;
        break;
      }
      case 'resources': {
        const re = w.map(v, kk);
        w.keys(re, kk, ['limits', 'reservations']);
        const r: Record<string, unknown> = {};
        for (const [rk, , rv] of re) r[rk] = parseResources(w, rv, `${kk}.${rk}`);
        d['resources'] = r;
        break;
      }
      case 'restart_policy': {
        const re = w.map(v, kk);
        w.keys(re, kk, ['condition', 'delay', 'max_attempts', 'window']);
        const r: Record<string, unknown> = {};
        for (const [rk, , rv] of re) {
          const rkk = `${kk}.${rk}`;
          if (rk === 'condition') {
            const c = w.string(rv, rkk);
            if (!['none', 'on-failure', 'any'].includes(c))
              w.fail(rv, `${rkk} must be one of "none", "on-failure", "any"`);
            r['condition'] = c;
          } else if (rk === 'max_attempts') r['max_attempts'] = w.int(rv, rkk);
          else r[rk] = w.duration(rv, rkk);
        }
        d['restart_policy'] = r;
        break;
      }
      case 'update_config':
      case 'rollback_config':
        d[k] = parseUpdateConfig(w, v, kk, k === 'rollback_config');
        break;
      default:
        break;
    }
  }
  return d;
}
