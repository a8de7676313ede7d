import { isMap, isScalar, isSeq, type LineCounter, type Node as YamlNode } from 'yaml';
import { TswarmError } from '../../shared/errors.js';
import { parseDurationNs } from '../service/spec-flags.js';

/*
 * The position-aware reader under the compose parser: typed accessors over yaml's nodes that
 * fail with `<file>, line N: <key path> ...`.
 */

/** A malformed compose file: `<file>, line N: <key path> <what is wrong>`. */
export function composeError(file: string, line: number | undefined, msg: string): TswarmError {
  return new TswarmError(
    'INVALID_ARGUMENT',
    `invalid compose file ${file}${line !== undefined ? `, line ${line}` : ''}: ${msg}`,
  );
}

/** Reads one file's nodes; collects ignored keys and unset variables on the way. */
export class Walker {
  readonly ignored = new Set<string>();
  readonly missing = new Set<string>();

  constructor(
    readonly file: string,
    private readonly lc: LineCounter,
  ) {}

  line(node: YamlNode | null | undefined): number | undefined {
    const at = node?.range?.[0];
    return at === undefined ? undefined : this.lc.linePos(at).line;
  }

  fail(node: YamlNode | null | undefined, msg: string): never {
    throw composeError(this.file, this.line(node), msg);
  }

  /** Runs a helper that throws TswarmError (spec-flags parsers), adding line and key. */
  wrap<T>(node: YamlNode | null | undefined, key: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof TswarmError) this.fail(node, `${key}: ${err.message}`);
      throw err;
    }
  }

  map(node: unknown, key: string): [string, YamlNode | null, YamlNode | null][] {
    if (!isMap(node)) this.fail(node as YamlNode, `${key} must be a mapping`);
    return node.items.map((p) => {
      const k = p.key;
      const name = isScalar(k) ? String(k.value) : String(k);
      return [name, isScalar(k) ? k : null, (p.value ?? null) as YamlNode | null];
    });
  }

  /** Checks a mapping's keys: unknown ones fail, ignorable ones are collected. */
  keys(
    entries: readonly [string, YamlNode | null, YamlNode | null][],
    key: string,
    known: readonly string[],
    ignorable: ReadonlySet<string> = new Set(),
  ): void {
    for (const [k, kn] of entries) {
      if (known.includes(k)) continue;
      if (ignorable.has(k)) {
        this.ignored.add(k);
        continue;
      }
      this.fail(kn, `${key} additional property ${k} is not allowed`);
    }
  }

  scalar(node: YamlNode | null, key: string): string | number | boolean {
    if (!isScalar(node) || node.value === null || typeof node.value === 'object')
      this.fail(node, `${key} must be a string or a number`);
    return node.value as string | number | boolean;
  }

  string(node: YamlNode | null, key: string): string {
    const v = this.scalar(node, key);
    if (typeof v !== 'string' && typeof v !== 'number') this.fail(node, `${key} must be a string`);
    return String(v);
  }

  int(node: YamlNode | null, key: string): number {
    const v = this.scalar(node, key);
    const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
      this.fail(node, `${key} must be a non-negative integer`);
    return n;
  }

  number(node: YamlNode | null, key: string): number {
    const v = this.scalar(node, key);
    const n = typeof v === 'string' && /^\d*\.?\d+$/.test(v.trim()) ? Number(v) : v;
    if (typeof n !== 'number') this.fail(node, `${key} must be a number`);
    return n;
  }

  bool(node: YamlNode | null, key: string): boolean {
    const v = this.scalar(node, key);
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    this.fail(node, `${key} must be a boolean`);
  }

  duration(node: YamlNode | null, key: string): number {
    const v = this.scalar(node, key);
    return this.wrap(node, key, () => parseDurationNs(String(v), key));
  }

  strings(node: YamlNode | null, key: string): string[] {
    if (!isSeq(node)) this.fail(node, `${key} must be a list`);
    return node.items.map((it, i) => this.string(it as YamlNode, `${key}.${i}`));
  }

  /** A command: a string split like a shell would (quotes kept together), or a list. */
  command(node: YamlNode | null, key: string): string[] {
    if (isSeq(node)) return this.strings(node, key);
    return this.wrap(node, key, () => splitShell(this.string(node, key)));
  }

  /** `KEY=VALUE` list or a mapping (environment, labels). */
  dict(node: YamlNode | null, key: string, env?: Readonly<Record<string, string | undefined>>) {
    const out: Record<string, string> = {};
    if (isSeq(node)) {
      for (const [i, it] of node.items.entries()) {
        const s = this.string(it as YamlNode, `${key}.${i}`);
        const eq = s.indexOf('=');
        if (eq === 0) this.fail(it as YamlNode, `${key}.${i} has an empty key`);
        if (eq > 0) out[s.slice(0, eq)] = s.slice(eq + 1);
        else if (env) {
          // `- NAME` without a value takes it from the environment, when set.
          const v = env[s];
          if (v !== undefined) out[s] = v;
        } else out[s] = '';
      }
      return out;
    }
    for (const [k, , v] of this.map(node, key)) {
      if (v === null || (isScalar(v) && v.value === null)) {
        const fromEnv = env?.[k];
        if (env && fromEnv !== undefined) out[k] = fromEnv;
        else if (!env) out[k] = '';
        continue;
      }
      out[k] = String(this.scalar(v, `${key}.${k}`));
    }
    return out;
  }
}

/** Splits a command string as a POSIX shell would (no expansion). */
export function splitShell(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let q: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s.charAt(i);
    if (q) {
      if (c === q) q = undefined;
      else if (c === '\\' && q === '"' && i + 1 < s.length) cur += s.charAt(++i);
      else cur += c;
    } else if (c === '"' || c === "'") {
      q = c;
      has = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s.charAt(++i);
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else cur += c;
  }
  if (q) throw new TswarmError('INVALID_ARGUMENT', 'unterminated quote in command');
  if (has || cur) out.push(cur);
  return out;
}
