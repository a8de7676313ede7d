import type { Command } from 'commander';
import type { SwarmUpdateRequest } from '../../../../proto/gen/tswarm/control/v1/SwarmUpdateRequest.js';
import { addCommand } from '../../command.js';
import type { Context } from '../../context.js';
import { parseDurationFlagMs } from '../../format/duration.js';
import { parseIntFlag } from '../../validate.js';

interface UpdateOptions {
  readonly taskHistoryLimit?: string;
  readonly dispatcherHeartbeat?: string;
  readonly certExpiry?: string;
}

/** Validates `swarm update` flags into the request; undefined when no flag was given. */
export function buildSwarmUpdate(opts: UpdateOptions): SwarmUpdateRequest | undefined {
  const req: SwarmUpdateRequest = {};
  let any = false;
  if (opts.taskHistoryLimit !== undefined) {
    req.task_history_limit = parseIntFlag('--task-history-limit', opts.taskHistoryLimit);
    any = true;
  }
  if (opts.dispatcherHeartbeat !== undefined) {
    req.dispatcher_heartbeat_ms = parseDurationFlagMs(
      '--dispatcher-heartbeat',
      opts.dispatcherHeartbeat,
    );
    any = true;
  }
  if (opts.certExpiry !== undefined) {
    req.cert_expiry_ms = parseDurationFlagMs('--cert-expiry', opts.certExpiry);
    any = true;
  }
  return any ? req : undefined;
}

/** `tswarm swarm leave [-f]` and `tswarm swarm update [...]`. */
export function registerSwarmLeaveUpdate(group: Command, ctx: Context): void {
  addCommand<{ readonly force?: boolean }>(
    group,
    { name: 'leave', usage: '[OPTIONS]', description: 'Leave the swarm', args: { min: 0, max: 0 } },
    (cmd) => cmd.option('-f, --force', 'Force this node to leave the swarm, ignoring warnings'),
    async (_args, opts) => {
      await ctx.client().swarmLeave({ force: opts.force === true });
      ctx.io.stdout('Node left the swarm.\n');
    },
  );
  addCommand<UpdateOptions>(
    group,
    {
      name: 'update',
      usage: '[OPTIONS]',
      description: 'Update the swarm',
      args: { min: 0, max: 0 },
    },
    (cmd) =>
      cmd
        .option('--task-history-limit <n>', 'Task history retention limit')
        .option('--dispatcher-heartbeat <duration>', 'Dispatcher heartbeat period (ns|us|ms|s|m|h)')
        .option(
          '--cert-expiry <duration>',
          'Validity period for node certificates (ns|us|ms|s|m|h)',
        ),
    async (_args, opts, cmd) => {
      const req = buildSwarmUpdate(opts);
      if (!req) {
        // Docker shows the help when no flag is given.
        cmd.outputHelp();
        return;
      }
      await ctx.client().swarmUpdate(req);
      ctx.io.stdout('Swarm updated.\n');
    },
  );
}
