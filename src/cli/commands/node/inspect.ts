import type { Command } from 'commander';
import type { Node } from '../../../shared/api-types.js';
import { TswarmError } from '../../../shared/errors.js';
import { addCommand } from '../../command.js';
import type { Context } from '../../context.js';
import { combineErrors, isConnectionError } from '../../errors.js';
import {
  compileTemplate,
  PRETTY_FORMAT,
  templateError,
  templateSource,
} from '../../format/formatter.js';
import { indentJson } from '../../format/text.js';
import { renderNodePretty } from './format.js';

interface InspectOptions {
  readonly format?: string;
  readonly pretty?: boolean;
}

/**
 * Renders inspected nodes as Docker does: no format → an indented JSON array,
 * `pretty` → the human layout, anything else → the template once per node.
 */
export function renderNodeInspect(nodes: readonly Node[], format: string): string {
  if (format === '') return indentJson(nodes) + '\n';
  if (format === PRETTY_FORMAT) return nodes.map((n) => renderNodePretty(n)).join('');
  const tmpl = compileTemplate(templateSource(format));
  try {
    return nodes.map((n) => tmpl.execute(n) + '\n').join('');
  } catch (err) {
    throw templateError(err);
  }
}

/** `tswarm node inspect [--pretty] [-f FORMAT] self|NODE...`. */
export function registerNodeInspect(group: Command, ctx: Context): void {
  addCommand<InspectOptions>(
    group,
    {
      name: 'inspect',
      usage: '[OPTIONS] self|NODE [NODE...]',
      description: 'Display detailed information on one or more nodes',
      args: { min: 1 },
    },
    (cmd) =>
      cmd
        .option(
          '-f, --format <format>',
          "Format output using a custom template:\n'json': Print in JSON format\n'TEMPLATE': Print output using the given Go template",
        )
        .option('--pretty', 'Print the information in a human friendly format'),
    async (refs, opts) => {
      const format = opts.pretty === true ? PRETTY_FORMAT : (opts.format ?? '');
      if (format.startsWith(PRETTY_FORMAT) && format !== PRETTY_FORMAT) {
        throw new TswarmError(
          'INVALID_ARGUMENT',
          'cannot supply extra formatting options to the pretty template',
        );
      }
      if (format !== '' && format !== PRETTY_FORMAT) compileTemplate(templateSource(format));
      const client = ctx.client();
      const found: Node[] = [];
      const errors: unknown[] = [];
      for (const ref of refs) {
        try {
          found.push(await client.nodeInspect({ ref }));
        } catch (err) {
          if (isConnectionError(err)) throw err;
          errors.push(err);
        }
      }
      // Docker prints what it found (an empty array when nothing), then the errors.
      if (found.length > 0 || format === '') ctx.io.stdout(renderNodeInspect(found, format));
      if (errors.length > 0) throw combineErrors(errors);
    },
  );
}
