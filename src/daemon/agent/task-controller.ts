import type { MeshPort, PortConfig, Task, TaskState, TaskStatus } from '../../shared/api-types.js';
import { TASK_STATES } from '../../shared/api-types.js';
import { TswarmError } from '../../shared/errors.js';
import type { Logger } from '../log.js';
import {
  LABEL_NODE,
  LABEL_SERVICE_ID,
  LABEL_SERVICE_NAME,
  LABEL_TASK_ID,
  LABEL_TASK_SLOT,
  type ContainerConfig,
  type ContainerState,
  type DockerAdapter,
} from './docker/adapter.js';
import { engineMessage } from './docker/errors.js';
import type { SecretFiles, SecretMount, TaskSecret } from './secret-files.js';

function uniqueTargets(ports: readonly PortConfig[]): PortConfig[] {
  const out: PortConfig[] = [];
  for (const p of ports)
    if (!out.some((q) => q.TargetPort === p.TargetPort && q.Protocol === p.Protocol)) out.push(p);
  return out;
}

export function stateIndex(s: TaskState): number {
  return TASK_STATES.indexOf(s);
}

/** Swarm's rule: a task's observed state never moves backwards. */
export function isForward(from: TaskState, to: TaskState): boolean {
  return stateIndex(to) >= stateIndex(from);
}

export function isTerminal(s: TaskState): boolean {
  return stateIndex(s) >= stateIndex('complete');
}

/** `<service>.<slot>.<taskid>` (global tasks: `<service>.<nodeid>.<taskid>`), as Swarm names them. */
export function containerName(t: Task, serviceName: string): string {
  return `${serviceName}.${t.Slot !== undefined && t.Slot > 0 ? String(t.Slot) : (t.NodeID ?? '')}.${t.ID}`;
}

export interface ControllerDeps {
  readonly nodeId: string;
  readonly docker: DockerAdapter;
  readonly report: (taskId: string, status: TaskStatus) => void;
  readonly log: Logger;
  /** Host-mode published ports bind here ('' = every address). */
  readonly publishIp?: string;
  /**
   * Ingress target ports bind to an ephemeral host port here (the node's advertise address),
   * for the routing mesh of every node to dial; unset = ingress ports are not bound.
   */
  readonly meshIp?: string;
  /** Where the task's secrets are written for their bind mounts (a tmpfs). */
  readonly secretFiles?: SecretFiles;
}

const NS_PER_S = 1e9;

type Binding = ContainerState['ports'][number];

/**
 * Splits a container's port bindings into the task's host-mode ports (PortStatus, as Docker)
 * and its ingress target ports for the routing mesh (MeshPorts).
 */
export function taskPorts(
  task: Task,
  bindings: readonly Binding[],
  meshIp: string | undefined,
): { portStatus?: TaskStatus['PortStatus']; meshPorts?: readonly MeshPort[] } {
  const claimed = new Set<Binding>();
  const claim = (pred: (b: Binding) => boolean): Binding | undefined => {
    const b = bindings.find((x) => !claimed.has(x) && x.hostPort > 0 && pred(x));
    if (b) claimed.add(b);
    // The same port bound on IPv4 and IPv6 is one port.
    if (b)
      for (const x of bindings)
        if (
          x.containerPort === b.containerPort &&
          x.protocol === b.protocol &&
          x.hostPort === b.hostPort
        )
          claimed.add(x);
    return b;
  };
  const ports = task.Endpoint?.Ports ?? [];
  const of = (p: PortConfig) => (b: Binding) =>
    b.containerPort === p.TargetPort && b.protocol === p.Protocol;
  const host: PortConfig[] = [];
  const mesh: MeshPort[] = [];
  for (const p of ports.filter((x) => x.PublishMode === 'host' && x.PublishedPort)) {
    const b = claim((x) => of(p)(x) && x.hostPort === p.PublishedPort);
    if (b) host.push({ ...p, PublishedPort: b.hostPort });
  }
  if (meshIp !== undefined)
    for (const p of ports.filter((x) => x.PublishMode === 'ingress')) {
      if (mesh.some((m) => m.TargetPort === p.TargetPort && m.Protocol === p.Protocol)) continue;
      const b = claim(
        (x) =>
          of(p)(x) &&
          (meshIp === '' ? ['', '0.0.0.0', '::'].includes(x.hostIp ?? '') : x.hostIp === meshIp),
      );
      if (b)
        mesh.push({
          Protocol: p.Protocol,
          TargetPort: p.TargetPort,
          HostIP: meshIp,
          HostPort: b.hostPort,
        });
    }
  for (const p of ports.filter((x) => x.PublishMode === 'host' && !x.PublishedPort)) {
    const b = claim(of(p));
    if (b) host.push({ ...p, PublishedPort: b.hostPort });
  }
  return {
    ...(host.length ? { portStatus: { Ports: host } } : {}),
    ...(mesh.length ? { meshPorts: mesh } : {}),
  };
}

