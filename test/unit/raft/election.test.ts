/**
 * PreVote (thesis §9.6), CheckQuorum and leader leases (thesis §6.2) in a simulated cluster.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Network } from './network.js';

describe('PreVote', () => {
  // Thesis §9.6: a partitioned node keeps failing PreVote, so its term does not grow and it
  // cannot depose the healthy leader when it rejoins.
  test('a partitioned node rejoining does not bump the term or disrupt the leader', () => {
    const net = new Network(['a', 'b', 'c'], { preVote: true, checkQuorum: true });
    net.elect('a');
    const term = net.node('a').status().term;
    net.isolate('c');
    net.tick('c', 100);
    assert.equal(net.node('c').status().term, term);
    assert.equal(net.node('c').status().role, 'pre-candidate');
    net.heal();
    net.tickAll(3);
    assert.equal(net.leader(), 'a');
    for (const id of ['a', 'b', 'c']) {
      assert.equal(net.node(id).status().term, term, id);
      assert.equal(net.node(id).status().leader, 'a', id);
    }
    net.propose('a', 'after');
    assert.deepEqual(net.peer('c').fsm, ['after']);
  });

  // The control experiment: without PreVote the same partition bumps the term and the
  // rejoining node forces a new election (what PreVote exists to prevent).
  test('without PreVote the rejoining node disrupts the cluster', () => {
    const net = new Network(['a', 'b', 'c'], { preVote: false, checkQuorum: false });
    net.elect('a');
    const term = net.node('a').status().term;
    net.isolate('c');
    net.tick('c', 100);
    assert.ok(net.node('c').status().term > term);
    net.heal();
    net.tickAll(3);
    assert.ok(net.node('a').status().term > term);
  });

  test('PreVote wins and then the real election happens', () => {
    const net = new Network(['a', 'b', 'c'], { preVote: true });
    net.elect('b');
    assert.equal(net.leader(), 'b');
    assert.equal(net.node('b').status().term, 2);
    const types = new Set(net.sent.map((m) => m.type));
    assert.ok(types.has('MsgPreVote') && types.has('MsgVote'));
  });
});

describe('CheckQuorum', () => {
  // Thesis §6.2: a leader that has not heard from a majority within an election timeout
  // steps down.
  test('a leader isolated from its majority steps down within an election timeout', () => {
    const net = new Network(['a', 'b', 'c'], { checkQuorum: true, preVote: true });
    net.elect('a');
    net.isolate('a');
    let ticks = 0;
    while (net.node('a').status().role === 'leader') {
      net.tick('a');
      ticks++;
      assert.ok(ticks <= 2 * 10, `still leader after ${ticks} ticks`);
    }
    assert.ok(ticks <= 10 + 1, `stepped down after ${ticks} ticks`);
    assert.equal(net.node('a').status().role, 'follower');
    // The majority side elects a new leader on its own.
    for (let i = 0; i < 30 && net.leader() === ''; i++) net.tickAll();
    assert.ok(['b', 'c'].includes(net.leader()));
  });

  test('a leader with its quorum stays leader', () => {
    const net = new Network(['a', 'b', 'c'], { checkQuorum: true });
    net.elect('a');
    net.isolate('c');
    net.tickAll(50);
    assert.equal(net.leader(), 'a');
    assert.equal(net.node('a').status().term, 2);
  });

  // Thesis §6.2 (leases): a follower that heard from its leader within the election timeout
  // ignores a vote request of a higher term, and neither answers nor adopts the term.
  test('followers ignore vote requests within the leader lease', () => {
    const net = new Network(['a', 'b', 'c'], { checkQuorum: true });
    net.elect('a');
    net.node('b').step({
      type: 'MsgVote',
      from: 'c',
      to: 'b',
      term: 9,
      index: 100,
      logTerm: 9,
      transfer: false,
    });
    assert.equal(net.node('b').status().term, 2);
    assert.deepEqual(net.processReady('b'), []);
    // After the lease expires, the same request is granted.
    for (let i = 0; i < 10; i++) net.node('b').tick();
    net.processReady('b');
    net.node('b').step({
      type: 'MsgVote',
      from: 'c',
      to: 'b',
      term: 9,
      index: 100,
      logTerm: 9,
      transfer: false,
    });
    assert.equal(net.node('b').status().term, 9);
    const out = net.processReady('b');
    assert.deepEqual(out, [{ type: 'MsgVoteResp', from: 'b', to: 'c', term: 9, reject: false }]);
  });

  test('a stale leader learns the new term from a follower and steps down', () => {
    const net = new Network(['a', 'b', 'c'], { checkQuorum: true, preVote: true });
    net.elect('a');
    net.isolate('a');
    for (let i = 0; i < 40 && !['b', 'c'].includes(net.leader()); i++) {
      net.tick('b');
      net.tick('c');
    }
    const newLeader = net.leader();
    assert.ok(['b', 'c'].includes(newLeader));
    net.heal();
    net.tickAll(2);
    assert.equal(net.node('a').status().role, 'follower');
    assert.equal(net.node('a').status().leader, newLeader);
  });
});

describe('elections in a cluster', () => {
  test('an election happens on its own after ticks', () => {
    for (const preVote of [false, true]) {
      const net = new Network(['a', 'b', 'c', 'd', 'e'], { preVote, checkQuorum: true, seed: 42 });
      for (let i = 0; i < 40 && net.leader() === ''; i++) net.tickAll();
      assert.notEqual(net.leader(), '');
    }
  });

  test('a single-voter cluster elects itself and commits at once', () => {
    const net = new Network(['solo'], { preVote: true, checkQuorum: true });
    net.tickAll(25);
    assert.equal(net.leader(), 'solo');
    net.propose('solo', 'x');
    assert.deepEqual(net.peer('solo').fsm, ['x']);
  });
});
