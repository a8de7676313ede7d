import type { Command } from 'commander';
import type { SwarmInitRequest } from '../../../../proto/gen/tswarm/control/v1/SwarmInitRequest.js';
import { TswarmError } from '../../../shared/errors.js';
import { addCommand } from '../../command.js';
import type { Context } from '../../context.js';
import { parseDurationFlagMs } from '../../format/duration.js';
import { parseAdvertiseAddr, parseIntFlag, parseListenAddr } from '../../validate.js';

interface InitOptions {
  readonly advertiseAddr?: string;
  readonly listenAddr?: string;
  readonly forceNewCluster?: boolean;
  readonly taskHistoryLimit?: string;
  readonly dispatcherHeartbeat?: string;
}

/** Validates `swarm init` flags into the request (no daemon contact). */
export function buildSwarmInit(opts: InitOptions): SwarmInitRequest {
  const req: SwarmInitRequest = { force_new_cluster: opts.forceNewCluster === true };
  if (opts.advertiseAddr !== undefined) req.advertise_addr = parseAdvertiseAddr(opts.advertiseAddr);
  if (opts.listenAddr !== undefined) req.listen_addr = parseListenAddr(opts.listenAddr);
  if (opts.taskHistoryLimit !== undefined) {
    req.task_history_limit = parseIntFlag('--task-history-limit', opts.taskHistoryLimit);
  }
  if (opts.dispatcherHeartbeat !== undefined) {
    req.dispatcher_heartbeat_ms = parseDurationFlagMs(
      '--dispatcher-heartbeat',
      opts.dispatcherHeartbeat,
    );
  }
  return req;
}

/** Docker's text after a successful init; `remoteAddr` is host:port others join through. */
export function renderInitResult(nodeId: string, workerToken: string, remoteAddr: string): string {
  return (
    `Swarm initialized: current node (${nodeId}) is now a manager.\n\n` +
    joinCommandText('worker', workerToken, remoteAddr) +
    "To add a manager to this swarm, run 'tswarm swarm join-token manager' and follow the instructions.\n"
  );
}

/** "To add a worker to this swarm, run the following command: ..." with a blank line after. */
export function joinCommandText(role: string, token: string, addr: string): string {
  return `To add a ${role} to this swarm, run the following command:\n\n    tswarm swarm join --token ${token} ${addr}\n\n`;
}

/** `tswarm swarm init`. */
export function registerSwarmInit(group: Command, ctx: Context): void {
  addCommand<InitOptions>(
    group,
    {
      name: 'init',
      usage: '[OPTIONS]',
      description: 'Initialize a swarm',
      args: { min: 0, max: 0 },
    },
    (cmd) =>
      cmd
        .option('--advertise-addr <addr>', 'Advertised address (format: "<ip|hostname>[:port]")')
        .option(
          '--listen-addr <addr>',
          'Listen address (format: "<ip|hostname>[:port]") (default 0.0.0.0:2377)',
        )
        .option('--force-new-cluster', 'Force create a new cluster from current state')
        .option('--task-history-limit <n>', 'Task history retention limit (default 5)')
        .option(
          '--dispatcher-heartbeat <duration>',
          'Dispatcher heartbeat period (ns|us|ms|s|m|h) (default 5s)',
        ),
    async (_args, opts) => {
      const req = buildSwarmInit(opts);
      let res;
      try {
        res = await ctx.client().swarmInit(req);
      } catch (err) {
        if (
          err instanceof TswarmError &&
          /could not (choose an IP address to advertise|find the system's IP address)/.test(
            err.message,
          )
        ) {
          throw new TswarmError(err.code, `${err.message} - specify one with --advertise-addr`, {
            cause: err.cause,
          });
        }
        throw err;
      }
      ctx.io.stdout(renderInitResult(res.node_id, res.worker_token, res.remote_addr));
    },
  );
}
