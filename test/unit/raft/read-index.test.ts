/**
 * ReadIndex (thesis §6.4): linearizable reads without writing to the log.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytes, Network, text } from './network.js';

describe('ReadIndex', () => {
  test('on the leader: answered after a heartbeat round, at the commit index', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.propose('a', 'x');
    const commit = net.node('a').status().commit;
    const before = net.sent.length;
    net.node('a').readIndex(bytes('r1'));
    net.stabilize();
    assert.deepEqual(
      net.peer('a').readStates.map((s) => ({ index: s.index, ctx: text(s.ctx) })),
      [{ index: commit, ctx: 'r1' }],
    );
    const round = net.sent.slice(before);
    assert.ok(round.some((m) => m.type === 'MsgHeartbeat' && text(m.ctx) === 'r1'));
  });

  test('forwarded from a follower and answered by the leader', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.propose('a', 'x');
    net.node('b').readIndex(bytes('rb'));
    net.stabilize();
    const states = net.peer('b').readStates;
    assert.equal(states.length, 1);
    const [s] = states;
    assert.ok(s);
    assert.equal(s.index, net.node('a').status().commit);
    assert.equal(text(s.ctx), 'rb');
    assert.ok(net.sent.some((m) => m.type === 'MsgReadIndex' && m.from === 'b'));
    assert.ok(net.sent.some((m) => m.type === 'MsgReadIndexResp' && m.to === 'b'));
  });

  test('refused without a leader', () => {
    const net = new Network(['a', 'b', 'c']);
    net.node('b').readIndex(bytes('none'));
    assert.deepEqual(net.processReady('b'), []);
    net.stabilize();
    assert.deepEqual(net.peer('b').readStates, []);
  });

  test('not answered by a leader cut off from its quorum', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('a');
    net.node('a').readIndex(bytes('stale'));
    net.tickAll(3);
    assert.deepEqual(net.peer('a').readStates, []);
  });

  test('postponed until the leader commits an entry of its term', () => {
    const net = new Network(['a', 'b', 'c']);
    const undrop = net.drop((m) => m.type === 'MsgAppResp');
    net.elect('a');
    assert.equal(net.leader(), 'a');
    net.node('a').readIndex(bytes('early'));
    net.stabilize();
    net.tick('a', 2);
    assert.deepEqual(net.peer('a').readStates, []);
    undrop();
    net.tickAll(3);
    const states = net.peer('a').readStates;
    assert.equal(states.length, 1);
    assert.equal(text(states[0]?.ctx ?? new Uint8Array()), 'early');
    // The answer covers the leader's empty entry of its term (index 2 after bootstrap).
    assert.ok((states[0]?.index ?? 0) >= 2);
  });

  test('a single-voter cluster answers at once', () => {
    const net = new Network(['solo']);
    net.elect('solo');
    net.node('solo').readIndex(bytes('now'));
    const rd = net.node('solo').ready();
    assert.equal(rd.readStates.length, 1);
    assert.equal(rd.readStates[0]?.index, net.node('solo').status().commit);
    assert.deepEqual(rd.messages, []);
    net.node('solo').advance(rd);
  });
});
