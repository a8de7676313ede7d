/**
 * Column alignment the way Docker's tables come out: Go's text/tabwriter (elastic tabstops)
 * configured as docker/cli's formatter does it (minimum cell width 10, padding 3, spaces).
 *
 * Cells are tab-terminated: in `a\tb\tc\n`, `a` and `b` are column cells and `c` is trailing
 * text that is never padded. A column is a run of consecutive lines that have a cell at that
 * position, so a short line ends the column block above it.
 */

export interface TabwriterOptions {
  /** Minimal cell width, padding included. */
  readonly minWidth: number;
  /** Spaces added to the widest cell of a column. */
  readonly padding: number;
}

/** docker/cli: tabwriter.NewWriter(out, 10, 1, 3, ' ', 0). */
export const DOCKER_TABLE: TabwriterOptions = { minWidth: 10, padding: 3 };

/** Display width: code points (Docker also counts East Asian wide runes as 2; we do not). */
export function textWidth(s: string): number {
  return Array.from(s).length;
}

/** Aligns tab-separated text; the result has the same lines, tabs replaced by padding. */
export function tabwrite(text: string, opts: TabwriterOptions = DOCKER_TABLE): string {
  const lines = text.split('\n').map((line) => line.split('\t'));
  const out: string[] = [];

  const writeLines = (from: number, to: number, widths: readonly number[]): void => {
    for (let i = from; i < to; i++) {
      const cells = lines[i] ?? [];
      let line = '';
      cells.forEach((cell, j) => {
        line += cell;
        const w = widths[j];
        if (j < cells.length - 1 && w !== undefined) {
          line += ' '.repeat(Math.max(0, w - textWidth(cell)));
        }
      });
      out.push(line);
    }
  };

  // Go's tabwriter.format: find each column block, size it, recurse into the columns right of it.
  const format = (from: number, to: number, widths: readonly number[]): void => {
    const column = widths.length;
    let line0 = from;
    let i = from;
    while (i < to) {
      if (column >= (lines[i]?.length ?? 0) - 1) {
        i++;
        continue;
      }
      writeLines(line0, i, widths);
      line0 = i;
      let width = opts.minWidth;
      for (; i < to; i++) {
        const cells = lines[i] ?? [];
        if (column >= cells.length - 1) break;
        width = Math.max(width, textWidth(cells[column] ?? '') + opts.padding);
      }
      format(line0, i, [...widths, width]);
      line0 = i;
    }
    writeLines(line0, to, widths);
  };

  format(0, lines.length, []);
  return out.join('\n');
}

/** A header row and data rows, aligned; every line ends with a newline. */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const text = [header, ...rows].map((r) => r.join('\t')).join('\n') + '\n';
  return tabwrite(text);
}
