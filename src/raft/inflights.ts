/**
 * Inflights: the flow-control window of one follower in the replicate state. Each in-flight
 * MsgApp is remembered by its last entry index; a MsgAppResp for index i frees every message
 * whose last index is <= i. When the window is full the leader pauses sending to that follower.
 * A ring buffer, allocated lazily and grown up to `capacity`.
 */
import { RaftInvariantError } from './errors.js';
import type { Index } from './types.js';

export class Inflights {
  private buffer: Index[] = [];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {}

  /** Number of messages in flight. */
  get size(): number {
    return this.count;
  }

  isFull(): boolean {
    return this.count === this.capacity;
  }

  /** Records a MsgApp whose last entry is `last` (indexes must increase). */
  add(last: Index): void {
    if (this.isFull()) throw new RaftInvariantError('inflights: add to a full window');
    let next = this.start + this.count;
    if (next >= this.capacity) next -= this.capacity;
    if (next >= this.buffer.length) this.grow();
    this.buffer[next] = last;
    this.count++;
  }

  private grow(): void {
    let size = this.buffer.length * 2;
    if (size === 0) size = 1;
    else if (size > this.capacity) size = this.capacity;
    const grown: Index[] = new Array<Index>(size).fill(0);
    for (let i = 0; i < this.buffer.length; i++) grown[i] = this.buffer[i] ?? 0;
    this.buffer = grown;
  }

  /** Frees every in-flight message whose last index is <= `to`. */
  freeLE(to: Index): void {
    if (this.count === 0) return;
    let idx = this.start;
    let i = 0;
    for (; i < this.count; i++) {
      if ((this.buffer[idx] ?? 0) > to) break;
      idx++;
      if (idx >= this.capacity) idx -= this.capacity;
    }
    this.count -= i;
    this.start = idx;
    if (this.count === 0) this.start = 0;
  }

  /** Frees the oldest message (a heartbeat response proves the follower is alive). */
  freeFirstOne(): void {
    if (this.count === 0) return;
    this.freeLE(this.buffer[this.start] ?? 0);
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
  }
}
