/**
 * A binary min-heap of small integers (node or branch indexes) ordered by a caller-supplied
 * `less`. The scheduler only ever touches the top: it reads the best item, raises that item's
 * key (one more task), then sifts it down or drops it. So there is no decrease-key and no
 * position index, which keeps every operation O(log n) with no allocation.
 *
 * `less` must be a strict total order over the items (ties broken by a unique rank), or the
 * heap's answer would depend on insertion order.
 */
export class IndexHeap {
  private readonly items: number[];

  /** Builds the heap from `items` in O(n); the array is taken over, not copied. */
  constructor(
    private readonly less: (a: number, b: number) => boolean,
    items: number[] = [],
  ) {
    this.items = items;
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  get size(): number {
    return this.items.length;
  }

  /** The best item. @throws RangeError when empty. */
  top(): number {
    const x = this.items[0];
    if (x === undefined) throw new RangeError('top() of an empty heap');
    return x;
  }

  push(x: number): void {
    const items = this.items;
    let i = items.length;
    items.push(x);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] ?? x;
      if (!this.less(x, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = x;
  }

  /** Removes the best item. */
  pop(): void {
    const items = this.items;
    const last = items.pop();
    if (last === undefined || items.length === 0) return;
    items[0] = last;
    this.siftDown(0);
  }

  /** Restores order after the top item's key grew. */
  siftDownTop(): void {
    this.siftDown(0);
  }

  /** The items best first, without changing the heap (O(n log n); for tests and explain). */
  toSortedArray(): number[] {
    return [...this.items].sort((a, b) => (this.less(a, b) ? -1 : this.less(b, a) ? 1 : 0));
  }

  private siftDown(start: number): void {
    const items = this.items;
    const n = items.length;
    const x = items[start];
    if (x === undefined) return;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      let c = items[left] ?? x;
      if (right < n) {
        const r = items[right] ?? x;
        if (this.less(r, c)) {
          child = right;
          c = r;
        }
      }
      if (!this.less(c, x)) break;
      items[i] = c;
      i = child;
    }
    items[i] = x;
  }
}
