import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Service } from '../../../src/shared/api-types.js';
import { decodeProxyV2 } from '../../../src/daemon/mesh/proxy-protocol.js';
import { ClusterNode, waitNodes, formManagers } from '../../helpers/cluster.js';
import {
  docker,
  tswarmContainers,
  type ContainerRow,
  removeContainers,
} from '../../helpers/docker.js';
import { requireDocker, TEST_IMAGE } from '../../helpers/procs.js';

/** tswarm/node:1 (scripts/test-image.sh): for a UDP server, which busybox cannot be. */
const NODE_IMAGE = process.env['TSWARM_NODE_IMAGE'] ?? 'tswarm/node:1';

/** A UDP echo server on port 53 answering `<hostname>:<datagram>`. */
const UDP_ECHO = [
  'node',
  '-e',
  "const s=require('dgram').createSocket('udp4');const h=require('os').hostname();" +
    "s.on('message',(m,r)=>s.send(h+':'+m,r.port,r.address));s.bind(53);",
];

/** Sends `q` from a fresh socket until an answer comes (or the deadline); resolves with it. */
async function askUdp(host: string, port: number, q: string, timeoutMs = 3000): Promise<string> {
  const sock = dgram.createSocket('udp4');
  try {
    let answer: string | undefined;
    sock.on('message', (m) => (answer = m.toString()));
    sock.on('error', () => undefined);
    return await waitFor(
      `a UDP answer from ${host}:${port}`,
      () => {
        if (answer !== undefined) return answer;
        sock.send(q, port, host);
        return undefined;
      },
      timeoutMs,
      200,
    );
  } finally {
    sock.close();
  }
}
import { waitFor } from '../../helpers/wait.js';

/** busybox httpd answering with the container's hostname (its short container ID). */
const HTTPD = [
  'sh',
  '-c',
  'mkdir -p /www; hostname > /www/index.html; exec httpd -f -p 80 -h /www',
];

/** Only our own services' containers (the engine is shared with other tests). */
function meshContainers(): ContainerRow[] {
  return tswarmContainers().filter((c) =>
    (c.labels['com.tswarm.service.name'] ?? '').startsWith('mesh-'),
  );
}

function removeMeshContainers(): void {
  removeContainers(meshContainers());
}

/** One HTTP/1.0 GET over a fresh connection (so each request is its own mesh connection). */
function get(host: string, port: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host, port });
    const t = setTimeout(() => c.destroy(new Error(`no answer from ${host}:${port}`)), timeoutMs);
    let out = '';
    c.on('connect', () => c.write(`GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`));
    c.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', () => {
      clearTimeout(t);
      const i = out.indexOf('\r\n\r\n');
      if (!out.startsWith('HTTP/1.') || i < 0)
        reject(new Error(`bad reply from ${host}:${port}: ${JSON.stringify(out)}`));
      else resolve(out.slice(i + 4).trim());
    });
    c.on('error', (err) => {
      clearTimeout(t);
      reject(err);
    });
  });
}

/** Does anything accept connections on host:port? */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ host, port });
    c.on('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.on('error', () => {
      resolve(false);
    });
  });
}