/**
 * Drives one task's container through Swarm's states: accepted → preparing (image) → ready
 * (created) → starting → running (healthy when a health check is set) → complete/failed;
 * shutdown on request, with the stop grace period and then a kill.
 */
export class TaskController {
  private state: TaskState;
  private containerId: string | undefined;
  private stopping = false;
  private portStatus: TaskStatus['PortStatus'];
  private meshPorts: TaskStatus['MeshPorts'];
  private readonly log: Logger;

  constructor(
    private task: Task,
    private readonly serviceName: string,
    private readonly deps: ControllerDeps,
    adopted?: string,
  ) {
    this.state = task.Status.State;
    this.containerId = adopted;
    this.log = deps.log.child({ task: task.ID });
  }

  private isStopping(): boolean {
    return this.stopping;
  }

  get id(): string {
    return this.task.ID;
  }

  get current(): TaskState {
    return this.state;
  }

  get container(): string | undefined {
    return this.containerId;
  }

  update(t: Task): void {
    this.task = t;
  }

  private secrets: readonly TaskSecret[] = [];

  /** The clear data of the task's secrets, as the dispatcher sent it (kept in memory only). */
  useSecrets(secrets: readonly TaskSecret[]): void {
    if (secrets.length) this.secrets = secrets;
  }

  private async secretMounts(): Promise<SecretMount[]> {
    const refs = this.task.Spec.ContainerSpec.Secrets ?? [];
    if (refs.length === 0) return [];
    const files = this.deps.secretFiles;
    if (!files) throw new TswarmError('FAILED_PRECONDITION', 'this node cannot mount secrets');
    return files.write(this.task.ID, refs, this.secrets);
  }

  private set(to: TaskState, message: string, extra: Partial<TaskStatus> = {}): void {
    if (!isForward(this.state, to)) return;
    this.state = to;
    this.deps.report(this.task.ID, {
      Timestamp: new Date().toISOString(),
      State: to,
      Message: message,
      ...extra,
      ...(this.portStatus && to === 'running' ? { PortStatus: this.portStatus } : {}),
      ...(this.meshPorts && to === 'running' ? { MeshPorts: this.meshPorts } : {}),
      ...(this.containerId
        ? { ContainerStatus: { ContainerID: this.containerId, ...extra.ContainerStatus } }
        : {}),
    });
  }

  private config(): ContainerConfig {
    const spec = this.task.Spec;
    const c = spec.ContainerSpec;
    const lim = spec.Resources?.Limits;
    return {
      name: containerName(this.task, this.serviceName),
      image: c.Image,
      labels: {
        ...(c.Labels ?? {}),
        [LABEL_NODE]: this.deps.nodeId,
        [LABEL_SERVICE_ID]: this.task.ServiceID,
        [LABEL_SERVICE_NAME]: this.serviceName,
        [LABEL_TASK_ID]: this.task.ID,
        [LABEL_TASK_SLOT]: String(this.task.Slot ?? 0),
      },
      ...(c.Command ? { entrypoint: c.Command } : {}),
      ...(c.Args ? { cmd: c.Args } : {}),
      ...(c.Env ? { env: c.Env } : {}),
      ...(c.Dir ? { workdir: c.Dir } : {}),
      ...(c.User ? { user: c.User } : {}),
      ...(c.Hostname ? { hostname: c.Hostname } : {}),
      ...(lim?.NanoCPUs ? { nanoCpus: lim.NanoCPUs } : {}),
      ...(lim?.MemoryBytes ? { memoryBytes: lim.MemoryBytes } : {}),
      ...(c.Healthcheck ? { healthcheck: c.Healthcheck } : {}),
      stopTimeoutS: this.graceS(),
      // Host-mode ports bind on this node's publish address; ingress target ports bind to an
      // ephemeral port of its advertise address, which the routing mesh on every node dials.
      ports: [
        ...(this.task.Endpoint?.Ports ?? [])
          .filter((p) => p.PublishMode === 'host')
          .map((p) => ({
            containerPort: p.TargetPort,
            protocol: p.Protocol,
            hostIp: this.deps.publishIp ?? '',
            hostPort: p.PublishedPort ?? 0,
          })),
        ...(this.deps.meshIp !== undefined
          ? uniqueTargets(
              (this.task.Endpoint?.Ports ?? []).filter((p) => p.PublishMode === 'ingress'),
            ).map((p) => ({
              containerPort: p.TargetPort,
              protocol: p.Protocol,
              hostIp: this.deps.meshIp ?? '',
              hostPort: 0,
            }))
          : []),
      ],
    };
  }

  private notePorts(bindings: readonly Binding[]): void {
    const r = taskPorts(this.task, bindings, this.deps.meshIp);
    this.portStatus = r.portStatus;
    this.meshPorts = r.meshPorts;
  }

  private graceS(): number {
    return (this.task.Spec.ContainerSpec.StopGracePeriod ?? 10 * NS_PER_S) / NS_PER_S;
  }

  /** A step is under way; `again` asks it to look once more when it ends. */
  private busy = false;
  private again = false;
  /** The container exists (created here, or adopted). */
  private prepared = false;
  private started = false;

