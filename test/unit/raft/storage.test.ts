/**
 * MemoryStorage semantics (etcd's): the dummy entry at the snapshot index, compaction,
 * overwriting a conflicting suffix, snapshots, and the StorageError codes. Also bootstrap().
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  bootstrap,
  isStorageError,
  MemoryStorage,
  type ConfState,
  type Entry,
} from '../../../src/raft/index.js';

const CS: ConfState = { voters: ['a'], learners: [] };

function ents(first: number, ...terms: number[]): Entry[] {
  return terms.map((term, i) => ({
    index: first + i,
    term,
    type: 'normal',
    data: new Uint8Array(10),
  }));
}

/** Storage holding entries 3..5 (terms 3,4,5) after a snapshot at index 3. */
function storage345(): MemoryStorage {
  const s = new MemoryStorage();
  s.append(ents(1, 1, 2, 3, 4, 5));
  s.createSnapshot(3, CS, new Uint8Array(0));
  s.compact(3);
  return s;
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isStorageError(err)) return err.code;
    throw err;
  }
  return 'none';
}

describe('MemoryStorage', () => {
  test('an empty storage', () => {
    const s = new MemoryStorage();
    assert.equal(s.firstIndex(), 1);
    assert.equal(s.lastIndex(), 0);
    assert.equal(s.term(0), 0);
    assert.deepEqual(s.entries(1, 1), []);
    assert.deepEqual(s.initialState().confState, { voters: [], learners: [] });
    assert.equal(
      code(() => s.term(1)),
      'UNAVAILABLE',
    );
  });

  test('term, first and last index after compaction', () => {
    const s = storage345();
    assert.equal(s.firstIndex(), 4);
    assert.equal(s.lastIndex(), 5);
    assert.equal(s.term(3), 3);
    assert.equal(s.term(5), 5);
    assert.equal(
      code(() => s.term(2)),
      'COMPACTED',
    );
    assert.equal(
      code(() => s.term(6)),
      'UNAVAILABLE',
    );
  });

  test('entries: bounds and the size limit', () => {
    const s = storage345();
    assert.equal(
      code(() => s.entries(3, 5)),
      'COMPACTED',
    );
    assert.equal(
      code(() => s.entries(4, 7)),
      'UNAVAILABLE',
    );
    assert.deepEqual(s.entries(4, 6), ents(4, 4, 5));
    // Each entry counts 10 data bytes + 12 overhead: 30 bytes fit one, and one always fits.
    assert.deepEqual(s.entries(4, 6, 30), ents(4, 4));
    assert.deepEqual(s.entries(4, 6, 0), ents(4, 4));
    assert.deepEqual(s.entries(4, 6, 44), ents(4, 4, 5));
  });

  test('append overwrites a conflicting suffix and skips compacted entries', () => {
    const s = storage345();
    s.append(ents(5, 6, 6));
    assert.deepEqual(s.entries(4, 7), [...ents(4, 4), ...ents(5, 6, 6)]);
    s.append(ents(2, 2, 3, 7));
    assert.deepEqual(s.entries(4, 5), ents(4, 7));
    assert.equal(s.lastIndex(), 4);
    s.append(ents(1, 1, 2)); // entirely compacted: no-op
    assert.equal(s.lastIndex(), 4);
    assert.equal(
      code(() => {
        s.append(ents(9, 9));
      }),
      'UNAVAILABLE',
    );
  });

  test('compact and createSnapshot errors', () => {
    const s = storage345();
    assert.equal(
      code(() => {
        s.compact(3);
      }),
      'COMPACTED',
    );
    assert.equal(
      code(() => {
        s.compact(9);
      }),
      'UNAVAILABLE',
    );
    assert.equal(
      code(() => s.createSnapshot(2, CS, new Uint8Array(0))),
      'SNAPSHOT_OUT_OF_DATE',
    );
    assert.equal(
      code(() => s.createSnapshot(9, CS, new Uint8Array(0))),
      'UNAVAILABLE',
    );
    const snap = s.createSnapshot(5, { voters: ['a', 'b'], learners: [] }, new Uint8Array([1]));
    assert.deepEqual(snap.meta, {
      index: 5,
      term: 5,
      confState: { voters: ['a', 'b'], learners: [] },
    });
    assert.deepEqual(s.initialState().confState, { voters: ['a', 'b'], learners: [] });
    s.compact(5);
    assert.equal(s.firstIndex(), 6);
    assert.equal(s.lastIndex(), 5);
  });

  test('applySnapshot replaces the log and refuses older snapshots', () => {
    const s = storage345();
    const snap = { meta: { index: 10, term: 8, confState: CS }, data: new Uint8Array([7]) };
    s.applySnapshot(snap);
    assert.equal(s.firstIndex(), 11);
    assert.equal(s.lastIndex(), 10);
    assert.equal(s.term(10), 8);
    assert.deepEqual(s.snapshot(), snap);
    assert.equal(
      code(() => {
        s.applySnapshot({ ...snap, meta: { ...snap.meta, index: 9 } });
      }),
      'SNAPSHOT_OUT_OF_DATE',
    );
  });

  test('hard state round trip', () => {
    const s = new MemoryStorage();
    s.setHardState({ term: 3, vote: 'x', commit: 0 });
    assert.deepEqual(s.initialState().hardState, { term: 3, vote: 'x', commit: 0 });
  });
});

describe('bootstrap', () => {
  test('writes a membership snapshot at index 1 and the hard state', () => {
    const s = new MemoryStorage();
    const snap = bootstrap(s, ['a', 'b', 'c']);
    assert.deepEqual(snap.meta, {
      index: 1,
      term: 1,
      confState: { voters: ['a', 'b', 'c'], learners: [] },
    });
    assert.equal(snap.data.length, 0);
    assert.deepEqual(s.initialState(), {
      hardState: { term: 1, vote: '', commit: 1 },
      confState: { voters: ['a', 'b', 'c'], learners: [] },
    });
    assert.equal(s.firstIndex(), 2);
    assert.throws(() => bootstrap(s, ['a']));
    assert.throws(() => bootstrap(new MemoryStorage(), []), RangeError);
    assert.throws(() => bootstrap(new MemoryStorage(), ['a', 'a']), RangeError);
  });
});
