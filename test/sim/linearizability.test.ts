/**
 * The linearizability checker on hand-made histories: it must accept linearizable ones and
 * reject non-linearizable ones (a stale read, a read going back in time, appends out of
 * order), handle unknown outcomes and partitions, and stay fast on wide concurrency.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kvModel, type KvInput, type KvOperation, type KvOutput } from './kv.js';
import { checkOperations, type Model, type Operation } from './linearizability.js';

function put(clientId: number, key: string, value: string, call: number, ret: number): KvOperation {
  return { clientId, input: { op: 'put', key, value }, call, output: '', return: ret };
}

function append(
  clientId: number,
  key: string,
  value: string,
  call: number,
  ret: number,
): KvOperation {
  return { clientId, input: { op: 'append', key, value }, call, output: '', return: ret };
}

function get(clientId: number, key: string, value: string, call: number, ret: number): KvOperation {
  return { clientId, input: { op: 'get', key, value: '' }, call, output: value, return: ret };
}

/** A write whose client gave up: it may or may not have happened. */
function unknown(op: KvOperation): KvOperation {
  return { ...op, output: null, return: Infinity };
}

function check(history: KvOperation[]): string {
  return checkOperations(kvModel, history).result;
}

describe('linearizability checker: KV model', () => {
  test('accepts the empty history and a sequential one', () => {
    assert.equal(check([]), 'ok');
    assert.equal(
      check([put(0, 'x', '1', 1, 2), get(1, 'x', '1', 3, 4), append(0, 'x', '2', 5, 6)]),
      'ok',
    );
    assert.equal(check([get(0, 'x', '', 1, 2)]), 'ok');
  });

  test('rejects a stale read (a read after a completed write misses it)', () => {
    const r = checkOperations(kvModel, [put(0, 'x', '1', 1, 2), get(1, 'x', '', 3, 4)]);
    assert.equal(r.result, 'illegal');
    assert.equal(r.operations?.length, 2);
    assert.equal(r.blocking, 1, 'the get is what cannot be explained');
  });

  test('rejects a read of a value never written', () => {
    assert.equal(check([put(0, 'x', '1', 1, 2), get(1, 'x', '2', 3, 4)]), 'illegal');
  });

  test('accepts a read concurrent with a write seeing either value', () => {
    assert.equal(check([put(0, 'x', '1', 1, 10), get(1, 'x', '', 2, 3)]), 'ok');
    assert.equal(check([put(0, 'x', '1', 1, 10), get(1, 'x', '1', 2, 3)]), 'ok');
    assert.equal(
      check([put(0, 'x', '1', 1, 10), get(1, 'x', '', 2, 3), get(2, 'x', '1', 4, 5)]),
      'ok',
    );
  });

  test('rejects reads that go back in time during a concurrent write', () => {
    // Both reads overlap the put, but the second starts after the first returned the new value.
    assert.equal(
      check([put(0, 'x', '1', 1, 10), get(1, 'x', '1', 2, 3), get(2, 'x', '', 4, 5)]),
      'illegal',
    );
  });

  test('orders appends: a read must see them in a real-time-compatible order', () => {
    const a = append(0, 'x', 'a', 1, 2);
    const b = append(1, 'x', 'b', 3, 4);
    assert.equal(check([a, b, get(2, 'x', 'ab', 5, 6)]), 'ok');
    assert.equal(check([a, b, get(2, 'x', 'ba', 5, 6)]), 'illegal');
    // Concurrent appends may land in either order, but one order for everybody.
    const c = append(0, 'x', 'a', 1, 10);
    const d = append(1, 'x', 'b', 1.5, 10.5);
    assert.equal(check([c, d, get(2, 'x', 'ba', 11, 12)]), 'ok');
    assert.equal(check([c, d, get(2, 'x', 'ba', 11, 12), get(3, 'x', 'ab', 13, 14)]), 'illegal');
  });

  test('a write with an unknown outcome may take effect late or never', () => {
    const w = unknown(put(0, 'x', '1', 1, 2));
    assert.equal(check([w, get(1, 'x', '', 5, 6)]), 'ok', 'never happened');
    assert.equal(check([w, get(1, 'x', '1', 5, 6)]), 'ok', 'happened');
    assert.equal(check([w, get(1, 'x', '', 3, 4), get(2, 'x', '1', 7, 8)]), 'ok', 'late');
    // ...but once seen, it cannot be undone.
    assert.equal(check([w, get(1, 'x', '1', 3, 4), get(2, 'x', '', 7, 8)]), 'illegal');
    // ...and it cannot take effect before its call.
    assert.equal(check([get(1, 'x', '1', 1, 2), unknown(put(0, 'x', '1', 3, 4))]), 'illegal');
  });

  test('calls and returns at the same time count as concurrent', () => {
    assert.equal(check([put(0, 'x', '1', 1, 3), get(1, 'x', '', 3, 4)]), 'ok');
  });

  test('keys are checked independently and the failing key is reported', () => {
    const r = checkOperations(kvModel, [
      put(0, 'x', '1', 1, 2),
      get(1, 'x', '1', 3, 4),
      put(0, 'y', '1', 5, 6),
      get(1, 'y', '', 7, 8),
    ]);
    assert.equal(r.result, 'illegal');
    assert.ok(r.operations?.every((op) => (op.input as KvInput).key === 'y'));
  });

  test('stays fast on wide concurrency thanks to memoization', () => {
    // 10 overlapping puts, then reads: 10! orders but only (subset, last value) states matter.
    const history: KvOperation[] = [];
    for (let i = 0; i < 10; i++) history.push(put(i, 'x', `v${i}`, i, 100 + i));
    history.push(get(99, 'x', 'v7', 200, 201));
    const ok = checkOperations(kvModel, history);
    assert.equal(ok.result, 'ok');
    history.push(get(99, 'x', 'v8', 202, 203));
    const bad = checkOperations(kvModel, history);
    assert.equal(bad.result, 'illegal');
    assert.ok(bad.steps < 200_000, `took ${bad.steps} steps`);
  });

  test('gives up with unknown when the step budget runs out', () => {
    const history: KvOperation[] = [];
    for (let i = 0; i < 6; i++) history.push(append(i, 'x', `${i}.`, i, 100 + i));
    history.push(get(99, 'x', 'nope', 200, 201));
    assert.equal(checkOperations(kvModel, history, { maxSteps: 50 }).result, 'unknown');
    assert.equal(checkOperations(kvModel, history).result, 'illegal');
  });

  test('rejects an operation that returns before its call', () => {
    assert.throws(() => check([put(0, 'x', '1', 3, 2)]), RangeError);
  });
});