  private askedAgain(): boolean {
    return this.again;
  }

  /**
   * Moves the task toward its desired state: prepared (image, container created) for
   * desired `ready`, started for desired `running`. A stop-first update's replacement is
   * prepared while its slot's old task stops and starts once the manager sets it running.
   * Calls while a step is under way are folded into one more step after it.
   */
  advance(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    void (async () => {
      try {
        do {
          this.again = false;
          await this.step();
        } while (this.askedAgain() && !this.isStopping() && !isTerminal(this.state));
      } finally {
        this.busy = false;
      }
    })();
  }

  private async step(): Promise<void> {
    const d = this.deps.docker;
    try {
      if (!this.prepared && this.containerId) {
        const st = await d.inspect(this.containerId);
        if (st?.running) {
          this.prepared = this.started = true;
          this.notePorts(st.ports);
          this.set('running', 'started');
          return;
        }
        if (st?.created) {
          this.prepared = true;
          this.set('ready', 'prepared');
        } else if (st) {
          this.prepared = this.started = true;
          this.onExit(st.exitCode, st.error);
          return;
        } else this.containerId = undefined;
      }
      if (!this.prepared) {
        this.set('accepted', 'accepted');
        this.set('preparing', 'preparing');
        const image = this.task.Spec.ContainerSpec.Image;
        if (!(await d.hasImage(image))) {
          try {
            await d.pull(image);
          } catch (err) {
            const msg = engineMessage(err instanceof TswarmError && err.cause ? err.cause : err);
            this.set('rejected', 'preparing failed', {
              Err: msg.startsWith('No such image') ? msg : `No such image: ${image}: ${msg}`,
            });
            return;
          }
        }
        if (this.stopping) return;
        const mounts = await this.secretMounts();
        this.containerId = await d.create({
          ...this.config(),
          ...(mounts.length ? { mounts } : {}),
        });
        this.prepared = true;
        this.set('ready', 'prepared');
      }
      // Desired `ready`: the slot's old task is still stopping; wait for desired `running`.
      if (this.started || this.isStopping() || this.task.DesiredState !== 'running') return;
      const id = this.containerId;
      if (!id) return;
      this.started = true;
      this.set('starting', 'starting');
      await d.start(id);
      const st = await d.inspect(id);
      if (st && !st.running) {
        this.onExit(st.exitCode, st.error);
        return;
      }
      this.notePorts(st?.ports ?? []);
      // With a health check (the spec's, or the image's unless disabled with NONE), the task
      // is running once healthy: the engine's health_status event moves it on (onHealth).
      const hc = this.task.Spec.ContainerSpec.Healthcheck;
      const checked = hc ? hc.Test?.[0] !== 'NONE' : st?.health !== undefined;
      if (!checked || st?.health === 'healthy') this.set('running', 'started');
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      this.log.warn({ err: msg }, 'task failed to start');
      if (this.state === 'preparing' || this.state === 'accepted')
        this.set('rejected', 'preparing failed', { Err: msg });
      else this.set('failed', 'starting failed', { Err: msg });
    }
  }

  /** A `health_status` event from the engine. */
  onHealth(status: string): void {
    if (status === 'healthy' && this.state === 'starting') this.set('running', 'started');
    if (status === 'unhealthy' && !isTerminal(this.state)) {
      this.set('failed', 'task: container unhealthy', { Err: 'task: container unhealthy' });
      const id = this.containerId;
      if (id) void this.deps.docker.stop(id, this.graceS()).catch(() => undefined);
    }
  }

  /** A `die` event (or an exit seen on adoption). */
  onExit(exitCode: number, error = ''): void {
    if (isTerminal(this.state)) return;
    if (this.stopping) {
      this.set('shutdown', 'shutdown', { ContainerStatus: { ExitCode: exitCode } });
      return;
    }
    if (exitCode === 0) this.set('complete', 'finished', { ContainerStatus: { ExitCode: 0 } });
    else {
      const err = error || `task: non-zero exit (${exitCode})`;
      this.set('failed', 'started', { Err: err, ContainerStatus: { ExitCode: exitCode } });
    }
  }

  /** A stop request is with the engine (so later assignments do not signal it again). */
  private stopSent = false;

  /** Desired state went to shutdown: stop with the grace period, then the engine kills. */
  async shutdown(): Promise<void> {
    if (this.stopSent) return;
    this.stopping = this.stopSent = true;
    const id = this.containerId;
    try {
      if (id) await this.deps.docker.stop(id, this.graceS());
    } catch (err) {
      // The next assignments ask again.
      this.stopSent = false;
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'stop failed');
      return;
    }
    if (!isTerminal(this.state)) this.set('shutdown', 'shutdown');
  }

  /** The task left this node's assignments: the container goes. */
  async remove(): Promise<void> {
    this.stopping = true;
    const id = this.containerId;
    if (id) {
      await this.deps.docker.stop(id, this.graceS());
      await this.deps.docker.remove(id);
    }
    await this.deps.secretFiles?.release(this.task.ID);
  }
}
