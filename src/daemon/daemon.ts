import * as grpc from '@grpc/grpc-js';
import { mkdir, open, rm, chmod, type FileHandle } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { ProtoGrpcType as ControlProto } from '../../proto/gen/control.js';
import { TswarmError } from '../shared/errors.js';
import { loadProto } from '../shared/proto.js';
import type { DaemonConfig } from './config.js';
import { controlHandlers } from './control/service.js';
import { Engine } from './docker/engine.js';
import { SwarmNode } from './cluster/swarm-node.js';
import type { Logger } from './log.js';

/** An event-loop stall this long is logged (see Daemon.watchStalls). */
const STALL_WARN_MS = 1_000;

/** Is something answering on this unix socket? */
function isSocketLive(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      resolve(false);
    });
  });
}

/**
 * One tswarmd: owns its data root (exclusively, by a lock file), its control socket and
 * its Docker engine client. Cluster roles (manager, worker) attach to it at run time.
 */
export class Daemon {
  readonly engine: Engine;
  readonly swarm: SwarmNode;
  private readonly log: Logger;
  private control: grpc.Server | undefined;
  private lock: FileHandle | undefined;
  private stallTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly config: DaemonConfig,
    rootLog: Logger,
  ) {
    this.log = rootLog.child({ component: 'daemon' });
    this.engine = new Engine(config.dockerHost);
    this.swarm = new SwarmNode(config, this.engine, rootLog, () =>
      controlHandlers({ config, engine: this.engine, swarm: () => this.swarm, remote: true }),
    );
  }

  async start(): Promise<void> {
    await mkdir(this.config.dataRoot, { recursive: true, mode: 0o700 });
    await this.acquireLock();
    await this.swarm.restore();
    await this.startControl();
    this.watchStalls();
    this.log.info(
      {
        dataRoot: this.config.dataRoot,
        host: this.config.controlSocket,
        dockerHost: this.config.dockerHost,
      },
      'tswarmd started',
    );
  }

  /**
   * Logs when this process's event loop was blocked (a timer firing late): heartbeats,
   * Raft ticks and sessions all wait behind such a stall, so it explains "heartbeat failure"
   * and lost leaderships that would otherwise look like network trouble.
   */
  private watchStalls(): void {
    const every = 500;
    let expected = Date.now() + every;
    this.stallTimer = setInterval(() => {
      const late = Date.now() - expected;
      expected = Date.now() + every;
      if (late >= STALL_WARN_MS) this.log.warn({ blockedMs: late }, 'event loop was blocked');
    }, every);
    this.stallTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.stallTimer) clearInterval(this.stallTimer);
    await this.swarm.stop().catch((err: unknown) => {
      this.log.warn({ err }, 'stopping the swarm node failed');
    });
    const control = this.control;
    this.control = undefined;
    if (control) {
      await new Promise<void>((resolve) => {
        control.tryShutdown(() => {
          resolve();
        });
      });
      await rm(this.config.controlSocket, { force: true });
    }
    if (this.lock) {
      await this.lock.close();
      await rm(path.join(this.config.dataRoot, 'tswarmd.pid'), { force: true });
      this.lock = undefined;
    }
    this.log.info('tswarmd stopped');
  }

  private async acquireLock(): Promise<void> {
    const pidFile = path.join(this.config.dataRoot, 'tswarmd.pid');
    try {
      this.lock = await open(pidFile, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const { readFile } = await import('node:fs/promises');
      const pid = Number((await readFile(pidFile, 'utf8')).trim());
      if (Number.isInteger(pid) && pid > 0 && isProcessAlive(pid)) {
        throw new TswarmError(
          'ALREADY_EXISTS',
          `data root ${this.config.dataRoot} is in use by tswarmd pid ${pid}`,
        );
      }
      await rm(pidFile, { force: true });
      this.lock = await open(pidFile, 'wx', 0o600);
    }
    await this.lock.writeFile(`${process.pid}\n`);
    await this.lock.sync();
  }

  private async startControl(): Promise<void> {
    const sock = this.config.controlSocket;
    await mkdir(path.dirname(sock), { recursive: true });
    if (await isSocketLive(sock)) {
      throw new TswarmError('ALREADY_EXISTS', `control socket ${sock} is in use by another daemon`);
    }
    await rm(sock, { force: true });
    const proto = loadProto<ControlProto>('control.proto');
    const server = new grpc.Server();
    server.addService(
      proto.tswarm.control.v1.Control.service,
      controlHandlers({
        config: this.config,
        engine: this.engine,
        swarm: () => this.swarm,
        remote: false,
      }),
    );
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix://${sock}`, grpc.ServerCredentials.createInsecure(), (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
    await chmod(sock, 0o660);
    this.control = server;
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
