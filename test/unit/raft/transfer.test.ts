/**
 * Leadership transfer (thesis §3.10): MsgTransferLeader / MsgTimeoutNow.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytes, Network } from './network.js';

function cluster(): Network {
  const net = new Network(['a', 'b', 'c'], { preVote: true, checkQuorum: true });
  net.elect('a');
  net.propose('a', 'one');
  return net;
}

describe('leader transfer', () => {
  // Thesis §3.10: an up-to-date transferee gets MsgTimeoutNow at once and wins.
  test('to an up-to-date follower', () => {
    const net = cluster();
    const term = net.node('a').status().term;
    net.node('a').transferLeadership('b');
    net.stabilize();
    assert.equal(net.leader(), 'b');
    assert.equal(net.node('b').status().term, term + 1);
    assert.equal(net.node('a').status().leader, 'b');
    assert.ok(net.sent.some((m) => m.type === 'MsgTimeoutNow' && m.to === 'b'));
    net.propose('b', 'two');
    assert.deepEqual(net.peer('a').fsm, ['one', 'two']);
  });

  // Thesis §3.10: a lagging transferee is caught up first; proposals are refused meanwhile.
  test('to a lagging follower that must catch up first', () => {
    const net = cluster();
    const undrop = net.drop((m) => m.to === 'c' && m.type === 'MsgApp');
    for (let i = 0; i < 5; i++) net.propose('a', `p${i}`);
    undrop();
    assert.ok(net.node('c').status().commit < net.node('a').status().commit);
    net.node('a').transferLeadership('c');
    assert.equal(net.node('a').status().leadTransferee, 'c');
    assert.deepEqual(net.node('a').propose(bytes('refused')), {
      ok: false,
      reason: 'TRANSFERRING',
    });
    for (let i = 0; i < 5 && net.leader() !== 'c'; i++) net.tickAll();
    assert.equal(net.leader(), 'c');
    assert.deepEqual(net.peer('c').fsm, ['one', 'p0', 'p1', 'p2', 'p3', 'p4']);
  });

  test('is aborted after an election timeout when the transferee never answers', () => {
    const net = cluster();
    net.isolate('c');
    net.node('a').transferLeadership('c');
    net.stabilize();
    assert.equal(net.node('a').status().leadTransferee, 'c');
    assert.equal(net.node('a').propose(bytes('x')).ok, false);
    for (let i = 0; i < 10; i++) net.tick('a');
    assert.equal(net.node('a').status().leadTransferee, '');
    assert.equal(net.leader(), 'a');
    assert.equal(net.node('a').propose(bytes('x')).ok, true);
  });

  test('a follower forwards the request to the leader', () => {
    const net = cluster();
    net.node('c').transferLeadership('c');
    net.stabilize();
    assert.equal(net.leader(), 'c');
  });

  test('to itself, a learner or an unknown peer is ignored', () => {
    const net = cluster();
    for (const to of ['a', 'zz']) {
      net.node('a').transferLeadership(to);
      net.stabilize();
      assert.equal(net.node('a').status().leadTransferee, '');
      assert.equal(net.leader(), 'a');
    }
  });

  test('the transferee campaigns through the lease of the other followers', () => {
    const net = new Network(['a', 'b', 'c'], { preVote: false, checkQuorum: true });
    net.elect('a');
    net.node('a').transferLeadership('b');
    net.stabilize();
    assert.equal(net.leader(), 'b');
  });
});
