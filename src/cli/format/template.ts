import {
  parseTemplate,
  TemplateError,
  type Operand,
  type Pipeline,
  type TemplateNode,
} from './template-parse.js';

export { TemplateError } from './template-parse.js';

/**
 * Objects carrying this key behave like Go structs in a template: a field that is not there
 * is an error (`can't evaluate field Foo in type X`) instead of `<no value>`, which is what a
 * missing key of a map (any other object, e.g. decoded JSON) gives.
 */
export const STRUCT_TYPE: unique symbol = Symbol('tswarm.template.struct');

/** Marks `obj` as a Go struct named `typeName` for field lookups; returns it. */
export function asStruct<T extends object>(obj: T, typeName: string): T {
  Object.defineProperty(obj, STRUCT_TYPE, { value: typeName, enumerable: false });
  return obj;
}

type Fn = (...args: unknown[]) => unknown;

const NO_VALUE = Symbol('no value');

/** Go's fmt %v, enough for templates: strings as-is, maps as map[k:v], slices as [a b]. */
export function printValue(v: unknown): string {
  if (v === NO_VALUE || v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map((x) => printNested(x)).join(' ')}]`;
  if (typeof v === 'object') {
    const entries = Object.keys(v)
      .sort()
      .map((k) => `${k}:${printNested((v as Record<string, unknown>)[k])}`);
    return STRUCT_TYPE in v ? `{${entries.join(' ')}}` : `map[${entries.join(' ')}]`;
  }
  return typeof v === 'symbol' ? v.toString() : '<func>';
}

function printNested(v: unknown): string {
  return v === undefined || v === null ? '<nil>' : printValue(v);
}

/** Go's template truth: false, 0, nil, and empty strings, slices and maps are false. */
export function isTrue(v: unknown): boolean {
  if (v === undefined || v === null || v === NO_VALUE) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v !== '';
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return STRUCT_TYPE in v || Object.keys(v).length > 0;
  return true;
}

/** `json` as docker/cli's template function: compact, no HTML escaping. */
export function toJson(v: unknown): string {
  // JSON.stringify returns undefined (not a string) for these.
  if (v === NO_VALUE || v === undefined || typeof v === 'function' || typeof v === 'symbol') {
    return 'null';
  }
  return JSON.stringify(v);
}

function str(v: unknown, fn: string): string {
  if (typeof v === 'string') return v;
  throw new TemplateError(`wrong type for value; expected string; got ${typeName(v)} in ${fn}`);
}

function int(v: unknown, fn: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  throw new TemplateError(`wrong type for value; expected int; got ${typeName(v)} in ${fn}`);
}

function typeName(v: unknown): string {
  if (v === null || v === undefined || v === NO_VALUE) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'object') {
    const t = (v as { [STRUCT_TYPE]?: string })[STRUCT_TYPE];
    return t ?? 'map[string]interface {}';
  }
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  return typeof v;
}

function compare(a: unknown, b: unknown, fn: string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new TemplateError(`incompatible types for comparison in ${fn}`);
}

function sprintf(format: string, args: readonly unknown[]): string {
  let k = 0;
  return format.replace(
    /%([-+ 0#]*\d*(?:\.\d+)?)([%vsdqtf])/g,
    (_m, _flags: string, verb: string) => {
      if (verb === '%') return '%';
      const a = args[k++];
      if (verb === 'q') return JSON.stringify(printValue(a));
      if (verb === 'd' && typeof a === 'number') return String(Math.trunc(a));
      return printValue(a);
    },
  );
}

/** docker/cli's template functions plus Go's builtins most used in `--format`. */
export const BASIC_FUNCS: Readonly<Record<string, Fn>> = {
  json: (v) => toJson(v),
  split: (s, sep) => str(s, 'split').split(str(sep, 'split')),
  join: (list, sep) => {
    if (!Array.isArray(list)) throw new TemplateError(`wrong type for value; expected []string`);
    return list.map((x) => printValue(x)).join(str(sep, 'join'));
  },
  title: (s) =>
    str(s, 'title').replace(
      /(^|[^\p{L}\p{N}_'])(\p{L})/gu,
      (_m, p: string, c: string) => p + c.toUpperCase(),
    ),
  lower: (s) => str(s, 'lower').toLowerCase(),
  upper: (s) => str(s, 'upper').toUpperCase(),
  pad: (s, prefix, suffix) => {
    const v = str(s, 'pad');
    return v === '' ? v : ' '.repeat(int(prefix, 'pad')) + v + ' '.repeat(int(suffix, 'pad'));
  },
  truncate: (s, n) => {
    const v = str(s, 'truncate');
    const len = int(n, 'truncate');
    return v.length < len ? v : v.slice(0, len);
  },
  len: (v) => {
    if (typeof v === 'string' || Array.isArray(v)) return v.length;
    if (v !== null && typeof v === 'object') return Object.keys(v).length;
    throw new TemplateError(`len of type ${typeName(v)}`);
  },
  index: (v, ...keys) => {
    let cur: unknown = v;
    for (const k of keys) {
      if (Array.isArray(cur)) cur = cur[int(k, 'index')];
      else if (cur !== null && typeof cur === 'object')
        cur = (cur as Record<string, unknown>)[str(k, 'index')];
      else throw new TemplateError(`can't index item of type ${typeName(cur)}`);
    }
    return cur;
  },
  print: (...args) => args.map((a) => printValue(a)).join(''),
  println: (...args) => args.map((a) => printValue(a)).join(' ') + '\n',
  printf: (format, ...args) => sprintf(str(format, 'printf'), args),
  not: (v) => !isTrue(v),
  and: (...args) => args.find((a) => !isTrue(a)) ?? args[args.length - 1],
  or: (...args) => args.find((a) => isTrue(a)) ?? args[args.length - 1],
  eq: (a, ...bs) => bs.some((b) => compare(a, b, 'eq') === 0),
  ne: (a, b) => compare(a, b, 'ne') !== 0,
  lt: (a, b) => compare(a, b, 'lt') < 0,
  le: (a, b) => compare(a, b, 'le') <= 0,
  gt: (a, b) => compare(a, b, 'gt') > 0,
  ge: (a, b) => compare(a, b, 'ge') >= 0,
};

