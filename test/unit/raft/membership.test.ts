/**
 * Single-server membership changes (thesis §4.1) and joining nodes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConfChange, PeerId } from '../../../src/raft/index.js';
import { Network } from './network.js';

const EMPTY = new Uint8Array(0);

function cc(type: ConfChange['type'], nodeId: PeerId): ConfChange {
  return { type, nodeId, context: EMPTY };
}

function cluster(): Network {
  const net = new Network(['a', 'b', 'c'], { preVote: true, checkQuorum: true });
  net.elect('a');
  net.propose('a', 'one');
  return net;
}

function change(net: Network, on: PeerId, c: ConfChange): void {
  const res = net.node(on).proposeConfChange(c);
  assert.ok(res.ok, `proposeConfChange ${c.type} ${c.nodeId}: ${JSON.stringify(res)}`);
  net.stabilize();
}

describe('membership changes', () => {
  test('a joining node is added as a learner, catches up, and never campaigns', () => {
    const net = cluster();
    net.addPeer('d');
    change(net, 'a', cc('add-learner', 'd'));
    net.propose('a', 'two');
    assert.deepEqual(net.peer('d').fsm, ['one', 'two']);
    assert.deepEqual(net.node('a').status().confState, {
      voters: ['a', 'b', 'c'],
      learners: ['d'],
    });
    assert.deepEqual(net.node('d').status().confState, {
      voters: ['a', 'b', 'c'],
      learners: ['d'],
    });
    net.isolate('a');
    net.tick('d', 50);
    assert.equal(net.node('d').status().role, 'follower');
  });

  test('a learner is promoted to voter and counts for the quorum', () => {
    const net = cluster();
    net.addPeer('d');
    change(net, 'a', cc('add-learner', 'd'));
    change(net, 'a', cc('add-voter', 'd'));
    assert.deepEqual(net.node('d').status().confState, {
      voters: ['a', 'b', 'c', 'd'],
      learners: [],
    });
    // With 4 voters, a and d alone are not a quorum; a, b and d are.
    net.isolate('c');
    net.cutLink('a', 'b');
    const res = net.node('a').propose(new TextEncoder().encode('no-quorum'));
    assert.ok(res.ok);
    net.stabilize();
    assert.ok(net.node('a').status().commit < res.index);
    net.heal();
    net.isolate('c');
    net.tickAll(2);
    assert.ok(net.node('a').status().commit >= res.index);
  });

  test('only one conf change may be pending', () => {
    const net = cluster();
    net.addPeer('d');
    net.addPeer('e');
    assert.ok(net.node('a').proposeConfChange(cc('add-learner', 'd')).ok);
    assert.deepEqual(net.node('a').proposeConfChange(cc('add-learner', 'e')), {
      ok: false,
      reason: 'CONF_CHANGE_PENDING',
    });
    net.stabilize();
    assert.ok(net.node('a').proposeConfChange(cc('add-learner', 'e')).ok);
    assert.deepEqual(net.node('b').proposeConfChange(cc('add-learner', 'e')), {
      ok: false,
      reason: 'NOT_LEADER',
    });
  });

  test('a removed follower stops receiving and the rest continue', () => {
    const net = cluster();
    change(net, 'a', cc('remove-node', 'c'));
    assert.deepEqual(net.node('a').status().confState, { voters: ['a', 'b'], learners: [] });
    assert.equal(net.node('a').status().progress.has('c'), false);
    net.propose('a', 'two');
    assert.deepEqual(net.peer('b').fsm, ['one', 'two']);
    assert.deepEqual(net.peer('c').fsm, ['one']);
  });

  test('a removed leader steps down and the others elect a new leader', () => {
    const net = cluster();
    change(net, 'a', cc('remove-node', 'a'));
    assert.notEqual(net.node('a').status().role, 'leader');
    // The removed leader handed over with MsgTimeoutNow: no election timeout needed.
    assert.ok(net.sent.some((m) => m.type === 'MsgTimeoutNow' && m.from === 'a'));
    const leader = net.leader();
    assert.ok(['b', 'c'].includes(leader), `leader ${leader}`);
    net.propose(leader, 'two');
    assert.deepEqual(net.peer('b').fsm, ['one', 'two']);
    assert.deepEqual(net.peer('c').fsm, ['one', 'two']);
    net.tickAll(30);
    assert.equal(net.node('a').status().role, 'follower');
  });

  test('a node joining behind a compacted log catches up through a snapshot', () => {
    const net = cluster();
    for (let i = 0; i < 5; i++) net.propose('a', `p${i}`);
    net.snapshotAndCompact('a');
    net.addPeer('d');
    change(net, 'a', cc('add-learner', 'd'));
    net.propose('a', 'last');
    const d = net.peer('d');
    assert.equal(d.snapshotsRestored, 1);
    assert.deepEqual(d.fsm, ['one', 'p0', 'p1', 'p2', 'p3', 'p4', 'last']);
    assert.deepEqual(net.node('d').status().confState.learners, ['d']);
    change(net, 'a', cc('add-voter', 'd'));
    assert.deepEqual(net.node('d').status().confState.voters, ['a', 'b', 'c', 'd']);
  });

  test('removing the last voter is refused', () => {
    const net = new Network(['solo']);
    net.elect('solo');
    change(net, 'solo', cc('remove-node', 'solo'));
    assert.deepEqual(net.node('solo').status().confState.voters, ['solo']);
    assert.equal(net.leader(), 'solo');
  });
});
