import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Entry, Message } from '../../../src/raft/index.js';
import { coalesceMessages } from '../../../src/raft/transport/index.js';

function ent(index: number, term = 2, size = 1): Entry {
  return { term, index, type: 'normal', data: new Uint8Array(size) };
}

/** The MsgApp the leader emits for one proposal at `index` (preceded by index-1). */
function app(to: string, index: number, commit = 0, term = 2): Message {
  return {
    type: 'MsgApp',
    from: 'a',
    to,
    term,
    index: index - 1,
    logTerm: term,
    commit,
    entries: [ent(index, term)],
  };
}

function ack(to: string, index: number, reject = false): Message {
  return {
    type: 'MsgAppResp',
    from: 'b',
    to,
    term: 2,
    index,
    reject,
    rejectHint: 0,
    logTerm: 0,
  };
}

describe('coalesceMessages', () => {
  it('merges consecutive MsgApps per peer, keeping per-peer order', () => {
    const out = coalesceMessages([
      app('b', 5),
      app('c', 5),
      app('b', 6, 4),
      app('c', 6),
      app('b', 7),
    ]);
    assert.equal(out.length, 2);
    const [b, c] = out;
    assert.ok(b?.type === 'MsgApp' && c?.type === 'MsgApp');
    assert.equal(b.to, 'b');
    assert.equal(b.index, 4);
    assert.deepEqual(
      b.entries.map((e) => e.index),
      [5, 6, 7],
    );
    assert.equal(b.commit, 4);
    assert.deepEqual(
      c.entries.map((e) => e.index),
      [5, 6],
    );
  });

  it('does not merge across a gap, a term change or another message type', () => {
    const gap = coalesceMessages([app('b', 5), app('b', 7)]);
    assert.equal(gap.length, 2);
    const term = coalesceMessages([app('b', 5, 0, 2), app('b', 6, 0, 3)]);
    assert.equal(term.length, 2);
    const hb: Message = {
      type: 'MsgHeartbeat',
      from: 'a',
      to: 'b',
      term: 2,
      commit: 3,
      ctx: new Uint8Array(0),
    };
    const mixed = coalesceMessages([app('b', 5), hb, app('b', 6)]);
    assert.deepEqual(
      mixed.map((m) => m.type),
      ['MsgApp', 'MsgHeartbeat', 'MsgApp'],
    );
  });

  it('caps merged MsgApps by entry bytes', () => {
    const big = (i: number): Message => ({
      type: 'MsgApp',
      from: 'a',
      to: 'b',
      term: 2,
      index: i - 1,
      logTerm: 2,
      commit: 0,
      entries: [ent(i, 2, 600)],
    });
    const out = coalesceMessages([big(5), big(6), big(7)], 1000);
    assert.equal(out.length, 3);
  });

  it('collapses successful acks into the highest and keeps rejections', () => {
    const out = coalesceMessages([ack('a', 5), ack('a', 6), ack('a', 9)]);
    assert.deepEqual(out, [ack('a', 9)]);
    const withReject = coalesceMessages([ack('a', 5), ack('a', 3, true), ack('a', 6)]);
    assert.equal(withReject.length, 3);
  });
});
