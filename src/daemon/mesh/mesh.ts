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
}

interface Route {
  readonly serviceId: string;
  readonly serviceName: string;
  readonly port: MeshListenPort;
}

interface Listener {
  route: Route;
  server: net.Server | undefined;
  retry: NodeJS.Timeout | undefined;
  listening: boolean;
}

const RETRY_LISTEN_MS = 2_000;

/**
 * The routing mesh on one node: a TCP listener on every ingress published port of the cluster,
 * forwarding each connection to a running task of the service, anywhere in the cluster, round
 * robin. Tasks are dialled at the node address and ephemeral host port their engine bound the
 * target port to (so the container networks need not be routable between nodes). A task that
 * refuses or does not answer is skipped for the connection and tried last for a while, so a
 * dead node's tasks stop taking connections before the leader notices the node is down.
 * UDP published ports are not forwarded.
 */
export class RoutingMesh {
  private table: MeshTable = { services: [] };
  private readonly listeners = new Map<number, Listener>();
  private readonly next = new Map<string, number>();
  private readonly failedUntil = new Map<string, number>();
  private readonly sockets = new Set<net.Socket>();
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

  /** A new table from the leader: listeners follow the published ports, routes the tasks. */
  update(table: MeshTable): void {
    if (this.stopped) return;
    this.table = table;
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
        const fresh: Listener = { route, server: undefined, retry: undefined, listening: false };
        this.listeners.set(port, fresh);
        this.listen(port, fresh);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const closing = [...this.listeners.values()].map((l) => this.close(l));
    this.listeners.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await Promise.all(closing);
  }

  private close(l: Listener): Promise<void> {
    if (l.retry) clearTimeout(l.retry);
    l.retry = undefined;
    const server = l.server;
    l.server = undefined;
    l.listening = false;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  }

  private listen(port: number, l: Listener): void {
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (c) => {
      this.onConnection(port, c);
    });
    l.server = server;
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (this.listeners.get(port) !== l || l.server !== server) return;
      this.log.warn(
        { port, host: this.opts.bindHost, err: err.message },
        'cannot listen on published port; retrying',
      );
      l.server = undefined;
      l.listening = false;
      server.close();
      l.retry = setTimeout(() => {
        l.retry = undefined;
        if (!this.stopped && this.listeners.get(port) === l) this.listen(port, l);
      }, RETRY_LISTEN_MS);
      l.retry.unref();
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
    const svc = route && this.table.services.find((s) => s.id === route.serviceId);
    const candidates = (svc?.backends ?? []).flatMap((b) => {
      const t = route ? backendTarget(b, route.port) : undefined;
      return t ? [{ taskId: b.taskId, ...t }] : [];
    });
    if (!route || candidates.length === 0) {
      client.destroy();
      return;
    }
    const key = `${route.serviceId}/${port}`;
    const start = this.next.get(key) ?? 0;
    this.next.set(key, (start + 1) % candidates.length);
    const now = Date.now();
    const rotated = candidates.map((_, i) => candidates[(start + i) % candidates.length]);
    const ordered = [
      ...rotated.filter((c) => (this.failedUntil.get(`${c?.host}:${c?.port}`) ?? 0) <= now),
      ...rotated.filter((c) => (this.failedUntil.get(`${c?.host}:${c?.port}`) ?? 0) > now),
    ].filter((c) => c !== undefined);
    this.dial(client, route, ordered, 0);
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
