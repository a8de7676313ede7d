import type { Command } from 'commander';
import type { SwarmJoinRequest } from '../../../../proto/gen/tswarm/control/v1/SwarmJoinRequest.js';
import { TswarmError } from '../../../shared/errors.js';
import { addCommand } from '../../command.js';
import type { Context } from '../../context.js';
import { isDeadlineExceeded } from '../../errors.js';
import {
  parseAdvertiseAddr,
  parseJoinToken,
  parseListenAddr,
  parseRemoteAddr,
} from '../../validate.js';

interface JoinOptions {
  readonly token?: string;
  readonly advertiseAddr?: string;
  readonly listenAddr?: string;
}

/** Validates `swarm join` flags and HOST:PORT into the request (no daemon contact). */
export function buildSwarmJoin(remote: string, opts: JoinOptions): SwarmJoinRequest {
  const req: SwarmJoinRequest = {
    token: parseJoinToken(opts.token),
    remote_addr: parseRemoteAddr(remote),
  };
  if (opts.advertiseAddr !== undefined) req.advertise_addr = parseAdvertiseAddr(opts.advertiseAddr);
  if (opts.listenAddr !== undefined) req.listen_addr = parseListenAddr(opts.listenAddr);
  return req;
}

/** Docker's message when the join did not finish in time. */
export const JOIN_TIMEOUT_TEXT =
  'Timeout was reached before node joined. The attempt to join the swarm will continue in the background. Use the "tswarm info" command to see the current swarm status of your node.';

/** `tswarm swarm join --token T [--advertise-addr A] [--listen-addr A] HOST:PORT`. */
export function registerSwarmJoin(group: Command, ctx: Context): void {
  addCommand<JoinOptions>(
    group,
    {
      name: 'join',
      usage: '[OPTIONS] HOST:PORT',
      description: 'Join a swarm as a node and/or manager',
      args: { min: 1, max: 1 },
    },
    (cmd) =>
      cmd
        .option('--token <token>', 'Token for entry into the swarm')
        .option('--advertise-addr <addr>', 'Advertised address (format: "<ip|hostname>[:port]")')
        .option(
          '--listen-addr <addr>',
          'Listen address (format: "<ip|hostname>[:port]") (default 0.0.0.0:2377)',
        ),
    async ([remote = ''], opts) => {
      const req = buildSwarmJoin(remote, opts);
      let res;
      try {
        res = await ctx.client().swarmJoin(req);
      } catch (err) {
        if (isDeadlineExceeded(err)) {
          throw new TswarmError('UNAVAILABLE', JOIN_TIMEOUT_TEXT, { cause: err });
        }
        throw err;
      }
      ctx.io.stdout(
        res.role === 'manager'
          ? 'This node joined a swarm as a manager.\n'
          : 'This node joined a swarm as a worker.\n',
      );
    },
  );
}