/** docker/cli's header functions: a table header keeps its text whatever the function. */
export const HEADER_FUNCS: Readonly<Record<string, Fn>> = {
  ...BASIC_FUNCS,
  json: (v) => v,
  split: (v) => v,
  join: (v) => v,
  title: (v) => v,
  lower: (v) => v,
  upper: (v) => v,
  truncate: (v) => v,
};

type Vars = Map<string, unknown>;

class Executor {
  private out = '';
  constructor(private readonly funcs: Readonly<Record<string, Fn>>) {}

  run(nodes: readonly TemplateNode[], dot: unknown): string {
    this.walk(nodes, dot, new Map([['$', dot]]));
    return this.out;
  }

  private walk(nodes: readonly TemplateNode[], dot: unknown, vars: Vars): void {
    for (const node of nodes) {
      switch (node.kind) {
        case 'text':
          this.out += node.text;
          break;
        case 'print': {
          const v = this.pipe(node.pipe, dot, vars);
          if (node.pipe.decl.length === 0) this.out += printValue(v);
          break;
        }
        case 'if':
        case 'with': {
          let done = false;
          for (const branch of node.branches) {
            const inner = new Map(vars);
            const v = this.pipe(branch.pipe, dot, inner);
            if (isTrue(v)) {
              this.walk(branch.body, node.kind === 'with' ? v : dot, inner);
              done = true;
              break;
            }
          }
          if (!done && node.elseBody) this.walk(node.elseBody, dot, vars);
          break;
        }
        case 'range':
          this.range(node, dot, vars);
          break;
      }
    }
  }

  private range(node: Extract<TemplateNode, { kind: 'range' }>, dot: unknown, vars: Vars): void {
    const inner = new Map(vars);
    const decl = node.pipe.decl;
    const v = this.pipe({ ...node.pipe, decl: [] }, dot, inner);
    let items: [unknown, unknown][];
    if (Array.isArray(v)) items = v.map((x, i) => [i, x]);
    else if (v !== null && typeof v === 'object') {
      items = Object.keys(v)
        .sort()
        .map((k) => [k, (v as Record<string, unknown>)[k]]);
    } else if (typeof v === 'number' && Number.isInteger(v)) {
      items = Array.from({ length: Math.max(0, v) }, (_x, i) => [i, i]);
    } else if (v === undefined || v === null || v === NO_VALUE) items = [];
    else throw new TemplateError(`range can't iterate over ${printValue(v)}`);
    if (items.length === 0) {
      if (node.elseBody) this.walk(node.elseBody, dot, vars);
      return;
    }
    for (const [k, x] of items) {
      if (decl.length === 1 && decl[0] !== undefined) inner.set(decl[0], x);
      if (decl.length === 2 && decl[0] !== undefined && decl[1] !== undefined) {
        inner.set(decl[0], k);
        inner.set(decl[1], x);
      }
      this.walk(node.body, x, inner);
    }
  }

