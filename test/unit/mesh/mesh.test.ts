import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import type { Node, PortConfig, Service, Task } from '../../../src/shared/api-types.js';
import { taskPorts } from '../../../src/daemon/agent/task-controller.js';
import { RoutingMesh } from '../../../src/daemon/mesh/mesh.js';
import { decodeProxyV2, encodeProxyV2 } from '../../../src/daemon/mesh/proxy-protocol.js';
import { buildMeshTable, type MeshTable } from '../../../src/daemon/mesh/table.js';
import { allocatePorts, redeployOnPortChange } from '../../../src/daemon/manager/port-allocator.js';
import { parsePublish } from '../../../src/cli/service/spec-flags.js';
import { waitFor } from '../../helpers/wait.js';

const at = '2026-01-01T00:00:00.000Z';

function service(id: string, name: string, ports: PortConfig[], endpoint = ports): Service {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: at,
    UpdatedAt: at,
    Spec: {
      Name: name,
      Labels: {},
      TaskTemplate: { ContainerSpec: { Image: 'img' } },
      Mode: { Replicated: { Replicas: 1 } },
      EndpointSpec: { Ports: ports },
    },
    Endpoint: { Ports: endpoint },
  };
}

function node(id: string, addr: string, state: Node['Status']['State'] = 'ready'): Node {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: at,
    UpdatedAt: at,
    Spec: { Labels: {}, Role: 'manager', Availability: 'active' },
    Description: {
      Hostname: id,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 1e9, MemoryBytes: 1e9 },
      Engine: { EngineVersion: '1', Labels: {} },
    },
    Status: { State: state, Addr: addr },
  };
}

function task(
  id: string,
  serviceId: string,
  nodeId: string,
  hostPort: number,
  state: Task['Status']['State'] = 'running',
  hostIp = '',
): Task {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: at,
    UpdatedAt: at,
    Labels: {},
    Spec: { ContainerSpec: { Image: 'img' } },
    ServiceID: serviceId,
    NodeID: nodeId,
    DesiredState: 'running',
    Status: {
      Timestamp: at,
      State: state,
      Message: '',
      MeshPorts: [{ Protocol: 'tcp', TargetPort: 80, HostIP: hostIp, HostPort: hostPort }],
    },
  };
}

const ingress = (published: number | undefined, target = 80): PortConfig => ({
  Protocol: 'tcp',
  TargetPort: target,
  ...(published ? { PublishedPort: published } : {}),
  PublishMode: 'ingress',
});

describe('PROXY protocol v2', () => {
  it('encodes IPv4 as the spec lays it out and decodes it back', () => {
    const h = encodeProxyV2({
      sourceAddress: '10.1.2.3',
      sourcePort: 51000,
      destAddress: '::ffff:10.0.0.1',
      destPort: 8080,
    });
    assert.equal(h.length, 28);
    assert.equal(h.subarray(0, 12).toString('hex'), '0d0a0d0a000d0a515549540a');
    assert.equal(h[12], 0x21);
    assert.equal(h[13], 0x11);
    assert.equal(h.readUInt16BE(14), 12);
    assert.deepEqual(decodeProxyV2(h), {
      family: 'inet',
      sourceAddress: '10.1.2.3',
      sourcePort: 51000,
      destAddress: '10.0.0.1',
      destPort: 8080,
      length: 28,
    });
  });

  it('encodes IPv6 (and a mixed pair as mapped IPv6)', () => {
    const h = encodeProxyV2({
      sourceAddress: '2001:db8::1',
      sourcePort: 1,
      destAddress: '10.0.0.1',
      destPort: 2,
    });
    assert.equal(h.length, 52);
    assert.equal(h[13], 0x21);
    const d = decodeProxyV2(h);
    assert.ok(d);
    assert.equal(d.sourceAddress, '2001:db8:0:0:0:0:0:1');
    assert.equal(d.destAddress, '0:0:0:0:0:ffff:a00:1');
    assert.equal(decodeProxyV2(h.subarray(0, 20)), undefined);
  });
});

