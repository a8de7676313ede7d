import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  Dispatcher,
  type Assignment,
  type SessionSink,
} from '../../../src/daemon/manager/dispatcher/dispatcher.js';
import { RECONNECT_GRACE_MS } from '../../../src/daemon/manager/dispatcher/dispatcher.js';
import { Store } from '../../../src/daemon/manager/store/store.js';
import type { Command, CommandResult } from '../../../src/daemon/manager/store/types.js';
import type { Node } from '../../../src/shared/api-types.js';
import { TswarmError } from '../../../src/shared/errors.js';
import { waitFor } from '../../helpers/wait.js';
import {
  entryFor,
  FakeClock,
  makeAssignedTask,
  makeCluster,
  makeNode,
  silentLogger,
  T0,
  type NodeOpts,
} from './fixtures.js';

/** Short enough that the real check timer (every max(50, period/4) ms) runs often. */
const PERIOD = 200;
const W1 = 'worker1000000000000000000';
const W2 = 'worker2000000000000000000';

class RecordingSink implements SessionSink {
  readonly pushed: Node[] = [];
  ended: TswarmError | undefined;
  endedCount = 0;
  push(node: Node): void {
    this.pushed.push(node);
  }
  end(err?: TswarmError): void {
    this.ended = err;
    this.endedCount++;
  }
}

/** Counts every push; remembers the last assignment set's task IDs. */
class AssignmentSink implements SessionSink {
  pushes = 0;
  last: string[] | undefined;
  push(_node: Node, assignments?: readonly Assignment[]): void {
    this.pushes++;
    if (assignments) this.last = assignments.map((a) => a.task.ID);
  }
  end(): void {
    /* not needed */
  }
}

/** The leader reduced to a store whose proposals commit at once, and a hand-driven clock. */
class Harness {
  readonly store = new Store();
  readonly clock = new FakeClock();
  readonly proposals: Command[] = [];
  readonly dispatcher: Dispatcher;
  private index = 0;

  constructor(nodes: readonly [string, NodeOpts][]) {
    this.commit({ op: 'cluster.create', at: T0, cluster: makeCluster() });
    for (const [id, o] of nodes) this.commit({ op: 'node.create', at: T0, node: makeNode(id, o) });
    this.dispatcher = new Dispatcher({
      store: this.store,
      propose: (cmd) => {
        this.proposals.push(cmd);
        return Promise.resolve(this.commit(cmd));
      },
      heartbeatPeriodMs: () => PERIOD,
      now: this.clock.now,
      log: silentLogger(),
    });
  }

  commit(cmd: Command): CommandResult {
    const r = this.store.apply(entryFor(++this.index, cmd));
    assert.ok(r);
    return r;
  }

  state(id: string): string | undefined {
    return this.store.node(id)?.Status.State;
  }

  /**
   * Resolves once a heartbeat check has both started and finished after this call. The check
   * reads the clock once per run and skips while the previous run is in flight, so two fresh
   * reads mean the first run after this call completed. Nothing else may read the clock meanwhile.
   */
  async checkRan(): Promise<void> {
    const from = this.clock.reads;
    await waitFor('two heartbeat checks', () => this.clock.reads >= from + 2, 5_000, 10);
  }

  async waitState(id: string, state: string): Promise<void> {
    await waitFor(`node ${id} ${state}`, () => this.state(id) === state, 5_000, 10);
  }
}

let harness: Harness | undefined;

function start(nodes: readonly [string, NodeOpts][]): Harness {
  harness = new Harness(nodes);
  harness.dispatcher.start();
  return harness;
}

afterEach(() => {
  harness?.dispatcher.stop();
  harness = undefined;
});

