import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import type { HealthConfig } from '../../../shared/api-types.js';
import { fromDockerError, isNotFound } from './errors.js';

export const LABEL_PREFIX = 'com.tswarm.';
export const LABEL_NODE = 'com.tswarm.node.id';
export const LABEL_SERVICE_ID = 'com.tswarm.service.id';
export const LABEL_SERVICE_NAME = 'com.tswarm.service.name';
export const LABEL_TASK_ID = 'com.tswarm.task.id';
export const LABEL_TASK_SLOT = 'com.tswarm.task.slot';

export interface ContainerConfig {
  readonly name: string;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly env?: readonly string[];
  readonly workdir?: string;
  readonly user?: string;
  readonly hostname?: string;
  readonly nanoCpus?: number;
  readonly memoryBytes?: number;
  readonly healthcheck?: HealthConfig;
  readonly stopTimeoutS?: number;
  /** Read-only bind mounts of files (the task's secrets, from a tmpfs on the host). */
  readonly mounts?: readonly { source: string; target: string; readOnly: boolean }[];
  /** Host-published ports: container port/proto → host IP and port (0 = ephemeral). */
  readonly ports?: readonly {
    containerPort: number;
    protocol: 'tcp' | 'udp';
    hostIp: string;
    hostPort: number;
  }[];
}

export interface ContainerState {
  readonly id: string;
  readonly running: boolean;
  /** Created and never started (a stop-first replacement waiting for its slot). */
  readonly created: boolean;
  readonly exitCode: number;
  readonly pid: number;
  readonly health?: 'starting' | 'healthy' | 'unhealthy';
  readonly error: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ports: readonly {
    containerPort: number;
    protocol: string;
    hostPort: number;
    hostIp?: string;
  }[];
}

export interface ManagedContainer {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly running: boolean;
}

/** The few Engine API calls the executor needs, with errors mapped to TswarmError. */
export class DockerAdapter {
  constructor(private readonly docker: Docker) {}

