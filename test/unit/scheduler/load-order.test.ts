import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IndexHeap } from '../../../src/scheduler/heap.js';
import { LoadOrder } from '../../../src/scheduler/load-order.js';
import { seededRandom } from './fixtures.js';

function readAll(order: LoadOrder): number[] {
  return Array.from({ length: order.size }, (_, k) => order.at(k));
}

describe('LoadOrder', () => {
  it('stays sorted by (total, rank) through random bumps', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const rand = seededRandom(seed);
      const n = 1 + Math.floor(rand() * 40);
      const totals = Int32Array.from({ length: n }, () => Math.floor(rand() * 4));
      const rank = Int32Array.from([...Array(n).keys()].sort(() => rand() - 0.5));
      const members = [...Array(n).keys()].filter(() => rand() < 0.8);
      const order = new LoadOrder(members, totals, rank);
      const expected = (): number[] =>
        [...members].sort(
          (a, b) => (totals[a] ?? 0) - (totals[b] ?? 0) || (rank[a] ?? 0) - (rank[b] ?? 0),
        );
      assert.deepEqual(readAll(order), expected(), `seed ${seed}: initial order`);
      for (let step = 0; step < 60 && members.length > 0; step++) {
        const i = members[Math.floor(rand() * members.length)] ?? 0;
        const before = totals[i] ?? 0;
        totals[i] = before + 1;
        order.bump(i, before);
        assert.deepEqual(readAll(order), expected(), `seed ${seed}: after bumping ${i}`);
      }
    }
  });

  it('refuses to bump a node it does not hold', () => {
    const order = new LoadOrder([0, 1], Int32Array.from([0, 0, 0]), Int32Array.from([0, 1, 2]));
    assert.throws(() => {
      order.bump(2, 0);
    }, /not in its load order/);
  });
});

describe('IndexHeap', () => {
  it('yields items best first under pushes, pops and raised tops', () => {
    const rand = seededRandom(7);
    const key = Array.from({ length: 200 }, () => Math.floor(rand() * 50));
    const less = (a: number, b: number): boolean =>
      (key[a] ?? 0) !== (key[b] ?? 0) ? (key[a] ?? 0) < (key[b] ?? 0) : a < b;
    const heap = new IndexHeap(less, [...Array(100).keys()]);
    for (let i = 100; i < 200; i++) heap.push(i);
    const live = new Set([...Array(200).keys()]);
    while (heap.size > 0) {
      const best = [...live].sort((a, b) => (less(a, b) ? -1 : 1))[0];
      assert.equal(heap.top(), best);
      if (rand() < 0.5) {
        key[best ?? 0] = (key[best ?? 0] ?? 0) + Math.floor(rand() * 10);
        heap.siftDownTop();
      } else {
        heap.pop();
        live.delete(best ?? -1);
      }
    }
    assert.throws(() => heap.top(), RangeError);
  });
});
