import { tabwrite } from './table.js';
import { HEADER_FUNCS, Template } from './template.js';
import { TswarmError } from '../../shared/errors.js';

/** The `--format` keywords docker/cli knows. */
export const TABLE_FORMAT = 'table';
export const JSON_FORMAT = 'json';
export const PRETTY_FORMAT = 'pretty';

/** True when a format renders as an aligned table with a header row (`table ...`). */
export function isTableFormat(format: string): boolean {
  return format.startsWith(TABLE_FORMAT);
}

/**
 * Turns a `--format` value into the template docker/cli would run per row:
 * `json` → `{{json .}}`, a leading `table` is dropped, spaces trimmed, and the escapes
 * `\t` and `\n` typed on a command line become a tab and a newline.
 */
export function templateSource(format: string): string {
  let src = format;
  if (isTableFormat(src)) src = src.slice(TABLE_FORMAT.length);
  else if (src === JSON_FORMAT) src = '{{json .}}';
  src = src.replace(/^ +| +$/g, '');
  return src.replaceAll('\\t', '\t').replaceAll('\\n', '\n');
}

/** Parses a user template; a bad one is a usage error printed as docker prints it. */
export function compileTemplate(source: string): Template {
  try {
    return new Template(source);
  } catch (err) {
    throw templateError(err);
  }
}

/** Wraps a template failure the way docker/cli reports it. */
export function templateError(err: unknown): TswarmError {
  const msg = err instanceof Error ? err.message : String(err);
  return new TswarmError('INVALID_ARGUMENT', `template parsing error: template: :1: ${msg}`, {
    cause: err,
  });
}

/**
 * docker/cli's formatter.Context.Write: renders each row with the format's template,
 * one per line; for `table ...` formats, adds a header row (the template run over `header`,
 * with functions that keep header text) and aligns the columns.
 */
export function renderRows(
  format: string,
  rows: readonly object[],
  header: Readonly<Record<string, string>>,
): string {
  const tmpl = compileTemplate(templateSource(format));
  let body = '';
  try {
    for (const row of rows) body += tmpl.execute(row) + '\n';
  } catch (err) {
    throw templateError(err);
  }
  if (!isTableFormat(format)) return body;
  // The header context is a map (Go's SubHeaderContext): a column it does not name prints
  // "<no value>" rather than failing.
  let head: string;
  try {
    head = tmpl.execute({ ...header }, HEADER_FUNCS);
  } catch (err) {
    throw templateError(err);
  }
  return tabwrite(head + '\n' + body);
}