describe('mesh table', () => {
  it('lists running tasks on ready nodes with their node address and ephemeral port', () => {
    const s = service('s1', 'web', [ingress(8080)]);
    const other = service('s2', 'hostonly', [
      { Protocol: 'tcp', TargetPort: 80, PublishedPort: 9000, PublishMode: 'host' },
    ]);
    const nodes = [node('a', '10.0.0.1'), node('b', '10.0.0.2'), node('c', '10.0.0.3', 'down')];
    const tasks = [
      task('t1', 's1', 'a', 32001),
      task('t2', 's1', 'b', 32002, 'running', '10.0.0.22'),
      task('t3', 's1', 'c', 32003),
      task('t4', 's1', 'a', 32004, 'starting'),
      { ...task('t5', 's1', 'b', 32005), DesiredState: 'shutdown' as const },
    ];
    const t: MeshTable = buildMeshTable([s, other], tasks, nodes);
    assert.equal(t.services.length, 1);
    const m = t.services[0];
    assert.ok(m);
    assert.deepEqual(m.ports, [{ protocol: 'tcp', published: 8080, target: 80 }]);
    assert.deepEqual(
      m.backends.map((b) => [b.taskId, b.targets['80/tcp']]),
      [
        ['t1', { host: '10.0.0.1', port: 32001 }],
        ['t2', { host: '10.0.0.22', port: 32002 }],
      ],
    );
  });
});

describe('port allocation', () => {
  const web = service('w1', 'web', [ingress(8080)]);
  const hostSvc = service('h1', 'edge', [
    { Protocol: 'tcp', TargetPort: 80, PublishedPort: 9000, PublishMode: 'host' },
  ]);

  it("refuses another service's ingress port with Docker's message", () => {
    const spec = service('x', 'other', [ingress(8080, 81)]).Spec;
    assert.throws(
      () => allocatePorts([web], spec),
      /port '8080' is already in use by service 'web' \(w1\) as an ingress port/,
    );
    // Another protocol on the same number is fine.
    const udp = {
      ...spec,
      EndpointSpec: { Ports: [{ ...ingress(8080), Protocol: 'udp' as const }] },
    };
    assert.equal(allocatePorts([web], udp)?.[0]?.PublishedPort, 8080);
    // Updating the service itself is fine.
    assert.equal(allocatePorts([web], web.Spec, web)?.[0]?.PublishedPort, 8080);
  });

  it('refuses an ingress port published in host mode elsewhere; host/host may coexist', () => {
    const spec = service('x', 'other', [ingress(9000)]).Spec;
    assert.throws(() => allocatePorts([hostSvc], spec), /as a host-published port/);
    assert.ok(allocatePorts([hostSvc], hostSvc.Spec));
  });

  it('assigns ingress ports from 30000 up, keeping the one a service had', () => {
    const taken = service('t', 'taken', [ingress(30000)]);
    const spec = service('n', 'new', [ingress(undefined)]).Spec;
    assert.equal(allocatePorts([taken], spec)?.[0]?.PublishedPort, 30001);
    const self = service('n', 'new', [ingress(undefined)], [ingress(30555)]);
    assert.equal(allocatePorts([taken, self], self.Spec, self)?.[0]?.PublishedPort, 30555);
  });

  it('refuses duplicate published ports and PROXY on host mode', () => {
    const dup = service('x', 'x', [ingress(8080), ingress(8080, 81)]).Spec;
    assert.throws(() => allocatePorts([], dup), /duplicate published ports provided/);
    const proxyHost = service('x', 'x', [
      { ...ingress(8080), PublishMode: 'host', ProxyProtocol: 'v2' },
    ]).Spec;
    assert.throws(() => allocatePorts([], proxyHost), /PROXY protocol is only supported/);
  });

  it('redeploys tasks when bindings change, not when only the published ingress port does', () => {
    const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
    const a = web.Spec;
    const moved = { ...a, EndpointSpec: { Ports: [ingress(8081)] } };
    assert.equal(redeployOnPortChange(a, moved, same), moved);
    const added = { ...a, EndpointSpec: { Ports: [ingress(8080), ingress(8443, 443)] } };
    assert.equal(redeployOnPortChange(a, added, same).TaskTemplate.ForceUpdate, 1);
  });
});

