import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterNode, waitNodes, formManagers } from '../../helpers/cluster.js';
import { docker, removeTswarmContainers, tswarmContainers } from '../../helpers/docker.js';
import { requireDocker, TEST_IMAGE } from '../../helpers/procs.js';
import { waitFor } from '../../helpers/wait.js';

/** A command that exits promptly on SIGTERM (busybox sleep as PID 1 ignores it). */
const SLEEPER = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'];

describe('services on real containers, three daemons sharing one engine', () => {
  const n1 = new ClusterNode('svc1', '127.0.0.11');
  const n2 = new ClusterNode('svc2', '127.0.0.12');
  const n3 = new ClusterNode('svc3', '127.0.0.13');
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
    await Promise.all(nodes.map((n) => n.cleanup()));
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
    await n2.start();
    await waitNodes(
      n1,
      'svc2 ready again',
      (ns) => ns.find((n) => n.Description.Hostname === 'svc2')?.Status.State === 'ready',
    );
    await new Promise((r) => setTimeout(r, 1500));
    const afterIds = tswarmContainers('keep')
      .filter((c) => c.running)
      .map((c) => c.id)
      .sort();
    assert.deepEqual(afterIds, before);
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
    await n1.ok(['node', 'update', '--availability', 'drain', 'svc3']);
    await waitFor('drained node loses its global task', () => !spread('agent').has('svc3'), 15_000);
    await n1.ok(['node', 'update', '--availability', 'active', 'svc3']);
    await waitFor('global task back', () => spread('agent').get('svc3') === 1, 15_000);
    await n1.ok(['service', 'rm', 'agent']);
  });

  it('kill -9 a daemon and stop its containers: its slots run elsewhere within 5 s', async () => {
    await n1.ok(['service', 'create', '--name', 'ha', '--replicas', '6', TEST_IMAGE, ...SLEEPER]);
    const victimId = ids.get('svc3');
    await n3.kill();
    const theirs = tswarmContainers('ha').filter(
      (c) => c.labels['com.tswarm.node.id'] === victimId && c.running,
    );
    if (theirs.length) docker('kill', ...theirs.map((c) => c.id));
    const t0 = Date.now();
    await waitFor(
      '6 running on the two survivors',
      () => {
        const s = spread('ha');
        return !s.has('svc3') && [...s.values()].reduce((a, b) => a + b, 0) === 6;
      },
      10_000,
    );
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < 5000, `rescheduled after ${elapsed} ms`);
  });
});