  private pipe(pipe: Pipeline, dot: unknown, vars: Vars): unknown {
    let value: unknown = NO_VALUE;
    let first = true;
    for (const cmd of pipe.cmds) {
      value = this.command(cmd, dot, vars, first ? undefined : { value }, pipe);
      first = false;
    }
    for (const name of pipe.decl) vars.set(name, value);
    return value;
  }

  private command(
    cmd: readonly Operand[],
    dot: unknown,
    vars: Vars,
    piped: { value: unknown } | undefined,
    pipe: Pipeline,
  ): unknown {
    const [head, ...rest] = cmd;
    if (head === undefined) throw new TemplateError('empty command');
    if (head.kind === 'ident') {
      const fn = this.funcs[head.name];
      if (!fn) throw new TemplateError(`function ${JSON.stringify(head.name)} not defined`);
      const args = rest.map((a) => this.operand(a, dot, vars, pipe));
      if (piped) args.push(piped.value);
      try {
        return fn(...args);
      } catch (err) {
        if (err instanceof TemplateError) {
          throw new TemplateError(
            `executing at <${head.name}>: error calling ${head.name}: ${err.message}`,
          );
        }
        throw err;
      }
    }
    if (rest.length > 0 || piped) {
      throw new TemplateError(
        `executing at <${pipe.source.trim()}>: can't give argument to non-function`,
      );
    }
    return this.operand(head, dot, vars, pipe);
  }

  private operand(op: Operand, dot: unknown, vars: Vars, pipe: Pipeline): unknown {
    switch (op.kind) {
      case 'string':
      case 'number':
      case 'bool':
        return op.value;
      case 'nil':
        return null;
      case 'ident': {
        const fn = this.funcs[op.name];
        if (!fn) throw new TemplateError(`function ${JSON.stringify(op.name)} not defined`);
        return fn();
      }
      case 'sub':
        return this.path(this.pipe(op.pipe, dot, new Map(vars)), op.path, pipe);
      case 'field': {
        let base = dot;
        if (op.base !== '.') {
          if (!vars.has(op.base)) throw new TemplateError(`undefined variable: ${op.base}`);
          base = vars.get(op.base);
        }
        return this.path(base, op.path, pipe);
      }
    }
  }

  private path(base: unknown, path: readonly string[], pipe: Pipeline): unknown {
    let cur = base;
    for (const name of path) {
      if (cur === NO_VALUE || cur === undefined) return NO_VALUE;
      if (cur === null) {
        throw new TemplateError(
          `executing at <${pipe.source.trim()}>: nil pointer evaluating interface {}.${name}`,
        );
      }
      if (typeof cur !== 'object' || Array.isArray(cur)) {
        throw new TemplateError(
          `executing at <${pipe.source.trim()}>: can't evaluate field ${name} in type ${typeName(cur)}`,
        );
      }
      const obj = cur as Record<string, unknown>;
      if (Object.prototype.hasOwnProperty.call(obj, name)) cur = obj[name];
      else if (STRUCT_TYPE in obj) {
        throw new TemplateError(
          `executing at <${pipe.source.trim()}>: can't evaluate field ${name} in type ${typeName(obj)}`,
        );
      } else cur = NO_VALUE;
    }
    return cur;
  }
}

/** A parsed template; execute it once per object. */
export class Template {
  private readonly nodes: readonly TemplateNode[];

  /** Throws TemplateError when `source` does not parse or names an unknown function. */
  constructor(readonly source: string) {
    this.nodes = parseTemplate(source, (name) => Object.hasOwn(BASIC_FUNCS, name));
  }

  /** Renders with `dot` as `.`; throws TemplateError on a bad field or function call. */
  execute(dot: unknown, funcs: Readonly<Record<string, Fn>> = BASIC_FUNCS): string {
    return new Executor(funcs).run(this.nodes, dot);
  }
}
