/**
 * A parser for the part of Go's text/template that Docker's `--format` users write:
 * `{{.Field.Path}}`, `{{json .}}`, pipelines (`{{.Name | upper}}`), function calls with
 * literal or field arguments, parenthesised sub-pipelines, variables (`{{$x := .ID}}`,
 * `{{range $k, $v := .Labels}}`), `if`/`else if`/`else`/`end`, `range`, `with`, comments
 * `{{/* ... *\/}}` and the `{{-`/`-}}` whitespace trims.
 */

/** A malformed template; the CLI prints it as `template parsing error: <message>`. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

/** An operand: what a command's words are. */
export type Operand =
  /** `base` is `.` for dot, else a variable name (`$`, `$x`). */
  | { readonly kind: 'field'; readonly base: string; readonly path: readonly string[] }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'nil' }
  | { readonly kind: 'ident'; readonly name: string }
  | { readonly kind: 'sub'; readonly pipe: Pipeline; readonly path: readonly string[] };

/** `$a, $b := cmd | cmd | ...`; each command is a function call or a single operand. */
export interface Pipeline {
  readonly decl: readonly string[];
  readonly cmds: readonly (readonly Operand[])[];
  /** The action's source, for error messages (`at <.Foo>`). */
  readonly source: string;
}

export type TemplateNode =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'print'; readonly pipe: Pipeline }
  | {
      readonly kind: 'if' | 'with';
      readonly branches: readonly { readonly pipe: Pipeline; readonly body: TemplateNode[] }[];
      readonly elseBody: TemplateNode[] | undefined;
    }
  | {
      readonly kind: 'range';
      readonly pipe: Pipeline;
      readonly body: TemplateNode[];
      readonly elseBody: TemplateNode[] | undefined;
    };

type Token =
  | { readonly t: 'field'; readonly path: readonly string[] } // `.` is path []
  | { readonly t: 'var'; readonly name: string; readonly path: readonly string[] }
  | { readonly t: 'string'; readonly value: string }
  | { readonly t: 'number'; readonly value: number }
  | { readonly t: 'ident'; readonly name: string }
  | { readonly t: '(' | ')' | '|' | ',' | ':=' | '=' };

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/;

function lexPath(src: string, at: number): { path: string[]; end: number } {
  const path: string[] = [];
  let i = at;
  while (src[i] === '.') {
    const m = IDENT.exec(src.slice(i + 1));
    if (!m) break;
    path.push(m[0]);
    i += 1 + m[0].length;
  }
  return { path, end: i };
}

/** Splits one action's inside (between the delimiters) into tokens. */
function lexAction(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src.charAt(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === '|' || c === ',') {
      tokens.push({ t: c });
      i++;
    } else if (src.startsWith(':=', i)) {
      tokens.push({ t: ':=' });
      i += 2;
    } else if (c === '=') {
      tokens.push({ t: '=' });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw new TemplateError('unterminated quoted string');
      tokens.push({ t: 'string', value: JSON.parse(src.slice(i, j + 1)) as string });
      i = j + 1;
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) throw new TemplateError('unterminated raw quoted string');
      tokens.push({ t: 'string', value: src.slice(i + 1, j) });
      i = j + 1;
    } else if (c === '.') {
      const { path, end } = lexPath(src, i);
      if (path.length === 0) {
        if (/[A-Za-z0-9_]/.test(src.charAt(i + 1))) {
          throw new TemplateError(`bad character ${JSON.stringify(src.charAt(i + 1))}`);
        }
        tokens.push({ t: 'field', path: [] });
        i++;
      } else {
        tokens.push({ t: 'field', path });
        i = end;
      }
    } else if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*/.exec(src.slice(i));
      const name = m?.[0] ?? '$';
      const { path, end } = lexPath(src, i + name.length);
      tokens.push({ t: 'var', name, path });
      i = end;
    } else if (/[-+0-9]/.test(c)) {
      const m = /^[-+]?(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)/.exec(src.slice(i));
      if (!m) throw new TemplateError(`bad number syntax: ${JSON.stringify(src.slice(i))}`);
      tokens.push({ t: 'number', value: Number(m[0]) });
      i += m[0].length;
    } else {
      const m = IDENT.exec(src.slice(i));
      if (!m) throw new TemplateError(`unexpected ${JSON.stringify(c)} in command`);
      tokens.push({ t: 'ident', name: m[0] });
      i += m[0].length;
    }
  }
  return tokens;
}

