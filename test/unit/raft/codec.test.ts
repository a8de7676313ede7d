/**
 * The binary codec: exact round trips for every message variant and random entries, and strict
 * rejection (RangeError) of anything else.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decodeConfChange,
  decodeEntry,
  decodeMessage,
  encodeConfChange,
  encodeEntry,
  encodeMessage,
  MESSAGE_TYPES,
  type Entry,
  type Message,
  type MessageType,
} from '../../../src/raft/index.js';
import { bytes, seededRandom } from './network.js';

function randomEntries(rand: () => number, n: number): Entry[] {
  const out: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const data = new Uint8Array(Math.floor(rand() * 40));
    for (let j = 0; j < data.length; j++) data[j] = Math.floor(rand() * 256);
    out.push({
      index: Math.floor(rand() * 2 ** 40),
      term: Math.floor(rand() * 1000),
      type: rand() < 0.2 ? 'conf-change' : 'normal',
      data,
    });
  }
  return out;
}

function samples(rand: () => number): Message[] {
  const env = { from: 'node-ä1', to: 'node-2', term: 7 };
  const big = Number.MAX_SAFE_INTEGER;
  return [
    { type: 'MsgApp', ...env, index: 3, logTerm: 2, entries: randomEntries(rand, 5), commit: 2 },
    { type: 'MsgApp', ...env, index: 0, logTerm: 0, entries: [], commit: 0 },
    { type: 'MsgAppResp', ...env, index: big, reject: true, rejectHint: 9, logTerm: 3 },
    { type: 'MsgVote', ...env, index: 10, logTerm: 6, transfer: true },
    { type: 'MsgPreVote', ...env, index: 10, logTerm: 6, transfer: false },
    { type: 'MsgVoteResp', ...env, reject: false },
    { type: 'MsgPreVoteResp', ...env, reject: true },
    { type: 'MsgHeartbeat', ...env, commit: 5, ctx: bytes('ctx') },
    { type: 'MsgHeartbeatResp', ...env, ctx: new Uint8Array(0) },
    {
      type: 'MsgSnap',
      ...env,
      snapshot: {
        meta: { index: 100, term: 4, confState: { voters: ['a', 'b'], learners: ['c'] } },
        data: bytes('{"state":1}'),
      },
    },
    { type: 'MsgTimeoutNow', ...env },
    { type: 'MsgReadIndex', ...env, ctx: bytes('r') },
    { type: 'MsgReadIndexResp', ...env, ctx: bytes('r'), index: 42 },
    { type: 'MsgTransferLeader', ...env, transferee: 'node-3' },
  ];
}

describe('codec', () => {
  test('every message variant round-trips exactly', () => {
    const msgs = samples(seededRandom(1));
    const covered = new Set<MessageType>(msgs.map((m) => m.type));
    assert.deepEqual([...covered].sort(), [...MESSAGE_TYPES].sort());
    for (const m of msgs) assert.deepEqual(decodeMessage(encodeMessage(m)), m, m.type);
  });

  test('random entries round-trip, alone and in MsgApp', () => {
    const rand = seededRandom(99);
    for (let i = 0; i < 200; i++) {
      const ents = randomEntries(rand, 1 + Math.floor(rand() * 10));
      for (const e of ents) assert.deepEqual(decodeEntry(encodeEntry(e)), e);
      const m: Message = {
        type: 'MsgApp',
        from: 'a',
        to: 'b',
        term: Math.floor(rand() * 1e9),
        index: 1,
        logTerm: 1,
        entries: ents,
        commit: 1,
      };
      assert.deepEqual(decodeMessage(encodeMessage(m)), m);
    }
  });

  test('conf changes round-trip', () => {
    for (const type of ['add-voter', 'add-learner', 'remove-node'] as const) {
      const cc = { type, nodeId: 'n1', context: bytes('10.0.0.1:2377') };
      assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc);
    }
  });

  test('every truncation and any trailing byte is a RangeError', () => {
    for (const m of samples(seededRandom(2))) {
      const b = encodeMessage(m);
      for (let n = 0; n < b.length; n++) {
        assert.throws(() => decodeMessage(b.subarray(0, n)), RangeError, `${m.type} cut at ${n}`);
      }
      const longer = new Uint8Array(b.length + 1);
      longer.set(b);
      assert.throws(() => decodeMessage(longer), RangeError);
    }
  });

  test('bad version, unknown tags, bad booleans and invalid UTF-8 are RangeErrors', () => {
    const vote = encodeMessage({
      type: 'MsgVoteResp',
      from: 'a',
      to: 'b',
      term: 1,
      reject: false,
    });
    const mutate = (i: number, v: number): Uint8Array => {
      const c = vote.slice();
      c[i] = v;
      return c;
    };
    assert.throws(() => decodeMessage(mutate(0, 9)), RangeError); // version
    assert.throws(() => decodeMessage(mutate(1, 200)), RangeError); // type tag
    assert.throws(() => decodeMessage(mutate(vote.length - 1, 2)), RangeError); // boolean
    assert.throws(() => decodeMessage(mutate(3, 0xff)), RangeError); // 'a' -> invalid UTF-8
    assert.throws(() => decodeConfChange(new Uint8Array([1, 7, 0, 0])), RangeError);
    assert.throws(
      () =>
        decodeMessage(
          new Uint8Array([1, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
        ),
      RangeError,
    );
  });

  test('random garbage never throws anything but RangeError', () => {
    const rand = seededRandom(3);
    for (let i = 0; i < 2000; i++) {
      const b = new Uint8Array(Math.floor(rand() * 30));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(rand() * 256);
      if (b.length > 0 && rand() < 0.5) b[0] = 1;
      try {
        const m = decodeMessage(b);
        assert.deepEqual(encodeMessage(m), b); // decodes only what it could have encoded
      } catch (err) {
        assert.ok(err instanceof RangeError, String(err));
      }
    }
  });
});
