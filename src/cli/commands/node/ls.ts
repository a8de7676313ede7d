import type { Command } from 'commander';
import { addCommand, collect } from '../../command.js';
import type { Context } from '../../context.js';
import { NODE_FILTER_KEYS, parseFilters } from '../../validate.js';
import { compileTemplate, templateSource } from '../../format/formatter.js';
import { nodeListFormat, renderNodeList } from './format.js';

interface LsOptions {
  readonly quiet?: boolean;
  readonly format?: string;
  readonly filter?: string[];
}

/** `tswarm node ls`: Docker's columns, `*` on the node the CLI talks to. */
export function registerNodeLs(group: Command, ctx: Context): void {
  addCommand<LsOptions>(
    group,
    {
      name: 'ls',
      aliases: ['list'],
      usage: '[OPTIONS]',
      description: 'List nodes in the swarm',
      args: { min: 0, max: 0 },
    },
    (cmd) =>
      cmd
        .option('-q, --quiet', 'Only display IDs')
        .option(
          '--format <format>',
          "Format output using a custom template:\n'table': Print output in table format with column headers (default)\n'table TEMPLATE': Print output in table format using the given Go template\n'json': Print in JSON format\n'TEMPLATE': Print output using the given Go template",
        )
        .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect),
    async (_args, opts) => {
      const filters = parseFilters(opts.filter ?? [], NODE_FILTER_KEYS);
      const quiet = opts.quiet === true;
      // Check the template before asking the daemon anything.
      compileTemplate(templateSource(nodeListFormat(opts.format, quiet)));
      const client = ctx.client();
      const nodes = await client.nodeList({ filters });
      let selfId = '';
      if (nodes.length > 0 && !quiet) selfId = (await client.info()).swarm?.node_id ?? '';
      ctx.io.stdout(renderNodeList(nodes, selfId, opts.format, quiet));
    },
  );
}