class PipeParser {
  private pos = 0;
  constructor(
    private readonly tokens: readonly Token[],
    private readonly source: string,
    private readonly isFunc: (name: string) => boolean,
  ) {}

  parse(allowDecl: number): Pipeline {
    const pipe = this.pipeline(allowDecl);
    if (this.pos < this.tokens.length)
      throw new TemplateError(`unexpected token in ${this.where()}`);
    return pipe;
  }

  private where(): string {
    return `<${this.source.trim()}>`;
  }

  private pipeline(allowDecl: number): Pipeline {
    const decl: string[] = [];
    if (allowDecl > 0) {
      const save = this.pos;
      const vars: string[] = [];
      for (;;) {
        const tok = this.tokens[this.pos];
        if (tok?.t !== 'var' || tok.path.length > 0) break;
        vars.push(tok.name);
        this.pos++;
        if (this.tokens[this.pos]?.t === ',' && vars.length < allowDecl) {
          this.pos++;
          continue;
        }
        break;
      }
      const op = this.tokens[this.pos];
      if (vars.length > 0 && (op?.t === ':=' || op?.t === '=')) {
        this.pos++;
        decl.push(...vars);
      } else {
        this.pos = save;
      }
    }
    const cmds: Operand[][] = [];
    for (;;) {
      const cmd: Operand[] = [];
      for (;;) {
        const tok = this.tokens[this.pos];
        if (tok === undefined || tok.t === '|' || tok.t === ')') break;
        cmd.push(this.operand());
      }
      if (cmd.length === 0) throw new TemplateError(`missing value for command in ${this.where()}`);
      cmds.push(cmd);
      if (this.tokens[this.pos]?.t !== '|') break;
      this.pos++;
    }
    return { decl, cmds, source: this.source };
  }

  private operand(): Operand {
    const tok = this.tokens[this.pos++];
    if (tok === undefined) throw new TemplateError(`unexpected end of ${this.where()}`);
    switch (tok.t) {
      case 'field':
        return { kind: 'field', base: '.', path: tok.path };
      case 'var':
        return { kind: 'field', base: tok.name, path: tok.path };
      case 'string':
        return { kind: 'string', value: tok.value };
      case 'number':
        return { kind: 'number', value: tok.value };
      case 'ident':
        if (tok.name === 'true' || tok.name === 'false') {
          return { kind: 'bool', value: tok.name === 'true' };
        }
        if (tok.name === 'nil') return { kind: 'nil' };
        if (!this.isFunc(tok.name)) {
          throw new TemplateError(`function ${JSON.stringify(tok.name)} not defined`);
        }
        return { kind: 'ident', name: tok.name };
      case '(': {
        const pipe = this.pipeline(0);
        if (this.tokens[this.pos]?.t !== ')') throw new TemplateError(`unclosed left paren`);
        this.pos++;
        const next = this.tokens[this.pos];
        // `(pipe).Field`: the lexer made `.Field` a field token right after the paren.
        if (next?.t === 'field' && next.path.length > 0) {
          this.pos++;
          return { kind: 'sub', pipe, path: next.path };
        }
        return { kind: 'sub', pipe, path: [] };
      }
      case ')':
      case '|':
      case ',':
      case ':=':
      case '=':
        throw new TemplateError(`unexpected ${JSON.stringify(tok.t)} in ${this.where()}`);
    }
  }
}

function parsePipeline(
  src: string,
  allowDecl: number,
  isFunc: (name: string) => boolean,
): Pipeline {
  return new PipeParser(lexAction(src), src, isFunc).parse(allowDecl);
}

interface Frame {
  readonly keyword: 'root' | 'if' | 'with' | 'range';
  readonly branches: { pipe: Pipeline; body: TemplateNode[] }[];
  elseBody: TemplateNode[] | undefined;
  /** Where new nodes go: the last branch's body or the else body. */
  current: TemplateNode[];
}

