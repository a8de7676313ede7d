import type { Command } from 'commander';
import type { Context } from '../../context.js';
import { registerNodeInspect } from './inspect.js';
import { registerNodeLs } from './ls.js';
import { registerNodePs } from './ps.js';
import { registerNodeRm } from './rm.js';
import { registerNodeRole } from './role.js';
import { registerNodeUpdate } from './update.js';

/** Adds `tswarm node` subcommands in Docker's order. */
export function registerNodeCommands(group: Command, ctx: Context): void {
  registerNodeRole(group, ctx); // demote, promote
  registerNodeInspect(group, ctx);
  registerNodeLs(group, ctx);
  registerNodePs(group, ctx);
  registerNodeRm(group, ctx);
  registerNodeUpdate(group, ctx);
}

export {
  renderNodeList,
  renderNodePretty,
  nodeRow,
  sortNodes,
  managerStatusText,
} from './format.js';
export { renderNodeInspect } from './inspect.js';
export { buildNodeUpdate } from './update.js';
export { renderNodePs } from './ps.js';
