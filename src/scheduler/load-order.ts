/**
 * A set of nodes kept sorted by (total tasks, ID rank): the order in which a service with no
 * task on them would pick them. It lets a small group look at its few best candidates
 * instead of filtering every node of the cluster (see README, "Cost").
 *
 * Totals only ever grow by one (an assignment), so a node only moves right: two binary
 * searches and one `copyWithin`.
 */
export class LoadOrder {
  private readonly order: Int32Array;

  /** `totals` and `rank` are the cluster's live arrays, read on every comparison. */
  constructor(
    members: readonly number[],
    private readonly totals: Int32Array,
    private readonly rank: Int32Array,
  ) {
    const sorted = [...members].sort(
      (a, b) => (totals[a] ?? 0) - (totals[b] ?? 0) || (rank[a] ?? 0) - (rank[b] ?? 0),
    );
    this.order = Int32Array.from(sorted);
  }

  get size(): number {
    return this.order.length;
  }

  /** The node at position `k`, best first. */
  at(k: number): number {
    return this.order[k] ?? -1;
  }

  /**
   * Moves node `i` to its place after its total went from `before` to `before + 1`. Every
   * other node must still hold the total it was sorted by.
   */
  bump(i: number, before: number): void {
    const r = this.rank[i] ?? 0;
    const p = this.lowerBound(0, i, before, before, r);
    if (this.order[p] !== i) throw new RangeError(`internal: node ${i} not in its load order`);
    const q = this.lowerBound(p + 1, i, before, before + 1, r);
    this.order.copyWithin(p, p + 1, q);
    this.order[q - 1] = i;
  }

  /**
   * The first position ≥ `from` whose (total, rank) is not below (`total`, `r`). Node `i` is
   * compared by the total it was sorted with, `before`.
   */
  private lowerBound(from: number, i: number, before: number, total: number, r: number): number {
    const { order, totals, rank } = this;
    let lo = from;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const j = order[mid] ?? 0;
      const t = j === i ? before : (totals[j] ?? 0);
      if (t < total || (t === total && (rank[j] ?? 0) < r)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
