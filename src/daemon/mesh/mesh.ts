import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '../log.js';
import { encodeProxyV2 } from './proxy-protocol.js';
import { backendTarget, type MeshListenPort, type MeshTable } from './table.js';

export interface RoutingMeshOptions {
  /** The address published ports listen on (the node's listen address; 0.0.0.0 in production). */
  readonly bindHost: string;
  readonly log: Logger;
  /** A backend that neither accepts nor refuses within this long is skipped. */
  readonly connectTimeoutMs?: number;
  /** How long a backend that failed to accept is tried last. */
  readonly failureCooldownMs?: number;
  /** A UDP flow (one client address and port) with no datagram either way for this long ends. */
  readonly udpIdleMs?: number;
}

interface Route {
  readonly serviceId: string;
  readonly serviceName: string;
  readonly port: MeshListenPort;
}

/** A published port's listening TCP server or UDP socket, and its retry after a failed bind. */
interface Bound<H extends net.Server | dgram.Socket> {
  route: Route;
  handle: H | undefined;
  retry: NodeJS.Timeout | undefined;
  listening: boolean;
}
type Listener = Bound<net.Server>;
type UdpListener = Bound<dgram.Socket>;

/** One UDP client's datagrams, sent to one backend from a socket of their own. */
interface UdpFlow {
  readonly upstream: dgram.Socket;
  readonly backend: string;
  /** Datagrams that arrived before the upstream socket was connected. */
  queue: Buffer[] | undefined;
  idle: NodeJS.Timeout;
}

const RETRY_LISTEN_MS = 2_000;
/** Linux conntrack's default for an assured UDP stream is 120 s, for a single exchange 30 s. */
const UDP_IDLE_MS = 60_000;

/**
 * The routing mesh on one node: a TCP listener on every ingress published port of the cluster,
 * forwarding each connection to a running task of the service, anywhere in the cluster, round
 * robin. Tasks are dialled at the node address and ephemeral host port their engine bound the
 * target port to (so the container networks need not be routable between nodes). A task that
 * refuses or does not answer is skipped for the connection and tried last for a while, so a
 * dead node's tasks stop taking connections before the leader notices the node is down.
 *
 * UDP published ports get a datagram socket: each client address and port is a flow, given a
 * backend round robin and a socket of its own connected to it, so replies go back to the
 * client and an ICMP "port unreachable" from a dead task sets that backend aside like a
 * refused TCP connection (the datagram that met it is lost, as UDP allows). A flow ends after
 * `udpIdleMs` without traffic or when its task leaves the table.
 */
export class RoutingMesh {
  private table: MeshTable = { services: [] };
  private readonly listeners = new Map<number, Listener>();
  private readonly next = new Map<string, number>();
  private readonly failedUntil = new Map<string, number>();
  private readonly sockets = new Set<net.Socket>();
  private readonly udpListeners = new Map<number, UdpListener>();
  private readonly flows = new Map<string, UdpFlow>();
  private readonly log: Logger;
  private stopped = false;

  constructor(private readonly opts: RoutingMeshOptions) {
    this.log = opts.log.child({ component: 'mesh' });
  }

  /** Published TCP ports this node is listening on. */
  listeningPorts(): number[] {
    return [...this.listeners]
      .filter(([, l]) => l.listening)
      .map(([p]) => p)
      .sort((a, b) => a - b);
  }

  /** Published UDP ports this node is listening on. */
  listeningUdpPorts(): number[] {
    return [...this.udpListeners]
      .filter(([, l]) => l.listening)
      .map(([p]) => p)
      .sort((a, b) => a - b);
  }

