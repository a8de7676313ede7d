import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ClusterNode, waitNodes, formManagers } from '../../helpers/cluster.js';
import { docker, removeTswarmContainers, tswarmContainers } from '../../helpers/docker.js';
import { requireDocker, TEST_IMAGE, TSWARM } from '../../helpers/procs.js';
import { waitFor } from '../../helpers/wait.js';

/** A command that exits promptly on SIGTERM (busybox sleep as PID 1 ignores it). */
const SLEEPER = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'];

describe('services on real containers, three daemons sharing one engine', () => {
  const n1 = new ClusterNode('svc1', '127.0.0.11');
  const n2 = new ClusterNode('svc2', '127.0.0.12');
  const n3 = new ClusterNode('svc3', '127.0.0.13');
  /** A worker that joins in the global-mode test. */
  const n4 = new ClusterNode('svc4', '127.0.0.14');
  const nodes = [n1, n2, n3];
  const ids = new Map<string, string>();

  /** Running containers of a service per node name. */
  function spread(service: string): Map<string, number> {
    const m = new Map<string, number>();
    for (const c of tswarmContainers(service)) {
      if (!c.running) continue;
      const node = [...ids].find(([, id]) => id === c.labels['com.tswarm.node.id'])?.[0] ?? '?';
      m.set(node, (m.get(node) ?? 0) + 1);
    }
    return m;
  }

  before(async () => {
    requireDocker();
    removeTswarmContainers();
    await formManagers(nodes);
    for (const n of nodes) ids.set(n.name, await n.nodeId());
  });
  after(async () => {
    await Promise.all([...nodes, n4].map((n) => n.cleanup()));
    docker('rm', '-f', 'tswarm-test-foreign');
    removeTswarmContainers();
  });

  it("creates 6 replicas spread 2/2/2 and shows Docker's converge progress", async () => {
    const out = await n1.ok([
      'service',
      'create',
      '--name',
      'web',
      '--replicas',
      '6',
      TEST_IMAGE,
      ...SLEEPER,
    ]);
    assert.match(out, /overall progress: 6 out of 6 tasks/);
    assert.match(out, /verify: Service converged/);
    const s = spread('web');
    assert.deepEqual([...s.values()].sort(), [2, 2, 2], JSON.stringify([...s]));
    const ls = await n2.ok(['service', 'ls']);
    assert.match(ls, /web\s+replicated\s+6\/6\s+tswarm\/busybox:1/);
  });

  it('node ps lists the tasks of the node asked (default self), like service ps', async () => {
    const rows = (out: string): string[] => out.split('\n').slice(1).filter(Boolean);
    const own = await n2.ok(['node', 'ps']);
    assert.match(
      own.split('\n')[0] ?? '',
      /^ID\s+NAME\s+IMAGE\s+NODE\s+DESIRED STATE\s+CURRENT STATE\s+ERROR\s+PORTS/,
    );
    assert.equal(rows(own).length, 2, own);
    for (const r of rows(own))
      assert.match(r, /web\.\d+\s+tswarm\/busybox:1\s+svc2\s+Running\s+Running/);
    const two = await n1.ok(['node', 'ps', 'svc1', 'svc3']);
    assert.equal(rows(two).length, 4, two);
    assert.ok(
      rows(two).every((r) => /\s(svc1|svc3)\s/.test(r)),
      two,
    );
    const ids = (await n1.ok(['node', 'ps', '-q', 'svc3'])).split('\n').filter(Boolean);
    assert.equal(ids.length, 2);
    const slot = /web\.(\d+)/.exec(rows(own)[0] ?? '')?.[1];
    const one = await n1.ok(['node', 'ps', '--filter', `name=web.${slot ?? ''}`, 'svc2']);
    assert.equal(rows(one).length, 1, one);
    const bad = await n1.fails(['node', 'ps', 'svc2', 'nosuch']);
    assert.equal(rows(bad.stdout).length, 2, 'what was found is still printed');
    assert.match(bad.stderr, /node nosuch not found/);
    const badFilter = await n1.fails(['node', 'ps', '--filter', 'service=web']);
    assert.match(badFilter.stderr, /invalid filter 'service'/);
  });

  it('replaces a container killed with docker kill, and shows the failure in history', async () => {
    const victim = tswarmContainers('web').find((c) => c.running);
    assert.ok(victim);
    const slot = victim.labels['com.tswarm.task.slot'];
    docker('kill', victim.id);
    await waitFor(
      'slot replaced',
      async () => {
        const ps = await n1.ok(['service', 'ps', 'web']);
        const rows = ps
          .split('\n')
          .filter((l) => l.includes(`web.${slot} `) || l.includes(`\\_ web.${slot} `));
        return rows.length >= 2 &&
          /Running/.test(rows[0] ?? '') &&
          /Failed|Shutdown/.test(rows[1] ?? '')
          ? ps
          : undefined;
      },
      15_000,
    );
    const ps = await n1.ok(['service', 'ps', 'web']);
    assert.match(ps, /\\_ web\.\d+/);
    assert.match(ps, /"task: non-zero exit \(137\)"/);
  });

  it('scales 6 → 20 → 0', async () => {
    await n1.ok(['service', 'scale', 'web=20']);
    assert.equal(tswarmContainers('web').filter((c) => c.running).length, 20);
    await n1.ok(['service', 'scale', 'web=0']);
    await waitFor(
      'no running containers',
      () => tswarmContainers('web').filter((c) => c.running).length === 0,
      20_000,
    );
    assert.match(await n1.ok(['service', 'ls']), /web\s+replicated\s+0\/0/);
    await n1.ok(['service', 'rm', 'web']);
    await waitFor('containers removed', () => tswarmContainers('web').length === 0, 20_000);
  });

  it('honours constraints and node labels', async () => {
    await n1.ok(['node', 'update', '--label-add', 'disk=ssd', 'svc2']);
    await n1.ok([
      'service',
      'create',
      '--name',
      'pinned',
      '--replicas',
      '3',
      '--constraint',
      'node.labels.disk==ssd',
      TEST_IMAGE,
      ...SLEEPER,
    ]);
    assert.deepEqual([...spread('pinned')], [['svc2', 3]]);
    await n1.ok([
      'service',
      'create',
      '-d',
      '--name',
      'nowhere',
      '--constraint',
      'node.labels.disk==nvme',
      TEST_IMAGE,
      ...SLEEPER,
    ]);
    const ps = await waitFor('pending with explanation', async () => {
      const p = await n1.ok(['service', 'ps', '--no-trunc', 'nowhere']);
      return /Pending/.test(p) &&
        /no suitable node \(scheduling constraints not satisfied on 3 nodes\)/.test(p)
        ? p
        : undefined;
    });
    assert.ok(ps);
    // Swarm leaves it stuck; we retry when nodes change.
    await n1.ok(['node', 'update', '--label-add', 'disk=nvme', 'svc3']);
    await waitFor(
      'placed once a node matches',
      () => (spread('nowhere').get('svc3') ?? 0) === 1,
      10_000,
    );
    await n1.ok(['service', 'rm', 'pinned', 'nowhere']);
  });

  it('service logs gathers the lines of every task from the nodes that run them', async () => {
    const talker = [
      'sh',
      '-c',
      'trap "exit 0" TERM; echo oops >&2; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2 & wait; done',
    ];
    await n1.ok(['service', 'create', '--name', 'talk', '--replicas', '3', TEST_IMAGE, ...talker]);
    const line = /^talk\.(\d)\.([0-9a-z]{12})@(svc\d)\s+\| (.*)$/;
    const parse = (out: string) =>
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const m = line.exec(l);
          assert.ok(m, `not a service logs line: ${JSON.stringify(l)}`);
          return { slot: m[1], node: m[3], text: m[4] ?? '' };
        });
    // Every task has printed a few lines by now.
    const all = await waitFor('three tasks with 3 ticks each', async () => {
      const rows = parse(await n2.ok(['service', 'logs', 'talk']));
      const ticks = rows.filter((r) => /^tick 3$/.test(r.text));
      return ticks.length === 3 ? rows : undefined;
    });
    assert.deepEqual([...new Set(all.map((r) => r.node))].sort(), ['svc1', 'svc2', 'svc3']);
    assert.deepEqual([...new Set(all.map((r) => r.slot))].sort(), ['1', '2', '3']);

    const both = await n3.cli(['service', 'logs', 'talk']);
    assert.equal(both.code, 0, both.stderr);
    assert.equal(parse(both.stderr).filter((r) => r.text === 'oops').length, 3, 'stderr lines');
    assert.ok(!both.stdout.includes('oops'), 'stderr lines are not on stdout');

    const tail = parse(await n1.ok(['service', 'logs', '--tail', '1', 'talk']));
    assert.equal(tail.length, 3, JSON.stringify(tail));
    assert.ok(tail.every((r) => /^tick \d+$/.test(r.text)));

    const stamped = parse(await n1.ok(['service', 'logs', '-t', '--tail', '1', 'talk']));
    for (const r of stamped)
      assert.match(r.text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z tick \d+$/);

    const bare = (await n1.ok(['service', 'logs', '--no-task-ids', '--tail', '1', 'talk']))
      .split('\n')
      .filter(Boolean);
    assert.ok(
      bare.every((l) => /^talk\.\d@svc\d\s+\| tick \d+$/.test(l)),
      bare.join('\n'),
    );
    const raw = (await n1.ok(['service', 'logs', '--raw', '--tail', '1', 'talk']))
      .split('\n')
      .filter(Boolean);
    assert.ok(
      raw.every((l) => /^tick \d+$/.test(l)),
      raw.join('\n'),
    );

    // -f: lines printed after the call started arrive while it runs.
    const follow = spawn(
      process.execPath,
      [TSWARM, '-H', n1.host, 'service', 'logs', '-f', '--tail', '1', 'talk'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let followed = '';
    follow.stdout.on('data', (d: Buffer) => (followed += d.toString()));
    try {
      const first = new Map<string, number>();
      await waitFor('three first lines', () => {
        for (const r of parse(followed.split('\n').slice(0, -1).join('\n')))
          if (!first.has(r.slot ?? '')) first.set(r.slot ?? '', Number(r.text.split(' ')[1]));
        return first.size === 3;
      });
      await waitFor('each task streams 5 more ticks', () => {
        const last = new Map<string, number>();
        for (const r of parse(followed.split('\n').slice(0, -1).join('\n')))
          last.set(r.slot ?? '', Number(r.text.split(' ')[1]));
        return [...first].every(([slot, n]) => (last.get(slot) ?? 0) >= n + 5);
      });
    } finally {
      follow.kill();
    }

    const missing = await n1.fails(['service', 'logs', 'nosuch']);
    assert.match(missing.stderr, /service nosuch not found/);
    await n1.ok(['service', 'rm', 'talk']);
  });

  it('rejects an image that does not exist with a clear error and no retry storm', async () => {
    const r = await n1.fails(['service', 'create', '--name', 'ghost', 'tswarm/does-not-exist:1']);
    assert.match(r.stderr, /No such image|pull access denied|not found/i);
    const ps = await n1.ok(['service', 'ps', '--no-trunc', 'ghost']);
    assert.match(ps, /Rejected/);
    const t0 = ps.split('\n').filter((l) => /Rejected/.test(l)).length;
    await new Promise((r2) => setTimeout(r2, 3000));
    const t1 = (await n1.ok(['service', 'ps', 'ghost']))
      .split('\n')
      .filter((l) => /Rejected/.test(l)).length;
    assert.ok(t1 - t0 <= 1, `retry storm: ${t0} → ${t1} rejected tasks in 3 s`);
    await n1.ok(['service', 'rm', 'ghost']);
  });

  it('adopts its containers after a daemon restart (no duplicates)', async () => {
    await n1.ok(['service', 'create', '--name', 'keep', '--replicas', '3', TEST_IMAGE, ...SLEEPER]);
    const before = tswarmContainers('keep')
      .filter((c) => c.running)
      .map((c) => c.id)
      .sort();
    await n2.stop();
    // While svc2 is down: a container of a task it no longer has (its labels, a task ID
    // the cluster never assigned), and a container that is not tswarm's at all.
    const svc2 = ids.get('svc2') ?? '';
    const stale = docker(
      'run',
      '-d',
      '--label',
      `com.tswarm.node.id=${svc2}`,
      '--label',
      'com.tswarm.task.id=stale0000000000000000000',
      '--label',
      'com.tswarm.service.name=keep-stale',
      TEST_IMAGE,
      ...SLEEPER,
    ).trim();
    docker('run', '-d', '--name', 'tswarm-test-foreign', TEST_IMAGE, ...SLEEPER);
    await n2.start();
    await waitNodes(
      n1,
      'svc2 ready again',
      (ns) => ns.find((n) => n.Description.Hostname === 'svc2')?.Status.State === 'ready',
    );
    // The stale container goes once svc2 has its assignments, and adoption is decided then.
    await waitFor(
      'the unassigned container removed',
      () => !docker('ps', '-aq', '--no-trunc').split('\n').includes(stale),
      10_000,
    );
    const afterIds = tswarmContainers('keep')
      .filter((c) => c.running)
      .map((c) => c.id)
      .sort();
    assert.deepEqual(afterIds, before);
    const ps = await n1.ok(['service', 'ps', 'keep']);
    assert.equal(ps.split('\n').filter((l) => /Running\s+Running/.test(l)).length, 3, ps);
    assert.equal(
      docker('inspect', '-f', '{{.State.Running}}', 'tswarm-test-foreign').trim(),
      'true',
      'a container without our labels is never touched',
    );
    await n1.ok(['service', 'rm', 'keep']);
  });

  it('global mode runs one task per node', async () => {
    await n1.ok([
      'service',
      'create',
      '--name',
      'agent',
      '--mode',
      'global',
      TEST_IMAGE,
      ...SLEEPER,
    ]);
    assert.deepEqual([...spread('agent').values()], [1, 1, 1]);
    await n4.start();
    await n4.join((await n1.ok(['swarm', 'join-token', '-q', 'worker'])).trim(), n1);
    ids.set('svc4', await n4.nodeId());
    await waitFor(
      'the new node runs its global task',
      () => spread('agent').get('svc4') === 1,
      15_000,
    );
    assert.deepEqual([...spread('agent').values()], [1, 1, 1, 1]);
    await n1.ok(['node', 'update', '--availability', 'drain', 'svc3']);
    await waitFor('drained node loses its global task', () => !spread('agent').has('svc3'), 15_000);
    await n1.ok(['node', 'update', '--availability', 'active', 'svc3']);
    await waitFor('global task back', () => spread('agent').get('svc3') === 1, 15_000);
    await n1.ok(['service', 'rm', 'agent']);
  });

  /** kill -9 `victim`'s daemon and stop its containers; ms until all 6 of `ha` run elsewhere. */
  async function killAndReschedule(victim: ClusterNode): Promise<number> {
    const victimId = ids.get(victim.name);
    assert.ok(spread('ha').has(victim.name), `${victim.name} runs some of ha`);
    await victim.kill();
    const theirs = tswarmContainers('ha').filter(
      (c) => c.labels['com.tswarm.node.id'] === victimId && c.running,
    );
    if (theirs.length) docker('kill', ...theirs.map((c) => c.id));
    const t0 = Date.now();
    await waitFor(
      `6 running without ${victim.name}`,
      () => {
        const s = spread('ha');
        return !s.has(victim.name) && [...s.values()].reduce((a, b) => a + b, 0) === 6;
      },
      10_000,
    );
    return Date.now() - t0;
  }

  it('kill -9 a worker daemon and stop its containers: its slots run elsewhere within 5 s', async (t) => {
    await n1.ok(['service', 'create', '--name', 'ha', '--replicas', '6', TEST_IMAGE, ...SLEEPER]);
    const elapsed = await killAndReschedule(n4);
    t.diagnostic(`rescheduled after ${elapsed} ms`);
    assert.ok(elapsed < 5000, `rescheduled after ${elapsed} ms`);
  });

  it('kill -9 a manager daemon and stop its containers: its slots run elsewhere within 5 s', async (t) => {
    const elapsed = await killAndReschedule(n3);
    t.diagnostic(`rescheduled after ${elapsed} ms`);
    assert.ok(elapsed < 5000, `rescheduled after ${elapsed} ms`);
  });
});
