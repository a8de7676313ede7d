import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { StateMachine } from '../../../src/daemon/raft/driver.js';
import type { Entry } from '../../../src/raft/index.js';
import { seededRandom } from '../../helpers/prng.js';
import {
  decodeCommand,
  EMPTY_HASH,
  encodeCommand,
  kvModel,
  KvStore,
  type KvOperation,
} from '../../sim/kv.js';
import { checkOperations, describeHistory } from '../../sim/linearizability.js';
import { waitFor } from '../../helpers/wait.js';
import { TestCluster } from './cluster.js';

// The simulator's linearizability check, now over the real thing: three RaftDrivers over
// GrpcTransport with fsync, writes proposed on the leader, reads served by ReadIndex on any
// member (followers included) and then read from that member's own state machine, while the
// leader is stopped and restarted under the load.

class KvFsm implements StateMachine {
  store = new KvStore();
  apply(e: Entry): unknown {
    return this.store.apply(decodeCommand(e.data));
  }
  snapshot(): Uint8Array {
    return this.store.encode(EMPTY_HASH);
  }
  restore(data: Uint8Array): void {
    this.store = KvStore.decode(data).store;
  }
}

describe('RaftDriver: linearizable reads and writes over gRPC, through a leader restart', () => {
  const c = new TestCluster<KvFsm>({}, () => new KvFsm());
  after(async () => {
    await c.cleanup();
  });

  it('a history of puts, appends and ReadIndex reads on every member is linearizable', async () => {
    for (const n of [1, 2, 3]) await c.add(n);
    const voters = c.peers();
    await Promise.all(['n1', 'n2', 'n3'].map((id) => c.open(id, { bootstrapVoters: voters })));
    await c.waitLeader();

    const rnd = seededRandom(20261202);
    const keys = ['a', 'b', 'c'];
    // One logical clock for every call and return: distinct, in real-time order.
    let clock = 0;
    const history: KvOperation[] = [];
    let nextId = 0;
    let stop = false;
    let refused = 0;

    const client = async (clientId: number): Promise<void> => {
      while (!stop) {
        const key = keys[Math.floor(rnd() * keys.length)] ?? 'a';
        const r = rnd();
        const op = r < 0.4 ? 'get' : r < 0.7 ? 'put' : 'append';
        const value = op === 'get' ? '' : `${clientId}.${nextId++};`;
        const call = ++clock;
        if (op === 'get') {
          const running = c.running();
          const m = running[Math.floor(rnd() * running.length)];
          if (!m?.driver) continue;
          try {
            await m.driver.readBarrier(1_000);
          } catch {
            refused++; // no effect: a read that was not served
            continue;
          }
          history.push({
            clientId,
            input: { op, key, value },
            call,
            output: m.fsm.store.get(key),
            return: ++clock,
          });
        } else {
          const leader = c.running().find((m) => m.driver?.isLeader());
          if (!leader?.driver) {
            await new Promise((res) => setTimeout(res, 20));
            continue;
          }
          try {
            await leader.driver.propose(encodeCommand({ id: nextId, op, key, value }), 1_000);
            history.push({
              clientId,
              input: { op, key, value },
              call,
              output: '',
              return: ++clock,
            });
          } catch {
            // Maybe committed, maybe not: the outcome is unknown.
            history.push({
              clientId,
              input: { op, key, value },
              call,
              output: null,
              return: Infinity,
            });
          }
        }
      }
    };

    const clients = [0, 1, 2, 3].map((id) => client(id));
    await new Promise((res) => setTimeout(res, 1_500));
    const leader = await c.waitLeader();
    await c.stop(leader);
    await waitFor('a new leader', () => c.running().some((m) => m.driver?.isLeader()), 10_000);
    await new Promise((res) => setTimeout(res, 1_500));
    await c.restart(leader);
    await new Promise((res) => setTimeout(res, 1_500));
    stop = true;
    await Promise.all(clients);

    const reads = history.filter((h) => h.input.op === 'get').length;
    const writes = history.length - reads;
    assert.ok(reads > 50 && writes > 50, `too little load: ${reads} reads, ${writes} writes`);
    const report = checkOperations(kvModel, history);
    process.stdout.write(
      `# linearizability over gRPC: ${reads} reads, ${writes} writes, ${refused} reads refused, ${report.steps} search steps: ${report.result}\n`,
    );
    assert.equal(
      report.result,
      'ok',
      report.operations ? describeHistory(kvModel, report.operations as KvOperation[]) : '',
    );
  });
});