  /** A new table from the leader: listeners follow the published ports, routes the tasks. */
  update(table: MeshTable): void {
    if (this.stopped) return;
    this.table = table;
    this.updateUdp(table);
    const wanted = new Map<number, Route>();
    for (const s of table.services)
      for (const p of s.ports)
        if (p.protocol === 'tcp' && !wanted.has(p.published))
          wanted.set(p.published, { serviceId: s.id, serviceName: s.name, port: p });
    for (const [port, l] of this.listeners) {
      if (!wanted.has(port)) {
        void this.close(l);
        this.listeners.delete(port);
      }
    }
    for (const [port, route] of wanted) {
      const l = this.listeners.get(port);
      if (l) l.route = route;
      else {
        const fresh: Listener = { route, handle: undefined, retry: undefined, listening: false };
        this.listeners.set(port, fresh);
        this.listen(port, fresh);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const closing = [...this.listeners.values()].map((l) => this.close(l));
    this.listeners.clear();
    for (const key of [...this.flows.keys()]) this.endFlow(key);
    closing.push(...[...this.udpListeners.values()].map((l) => this.close(l)));
    this.udpListeners.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await Promise.all(closing);
  }

  private close(l: Bound<net.Server | dgram.Socket>): Promise<void> {
    if (l.retry) clearTimeout(l.retry);
    l.retry = undefined;
    const handle = l.handle;
    l.handle = undefined;
    l.listening = false;
    if (!handle) return Promise.resolve();
    return new Promise((resolve) => {
      handle.close(() => {
        resolve();
      });
    });
  }

  /** After a failed bind: drop the handle and try again in a while, if still wanted. */
  private relistenLater(
    l: Bound<net.Server | dgram.Socket>,
    handle: net.Server | dgram.Socket,
    stillWanted: () => boolean,
    again: () => void,
  ): void {
    l.handle = undefined;
    l.listening = false;
    handle.close();
    l.retry = setTimeout(() => {
      l.retry = undefined;
      if (!this.stopped && stillWanted()) again();
    }, RETRY_LISTEN_MS);
    l.retry.unref();
  }

  private listen(port: number, l: Listener): void {
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (c) => {
      this.onConnection(port, c);
    });
    l.handle = server;
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (this.listeners.get(port) !== l || l.handle !== server) return;
      this.log.warn(
        { port, host: this.opts.bindHost, err: err.message },
        'cannot listen on published port; retrying',
      );
      this.relistenLater(
        l,
        server,
        () => this.listeners.get(port) === l,
        () => {
          this.listen(port, l);
        },
      );
    });
    server.listen({ host: this.opts.bindHost, port, exclusive: true }, () => {
      l.listening = true;
      this.log.info(
        { port, host: this.opts.bindHost, service: l.route.serviceName },
        'routing mesh listening',
      );
    });
  }

  private onConnection(port: number, client: net.Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => {
      client.destroy();
    });
    const route = this.listeners.get(port)?.route;
    const ordered = route ? this.candidates(route) : [];
    if (!route || ordered.length === 0) {
      client.destroy();
      return;
    }
    this.dial(client, route, ordered, 0);
  }

  /**
   * The route's backends in the order to try them: round robin from the next one, backends
   * that failed recently last.
   */
  private candidates(route: Route): { taskId: string; host: string; port: number }[] {
    const svc = this.table.services.find((s) => s.id === route.serviceId);
    const candidates = (svc?.backends ?? []).flatMap((b) => {
      const t = backendTarget(b, route.port);
      return t ? [{ taskId: b.taskId, ...t }] : [];
    });
    if (candidates.length === 0) return [];
    const key = `${route.serviceId}/${route.port.published}/${route.port.protocol}`;
    const start = this.next.get(key) ?? 0;
    this.next.set(key, (start + 1) % candidates.length);
    const now = Date.now();
    const rotated = candidates.map((_, i) => candidates[(start + i) % candidates.length]);
    return [
      ...rotated.filter((c) => (this.failedUntil.get(`${c?.host}:${c?.port}`) ?? 0) <= now),
      ...rotated.filter((c) => (this.failedUntil.get(`${c?.host}:${c?.port}`) ?? 0) > now),
    ].filter((c) => c !== undefined);
  }

  private updateUdp(table: MeshTable): void {
    const wanted = new Map<number, Route>();
    const live = new Set<string>();
    for (const s of table.services) {
      for (const p of s.ports) {
        if (p.protocol !== 'udp') continue;
        if (!wanted.has(p.published))
          wanted.set(p.published, { serviceId: s.id, serviceName: s.name, port: p });
        for (const b of s.backends) {
          const t = backendTarget(b, p);
          if (t) live.add(`${p.published}|${t.host}:${t.port}`);
        }
      }
    }
    // Flows whose task left the table start over with a live one on their next datagram.
    for (const [key, f] of this.flows) {
      const port = key.slice(0, key.indexOf('|'));
      if (!live.has(`${port}|${f.backend}`)) this.endFlow(key);
    }
    for (const [port, l] of this.udpListeners) {
      if (!wanted.has(port)) {
        void this.close(l);
        this.udpListeners.delete(port);
      }
    }
    for (const [port, route] of wanted) {
      const l = this.udpListeners.get(port);
      if (l) l.route = route;
      else {
        const fresh: UdpListener = { route, handle: undefined, retry: undefined, listening: false };
        this.udpListeners.set(port, fresh);
        this.listenUdp(port, fresh);
      }
    }
  }

  private listenUdp(port: number, l: UdpListener): void {
    const socket = dgram.createSocket({ type: net.isIPv6(this.opts.bindHost) ? 'udp6' : 'udp4' });
    l.handle = socket;
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.udpListeners.get(port) !== l || l.handle !== socket) return;
      this.log.warn(
        { port, host: this.opts.bindHost, err: err.message },
        'cannot listen on published udp port; retrying',
      );
      this.relistenLater(
        l,
        socket,
        () => this.udpListeners.get(port) === l,
        () => {
          this.listenUdp(port, l);
        },
      );
    });
    socket.on('message', (msg, rinfo) => {
      this.onDatagram(port, l, socket, msg, rinfo);
    });
    socket.bind({ address: this.opts.bindHost, port, exclusive: true }, () => {
      l.listening = true;
      this.log.info(
        { port, host: this.opts.bindHost, service: l.route.serviceName, protocol: 'udp' },
        'routing mesh listening',
      );
    });
  }

  private onDatagram(
    port: number,
    l: UdpListener,
    listener: dgram.Socket,
    msg: Buffer,
    client: dgram.RemoteInfo,
  ): void {
    const key = `${port}|${client.address}:${client.port}`;
    let flow = this.flows.get(key);
    if (!flow) {
      const backend = this.candidates(l.route)[0];
      if (!backend) return; // no task: the datagram is dropped
      flow = this.openFlow(key, listener, client, backend);
    }
    this.touch(key, flow);
    if (flow.queue) flow.queue.push(msg);
    else flow.upstream.send(msg);
  }

  private openFlow(
    key: string,
    listener: dgram.Socket,
    client: dgram.RemoteInfo,
    backend: { taskId: string; host: string; port: number },
  ): UdpFlow {
    const target = `${backend.host}:${backend.port}`;
    const upstream = dgram.createSocket({ type: net.isIPv6(backend.host) ? 'udp6' : 'udp4' });
    const flow: UdpFlow = {
      upstream,
      backend: target,
      queue: [],
      idle: setTimeout(() => undefined, 0),
    };
    this.flows.set(key, flow);
    upstream.on('message', (reply) => {
      if (this.flows.get(key) !== flow) return;
      this.touch(key, flow);
      listener.send(reply, client.port, client.address);
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      // ECONNREFUSED: the backend's port is closed (ICMP port unreachable).
      this.failedUntil.set(target, Date.now() + (this.opts.failureCooldownMs ?? 3_000));
      this.log.debug(
        { task: backend.taskId, backend: target, err: err.message },
        'udp backend unreachable; the flow starts over with the next',
      );
      this.endFlow(key);
    });
    upstream.connect(backend.port, backend.host, () => {
      if (this.flows.get(key) !== flow) return;
      const queued = flow.queue ?? [];
      flow.queue = undefined;
      for (const m of queued) upstream.send(m);
    });
    return flow;
  }

  private touch(key: string, flow: UdpFlow): void {
    clearTimeout(flow.idle);
    flow.idle = setTimeout(() => {
      this.endFlow(key);
    }, this.opts.udpIdleMs ?? UDP_IDLE_MS);
    flow.idle.unref();
  }

  private endFlow(key: string): void {
    const flow = this.flows.get(key);
    if (!flow) return;
    this.flows.delete(key);
    clearTimeout(flow.idle);
    try {
      flow.upstream.close();
    } catch {
      // already closed
    }
  }

  private dial(
    client: net.Socket,
    route: Route,
    candidates: readonly { taskId: string; host: string; port: number }[],
    i: number,
  ): void {
    const c = candidates[i];
    if (!c || client.destroyed) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: c.host, port: c.port, allowHalfOpen: true });
    this.sockets.add(upstream);
    let connected = false;
    const timer = setTimeout(() => {
      upstream.destroy(new Error('connect timeout'));
    }, this.opts.connectTimeoutMs ?? 2_000);
    upstream.on('close', (hadError) => {
      this.sockets.delete(upstream);
      if (connected && hadError) client.destroy();
    });
    upstream.on('error', (err) => {
      clearTimeout(timer);
      if (!connected) {
        this.failedUntil.set(
          `${c.host}:${c.port}`,
          Date.now() + (this.opts.failureCooldownMs ?? 3_000),
        );
        this.log.debug(
          { task: c.taskId, backend: `${c.host}:${c.port}`, err: err.message },
          'backend did not accept; trying the next',
        );
        upstream.destroy();
        this.dial(client, route, candidates, i + 1);
        return;
      }
      upstream.destroy();
      client.destroy();
    });
    upstream.once('connect', () => {
      clearTimeout(timer);
      connected = true;
      this.failedUntil.delete(`${c.host}:${c.port}`);
      if (client.destroyed) {
        upstream.destroy();
        return;
      }
      client.on('close', (hadError) => {
        if (hadError) upstream.destroy();
      });
      if (route.port.proxy === 'v2') {
        upstream.write(
          encodeProxyV2({
            sourceAddress: client.remoteAddress ?? '0.0.0.0',
            sourcePort: client.remotePort ?? 0,
            destAddress: client.localAddress ?? '0.0.0.0',
            destPort: client.localPort ?? route.port.published,
          }),
        );
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }
}
