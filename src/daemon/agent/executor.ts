import type { Readable } from 'node:stream';
import type { Task, TaskStatus } from '../../shared/api-types.js';
import type { Logger } from '../log.js';
import { LABEL_TASK_ID, type DockerAdapter } from './docker/adapter.js';
import { isTerminal, stateIndex, TaskController } from './task-controller.js';
import { defaultSecretsRoot, SecretFiles, type TaskSecret } from './secret-files.js';

export interface AssignedTask {
  readonly task: Task;
  readonly serviceName: string;
  /** Clear data of the task's secrets (only for tasks still to run). */
  readonly secrets?: readonly TaskSecret[];
}

/**
 * The worker's executor: keeps this node's containers in line with its assignments.
 * Adopts running containers after a restart (matched by the com.tswarm.task.id label),
 * removes containers whose task is no longer assigned, and never touches a container
 * without this node's label. Exits and health changes come from Docker events.
 */
export class Executor {
  private readonly controllers = new Map<string, TaskController>();
  /** Containers found at start, by task ID, waiting to be adopted by an assignment. */
  private readonly orphans = new Map<string, string>();
  private events: Readable | undefined;
  private stopped = false;
  private haveAssignments = false;
  private readonly log: Logger;
  private queue: Promise<void> = Promise.resolve();
  private readonly secretFiles: SecretFiles;

  constructor(
    private readonly nodeId: string,
    private readonly docker: DockerAdapter,
    private readonly report: (taskId: string, status: TaskStatus) => void,
    log: Logger,
    private readonly ports: { readonly publishIp?: string; readonly meshIp?: string } = {},
  ) {
    this.log = log.child({ component: 'executor' });
    this.secretFiles = new SecretFiles(defaultSecretsRoot(nodeId));
  }

  async start(): Promise<void> {
    try {
      for (const c of await this.docker.listManaged(this.nodeId)) {
        const taskId = c.labels[LABEL_TASK_ID];
        if (taskId) this.orphans.set(taskId, c.id);
      }
      this.log.info({ containers: this.orphans.size }, 'found managed containers');
    } catch (err) {
      this.log.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'cannot list containers',
      );
    }
    void this.watchEvents();
  }

  private isStopped(): boolean {
    return this.stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.events?.destroy();
    await this.queue;
  }

  /** Current observed state of every task this node runs (re-sent to a new leader). */
  snapshot(): { taskId: string; state: string }[] {
    return [...this.controllers.values()].map((c) => ({ taskId: c.id, state: c.current }));
  }

  private async watchEvents(): Promise<void> {
    while (!this.stopped) {
      try {
        const stream = await this.docker.events(this.nodeId);
        this.events = stream;
        let buf = '';
        await new Promise<void>((resolve) => {
          stream.on('data', (chunk: Buffer) => {
            buf += chunk.toString();
            let i: number;
            while ((i = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, i);
              buf = buf.slice(i + 1);
              if (line.trim()) this.onEvent(line);
            }
          });
          stream.on('end', resolve);
          stream.on('close', resolve);
          stream.on('error', () => {
            resolve();
          });
        });
      } catch (err) {
        this.log.debug(
          { err: err instanceof Error ? err.message : String(err) },
          'docker events unavailable',
        );
      }
      if (!this.isStopped()) await new Promise((r) => setTimeout(r, 500));
    }
  }

  private onEvent(line: string): void {
    let ev: { status?: string; Action?: string; Actor?: { Attributes?: Record<string, string> } };
    try {
      ev = JSON.parse(line) as typeof ev;
    } catch {
      return;
    }
    const attrs = ev.Actor?.Attributes ?? {};
    const taskId = attrs[LABEL_TASK_ID];
    if (!taskId) return;
    const c = this.controllers.get(taskId);
    if (!c) return;
    const action = ev.Action ?? ev.status ?? '';
    if (action === 'die') c.onExit(Number(attrs['exitCode'] ?? '0'));
    else if (action.startsWith('health_status')) c.onHealth(action.split(': ')[1] ?? '');
  }

  /** The complete set of tasks for this node; serialized so changes apply in order. */
  setAssignments(assigned: readonly AssignedTask[]): void {
    this.queue = this.queue
      .then(() => this.apply(assigned))
      .catch((err: unknown) => {
        this.log.error(
          { err: err instanceof Error ? err.message : String(err) },
          'applying assignments failed',
        );
      });
  }

  private async apply(assigned: readonly AssignedTask[]): Promise<void> {
    const wanted = new Map(assigned.map((a) => [a.task.ID, a]));
    // Tasks gone from the assignments: their containers go.
    for (const [id, c] of this.controllers) {
      if (!wanted.has(id)) {
        this.controllers.delete(id);
        await c.remove().catch((err: unknown) => {
          this.log.warn(
            { task: id, err: err instanceof Error ? err.message : String(err) },
            'removing container failed',
          );
        });
      }
    }
    if (!this.haveAssignments) {
      this.haveAssignments = true;
      for (const [taskId, containerId] of this.orphans) {
        if (!wanted.has(taskId)) {
          this.log.info(
            { task: taskId, container: containerId },
            'removing container of a task no longer assigned',
          );
          await this.docker.stop(containerId, 10).catch(() => undefined);
          await this.docker.remove(containerId).catch(() => undefined);
          this.orphans.delete(taskId);
        }
      }
      // Secret files of tasks that are gone (the daemon was down when they were removed).
      await this.secretFiles.prune(new Set(wanted.keys())).catch(() => undefined);
    }
    for (const a of assigned) {
      const t = a.task;
      let c = this.controllers.get(t.ID);
      let fresh = false;
      if (!c) {
        fresh = true;
        if (isTerminal(t.Status.State) && !this.orphans.has(t.ID)) continue;
        const adopted = this.orphans.get(t.ID);
        this.orphans.delete(t.ID);
        c = new TaskController(
          t,
          a.serviceName,
          {
            nodeId: this.nodeId,
            docker: this.docker,
            report: this.report,
            log: this.log,
            ...this.ports,
            secretFiles: this.secretFiles,
          },
          adopted,
        );
        this.controllers.set(t.ID, c);
      } else c.update(t);
      c.useSecrets(a.secrets ?? []);
      const desired = stateIndex(t.DesiredState);
      if (t.DesiredState === 'remove') {
        this.controllers.delete(t.ID);
        void c.remove();
      } else if (desired >= stateIndex('shutdown') || t.DesiredState === 'complete') {
        if (!isTerminal(c.current)) void c.shutdown();
      } else if (desired <= stateIndex('running') && !isTerminal(c.current)) {
        // New here (assigned, or adopted after a restart: the step re-checks the container
        // first), or prepared and now wanted running (a stop-first replacement).
        if (fresh || stateIndex(c.current) <= stateIndex('ready')) c.advance();
      }
    }
  }
}