describe('routing mesh: ingress and host-mode published ports on real containers', () => {
  const n1 = new ClusterNode('mesh1', '127.0.0.41');
  const n2 = new ClusterNode('mesh2', '127.0.0.42');
  const n3 = new ClusterNode('mesh3', '127.0.0.43');
  const nodes = [n1, n2, n3];
  const ids = new Map<string, string>();

  /** The node name each running container of a service is on, by short container ID. */
  function whereRunning(service: string): Map<string, string> {
    const m = new Map<string, string>();
    for (const c of tswarmContainers(service)) {
      if (!c.running) continue;
      const node = [...ids].find(([, id]) => id === c.labels['com.tswarm.node.id'])?.[0] ?? '?';
      m.set(c.id.slice(0, 12), node);
    }
    return m;
  }

  before(async () => {
    requireDocker();
    removeMeshContainers();
    // One at a time: three daemons starting at once on a busy 2-CPU machine can each miss
    // the helper's 15 s start deadline.
    await formManagers(nodes, { oneByOne: true });
    for (const n of nodes) ids.set(n.name, await n.nodeId());
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.cleanup()));
    removeMeshContainers();
  });

  it('forwards connections to any node to the tasks on the other nodes, round robin', async () => {
    await n1.ok([
      'service',
      'create',
      '--name',
      'mesh-web',
      '--replicas',
      '2',
      '--constraint',
      'node.hostname!=mesh1',
      '-p',
      '30080:80',
      TEST_IMAGE,
      ...HTTPD,
    ]);
    const where = await waitFor('2 running mesh-web containers', () => {
      const m = whereRunning('mesh-web');
      return m.size === 2 ? m : undefined;
    });
    assert.deepEqual([...where.values()].sort(), ['mesh2', 'mesh3']);
    // Node A (mesh1) runs no task of the service, yet its port answers from B and C in turn.
    const seen = await waitFor(
      'answers from both tasks through 127.0.0.41:30080',
      async () => {
        const got: string[] = [];
        for (let i = 0; i < 4; i++) got.push(await get('127.0.0.41', 30080));
        return new Set(got).size === 2 ? got : undefined;
      },
      20_000,
      200,
    );
    assert.deepEqual(new Set(seen), new Set(where.keys()));
    // Round robin: consecutive connections alternate between the two tasks.
    assert.notEqual(seen[0], seen[1]);
    assert.equal(seen[0], seen[2]);
    for (const host of ['127.0.0.42', '127.0.0.43'])
      assert.ok(where.has(await get(host, 30080)), `${host}:30080 answers from a task`);

    const ls = await n2.ok(['service', 'ls', '--filter', 'name=mesh-web']);
    assert.match(ls, /mesh-web\s+replicated\s+2\/2\s+\S+\s+\*:30080->80\/tcp/);
    const [svc] = JSON.parse(await n3.ok(['service', 'inspect', 'mesh-web'])) as Service[];
    assert.deepEqual(svc?.Endpoint?.Ports, [
      { Protocol: 'tcp', TargetPort: 80, PublishedPort: 30080, PublishMode: 'ingress' },
    ]);
  });

  it('forwards UDP datagrams through the mesh to tasks on other nodes, and their replies back', async () => {
    await n1.ok([
      'service',
      'create',
      '--name',
      'mesh-udp',
      '--replicas',
      '2',
      '--constraint',
      'node.hostname!=mesh1',
      '-p',
      '30053:53/udp',
      NODE_IMAGE,
      ...UDP_ECHO,
    ]);
    const where = await waitFor('2 running mesh-udp containers', () => {
      const m = whereRunning('mesh-udp');
      return m.size === 2 ? m : undefined;
    });
    // Each fresh client socket is a new flow: together they reach both tasks from mesh1.
    const seen = await waitFor(
      'UDP answers from both tasks through 127.0.0.41:30053',
      async () => {
        const got: string[] = [];
        for (let i = 0; i < 4; i++) got.push(await askUdp('127.0.0.41', 30053, `q${i}`));
        return new Set(got.map((g) => g.split(':')[0])).size === 2 ? got : undefined;
      },
      30_000,
      200,
    );
    assert.deepEqual(new Set(seen.map((g) => g.split(':')[0])), new Set(where.keys()));
    assert.ok(
      seen.every((g, i) => g.endsWith(`:q${i}`)),
      seen.join(','),
    );
    const ls = await n2.ok(['service', 'ls', '--filter', 'name=mesh-udp']);
    assert.match(ls, /mesh-udp\s+replicated\s+2\/2\s+\S+\s+\*:30053->53\/udp/);
    await n1.ok(['service', 'rm', 'mesh-udp']);
    await waitFor(
      'mesh-udp containers gone',
      () => tswarmContainers('mesh-udp').length === 0,
      20_000,
    );
  });

  it("refuses a second service on the same ingress port with Docker's message", async () => {
    const r = await n2.fails([
      'service',
      'create',
      '-d',
      '--name',
      'mesh-dup',
      '-p',
      '30080:8080',
      TEST_IMAGE,
      ...HTTPD,
    ]);
    assert.match(r.stderr, /port '30080' is already in use by service 'mesh-web' \(\w+\)/);
    await n1.ok([
      'service',
      'create',
      '-d',
      '--name',
      'mesh-other',
      '--constraint',
      'node.hostname==mesh3',
      '-p',
      '30081:80',
      TEST_IMAGE,
      ...HTTPD,
    ]);
    const u = await n1.fails([
      'service',
      'update',
      '-d',
      '--publish-add',
      '30080:80',
      'mesh-other',
    ]);
    assert.match(u.stderr, /port '30080' is already in use by service 'mesh-web'/);
  });

  it('adds and removes published ports on update (the tasks are redeployed)', async () => {
    await waitFor('mesh-other answers on 30081', () => get('127.0.0.42', 30081), 20_000, 200);
    await n1.ok(['service', 'update', '-d', '--publish-add', '30082:80', 'mesh-other']);
    await waitFor('mesh-other answers on 30082', () => get('127.0.0.41', 30082), 20_000, 200);
    await n1.ok(['service', 'update', '-d', '--publish-rm', '30081:80', 'mesh-other']);
    await waitFor(
      '30081 closed on every node',
      async () =>
        !(await accepts('127.0.0.41', 30081)) &&
        !(await accepts('127.0.0.42', 30081)) &&
        !(await accepts('127.0.0.43', 30081)),
      20_000,
      200,
    );
    // Removing a port redeploys the task too (stop-first, one replica: a short gap).
    await waitFor('mesh-other answers on 30082 again', () => get('127.0.0.43', 30082), 20_000, 200);
    await n1.ok(['service', 'rm', 'mesh-other']);
  });

  it('sends a PROXY protocol v2 header with the client address when asked (proxy=v2)', async () => {
    await n1.ok([
      'service',
      'create',
      '-d',
      '--name',
      'mesh-proxy',
      '--constraint',
      'node.hostname==mesh2',
      '-p',
      'published=30085,target=80,proxy=v2',
      TEST_IMAGE,
      'sh',
      '-c',
      "mkdir -p /cap; exec nc -ll -p 80 -e sh -c 'cat > /cap/conn.$$; echo captured'",
    ]);
    const container = await waitFor('a running mesh-proxy container', () =>
      tswarmContainers('mesh-proxy').find((c) => c.running),
    );
    // The client connects to node A from 127.0.0.43; the task (on B) must see that address.
    const { reply, localPort } = await waitFor(
      'a connection through 127.0.0.41:30085 captured by the backend',
      () =>
        new Promise<{ reply: string; localPort: number } | undefined>((resolve) => {
          const c = net.connect({ host: '127.0.0.41', port: 30085, localAddress: '127.0.0.43' });
          let out = '';
          let lp = 0;
          c.on('connect', () => {
            lp = c.localPort ?? 0;
            c.end('hello mesh\n');
          });
          c.on('data', (d: Buffer) => (out += d.toString()));
          c.on('close', () => {
            resolve(out.includes('captured') ? { reply: out, localPort: lp } : undefined);
          });
          c.on('error', () => {
            resolve(undefined);
          });
        }),
      20_000,
      300,
    );
    assert.match(reply, /captured/);
    const raw = execFileSync('docker', ['exec', container.id, 'sh', '-c', 'cat /cap/conn.*']);
    const h = decodeProxyV2(raw);
    assert.ok(h, `no PROXY v2 header in ${raw.toString('hex')}`);
    assert.equal(h.family, 'inet');
    assert.equal(h.sourceAddress, '127.0.0.43');
    assert.equal(h.sourcePort, localPort);
    assert.equal(h.destAddress, '127.0.0.41');
    assert.equal(h.destPort, 30085);
    assert.equal(raw.subarray(h.length).toString(), 'hello mesh\n');
    await n1.ok(['service', 'rm', 'mesh-proxy']);
  });

  it('host mode publishes on each task’s own node only; a taken host port leaves a task pending', async () => {
    await n1.ok([
      'service',
      'create',
      '-d',
      '--name',
      'mesh-host',
      '--mode',
      'global',
      '--publish',
      'published=30090,target=80,mode=host',
      TEST_IMAGE,
      ...HTTPD,
    ]);
    const where = await waitFor('3 running mesh-host containers', () => {
      const m = whereRunning('mesh-host');
      return m.size === 3 ? m : undefined;
    });
    const ipOf = new Map(nodes.map((n) => [n.name, n.ip]));
    for (const [cid, nodeName] of where) {
      const ip = ipOf.get(nodeName) ?? '';
      assert.equal(docker('port', cid, '80/tcp').trim(), `${ip}:30090`);
      // Each node's port answers from the task on that node, not through a mesh.
      assert.equal(await waitFor(`${ip}:30090`, () => get(ip, 30090), 10_000, 200), cid);
    }
    const ps = await waitFor(
      'host-mode PORTS in service ps',
      async () => {
        const out = await n1.ok(['service', 'ps', 'mesh-host']);
        return (out.match(/\*:30090->80\/tcp/g) ?? []).length === 3 ? out : undefined;
      },
      10_000,
      200,
    );
    assert.match(ps, /PORTS/);
    // No mesh listener for a host-mode port on a node without the task: check with a
    // replicated host-mode service whose only task runs on mesh2.
    await n1.ok([
      'service',
      'create',
      '-d',
      '--name',
      'mesh-host2',
      '--publish',
      'published=30090,target=80,mode=host',
      TEST_IMAGE,
      ...HTTPD,
    ]);
    await waitFor(
      'mesh-host2 pending on the taken port',
      async () => {
        const out = await n1.ok(['service', 'ps', '--no-trunc', 'mesh-host2']);
        return /Pending.*no suitable node \(host-mode port already in use on 3 nodes\)/.test(out);
      },
      15_000,
      200,
    );
    await n1.ok(['service', 'rm', 'mesh-host', 'mesh-host2']);
    await n1.ok([
      'service',
      'create',
      '-d',
      '--name',
      'mesh-host3',
      '--constraint',
      'node.hostname==mesh2',
      '--publish',
      'published=30091,target=80,mode=host',
      TEST_IMAGE,
      ...HTTPD,
    ]);
    await waitFor('127.0.0.42:30091 answers', () => get('127.0.0.42', 30091), 20_000, 200);
    assert.equal(await accepts('127.0.0.41', 30091), false);
    assert.equal(await accepts('127.0.0.43', 30091), false);
    await n1.ok(['service', 'rm', 'mesh-host3']);
  });

  it('keeps answering from the survivors when a node dies with its containers', async () => {
    const where = whereRunning('mesh-web');
    assert.deepEqual([...where.values()].sort(), ['mesh2', 'mesh3']);
    const id3 = ids.get('mesh3');
    await n3.kill();
    const own = meshContainers().filter((c) => c.running && c.labels['com.tswarm.node.id'] === id3);
    // `docker kill` returns once the signal is sent: they count as stopped once exited. A
    // container of a service removed just before may already be gone.
    for (const c of own) {
      try {
        docker('kill', c.id);
        docker('wait', c.id);
      } catch {
        // already stopped or removed
      }
    }
    assert.ok(
      own.some((c) => c.labels['com.tswarm.service.name'] === 'mesh-web'),
      'mesh3 ran a mesh-web task',
    );
    const since = Date.now();
    // From here on every connection is answered by a task on a surviving node: the task on
    // mesh2, and (once mesh3 is marked Down, 3 × 1 s after its last heartbeat) its
    // replacement there too. Nothing may come from mesh3 or fail.
    const answers: string[] = [];
    while (Date.now() - since < 3_000) answers.push(await get('127.0.0.41', 30080));
    assert.ok(answers.length >= 5, `only ${answers.length} requests in the window`);
    const nodeOf = new Map(
      tswarmContainers('mesh-web').map((c) => [c.id.slice(0, 12), c.labels['com.tswarm.node.id']]),
    );
    for (const a of answers)
      assert.equal(nodeOf.get(a), ids.get('mesh2'), `answer from ${a}, not a task on mesh2`);
    // The node is marked down, its task replaced on mesh2, and both tasks take connections.
    await waitNodes(
      n1,
      'mesh3 down',
      (ns) => ns.find((n) => n.ID === id3)?.Status.State === 'down',
      15_000,
    );
    const after = await waitFor(
      'replacement task answering',
      async () => {
        const m = whereRunning('mesh-web');
        const live = [...m].filter(([, n]) => n === 'mesh2');
        if (live.length !== 2) return undefined;
        const got = new Set<string>();
        for (let i = 0; i < 4; i++) got.add(await get('127.0.0.42', 30080));
        return got.size === 2 ? got : undefined;
      },
      30_000,
      250,
    );
    for (const cid of after) assert.equal(whereRunning('mesh-web').get(cid), 'mesh2');
  });
});