  async hasImage(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw fromDockerError(err, 'inspecting image');
    }
  }

  /** Pulls an image; rejects with the engine's message when the pull fails. */
  async pull(image: string): Promise<void> {
    let stream: Readable;
    try {
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- dockerode returns a stream typed loosely
      stream = (await this.docker.pull(image)) as Readable;
    } catch (err) {
      throw fromDockerError(err, `pulling ${image}`);
    }
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, output: { error?: string }[]) => {
          const failed = output.find((o) => o.error);
          if (err) reject(fromDockerError(err, `pulling ${image}`));
          else if (failed?.error)
            reject(fromDockerError(new Error(failed.error), `pulling ${image}`));
          else resolve();
        },
      );
    });
  }

  async create(c: ContainerConfig): Promise<string> {
    const ns = (v: number | undefined): number | undefined => v;
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of c.ports ?? []) {
      const key = `${p.containerPort}/${p.protocol}`;
      exposed[key] = {};
      // One target port may be bound more than once (a host-mode port and the mesh's).
      bindings[key] = [
        ...(bindings[key] ?? []),
        { HostIp: p.hostIp, HostPort: p.hostPort ? String(p.hostPort) : '' },
      ];
    }
    const hc = c.healthcheck;
    try {
      const container = await this.docker.createContainer({
        name: c.name,
        Image: c.image,
        Labels: { ...c.labels },
        ...(c.entrypoint ? { Entrypoint: [...c.entrypoint] } : {}),
        ...(c.cmd ? { Cmd: [...c.cmd] } : {}),
        Env: [...(c.env ?? [])],
        ...(c.workdir ? { WorkingDir: c.workdir } : {}),
        ...(c.user ? { User: c.user } : {}),
        ...(c.hostname ? { Hostname: c.hostname } : {}),
        ...(c.stopTimeoutS !== undefined ? { StopTimeout: c.stopTimeoutS } : {}),
        ExposedPorts: exposed,
        ...(hc
          ? {
              Healthcheck: {
                ...(hc.Test ? { Test: [...hc.Test] } : {}),
                ...(hc.Interval !== undefined ? { Interval: ns(hc.Interval) } : {}),
                ...(hc.Timeout !== undefined ? { Timeout: ns(hc.Timeout) } : {}),
                ...(hc.Retries !== undefined ? { Retries: hc.Retries } : {}),
                ...(hc.StartPeriod !== undefined ? { StartPeriod: ns(hc.StartPeriod) } : {}),
              },
            }
          : {}),
        HostConfig: {
          ...(c.nanoCpus ? { NanoCpus: c.nanoCpus } : {}),
          ...(c.memoryBytes ? { Memory: c.memoryBytes } : {}),
          PortBindings: bindings,
          RestartPolicy: { Name: 'no' },
          ...(c.mounts?.length
            ? {
                Mounts: c.mounts.map((m) => ({
                  Type: 'bind' as const,
                  Source: m.source,
                  Target: m.target,
                  ReadOnly: m.readOnly,
                })),
              }
            : {}),
        },
      });
      return container.id;
    } catch (err) {
      throw fromDockerError(err, 'creating container');
    }
  }

  async start(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 304) return;
      throw fromDockerError(err, 'starting container');
    }
  }

  /** Stops with the grace period, then the engine kills. A missing container is fine. */
  async stop(id: string, graceS: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: Math.max(0, Math.round(graceS)) });
    } catch (err) {
      const code = (err as { statusCode?: number }).statusCode;
      if (code === 304 || code === 404) return;
      throw fromDockerError(err, 'stopping container');
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true });
    } catch (err) {
      const code = (err as { statusCode?: number }).statusCode;
      if (code === 404 || code === 409) return;
      throw fromDockerError(err, 'removing container');
    }
  }

  async inspect(id: string): Promise<ContainerState | undefined> {
    try {
      const i = await this.docker.getContainer(id).inspect();
      const ports: {
        containerPort: number;
        protocol: string;
        hostPort: number;
        hostIp?: string;
      }[] = [];
      for (const [key, binds] of Object.entries(i.NetworkSettings.Ports)) {
        const [port, proto] = key.split('/');
        // An exposed port without a binding has none (null).
        for (const b of (binds as typeof binds | null) ?? [])
          ports.push({
            containerPort: Number(port),
            protocol: proto ?? 'tcp',
            hostPort: Number(b.HostPort),
            hostIp: b.HostIp,
          });
      }
      const health = (i.State as { Health?: { Status?: string } }).Health?.Status;
      return {
        id: i.Id,
        running: i.State.Running,
        created: i.State.Status === 'created',
        exitCode: i.State.ExitCode,
        pid: i.State.Pid,
        ...(health === 'starting' || health === 'healthy' || health === 'unhealthy'
          ? { health }
          : {}),
        error: i.State.Error,
        labels: i.Config.Labels,
        ports,
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw fromDockerError(err, 'inspecting container');
    }
  }

  /** Containers carrying our node label (never anything else). */
  async listManaged(nodeId: string): Promise<ManagedContainer[]> {
    try {
      const list = await this.docker.listContainers({
        all: true,
        filters: { label: [`${LABEL_NODE}=${nodeId}`] },
      });
      return list.map((c) => ({
        id: c.Id,
        name: (c.Names[0] ?? '').replace(/^\//, ''),
        labels: c.Labels,
        running: c.State === 'running',
      }));
    } catch (err) {
      throw fromDockerError(err, 'listing containers');
    }
  }

  /** Container events for our node's containers; the stream ends when the engine goes away. */
  async events(nodeId: string): Promise<Readable> {
    try {
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- dockerode returns a stream typed loosely
      return (await this.docker.getEvents({
        filters: {
          type: ['container'],
          label: [`${LABEL_NODE}=${nodeId}`],
          event: ['die', 'health_status', 'start', 'destroy'],
        },
      })) as Readable;
    } catch (err) {
      throw fromDockerError(err, 'watching events');
    }
  }

  async logs(
    id: string,
    o: { follow: boolean; tail?: number; timestamps: boolean },
  ): Promise<Readable> {
    try {
      const c = this.docker.getContainer(id);
      if (o.follow) {
        return (await c.logs({
          follow: true,
          stdout: true,
          stderr: true,
          timestamps: o.timestamps,
          ...(o.tail !== undefined ? { tail: o.tail } : {}),
        })) as unknown as Readable;
      }
      const buf = await c.logs({
        follow: false,
        stdout: true,
        stderr: true,
        timestamps: o.timestamps,
        ...(o.tail !== undefined ? { tail: o.tail } : {}),
      });
      const { Readable: R } = await import('node:stream');
      return R.from([buf]);
    } catch (err) {
      throw fromDockerError(err, 'reading logs');
    }
  }
}
