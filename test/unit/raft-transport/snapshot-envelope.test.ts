import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeSnapshotEnvelope,
  encodeSnapshotEnvelope,
} from '../../../src/daemon/raft/snapshot-envelope.js';

describe('snapshot envelope', () => {
  it('round-trips the address book and the state machine bytes', () => {
    const peers = new Map([
      ['n2', '127.0.0.2:2377'],
      ['n1', '127.0.0.1:2377'],
    ]);
    const fsm = Uint8Array.from([0, 1, 2, 255]);
    const env = decodeSnapshotEnvelope(encodeSnapshotEnvelope({ peers, fsm }));
    assert.deepEqual([...env.peers].sort(), [...peers].sort());
    assert.deepEqual([...env.fsm], [...fsm]);
  });

  it('reads empty data (bootstrap) as no peers and empty state', () => {
    const env = decodeSnapshotEnvelope(new Uint8Array(0));
    assert.equal(env.peers.size, 0);
    assert.equal(env.fsm.length, 0);
  });

  it('refuses foreign or truncated data', () => {
    assert.throws(
      () => decodeSnapshotEnvelope(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9])),
      RangeError,
    );
    const good = encodeSnapshotEnvelope({ peers: new Map([['a', 'x:1']]), fsm: new Uint8Array(0) });
    assert.throws(() => decodeSnapshotEnvelope(good.subarray(0, 12)), RangeError);
    const badVersion = Uint8Array.from(good);
    badVersion[4] = 9;
    assert.throws(() => decodeSnapshotEnvelope(badVersion), /version 9/);
  });
});
