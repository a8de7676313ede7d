import type { NodeInfo, PlacementPref } from './types.js';

/** Where a spread descriptor reads its value from. */
export interface SpreadSource {
  readonly source: 'node.labels' | 'engine.labels';
  readonly label: string;
}

/**
 * Resolves a spread descriptor such as `node.labels.zone`. The prefix matches
 * case-insensitively and the label keeps its case. Returns undefined for anything else:
 * swarmkit skips such preference levels instead of failing, and so does `schedule`.
 */
export function parseSpreadDescriptor(descriptor: string): SpreadSource | undefined {
  const lower = descriptor.toLowerCase();
  for (const source of ['node.labels', 'engine.labels'] as const) {
    const prefix = `${source}.`;
    if (lower.startsWith(prefix) && descriptor.length > prefix.length) {
      return { source, label: descriptor.slice(prefix.length) };
    }
  }
  return undefined;
}

/**
 * Parses one `--placement-pref` value: `spread=node.labels.KEY` or `spread=engine.labels.KEY`.
 *
 * @throws RangeError when the value is not `<strategy>=<arg>`, the strategy is not `spread`
 *   (the only one Docker supports), or the descriptor names no label.
 */
export function parsePlacementPref(raw: string): PlacementPref {
  const quoted = JSON.stringify(raw);
  const eq = raw.indexOf('=');
  if (eq <= 0 || eq === raw.length - 1) {
    throw new RangeError(
      `invalid placement preference ${quoted}: use the format "<strategy>=<arg>"`,
    );
  }
  const strategy = raw.slice(0, eq).trim();
  const descriptor = raw.slice(eq + 1).trim();
  if (strategy.toLowerCase() !== 'spread') {
    throw new RangeError(`unsupported placement preference ${quoted} (only spread is supported)`);
  }
  if (parseSpreadDescriptor(descriptor) === undefined) {
    throw new RangeError(
      `invalid placement preference ${quoted}: spread over node.labels.<key> or engine.labels.<key>`,
    );
  }
  return { spreadDescriptor: descriptor };
}

/** The value `node` has for a spread source; a node without the label reads as "" (own group). */
export function readSpreadValue(node: NodeInfo, s: SpreadSource): string {
  const labels = s.source === 'node.labels' ? node.labels : node.engineLabels;
  return (Object.hasOwn(labels, s.label) ? labels[s.label] : undefined) ?? '';
}
