import type { Command } from 'commander';
import type { NodeRole } from '../../../shared/api-types.js';
import { addCommand } from '../../command.js';
import type { Context } from '../../context.js';

/**
 * Sets each node's role in turn, as Docker's updateNodes: a node that already has the role is
 * reported and skipped; the first failure stops the command.
 */
async function changeRoles(
  ctx: Context,
  refs: readonly string[],
  role: NodeRole,
  done: (ref: string) => string,
): Promise<void> {
  const client = ctx.client();
  for (const ref of refs) {
    const node = await client.nodeInspect({ ref });
    if (node.Spec.Role === role) {
      ctx.io.stdout(`Node ${node.ID} is already a ${role}.\n`);
      continue;
    }
    await client.nodeUpdate({ ref: node.ID, role });
    ctx.io.stdout(done(ref));
  }
}

/** `tswarm node promote NODE...` and `tswarm node demote NODE...`. */
export function registerNodeRole(group: Command, ctx: Context): void {
  addCommand(
    group,
    {
      name: 'promote',
      usage: 'NODE [NODE...]',
      description: 'Promote one or more nodes to manager in the swarm',
      args: { min: 1 },
    },
    () => undefined,
    (refs) =>
      changeRoles(
        ctx,
        refs,
        'manager',
        (ref) => `Node ${ref} promoted to a manager in the swarm.\n`,
      ),
  );
  addCommand(
    group,
    {
      name: 'demote',
      usage: 'NODE [NODE...]',
      description: 'Demote one or more nodes from manager in the swarm',
      args: { min: 1 },
    },
    () => undefined,
    (refs) => changeRoles(ctx, refs, 'worker', (ref) => `Manager ${ref} demoted in the swarm.\n`),
  );
}
