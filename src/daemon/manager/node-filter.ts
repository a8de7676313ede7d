import type { Node, NodeRole } from '../../shared/api-types.js';
import { TswarmError } from '../../shared/errors.js';

const KEYS = ['id', 'name', 'label', 'node.label', 'role', 'membership'] as const;
type Key = (typeof KEYS)[number];

function isKey(k: string): k is Key {
  return (KEYS as readonly string[]).includes(k);
}

interface ParsedFilters {
  readonly id: string[];
  readonly name: string[];
  /** [key, required value ('' = the key alone)]; a node must satisfy every pair. */
  readonly label: [string, string][];
  readonly nodeLabel: [string, string][];
  readonly role: NodeRole[];
  readonly membership: ('accepted' | 'pending')[];
}

function parseLabel(v: string): [string, string] {
  const j = v.indexOf('=');
  return j < 0 ? [v, ''] : [v.slice(0, j), v.slice(j + 1)];
}

/** Validates every filter before any node is looked at, so errors never depend on the data. */
function parseFilters(raw: readonly string[]): ParsedFilters {
  const p: ParsedFilters = {
    id: [],
    name: [],
    label: [],
    nodeLabel: [],
    role: [],
    membership: [],
  };
  for (const f of raw) {
    const i = f.indexOf('=');
    if (i <= 0)
      throw new TswarmError('INVALID_ARGUMENT', `bad format of filter (expected name=value): ${f}`);
    const key = f.slice(0, i);
    const v = f.slice(i + 1);
    if (!isKey(key)) throw new TswarmError('INVALID_ARGUMENT', `invalid filter '${key}'`);
    switch (key) {
      case 'id':
        p.id.push(v);
        break;
      case 'name':
        p.name.push(v);
        break;
      case 'label':
        p.label.push(parseLabel(v));
        break;
      case 'node.label':
        p.nodeLabel.push(parseLabel(v));
        break;
      case 'role': {
        const r = v.toLowerCase();
        if (r === 'manager' || r === 'worker') p.role.push(r);
        else if (v !== '') throw new TswarmError('INVALID_ARGUMENT', `Invalid role filter: '${v}'`);
        break;
      }
      case 'membership': {
        const m = v.toLowerCase();
        if (m === 'accepted' || m === 'pending') p.membership.push(m);
        else if (v !== '')
          throw new TswarmError('INVALID_ARGUMENT', `Invalid membership filter: '${v}'`);
        break;
      }
    }
  }
  return p;
}

function matchLabels(
  labels: Readonly<Record<string, string>>,
  want: readonly (readonly [string, string])[],
): boolean {
  for (const [k, v] of want) {
    if (!Object.hasOwn(labels, k)) return false;
    if (v !== '' && labels[k] !== v) return false;
  }
  return true;
}

/**
 * Docker's `node ls --filter`: different keys AND; values of `id`, `name`, `role` and
 * `membership` OR; `label`/`node.label` values AND (the node must carry every one, a bare key
 * or `key=` meaning presence), as swarmkit's label matching does.
 */
export function filterNodes(nodes: readonly Node[], raw: readonly string[]): Node[] {
  const p = parseFilters(raw);
  const any = (values: readonly string[], test: (v: string) => boolean): boolean =>
    values.length === 0 || values.some(test);
  return nodes.filter(
    (n) =>
      any(p.id, (v) => n.ID.startsWith(v)) &&
      any(
        p.name,
        (v) =>
          (n.Spec.Name ?? n.Description.Hostname).startsWith(v) ||
          n.Description.Hostname.startsWith(v),
      ) &&
      matchLabels(n.Description.Engine.Labels, p.label) &&
      matchLabels(n.Spec.Labels, p.nodeLabel) &&
      (p.role.length === 0 || p.role.includes(n.Spec.Role)) &&
      // Every tswarm node is accepted: there is no manual acceptance.
      (p.membership.length === 0 || p.membership.includes('accepted')),
  );
}
