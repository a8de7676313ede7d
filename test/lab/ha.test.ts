import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { requireDocker } from '../helpers/procs.js';
import {
  labNodes,
  labOk,
  leaderName,
  tswarm,
  tswarmOk,
  waitLabNodes,
  withLabDiagnostics,
} from '../helpers/lab.js';
import { waitFor } from '../helpers/wait.js';

const NO_LEADER =
  "The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.";
const SLEEPER = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'];

function running(
  rows: readonly { DesiredState?: string; CurrentState?: string; Node?: string }[],
): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rows) {
    if (r.DesiredState === 'Running' && r.CurrentState?.startsWith('Running'))
      m.set(r.Node ?? '', (m.get(r.Node ?? '') ?? 0) + 1);
  }
  return m;
}

async function psRows(
  via: string,
  service: string,
): Promise<{ Name: string; Node: string; DesiredState: string; CurrentState: string }[]> {
  const out = await tswarmOk(via, ['service', 'ps', '--format', 'json', service]);
  return out
    .split('\n')
    .filter(Boolean)
    .map(
      (l) =>
        JSON.parse(l) as { Name: string; Node: string; DesiredState: string; CurrentState: string },
    );
}

describe('lab scenario 1: two managers, kill the leader', () => {
  before(async () => {
    requireDocker();
    await labOk(['down']);
    await labOk(['up', '--nodes', '2', '--managers', '2', '--no-demo']);
  });
  after(async () => {
    await labOk(['down']);
  });

  it('the survivor answers with the no-leader error; restarted, the survivor leads and the old one is Reachable', async () => {
    const ns = await waitLabNodes(
      'node1',
      'two managers',
      (x) => x.length === 2 && x.every((n) => n.ManagerStatus?.Reachability === 'reachable'),
    );
    const leader = leaderName(ns);
    assert.ok(leader);
    const survivor = leader === 'node1' ? 'node2' : 'node1';
    await labOk(['kill', leader]);
    const r = await waitFor(
      'no-leader error',
      async () => {
        const x = await tswarm(survivor, ['node', 'ls']);
        return x.code !== 0 && x.stderr.includes(NO_LEADER) ? x : undefined;
      },
      20_000,
    );
    assert.match(r.stderr, /Error response from daemon: The swarm does not have a leader/);
    await labOk(['start', leader]);
    await waitLabNodes(
      survivor,
      'a leader again and both reachable',
      (x) =>
        Boolean(leaderName(x)) && x.every((n) => n.ManagerStatus?.Reachability === 'reachable'),
      30_000,
    );
  });
});