describe('linearizability checker: other models', () => {
  // A FIFO queue without partitioning: enqueue(v) -> '', dequeue() -> v or 'empty'.
  type QIn = { op: 'enq'; v: string } | { op: 'deq' };
  const queue: Model<readonly string[], QIn, string> = {
    init: () => [],
    step(state, input, output) {
      if (input.op === 'enq') return [true, [...state, input.v]];
      if (state.length === 0) return [output === 'empty', state];
      return [output === state[0], state.slice(1)];
    },
    equal: (a, b) => a.length === b.length && a.every((x, i) => x === b[i]),
  };
  const op = (
    clientId: number,
    input: QIn,
    output: string,
    call: number,
    ret: number,
  ): Operation<QIn, string> => ({ clientId, input, output, call, return: ret });

  test('a queue: FIFO order holds, and is enforced', () => {
    const enqA = op(0, { op: 'enq', v: 'a' }, '', 1, 2);
    const enqB = op(0, { op: 'enq', v: 'b' }, '', 3, 4);
    assert.equal(
      checkOperations(queue, [enqA, enqB, op(1, { op: 'deq' }, 'a', 5, 6)]).result,
      'ok',
    );
    assert.equal(
      checkOperations(queue, [enqA, enqB, op(1, { op: 'deq' }, 'b', 5, 6)]).result,
      'illegal',
    );
    // A dequeue concurrent with the first enqueue may see the queue empty.
    assert.equal(
      checkOperations(queue, [
        op(0, { op: 'enq', v: 'a' }, '', 1, 5),
        op(1, { op: 'deq' }, 'empty', 2, 3),
      ]).result,
      'ok',
    );
  });

  test('the KV outputs type admits unknown only for writes', () => {
    const out: KvOutput = null;
    assert.equal(kvModel.step('', { op: 'put', key: 'x', value: '1' }, out)[0], true);
    assert.equal(kvModel.step('', { op: 'get', key: 'x', value: '' }, out)[0], false);
  });
});
