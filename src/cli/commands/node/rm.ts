import type { Command } from 'commander';
import { addCommand } from '../../command.js';
import type { Context } from '../../context.js';
import { combineErrors, isConnectionError } from '../../errors.js';

/** `tswarm node rm [-f] NODE...`: removes each, printing each removed ref; failures are listed at the end. */
export function registerNodeRm(group: Command, ctx: Context): void {
  addCommand<{ readonly force?: boolean }>(
    group,
    {
      name: 'rm',
      aliases: ['remove'],
      usage: '[OPTIONS] NODE [NODE...]',
      description: 'Remove one or more nodes from the swarm',
      args: { min: 1 },
    },
    (cmd) => cmd.option('-f, --force', 'Force remove a node from the swarm'),
    async (refs, opts) => {
      const client = ctx.client();
      const errors: unknown[] = [];
      for (const ref of refs) {
        try {
          await client.nodeRemove({ ref, force: opts.force === true });
          ctx.io.stdout(`${ref}\n`);
        } catch (err) {
          if (isConnectionError(err)) throw err;
          errors.push(err);
        }
      }
      if (errors.length > 0) throw combineErrors(errors);
    },
  );
}
