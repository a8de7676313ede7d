/**
 * Compose's variable substitution in a string value: `$VAR`, `${VAR}`, `${VAR:-default}`
 * (unset or empty), `${VAR-default}` (unset), `${VAR:?message}` / `${VAR?message}` (required),
 * `${VAR:+alt}` / `${VAR+alt}`, and `$$` for a literal `$`. Unset variables become "", as
 * Docker's (which also warns; the caller collects `missing`). Pure.
 */
export class InterpolationError extends Error {}

export interface InterpolationResult {
  readonly value: string;
  /** Variables that were used but not set (and had no default). */
  readonly missing: readonly string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

export function interpolate(
  raw: string,
  env: Readonly<Record<string, string | undefined>>,
): InterpolationResult {
  let out = '';
  const missing: string[] = [];
  let i = 0;
  while (i < raw.length) {
    const ch = raw.charAt(i);
    if (ch !== '$') {
      out += ch;
      i++;
      continue;
    }
    const next = raw[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const end = closingBrace(raw, i + 2);
      if (end < 0) throw new InterpolationError(`Invalid interpolation format: "${raw}"`);
      out += substitute(raw.slice(i + 2, end), raw, env, missing);
      i = end + 1;
      continue;
    }
    const m = NAME.exec(raw.slice(i + 1));
    if (m) {
      const v = env[m[0]];
      if (v === undefined) missing.push(m[0]);
      out += v ?? '';
      i += 1 + m[0].length;
      continue;
    }
    throw new InterpolationError(
      `Invalid interpolation format: "${raw}". You may need to escape any $ with another $.`,
    );
  }
  return { value: out, missing };
}

/** The index of the `}` closing a `${` whose body starts at `from` (nested `${}` allowed). */
function closingBrace(s: string, from: number): number {
  let depth = 1;
  for (let j = from; j < s.length; j++) {
    if (s[j] === '$' && s[j + 1] === '{') {
      depth++;
      j++;
    } else if (s[j] === '}') {
      depth--;
      if (depth === 0) return j;
    }
  }
  return -1;
}

function substitute(
  body: string,
  raw: string,
  env: Readonly<Record<string, string | undefined>>,
  missing: string[],
): string {
  const m = NAME.exec(body);
  if (!m) throw new InterpolationError(`Invalid interpolation format: "${raw}"`);
  const name = m[0];
  const rest = body.slice(name.length);
  const v = env[name];
  if (rest === '') {
    if (v === undefined) missing.push(name);
    return v ?? '';
  }
  const op = /^(:?)([-?+])/.exec(rest);
  if (!op) throw new InterpolationError(`Invalid interpolation format: "${raw}"`);
  const colon = op[1] === ':';
  const kind = op[2];
  const arg = (): string => interpolate(rest.slice(op[0].length), env).value;
  if (v === undefined || (colon && v === '')) {
    if (kind === '-') return arg();
    if (kind === '+') return '';
    const why = arg();
    throw new InterpolationError(
      `required variable ${name} is missing a value${why ? `: ${why}` : ''}`,
    );
  }
  return kind === '+' ? arg() : v;
}
