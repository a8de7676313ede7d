import type {
  Constraint,
  ConstraintField,
  ConstraintLabelSource,
  ConstraintOperator,
  NodeInfo,
} from './types.js';

/** Operators in the order they are looked for, as Docker does: `==` wins over `!=`. */
const OPERATORS: readonly ConstraintOperator[] = ['==', '!='];

const FIELDS: readonly ConstraintField[] = [
  'node.id',
  'node.hostname',
  'node.role',
  'node.platform.os',
  'node.platform.arch',
];

const LABEL_SOURCES: readonly ConstraintLabelSource[] = ['node.labels', 'engine.labels'];

/** Docker's accepted key and value alphabets (the value excludes operator characters). */
const KEY_RE = /^[a-z_][a-z0-9\-_.]+$/i;
const VALUE_RE = /^[a-z0-9:\-_\s.*()?+[\]\\^$|/]+$/i;

const KNOWN_KEYS = `${FIELDS.join(', ')}, node.labels.<key> or engine.labels.<key>`;

/**
 * Parses one `--constraint` expression such as `node.labels.zone==eu-1` or
 * `node.role != manager`. Field names match case-insensitively; label keys keep their case.
 *
 * @throws RangeError with a Docker-like message when the expression has no `==`/`!=`,
 *   an invalid key or value, or a key the scheduler does not know (Docker accepts unknown
 *   keys and then never matches them; failing early is kinder).
 */
export function parseConstraint(expr: string): Constraint {
  const quoted = JSON.stringify(expr);
  const operator = OPERATORS.find((op) => expr.includes(op));
  if (operator === undefined) throw new RangeError(`invalid constraint ${quoted}: use == or !=`);
  const at = expr.indexOf(operator);
  const key = expr.slice(0, at).trim();
  const value = expr.slice(at + operator.length).trim();
  if (!KEY_RE.test(key)) {
    throw new RangeError(`invalid constraint ${quoted}: key ${JSON.stringify(key)} is invalid`);
  }
  if (!VALUE_RE.test(value)) {
    throw new RangeError(`invalid constraint ${quoted}: value ${JSON.stringify(value)} is invalid`);
  }
  const lowerKey = key.toLowerCase();
  const field = FIELDS.find((f) => f === lowerKey);
  if (field !== undefined) return { kind: 'field', field, operator, value };
  for (const source of LABEL_SOURCES) {
    const prefix = `${source}.`;
    if (lowerKey.startsWith(prefix) && key.length > prefix.length) {
      return { kind: 'label', source, label: key.slice(prefix.length), operator, value };
    }
  }
  throw new RangeError(
    `invalid constraint ${quoted}: unknown key ${JSON.stringify(key)} (use ${KNOWN_KEYS})`,
  );
}

/** The inverse of `parseConstraint`, in canonical spelling; used as a cache key too. */
export function formatConstraint(c: Constraint): string {
  const key = c.kind === 'field' ? c.field : `${c.source}.${c.label}`;
  return `${key}${c.operator}${c.value}`;
}

function readField(node: NodeInfo, field: ConstraintField): string {
  switch (field) {
    case 'node.id':
      return node.id;
    case 'node.hostname':
      return node.hostname;
    case 'node.role':
      return node.role;
    case 'node.platform.os':
      return node.platform?.os ?? '';
    case 'node.platform.arch':
      return node.platform?.architecture ?? '';
    default:
      return assertNever(field);
  }
}

/**
 * Whether `node` satisfies one constraint. A missing label reads as "", so `==` fails and
 * `!=` holds, as in Docker.
 */
export function matchesConstraint(node: NodeInfo, c: Constraint): boolean {
  let equal: boolean;
  if (c.kind === 'field') {
    equal = readField(node, c.field).toLowerCase() === c.value.toLowerCase();
  } else {
    const labels = c.source === 'node.labels' ? node.labels : node.engineLabels;
    equal = (Object.hasOwn(labels, c.label) ? labels[c.label] : '') === c.value;
  }
  return c.operator === '==' ? equal : !equal;
}

/** Whether `node` satisfies every constraint (an empty list always holds). */
export function matchesConstraints(node: NodeInfo, constraints: readonly Constraint[]): boolean {
  for (const c of constraints) if (!matchesConstraint(node, c)) return false;
  return true;
}

/** Compile-time exhaustiveness guard for switches over unions. */
export function assertNever(x: never): never {
  throw new TypeError(`unexpected value ${JSON.stringify(x)}`);
}
