/**
 * Shared fixtures for the storage tests (unit and crash): temp dirs and entries whose bytes
 * are a pure function of (index, term), so a reader can check them without a copy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Entry, Index, Term } from '../../../src/raft/types.js';
export { seededRandom } from '../../helpers/prng.js';

/** Deterministic payload for entry (index, term): 0..150 bytes of a xorshift stream. */
export function entryData(index: Index, term: Term): Uint8Array {
  const len = (index * 31 + term * 7) % 151;
  const out = new Uint8Array(len);
  let x = (Math.imul(index, 0x9e3779b1) ^ Math.imul(term, 0x85ebca6b) ^ 0x27d4eb2d) >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** The entry a writer derives from (index, term); every 13th index is a conf change. */
export function makeEntry(index: Index, term: Term): Entry {
  return {
    index,
    term,
    type: index % 13 === 0 ? 'conf-change' : 'normal',
    data: entryData(index, term),
  };
}

/** Entries lo..hi inclusive, all in `term`. */
export function makeEntries(lo: Index, hi: Index, term: Term): Entry[] {
  const out: Entry[] = [];
  for (let i = lo; i <= hi; i++) out.push(makeEntry(i, term));
  return out;
}

/** Whether `e` holds exactly the bytes makeEntry derives for its (index, term). */
export function isDerivedEntry(e: Entry): boolean {
  const want = makeEntry(e.index, e.term);
  return e.type === want.type && Buffer.from(e.data).equals(Buffer.from(want.data));
}

/** A fresh temp directory, removed by the returned cleanup. */
export function tempDir(prefix = 'tswarm-wal-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    dir,
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