/** Finds the end of an action starting after `{{`, skipping quoted strings. */
function findActionEnd(src: string, from: number): number {
  let i = from;
  while (i < src.length) {
    const c = src[i];
    if (c === '"') {
      i++;
      while (i < src.length && src[i] !== '"') i += src[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1);
      i = j < 0 ? src.length : j + 1;
    } else if (src.startsWith('}}', i)) {
      return i;
    } else {
      i++;
    }
  }
  throw new TemplateError('unclosed action');
}

/**
 * Parses a template into a node list. `isFunc` says which function names exist (Go checks
 * them at parse time). Throws TemplateError with Go-like messages.
 */
export function parseTemplate(src: string, isFunc: (name: string) => boolean): TemplateNode[] {
  const root: Frame = { keyword: 'root', branches: [], elseBody: undefined, current: [] };
  const stack: Frame[] = [root];
  const top = (): Frame => stack[stack.length - 1] ?? root;
  let i = 0;
  let trimNextText = false;
  while (i <= src.length) {
    const open = src.indexOf('{{', i);
    let text = src.slice(i, open < 0 ? src.length : open);
    if (trimNextText) text = text.replace(/^\s+/, '');
    trimNextText = false;
    if (open < 0) {
      if (text) top().current.push({ kind: 'text', text });
      break;
    }
    let start = open + 2;
    if (src.startsWith('- ', start) || /^-[\t\n\r]/.test(src.slice(start, start + 2))) {
      text = text.replace(/\s+$/, '');
      start += 1;
    }
    if (text) top().current.push({ kind: 'text', text });
    const close = findActionEnd(src, start);
    let inner = src.slice(start, close);
    if (/\s-$/.test(inner)) {
      inner = inner.slice(0, -1);
      trimNextText = true;
    }
    i = close + 2;
    const body = inner.trim();
    if (body.startsWith('/*')) {
      if (!body.endsWith('*/')) throw new TemplateError('unclosed comment');
      continue;
    }
    handleAction(body, stack, root, isFunc);
  }
  if (stack.length > 1) throw new TemplateError(`unexpected EOF`);
  return root.current;
}

function handleAction(
  body: string,
  stack: Frame[],
  root: Frame,
  isFunc: (name: string) => boolean,
): void {
  const top = stack[stack.length - 1] ?? root;
  const kw = /^(if|else|end|range|with|define|template|block)\b/.exec(body)?.[1];
  const rest = kw === undefined ? body : body.slice(kw.length).trim();
  switch (kw) {
    case undefined:
      if (body === '') throw new TemplateError('missing value for command');
      top.current.push({ kind: 'print', pipe: parsePipeline(body, 8, isFunc) });
      return;
    case 'if':
    case 'with':
    case 'range': {
      const pipe = parsePipeline(rest, kw === 'range' ? 2 : 1, isFunc);
      const frame: Frame = { keyword: kw, branches: [], elseBody: undefined, current: [] };
      frame.branches.push({ pipe, body: frame.current });
      stack.push(frame);
      return;
    }
    case 'else': {
      if (top.keyword === 'root' || top.elseBody !== undefined) {
        throw new TemplateError('unexpected {{else}}');
      }
      if (rest.startsWith('if ') || rest.startsWith('with ')) {
        const sub = rest.startsWith('if ') ? rest.slice(3) : rest.slice(5);
        const current: TemplateNode[] = [];
        top.branches.push({ pipe: parsePipeline(sub, 1, isFunc), body: current });
        top.current = current;
        return;
      }
      if (rest !== '') throw new TemplateError(`unexpected ${JSON.stringify(rest)} in else`);
      top.elseBody = [];
      top.current = top.elseBody;
      return;
    }
    case 'end': {
      if (top.keyword === 'root') throw new TemplateError('unexpected {{end}}');
      if (rest !== '') throw new TemplateError(`unexpected ${JSON.stringify(rest)} in end`);
      stack.pop();
      const parent = stack[stack.length - 1] ?? root;
      const first = top.branches[0];
      if (first === undefined) throw new TemplateError('internal: empty block');
      parent.current.push(
        top.keyword === 'range'
          ? { kind: 'range', pipe: first.pipe, body: first.body, elseBody: top.elseBody }
          : { kind: top.keyword, branches: top.branches, elseBody: top.elseBody },
      );
      return;
    }
    case 'define':
    case 'template':
    case 'block':
      throw new TemplateError(`{{${kw}}} is not supported`);
  }
}
