import type { Command } from 'commander';
import type { Context } from '../../context.js';
import { registerSwarmInit } from './init.js';
import { registerSwarmJoinToken } from './join-token.js';
import { registerSwarmJoin } from './join.js';
import { registerSwarmLeaveUpdate } from './leave-update.js';

/** Adds `tswarm swarm` subcommands in Docker's order. */
export function registerSwarmCommands(group: Command, ctx: Context): void {
  registerSwarmInit(group, ctx);
  registerSwarmJoin(group, ctx);
  registerSwarmJoinToken(group, ctx);
  registerSwarmLeaveUpdate(group, ctx);
}

export { buildSwarmInit, renderInitResult, joinCommandText } from './init.js';
export { buildSwarmJoin, JOIN_TIMEOUT_TEXT } from './join.js';
export { managerAddrFromInfo, managerJoinAddr } from './join-token.js';
export { buildSwarmUpdate } from './leave-update.js';