describe('lab scenarios 2-5: three managers', () => {
  before(async () => {
    requireDocker();
    await labOk(['down']);
    await labOk(['up', '--nodes', '3', '--managers', '3', '--no-demo']);
    await waitLabNodes(
      'node1',
      '3 ready managers',
      (x) =>
        x.length === 3 &&
        x.every((n) => n.Status.State === 'ready' && n.ManagerStatus?.Reachability === 'reachable'),
      30_000,
    );
  });
  after(async () => {
    await labOk(['down']);
  });
  // Each scenario starts from a whole lab, whatever the previous one left behind.
  beforeEach(async () => {
    await labOk(['start-all']);
    await labOk(['heal']);
    await waitLabNodes(
      'node1',
      'all nodes ready',
      (x) => x.length >= 3 && x.every((n) => n.Status.State === 'ready') && Boolean(leaderName(x)),
      60_000,
    );
  });

  it('2: kill the leader node: new leader, old one Down/Unreachable, slot rescheduled; back: Reachable, history, no move back; --force rebalances', async () => {
    await tswarmOk('node1', [
      'service',
      'create',
      '--name',
      'app',
      '--replicas',
      '3',
      '--max-replicas-per-node',
      '2',
      'tswarm/busybox:1',
      ...SLEEPER,
    ]);
    let ns = await labNodes('node1');
    const leader = leaderName(ns);
    assert.ok(leader);
    const other = ['node1', 'node2', 'node3'].find((n) => n !== leader) ?? 'node1';
    const t0 = Date.now();
    await labOk(['kill', leader]);
    ns = await waitLabNodes(
      other,
      'new leader',
      (x) => Boolean(leaderName(x)) && leaderName(x) !== leader,
      20_000,
    );
    const failoverMs = Date.now() - t0;
    await waitLabNodes(
      other,
      'old leader Down and Unreachable',
      (x) => {
        const old = x.find((n) => n.Description.Hostname === leader);
        return old?.Status.State === 'down' && old.ManagerStatus?.Reachability === 'unreachable';
      },
      20_000,
    );
    await waitFor(
      '3 running on survivors',
      async () => {
        const m = running(await psRows(other, 'app'));
        return !m.has(leader) && [...m.values()].reduce((a, b) => a + b, 0) === 3;
      },
      20_000,
    );
    const rescheduleMs = Date.now() - t0;
    process.stdout.write(
      `# lab timings: failover ${failoverMs} ms, reschedule ${rescheduleMs} ms\n`,
    );
    await labOk(['start', leader]);
    await waitLabNodes(
      other,
      'old leader Reachable and Ready again',
      (x) => {
        // Ready too: its agent session must be back before --force can place tasks on it.
        const old = x.find((n) => n.Description.Hostname === leader);
        return old?.ManagerStatus?.Reachability === 'reachable' && old.Status.State === 'ready';
      },
      40_000,
    );
    const rows = await psRows(other, 'app');
    assert.ok(
      rows.some((r) => r.Name.includes('\\_') && r.Node === leader),
      'old task shows in history',
    );
    assert.ok(!running(rows).has(leader), 'tasks are not moved back by themselves');
    await tswarmOk(other, ['service', 'update', '--force', 'app']);
    let seen: unknown = [];
    try {
      await waitFor(
        'rebalanced onto all three',
        async () => {
          const now = await psRows(other, 'app');
          seen = now;
          return running(now).size === 3;
        },
        40_000,
      );
    } catch (err) {
      // Say what the cluster looked like, so a miss can be told apart from a slow one.
      process.stdout.write(`# service ps app at the deadline: ${JSON.stringify(seen)}\n`);
      process.stdout.write(`# node ls: ${JSON.stringify(await labNodes(other))}\n`);
      const inspect = await tswarm(other, ['service', 'inspect', 'app']);
      process.stdout.write(`# service inspect app: ${inspect.stdout.replace(/\s+/g, ' ')}\n`);
      throw err;
    }
    await tswarmOk(other, ['service', 'rm', 'app']);
  });

  it('3: partition one manager: the majority works, the minority refuses writes; heal: converges, nothing lost', async () => {
    const ns = await labNodes('node1');
    const leader = leaderName(ns) ?? 'node1';
    const minority = ['node1', 'node2', 'node3'].find((n) => n !== leader) ?? 'node3';
    await labOk(['partition', minority]);
    await tswarmOk(leader, ['node', 'update', '--label-add', 'during=partition', leader]);
    const w = await waitFor(
      'minority refuses writes',
      async () => {
        const r = await tswarm(minority, ['node', 'update', '--label-add', 'x=y', minority]);
        return r.code !== 0 ? r : undefined;
      },
      20_000,
    );
    assert.ok(w.stderr.length > 0);
    await labOk(['heal']);
    await waitLabNodes(
      minority,
      'minority sees the majority write',
      (x) =>
        x.find((n) => n.Description.Hostname === leader)?.Spec.Labels['during'] === 'partition',
      30_000,
    );
    const after2 = await labNodes(minority);
    assert.equal(
      after2.find((n) => n.Description.Hostname === minority)?.Spec.Labels['x'],
      undefined,
      'the refused write did not happen',
    );
  });

  it('4: drain moves tasks; pause stops new placements; demote/promote round trip under load', async () => {
    await tswarmOk('node1', [
      'service',
      'create',
      '--name',
      'load',
      '--replicas',
      '6',
      'tswarm/busybox:1',
      ...SLEEPER,
    ]);
    await tswarmOk('node1', ['node', 'update', '--availability', 'drain', 'node3']);
    await waitFor(
      'node3 drained',
      async () => !running(await psRows('node1', 'load')).has('node3'),
      30_000,
    );
    await tswarmOk('node1', ['node', 'update', '--availability', 'pause', 'node2']);
    await tswarmOk('node1', ['service', 'scale', 'load=8']);
    const m = running(await psRows('node1', 'load'));
    assert.equal(m.get('node1'), 8 - (m.get('node2') ?? 0));
    assert.ok((m.get('node2') ?? 0) <= 3, 'no new tasks on a paused node');
    await tswarmOk('node1', ['node', 'update', '--availability', 'active', 'node2']);
    await tswarmOk('node1', ['node', 'update', '--availability', 'active', 'node3']);
    await tswarmOk('node1', ['node', 'demote', 'node3']);
    await waitLabNodes(
      'node1',
      'node3 a worker',
      (x) => x.find((n) => n.Description.Hostname === 'node3')?.ManagerStatus === undefined,
      30_000,
    );
    await tswarmOk('node1', ['node', 'promote', 'node3']);
    await withLabDiagnostics('node1', ['node3'], () =>
      waitLabNodes(
        'node1',
        'node3 reachable manager',
        (x) =>
          x.find((n) => n.Description.Hostname === 'node3')?.ManagerStatus?.Reachability ===
          'reachable',
        40_000,
      ),
    );
    assert.equal(
      [...running(await psRows('node1', 'load')).values()].reduce((a, b) => a + b, 0),
      8,
    );
  });

  it('5: reboot the whole lab: cluster, services and tasks come back by themselves', async () => {
    await labOk(['stop-all']);
    await labOk(['start-all']);
    await waitLabNodes(
      'node1',
      'all three ready with a leader',
      (x) => x.length === 3 && Boolean(leaderName(x)) && x.every((n) => n.Status.State === 'ready'),
      90_000,
    );
    await waitFor(
      '8 tasks running again',
      async () =>
        [...running(await psRows('node1', 'load')).values()].reduce((a, b) => a + b, 0) === 8,
      90_000,
    );
  });
});
