import type { Command } from 'commander';
import type { NodeUpdateRequest } from '../../../../proto/gen/tswarm/control/v1/NodeUpdateRequest.js';
import { TswarmError } from '../../../shared/errors.js';
import { addCommand, collect } from '../../command.js';
import type { Context } from '../../context.js';
import { parseAvailability, parseLabel, parseLabelKey, parseRole } from '../../validate.js';

interface UpdateOptions {
  readonly role?: string;
  readonly availability?: string;
  readonly labelAdd?: string[];
  readonly labelRm?: string[];
}

/** Validates `node update` flags into the request (no daemon contact). */
export function buildNodeUpdate(ref: string, opts: UpdateOptions): NodeUpdateRequest {
  const labelAdd: Record<string, string> = {};
  for (const raw of opts.labelAdd ?? []) {
    const [k, v] = parseLabel(raw);
    labelAdd[k] = v;
  }
  return {
    ref,
    role: opts.role === undefined ? '' : parseRole(opts.role),
    availability: opts.availability === undefined ? '' : parseAvailability(opts.availability),
    label_add: labelAdd,
    label_rm: (opts.labelRm ?? []).map((k) => parseLabelKey(k)),
  };
}

/** `tswarm node update [--role R] [--availability A] [--label-add K=V] [--label-rm K] NODE`. */
export function registerNodeUpdate(group: Command, ctx: Context): void {
  addCommand<UpdateOptions>(
    group,
    {
      name: 'update',
      usage: '[OPTIONS] NODE',
      description: 'Update a node',
      args: { min: 1, max: 1 },
    },
    (cmd) =>
      cmd
        .option('--role <role>', 'Role of the node ("worker", "manager")')
        .option(
          '--availability <availability>',
          'Availability of the node ("active", "pause", "drain")',
        )
        .option('--label-add <label>', 'Add or update a node label ("key=value")', collect)
        .option('--label-rm <key>', 'Remove a node label if exists', collect),
    async ([ref = ''], opts) => {
      const req = buildNodeUpdate(ref, opts);
      const client = ctx.client();
      if (req.label_rm?.length) {
        // Docker refuses to remove a label the node does not have (after applying --label-add).
        const node = await client.nodeInspect({ ref });
        const keys = new Set([
          ...Object.keys(node.Spec.Labels),
          ...Object.keys(req.label_add ?? {}),
        ]);
        for (const k of req.label_rm) {
          if (!keys.has(k)) {
            throw new TswarmError('INVALID_ARGUMENT', `key ${k} doesn't exist in node's labels`);
          }
        }
      }
      await client.nodeUpdate(req);
      ctx.io.stdout(`${ref}\n`);
    },
  );
}