function isTswarm(code: string, message?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof TswarmError, `not a TswarmError: ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  };
}

describe('dispatcher sessions', () => {
  it('opening a session marks the node Ready at its address', async () => {
    const h = start([[W1, { state: 'down', addr: '10.0.0.1', message: 'heartbeat failure' }]]);
    const sink = new RecordingSink();
    const id = await h.dispatcher.openSession(W1, undefined, '10.0.0.9', sink);
    assert.equal(typeof id, 'string');
    assert.deepEqual(h.store.node(W1)?.Status, { State: 'ready', Addr: '10.0.0.9' });
    assert.deepEqual(
      h.proposals.map((p) => p.op),
      ['node.set-status'],
    );
    assert.equal(sink.ended, undefined);
  });

  it('proposes nothing when the node is already Ready at the same address', async () => {
    const h = start([[W1, { state: 'ready', addr: '10.0.0.1' }]]);
    const same = h.store.node(W1)?.Description;
    await h.dispatcher.openSession(W1, same, '10.0.0.1', new RecordingSink());
    assert.deepEqual(h.proposals, []);
  });

  it('a new address or a new description is written', async () => {
    const h = start([[W1, { state: 'ready', addr: '10.0.0.1' }]]);
    const desc = { ...makeNode(W1).Description, Hostname: 'renamed' };
    await h.dispatcher.openSession(W1, desc, '10.0.0.2', new RecordingSink());
    assert.deepEqual(
      h.proposals.map((p) => p.op),
      ['node.update-description', 'node.set-status'],
    );
    assert.equal(h.store.node(W1)?.Description.Hostname, 'renamed');
    assert.equal(h.store.node(W1)?.Status.Addr, '10.0.0.2');
  });

  it('refuses a node the store does not know', async () => {
    const h = start([]);
    await assert.rejects(
      h.dispatcher.openSession('ghost', undefined, '10.0.0.1', new RecordingSink()),
      isTswarm('NOT_FOUND', /node ghost not found/),
    );
  });

  it('heartbeat answers the period; an unknown or foreign session is refused', async () => {
    const h = start([
      [W1, {}],
      [W2, {}],
    ]);
    const s1 = await h.dispatcher.openSession(W1, undefined, '127.0.0.1', new RecordingSink());
    assert.equal(h.dispatcher.heartbeat(W1, s1), PERIOD);
    assert.throws(
      () => h.dispatcher.heartbeat(W1, 'no-such-session'),
      isTswarm('NOT_FOUND', /session invalid: open a new session/),
    );
    assert.throws(() => h.dispatcher.heartbeat(W2, s1), isTswarm('NOT_FOUND'));
    h.dispatcher.closeSession(s1);
    assert.throws(() => h.dispatcher.heartbeat(W1, s1), isTswarm('NOT_FOUND'));
  });

  it('a second session for the same node ends the first', async () => {
    const h = start([[W1, {}]]);
    const first = new RecordingSink();
    const second = new RecordingSink();
    const s1 = await h.dispatcher.openSession(W1, undefined, '127.0.0.1', first);
    const s2 = await h.dispatcher.openSession(W1, undefined, '127.0.0.1', second);
    assert.notEqual(s1, s2);
    assert.ok(first.ended);
    assert.equal(first.ended.code, 'FAILED_PRECONDITION');
    assert.equal(second.ended, undefined);
    assert.throws(() => h.dispatcher.heartbeat(W1, s1), isTswarm('NOT_FOUND'));
    assert.equal(h.dispatcher.heartbeat(W1, s2), PERIOD);
  });

  it('removing the node ends its session and refuses its heartbeats', async () => {
    const h = start([
      [W1, {}],
      [W2, {}],
    ]);
    const sink = new RecordingSink();
    const other = new RecordingSink();
    const s1 = await h.dispatcher.openSession(W1, undefined, '127.0.0.1', sink);
    await h.dispatcher.openSession(W2, undefined, '127.0.0.2', other);
    h.commit({ op: 'node.remove', at: T0, id: W1 });
    assert.ok(sink.ended);
    assert.equal(sink.ended.code, 'PERMISSION_DENIED');
    assert.match(sink.ended.message, new RegExp(`node ${W1} has been removed from the swarm`));
    assert.equal(other.ended, undefined);
    assert.throws(() => h.dispatcher.heartbeat(W1, s1), isTswarm('NOT_FOUND'));
  });

  it('pushes the node to its session when the node changes, not when another does', async () => {
    const h = start([
      [W1, {}],
      [W2, {}],
    ]);
    const sink = new RecordingSink();
    await h.dispatcher.openSession(W1, undefined, '127.0.0.1', sink);
    const before = sink.pushed.length;
    h.commit({ op: 'node.update-spec', at: T0, id: W1, availability: 'drain' });
    assert.equal(sink.pushed.length, before + 1);
    assert.equal(sink.pushed.at(-1)?.Spec.Availability, 'drain');
    h.commit({ op: 'node.set-status', at: T0, updates: [{ id: W2, state: 'down' }] });
    assert.equal(sink.pushed.length, before + 1);
  });

  it('a worker joining or a task write reaches only the sessions it concerns; a manager change reaches all', async () => {
    const W3 = 'worker3000000000000000000';
    const h = start([
      [W1, {}],
      [W2, {}],
    ]);
    const sinks = new Map([
      [W1, new AssignmentSink()],
      [W2, new AssignmentSink()],
    ]);
    for (const [id, sink] of sinks)
      await h.dispatcher.openSession(id, undefined, '127.0.0.1', sink);
    const counts = (): number[] => [...sinks.values()].map((x) => x.pushes);
    const base = counts();
    h.commit({ op: 'node.create', at: T0, node: makeNode(W3) });
    h.commit({
      op: 'node.update-description',
      at: T0,
      id: W3,
      description: makeNode(W3).Description,
    });
    assert.deepEqual(counts(), base, 'another worker joining is not pushed to anyone');
    h.commit({ op: 'task.create', at: T0, tasks: [makeAssignedTask('t1', W2)] });
    assert.deepEqual(counts(), [base[0], (base[1] ?? 0) + 1], 'only W2 hears of its task');
    assert.deepEqual(sinks.get(W2)?.last, ['t1']);
    h.commit({ op: 'task.remove', at: T0, ids: ['t1'] });
    assert.deepEqual(counts(), [base[0], (base[1] ?? 0) + 2], 'W2 hears that its task is gone');
    assert.deepEqual(sinks.get(W2)?.last, []);
    h.commit({
      op: 'node.set-manager',
      at: T0,
      id: W2,
      manager: { addr: '127.0.0.2:2377', reachability: 'reachable' },
    });
    assert.deepEqual(
      counts(),
      [(base[0] ?? 0) + 1, (base[1] ?? 0) + 3],
      'the manager list changed',
    );
  });

  it('a status the agent reported is not pushed back; a desired-state change is', async () => {
    const h = start([[W1, {}]]);
    const sink = new AssignmentSink();
    await h.dispatcher.openSession(W1, undefined, '127.0.0.1', sink);
    h.commit({ op: 'task.create', at: T0, tasks: [makeAssignedTask('t1', W1)] });
    const base = sink.pushes;
    const status = (state: 'accepted' | 'running') => ({
      op: 'task.update' as const,
      at: T0,
      updates: [{ id: 't1', status: { Timestamp: T0, State: state, Message: state } }],
    });
    h.commit(status('accepted'));
    h.commit(status('running'));
    assert.equal(sink.pushes, base, 'observed states stay with the manager');
    h.commit({ op: 'task.update', at: T0, updates: [{ id: 't1', desiredState: 'shutdown' }] });
    assert.equal(sink.pushes, base + 1);
  });

  it('a replaced session closing late does not take its successor off the node', async () => {
    const h = start([[W1, {}]]);
    const s1 = await h.dispatcher.openSession(W1, undefined, '127.0.0.1', new RecordingSink());
    const next = new AssignmentSink();
    await h.dispatcher.openSession(W1, undefined, '127.0.0.1', next);
    h.dispatcher.closeSession(s1);
    h.commit({ op: 'task.create', at: T0, tasks: [makeAssignedTask('t1', W1)] });
    assert.deepEqual(next.last, ['t1'], 'the new session still hears of its node’s tasks');
  });

  it('stop ends every session with NOT_LEADER', async () => {
    const h = start([[W1, {}]]);
    const sink = new RecordingSink();
    await h.dispatcher.openSession(W1, undefined, '127.0.0.1', sink);
    h.dispatcher.stop();
    assert.equal(sink.ended?.code, 'NOT_LEADER');
  });
});

describe('dispatcher heartbeats', () => {
  it('heartbeats keep a node Ready well past 3 periods', async () => {
    const h = start([[W1, {}]]);
    const s = await h.dispatcher.openSession(W1, undefined, '127.0.0.1', new RecordingSink());
    for (let i = 0; i < 10; i++) {
      h.clock.advance(PERIOD);
      h.dispatcher.heartbeat(W1, s);
    }
    await h.checkRan();
    assert.equal(h.state(W1), 'ready');
    assert.deepEqual(
      h.proposals.filter(
        (p) => p.op === 'node.set-status' && p.updates.some((u) => u.state === 'down'),
      ),
      [],
    );
  });

  it('a check that runs late (the leader stalled) skips one round instead of marking nodes Down', async () => {
    const h = start([[W1, {}]]);
    const s = await h.dispatcher.openSession(W1, undefined, '127.0.0.1', new RecordingSink());
    await h.checkRan();
    // The leader's event loop was blocked for 4 periods: W1's heartbeat is queued behind the
    // check that comes first.
    h.clock.advance(4 * PERIOD);
    const from = h.clock.reads;
    // One check (it reads the clock once, and a skipped one ends without waiting on anything).
    await waitFor('the late check', () => h.clock.reads > from, 5_000, 1);
    assert.equal(h.state(W1), 'ready', 'not blamed for the stall');
    // Then the queued heartbeat is handled, before the next check.
    h.dispatcher.heartbeat(W1, s);
    await h.checkRan();
    assert.equal(h.state(W1), 'ready');
    // A node silent for real is still marked Down, one round later.
    h.clock.advance(3 * PERIOD + 1);
    await h.waitState(W1, 'down');
  });

  it('exactly 3 periods of silence is still Ready; more is Down with "heartbeat failure"', async () => {
    const h = start([
      [W1, {}],
      [W2, {}],
    ]);
    await h.dispatcher.openSession(W1, undefined, '127.0.0.1', new RecordingSink());
    const s2 = await h.dispatcher.openSession(W2, undefined, '127.0.0.2', new RecordingSink());
    h.clock.advance(3 * PERIOD);
    h.dispatcher.heartbeat(W2, s2);
    await h.checkRan();
    assert.equal(h.state(W1), 'ready');
    h.clock.advance(1);
    await h.waitState(W1, 'down');
    assert.deepEqual(h.store.node(W1)?.Status, {
      State: 'down',
      Addr: '127.0.0.1',
      Message: 'heartbeat failure',
    });
    assert.equal(h.state(W2), 'ready', 'the node that beat stays Ready');
  });

  it('marks several silent nodes Down in one write, and never re-marks a Down node', async () => {
    const h = start([
      [W1, {}],
      [W2, {}],
    ]);
    await h.dispatcher.openSession(W1, undefined, '127.0.0.1', new RecordingSink());
    await h.dispatcher.openSession(W2, undefined, '127.0.0.2', new RecordingSink());
    h.clock.advance(3 * PERIOD + 1);
    await h.waitState(W2, 'down');
    await h.checkRan();
    const downs = h.proposals.filter(
      (p) => p.op === 'node.set-status' && p.updates[0]?.state === 'down',
    );
    assert.equal(downs.length, 1);
    assert.deepEqual(downs[0]?.op === 'node.set-status' && downs[0].updates.map((u) => u.id), [
      W1,
      W2,
    ]);
    assert.equal(h.state(W1), 'down');
  });

  it('a new dispatcher gives every node 3 periods plus the reconnect grace from its start', async () => {
    const h = start([
      [W1, { state: 'ready' }],
      [W2, { state: 'unknown' }],
    ]);
    h.clock.advance(3 * PERIOD + RECONNECT_GRACE_MS);
    await h.checkRan();
    assert.equal(h.state(W1), 'ready');
    assert.equal(h.state(W2), 'unknown');
    h.clock.advance(1);
    await h.waitState(W1, 'down');
    await h.waitState(W2, 'down');
  });

  it('a node that reconnects after being marked Down is Ready again', async () => {
    const h = start([[W1, {}]]);
    await h.dispatcher.openSession(W1, undefined, '127.0.0.1', new RecordingSink());
    h.clock.advance(3 * PERIOD + 1);
    await h.waitState(W1, 'down');
    await h.dispatcher.openSession(W1, undefined, '127.0.0.1', new RecordingSink());
    assert.deepEqual(h.store.node(W1)?.Status, { State: 'ready', Addr: '127.0.0.1' });
  });

  it('marking a node Down ends its session, so the agent re-opens one and the node comes back', async () => {
    // A leader that stalls past the limit marks a still-connected node Down. If the old
    // session lived on, the agent's heartbeats would keep succeeding and the node would stay
    // Down for good: its session must end (and its heartbeats be refused) instead.
    const h = start([[W1, {}]]);
    const sink = new RecordingSink();
    const s = await h.dispatcher.openSession(W1, undefined, '127.0.0.1', sink);
    h.clock.advance(3 * PERIOD + 1);
    await h.waitState(W1, 'down');
    assert.ok(sink.ended, 'the session of a node marked Down is ended');
    assert.throws(() => h.dispatcher.heartbeat(W1, s), isTswarm('NOT_FOUND'));
  });

  it('a node created after the dispatcher started gets its grace from its creation', async () => {
    // A node joins long after the leader took over; it is in the store before its agent
    // dials in. It must not be marked Down before it has had 3 periods to open a session.
    const h = start([[W1, {}]]);
    const s1 = await h.dispatcher.openSession(W1, undefined, '127.0.0.1', new RecordingSink());
    h.clock.advance(10 * PERIOD);
    h.dispatcher.heartbeat(W1, s1);
    h.commit({ op: 'node.create', at: T0, node: makeNode(W2, { state: 'unknown' }) });
    await h.checkRan();
    assert.equal(h.state(W2), 'unknown');
    h.clock.advance(3 * PERIOD + 1);
    await h.waitState(W2, 'down');
  });

  it('a session closed by a dead agent marks its node Down after one period, not three', async () => {
    const h = start([
      [W1, {}],
      [W2, {}],
    ]);
    const s1 = await h.dispatcher.openSession(W1, undefined, '127.0.0.1', new RecordingSink());
    const s2 = await h.dispatcher.openSession(W2, undefined, '127.0.0.2', new RecordingSink());
    h.dispatcher.closeSession(s1);
    h.clock.advance(PERIOD);
    h.dispatcher.heartbeat(W2, s2);
    await h.checkRan();
    assert.equal(h.state(W1), 'ready', 'one period is still the grace of a reconnect');
    h.clock.advance(1);
    await h.waitState(W1, 'down');
    assert.equal(h.store.node(W1)?.Status.Message, 'heartbeat failure');
    assert.equal(h.state(W2), 'ready');
  });

  it('an agent that said it was stopping keeps the three periods after its session closes', async () => {
    const h = start([[W1, {}]]);
    const s1 = await h.dispatcher.openSession(W1, undefined, '127.0.0.1', new RecordingSink());
    h.dispatcher.heartbeat(W1, s1, true);
    h.dispatcher.closeSession(s1);
    h.clock.advance(3 * PERIOD);
    await h.checkRan();
    assert.equal(h.state(W1), 'ready', 'a restart gets the same grace as silence');
    h.clock.advance(1);
    await h.waitState(W1, 'down');
  });

  it('a session that closes and re-opens within the period leaves the node Ready', async () => {
    const h = start([[W1, {}]]);
    const s1 = await h.dispatcher.openSession(W1, undefined, '127.0.0.1', new RecordingSink());
    h.dispatcher.closeSession(s1);
    h.clock.advance(PERIOD / 2);
    await h.dispatcher.openSession(W1, undefined, '127.0.0.1', new RecordingSink());
    h.clock.advance(2 * PERIOD);
    await h.checkRan();
    assert.equal(h.state(W1), 'ready');
    assert.ok(
      !h.proposals.some((p) => p.op === 'node.set-status' && p.updates[0]?.state === 'down'),
    );
  });

  it('a closed session replaced by a newer one is not read as a crash', async () => {
    const h = start([[W1, {}]]);
    const s1 = await h.dispatcher.openSession(W1, undefined, '127.0.0.1', new RecordingSink());
    await h.dispatcher.openSession(W1, undefined, '127.0.0.1', new RecordingSink());
    h.dispatcher.closeSession(s1);
    h.clock.advance(2 * PERIOD);
    await h.checkRan();
    assert.equal(h.state(W1), 'ready');
  });

  it('a new leader gives a manager Raft cannot reach 3 periods, without the reconnect grace', async () => {
    // The old leader's own node: its agent died with it and is not out looking for the new
    // leader, so the reconnect grace would only delay its tasks' replacement.
    const M2 = 'manager200000000000000000';
    const M3 = 'manager300000000000000000';
    const h = start([
      [M2, { manager: { addr: '127.0.0.2:2377', reachability: 'unreachable' } }],
      [M3, { manager: { addr: '127.0.0.3:2377', reachability: 'reachable' } }],
      [W1, {}],
    ]);
    h.clock.advance(3 * PERIOD);
    await h.checkRan();
    assert.equal(h.state(M2), 'ready');
    h.clock.advance(1);
    await h.waitState(M2, 'down');
    assert.equal(h.state(M3), 'ready', 'a reachable manager gets the whole grace');
    assert.equal(h.state(W1), 'ready', 'so does a worker');
  });

  it('a manager that stops cleanly keeps its three periods even once Raft finds it unreachable', async () => {
    const M2 = 'manager200000000000000000';
    const h = start([[M2, { manager: { addr: '127.0.0.2:2377', reachability: 'reachable' } }]]);
    const s = await h.dispatcher.openSession(M2, undefined, '127.0.0.2', new RecordingSink());
    h.dispatcher.heartbeat(M2, s, true);
    h.dispatcher.closeSession(s);
    h.commit({
      op: 'node.set-reachability',
      at: T0,
      updates: [{ id: M2, reachability: 'unreachable' }],
    });
    h.clock.advance(3 * PERIOD);
    await h.checkRan();
    assert.equal(h.state(M2), 'ready', 'a restarting manager is not moved off at once');
  });

  it('after stop, store changes no longer reach old sessions', async () => {
    const h = start([[W1, {}]]);
    const sink = new RecordingSink();
    await h.dispatcher.openSession(W1, undefined, '127.0.0.1', sink);
    h.dispatcher.stop();
    const pushed = sink.pushed.length;
    h.commit({ op: 'node.update-spec', at: T0, id: W1, availability: 'pause' });
    h.commit({ op: 'node.remove', at: T0, id: W1 });
    assert.equal(sink.pushed.length, pushed);
    assert.equal(sink.endedCount, 1, 'ended once, by stop');
  });
});