describe('publish flag', () => {
  it('parses proxy=v2 and refuses it elsewhere', () => {
    assert.deepEqual(parsePublish('published=8080,target=80,proxy=v2'), {
      Protocol: 'tcp',
      TargetPort: 80,
      PublishedPort: 8080,
      PublishMode: 'ingress',
      ProxyProtocol: 'v2',
    });
    assert.throws(() => parsePublish('published=8080,target=80,proxy=v1'), /must be "v2"/);
    assert.throws(
      () => parsePublish('published=8080,target=80,mode=host,proxy=v2'),
      /only supported on tcp ports published in ingress mode/,
    );
  });
});

describe('task ports', () => {
  it('splits host-mode ports from the ingress ports the mesh dials', () => {
    const t: Task = {
      ...task('t', 's', 'n', 0),
      Endpoint: {
        Ports: [
          ingress(8080),
          { Protocol: 'tcp', TargetPort: 80, PublishedPort: 9000, PublishMode: 'host' },
        ],
      },
    };
    const r = taskPorts(
      t,
      [
        { containerPort: 80, protocol: 'tcp', hostPort: 9000, hostIp: '10.0.0.1' },
        { containerPort: 80, protocol: 'tcp', hostPort: 32768, hostIp: '10.0.0.1' },
      ],
      '10.0.0.1',
    );
    assert.deepEqual(r.portStatus?.Ports, [
      { Protocol: 'tcp', TargetPort: 80, PublishedPort: 9000, PublishMode: 'host' },
    ]);
    assert.deepEqual(r.meshPorts, [
      { Protocol: 'tcp', TargetPort: 80, HostIP: '10.0.0.1', HostPort: 32768 },
    ]);
  });
});

/** A backend that answers each connection with its name and what it read first. */
async function backend(name: string): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((c) => {
    c.once('data', (d: Buffer) => {
      c.end(`${name}:${d.toString('hex')}`);
    });
    c.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as net.AddressInfo).port };
}

function request(port: number, payload = 'ping'): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host: '127.0.0.1', port }, () => c.write(payload));
    let out = '';
    c.on('data', (d: Buffer) => (out += d.toString()));
    c.on('end', () => {
      resolve(out);
    });
    c.on('error', reject);
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => {
    s.close(() => {
      r();
    });
  });
  return p;
}

