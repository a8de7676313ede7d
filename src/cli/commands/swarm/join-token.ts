import type { Command } from 'commander';
import type { InfoResponse__Output } from '../../../../proto/gen/tswarm/control/v1/InfoResponse.js';
import { TswarmError } from '../../../shared/errors.js';
import type { Client } from '../../client.js';
import { addCommand } from '../../command.js';
import type { Context } from '../../context.js';
import { isConnectionError } from '../../errors.js';
import { DEFAULT_SWARM_PORT, joinHostPort, parseHostPort } from '../../validate.js';
import { joinCommandText } from './init.js';

interface JoinTokenOptions {
  readonly quiet?: boolean;
  readonly rotate?: boolean;
}

/**
 * The address a new node should dial, from Info alone: the manager address on this node's
 * own host, else this node's address on port 2377, else the first manager address.
 */
export function managerAddrFromInfo(info: InfoResponse__Output): string {
  const swarm = info.swarm;
  if (!swarm) return '';
  const own = swarm.node_addr;
  for (const addr of swarm.manager_addrs) {
    try {
      if (parseHostPort(addr, 'manager address').host === own) return addr;
    } catch {
      // not a host:port we understand; skip it
    }
  }
  if (own) return own.includes(':') ? own : joinHostPort(own, DEFAULT_SWARM_PORT);
  return swarm.manager_addrs[0] ?? '';
}

/**
 * This manager's join address as Docker finds it: its node object's ManagerStatus.Addr,
 * falling back to what Info says when the node object has none.
 */
export async function managerJoinAddr(client: Client, info: InfoResponse__Output): Promise<string> {
  const ref = info.swarm?.node_id || 'self';
  try {
    const node = await client.nodeInspect({ ref });
    if (node.ManagerStatus?.Addr) return node.ManagerStatus.Addr;
  } catch (err) {
    if (isConnectionError(err)) throw err;
  }
  return managerAddrFromInfo(info);
}

/** `tswarm swarm join-token [-q] [--rotate] (worker|manager)`. */
export function registerSwarmJoinToken(group: Command, ctx: Context): void {
  addCommand<JoinTokenOptions>(
    group,
    {
      name: 'join-token',
      usage: '[OPTIONS] (worker|manager)',
      description: 'Manage join tokens',
      args: { min: 1, max: 1 },
    },
    (cmd) =>
      cmd.option('--rotate', 'Rotate join token').option('-q, --quiet', 'Only display token'),
    async ([role = ''], opts) => {
      if (role !== 'worker' && role !== 'manager') {
        throw new TswarmError(
          'INVALID_ARGUMENT',
          `unknown role ${role}: use "worker" or "manager"`,
        );
      }
      const client = ctx.client();
      if (opts.rotate === true) {
        await client.swarmUpdate({
          rotate_worker_token: role === 'worker',
          rotate_manager_token: role === 'manager',
        });
        if (opts.quiet !== true) ctx.io.stdout(`Successfully rotated ${role} join token.\n\n`);
      }
      const sw = await client.swarmInspect();
      const token = role === 'worker' ? sw.JoinTokens.Worker : sw.JoinTokens.Manager;
      if (opts.quiet === true) {
        ctx.io.stdout(`${token}\n`);
        return;
      }
      const info = await client.info();
      const addr = await managerJoinAddr(client, info);
      if (addr === '') {
        throw new TswarmError('INTERNAL', "could not find this manager's address in the swarm");
      }
      ctx.io.stdout(joinCommandText(role, token, addr));
    },
  );
}
