import type { Command } from 'commander';
import type { Node, Service, Task } from '../../../shared/api-types.js';
import { TswarmError } from '../../../shared/errors.js';
import { addCommand, collect } from '../../command.js';
import type { Context } from '../../context.js';
import { combineErrors, isConnectionError } from '../../errors.js';
import { orderTasks, renderTaskList } from '../../service/render.js';
import { parseFilters } from '../../validate.js';

/** The filters `node ps` takes (the node itself comes from the arguments). */
export const NODE_PS_FILTER_KEYS = ['id', 'name', 'desired-state'] as const;

interface PsOptions {
  readonly quiet?: boolean;
  readonly trunc: boolean;
  readonly resolve: boolean;
  readonly format?: string;
  readonly filter?: string[];
}

/**
 * Renders `node ps`: the tasks of the given nodes in one table, ordered as `service ps`
 * orders them (service, slot, newest first, history rows ` \_ `). Without name resolution the
 * NAME and NODE columns show service and node IDs.
 */
export function renderNodePs(
  tasks: readonly Task[],
  services: readonly Service[],
  nodes: readonly Node[],
  o: { noTrunc: boolean; resolve: boolean; quiet: boolean; json: boolean },
  now = Date.now(),
): string {
  const byId = new Map(o.resolve ? services.map((s) => [s.ID, s]) : []);
  const rows = orderTasks(tasks, byId);
  if (o.quiet) return rows.map((r) => r.task.ID + '\n').join('');
  const names = new Map(nodes.map((n) => [n.ID, o.resolve ? n.Description.Hostname : n.ID]));
  return renderTaskList(rows, names, o.noTrunc, o.json, now);
}

/** `tswarm node ps [OPTIONS] [NODE...]`: tasks running on one or more nodes (default: self). */
export function registerNodePs(group: Command, ctx: Context): void {
  addCommand<PsOptions>(
    group,
    {
      name: 'ps',
      usage: '[OPTIONS] [NODE...]',
      description: 'List tasks running on one or more nodes, defaults to current node',
      args: { min: 0 },
    },
    (cmd) =>
      cmd
        .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
        .option('--format <format>', "Format output: 'json'")
        .option('--no-resolve', 'Do not map IDs to Names')
        .option('--no-trunc', 'Do not truncate output')
        .option('-q, --quiet', 'Only display task IDs'),
    async (refs, opts) => {
      const filters = parseFilters(opts.filter ?? [], NODE_PS_FILTER_KEYS);
      if (opts.format !== undefined && opts.format !== 'json') {
        throw new TswarmError('INVALID_ARGUMENT', `unsupported format "${opts.format}": use json`);
      }
      const client = ctx.client();
      const found: Node[] = [];
      const errors: unknown[] = [];
      for (const ref of refs.length > 0 ? refs : ['self']) {
        try {
          found.push(await client.nodeInspect({ ref }));
        } catch (err) {
          if (isConnectionError(err)) throw err;
          errors.push(err);
        }
      }
      const tasks: Task[] = [];
      for (const n of found) tasks.push(...(await client.taskList([...filters, `node=${n.ID}`])));
      // Docker prints what it found, then the errors (exit 1).
      if (errors.length === 0 || tasks.length > 0) {
        const services = tasks.length > 0 && opts.resolve ? await client.serviceList() : [];
        ctx.io.stdout(
          renderNodePs(tasks, services, found, {
            noTrunc: !opts.trunc,
            resolve: opts.resolve,
            quiet: opts.quiet === true,
            json: opts.format === 'json',
          }),
        );
      }
      if (errors.length > 0) throw combineErrors(errors);
    },
  );
}