describe('routing mesh forwarding (loopback sockets)', () => {
  const closers: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of closers) await c();
  });

  it('round-robins, skips a backend that refuses, and sends PROXY v2 when asked', async () => {
    const a = await backend('a');
    const b = await backend('b');
    closers.push(
      () => void a.server.close(),
      () => void b.server.close(),
    );
    const dead = await freePort();
    const published = await freePort();
    const mesh = new RoutingMesh({ bindHost: '127.0.0.1', log: pino({ level: 'silent' }) });
    closers.push(() => mesh.stop());
    const table = (proxy: boolean): MeshTable => ({
      services: [
        {
          id: 's',
          name: 'web',
          ports: [
            { protocol: 'tcp', published, target: 80, ...(proxy ? { proxy: 'v2' as const } : {}) },
          ],
          backends: [
            {
              taskId: '1',
              nodeId: 'n',
              targets: { '80/tcp': { host: '127.0.0.1', port: a.port } },
            },
            { taskId: '2', nodeId: 'n', targets: { '80/tcp': { host: '127.0.0.1', port: dead } } },
            {
              taskId: '3',
              nodeId: 'n',
              targets: { '80/tcp': { host: '127.0.0.1', port: b.port } },
            },
          ],
        },
      ],
    });
    mesh.update(table(false));
    await waitFor('mesh listening', () => mesh.listeningPorts().includes(published));
    const names: string[] = [];
    for (let i = 0; i < 6; i++) names.push((await request(published)).split(':')[0] ?? '');
    assert.deepEqual(new Set(names), new Set(['a', 'b']));
    assert.ok(names.filter((n) => n === 'a').length >= 2, names.join(','));
    assert.ok(names.filter((n) => n === 'b').length >= 2, names.join(','));

    mesh.update(table(true));
    const reply = await request(published);
    const hex = reply.slice(reply.indexOf(':') + 1);
    const h = decodeProxyV2(Buffer.from(hex, 'hex'));
    assert.ok(h, `no PROXY header in ${hex}`);
    assert.equal(h.sourceAddress, '127.0.0.1');
    assert.equal(h.destPort, published);

    mesh.update({ services: [] });
    assert.deepEqual(mesh.listeningPorts(), []);
  });

  it('forwards UDP: one flow per client address, round robin, replies back, a dead backend set aside', async () => {
    const echo = async (name: string): Promise<{ sock: dgram.Socket; port: number }> => {
      const sock = dgram.createSocket('udp4');
      sock.on('message', (m, r) => {
        sock.send(`${name}:${m.toString()}`, r.port, r.address);
      });
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
      closers.push(() => {
        sock.close();
      });
      return { sock, port: sock.address().port };
    };
    const a = await echo('a');
    const b = await echo('b');
    const dead = await echo('dead');
    const deadPort = dead.port;
    dead.sock.close(); // a closed UDP port: ICMP port unreachable
    closers.pop();
    const published = await freePort();
    const mesh = new RoutingMesh({ bindHost: '127.0.0.1', log: pino({ level: 'silent' }) });
    closers.push(() => mesh.stop());
    const target = (port: number) => ({ '53/udp': { host: '127.0.0.1', port } });
    mesh.update({
      services: [
        {
          id: 's',
          name: 'dns',
          ports: [{ protocol: 'udp', published, target: 53 }],
          backends: [
            { taskId: '1', nodeId: 'n', targets: target(a.port) },
            { taskId: '2', nodeId: 'n', targets: target(deadPort) },
            { taskId: '3', nodeId: 'n', targets: target(b.port) },
          ],
        },
      ],
    });
    await waitFor('mesh listening on udp', () => mesh.listeningUdpPorts().includes(published));
    assert.deepEqual(mesh.listeningPorts(), [], 'no TCP listener for a UDP port');
    /** A client socket that sends until it gets an answer (UDP may lose the first one). */
    const client = async (): Promise<{
      ask: (q: string) => Promise<string>;
      close: () => void;
    }> => {
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
      const replies: string[] = [];
      sock.on('message', (m) => replies.push(m.toString()));
      return {
        ask: async (q) => {
          const n = replies.length;
          return waitFor(
            `an answer to ${q}`,
            () => {
              if (replies.length > n) return replies[replies.length - 1];
              sock.send(q, published, '127.0.0.1');
              return undefined;
            },
            5_000,
            100,
          );
        },
        close: () => {
          sock.close();
        },
      };
    };
    const names: string[] = [];
    for (let i = 0; i < 6; i++) {
      const c = await client();
      const first = await c.ask(`q${i}`);
      // The same client stays on its backend.
      const second = await c.ask(`r${i}`);
      assert.equal(first.split(':')[0], second.split(':')[0], `${first} then ${second}`);
      assert.equal(second.split(':')[1], `r${i}`);
      names.push(first.split(':')[0] ?? '');
      c.close();
    }
    assert.deepEqual(new Set(names), new Set(['a', 'b']), names.join(','));
    mesh.update({ services: [] });
    assert.deepEqual(mesh.listeningUdpPorts(), []);
  });
});
