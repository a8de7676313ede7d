import { randomUUID } from 'node:crypto';
import type { Node, NodeDescription, Task, TaskStatus } from '../../../shared/api-types.js';
import { TASK_STATES } from '../../../shared/api-types.js';
import { TswarmError } from '../../../shared/errors.js';
import type { Logger } from '../../log.js';
import { buildMeshTable, type MeshTable } from '../../mesh/table.js';
import type { Store } from '../store/store.js';
import type { Command, CommandResult } from '../store/types.js';

/** A node's mesh table before it gets one: a change is sent only when there is something. */
const EMPTY_MESH = JSON.stringify({ services: [] } satisfies MeshTable);

/** Extra grace a new leader gives nodes to re-open their sessions with it. */
export const RECONNECT_GRACE_MS = 2_500;

export interface Assignment {
  readonly task: Task;
  readonly serviceName: string;
  /** The clear data of the secrets the task uses (only tasks on this node, over mTLS). */
  readonly secrets?: readonly AssignedSecret[];
}

export interface AssignedSecret {
  readonly id: string;
  readonly name: string;
  readonly data: Buffer;
}

export interface SessionSink {
  /**
   * Pushes the node's current view (its object, the managers, the leader) and, when given,
   * the complete set of tasks the node must run or stop.
   */
  push(node: Node, assignments?: readonly Assignment[], mesh?: MeshTable): void;
  /** Ends the stream (leader lost, node removed, session replaced). */
  end(err?: TswarmError): void;
}

interface Session {
  readonly id: string;
  readonly nodeId: string;
  readonly sink: SessionSink;
  lastSeen: number;
  /** Fingerprint of the last assignment set sent, to send only changes. */
  lastAssignments: string;
  /** The routing-mesh table last sent (JSON), to send only changes. */
  lastMesh: string;
}

export interface DispatcherOptions {
  readonly store: Store;
  readonly propose: (cmd: Command) => Promise<CommandResult>;
  readonly heartbeatPeriodMs: () => number;
  /** A secret's clear data (decrypted on this manager), undefined when unknown. */
  readonly openSecret?: (id: string) => Buffer | undefined;
  readonly now?: () => number;
  readonly log: Logger;
}

/**
 * The leader's dispatcher: node sessions and heartbeats. A node that has not been heard from
 * for 3 heartbeat periods is marked Down; a node whose session starts is marked Ready.
 * Runs on the leader only; a new leader gives every node a full 3-period grace from its start.
 */
export class Dispatcher {
  private readonly sessions = new Map<string, Session>();
  /** When each node was last heard from (sessions may come and go). */
  private readonly lastSeen = new Map<string, number>();
  private readonly startedAt: number;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private marking = false;
  private readonly statusBatch = new Map<string, TaskStatus>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly opts: DispatcherOptions) {
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    this.log = opts.log.child({ component: 'dispatcher' });
  }

  start(): void {
    const period = this.opts.heartbeatPeriodMs();
    this.timer = setInterval(
      () => {
        void this.checkHeartbeats();
      },
      Math.max(50, Math.floor(period / 4)),
    );
    this.unsubscribe = this.opts.store.onChange((ev) => {
      // A node that joins after this dispatcher started gets its 3 periods of grace from
      // its creation, not from our start: it is in the store before its agent dials in.
      if (ev.cmd.op === 'node.create' && ev.result.ok && !this.lastSeen.has(ev.cmd.node.ID)) {
        this.lastSeen.set(ev.cmd.node.ID, this.now());
      }
      if (ev.cmd.op === 'node.remove') {
        for (const s of this.sessions.values()) {
          if (s.nodeId === ev.cmd.id) {
            s.sink.end(
              new TswarmError(
                'PERMISSION_DENIED',
                `node ${s.nodeId} has been removed from the swarm`,
              ),
            );
            this.sessions.delete(s.id);
          }
        }
        return;
      }
      if (!ev.result.ok) return;
      const op = ev.cmd.op;
      const tasksChanged = op.startsWith('task.') || op.startsWith('service.');
      const meshChanged =
        tasksChanged || op === 'node.set-status' || op === 'node.create' || op === 'cluster.create';
      // Tell every session whose node changed (role, availability, status, manager set),
      // and every session whose assignments changed.
      for (const s of this.sessions.values()) {
        const n = this.opts.store.node(s.nodeId);
        if (!n) continue;
        if (tasksChanged) this.pushAssignments(s, n, false);
        else if (commandTouches(ev.cmd, s.nodeId)) s.sink.push(n);
      }
      if (meshChanged) this.pushMesh(false);
    });
    this.log.info({ heartbeatPeriodMs: period }, 'dispatcher started');
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    for (const s of this.sessions.values())
      s.sink.end(new TswarmError('NOT_LEADER', 'dispatcher stopped: leadership changed'));
    this.sessions.clear();
  }

  /** Registers a session for an authenticated node; marks it Ready and pushes its object. */
  async openSession(
    nodeId: string,
    description: NodeDescription | undefined,
    addr: string,
    sink: SessionSink,
  ): Promise<string> {
    const node = this.opts.store.node(nodeId);
    if (!node) throw new TswarmError('NOT_FOUND', `node ${nodeId} not found`);
    for (const s of this.sessions.values()) {
      if (s.nodeId === nodeId) {
        s.sink.end(new TswarmError('FAILED_PRECONDITION', 'session replaced by a newer one'));
        this.sessions.delete(s.id);
      }
    }
    const id = randomUUID();
    const now = this.now();
    this.sessions.set(id, {
      id,
      nodeId,
      sink,
      lastSeen: now,
      lastAssignments: '',
      lastMesh: EMPTY_MESH,
    });
    this.lastSeen.set(nodeId, now);
    const at = new Date(now).toISOString();
    if (description && JSON.stringify(description) !== JSON.stringify(node.Description)) {
      await this.opts.propose({ op: 'node.update-description', at, id: nodeId, description });
    }
    if (node.Status.State !== 'ready' || node.Status.Addr !== addr) {
      await this.opts.propose({
        op: 'node.set-status',
        at,
        updates: [{ id: nodeId, state: 'ready', addr }],
      });
    }
    this.log.debug({ nodeId, sessionId: id }, 'session opened');
    return id;
  }

  /** Sends the session its first full view (after the caller has the session id). */
  sendInitial(sessionId: string): void {
    const s = this.sessions.get(sessionId);
    const n = s && this.opts.store.node(s.nodeId);
    if (s && n) this.pushAssignments(s, n, true);
    if (s) this.pushMesh(true, s);
  }

  /** The routing mesh's table, from the store (every node gets the same one). */
  meshTable(): MeshTable {
    const st = this.opts.store;
    return buildMeshTable(st.services(), st.tasks(), st.nodes());
  }

  /** Sends the mesh table to the sessions (or one) whose last one differs. */
  private pushMesh(force: boolean, only?: Session): void {
    const targets = only ? [only] : [...this.sessions.values()];
    if (targets.length === 0) return;
    const table = this.meshTable();
    const json = JSON.stringify(table);
    for (const s of targets) {
      if (!force && s.lastMesh === json) continue;
      const n = this.opts.store.node(s.nodeId);
      if (!n) continue;
      s.lastMesh = json;
      s.sink.push(n, undefined, table);
    }
  }

  assignmentsFor(nodeId: string): Assignment[] {
    const names = new Map(this.opts.store.services().map((x) => [x.ID, x.Spec.Name]));
    return this.opts.store
      .tasksOnNode(nodeId)
      .filter((t) => t.Status.State !== 'new' && t.Status.State !== 'pending')
      .map((task) => ({
        task,
        serviceName: names.get(task.ServiceID) ?? task.ServiceID,
        ...this.secretsOf(task),
      }));
  }

  /** Only a task that is still to run gets its secrets' data. */
  private secretsOf(task: Task): { secrets?: AssignedSecret[] } {
    const refs = task.Spec.ContainerSpec.Secrets;
    const open = this.opts.openSecret;
    const toRun = TASK_STATES.indexOf(task.DesiredState) <= TASK_STATES.indexOf('running');
    if (!refs?.length || !open || !toRun) return {};
    const out: AssignedSecret[] = [];
    for (const r of refs) {
      const data = open(r.SecretID);
      if (data) out.push({ id: r.SecretID, name: r.SecretName, data });
    }
    return { secrets: out };
  }

  private pushAssignments(s: Session, n: Node, force: boolean): void {
    const a = this.assignmentsFor(s.nodeId);
    const fp = JSON.stringify(a.map((x) => [x.task.ID, x.task.Version.Index]));
    if (!force && fp === s.lastAssignments) return;
    s.lastAssignments = fp;
    s.sink.push(n, a);
  }

  /** Observed task states from a node, batched into one Raft write per few ms. */
  updateTaskStatus(
    nodeId: string,
    sessionId: string,
    updates: readonly { taskId: string; status: TaskStatus }[],
  ): void {
    const s = this.sessions.get(sessionId);
    if (s?.nodeId !== nodeId)
      throw new TswarmError('NOT_FOUND', 'session invalid: open a new session');
    for (const u of updates) {
      const t = this.opts.store.task(u.taskId);
      if (t?.NodeID !== nodeId) continue;
      this.statusBatch.set(u.taskId, u.status);
    }
    if (!this.flushTimer && this.statusBatch.size) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        const batch = [...this.statusBatch].map(([id, status]) => ({ id, status }));
        this.statusBatch.clear();
        void this.opts
          .propose({ op: 'task.update', at: new Date(this.now()).toISOString(), updates: batch })
          .catch((err: unknown) => {
            this.log.warn(
              { err: err instanceof Error ? err.message : String(err) },
              'task status write failed',
            );
          });
      }, 5);
    }
  }

  closeSession(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  heartbeat(nodeId: string, sessionId: string): number {
    const s = this.sessions.get(sessionId);
    if (s?.nodeId !== nodeId) {
      throw new TswarmError('NOT_FOUND', 'session invalid: open a new session');
    }
    s.lastSeen = this.now();
    this.lastSeen.set(nodeId, s.lastSeen);
    return this.opts.heartbeatPeriodMs();
  }

  private async checkHeartbeats(): Promise<void> {
    if (this.marking) return;
    this.marking = true;
    try {
      const now = this.now();
      const limit = 3 * this.opts.heartbeatPeriodMs();
      const down: { id: string; state: 'down'; message: string }[] = [];
      for (const n of this.opts.store.nodes()) {
        if (n.Status.State === 'down') continue;
        const heard = this.lastSeen.get(n.ID);
        const seen = heard ?? this.startedAt;
        // Nodes this dispatcher has not heard from yet (a new leader) also get the time their
        // agents need to find it, trying dead managers first.
        if (now - seen > (heard === undefined ? limit + RECONNECT_GRACE_MS : limit))
          down.push({ id: n.ID, state: 'down', message: 'heartbeat failure' });
      }
      if (down.length) {
        // End their sessions too: a session that outlived its node's Down mark would keep
        // heartbeating and leave the node Down for good; its agent re-opens one, which marks
        // the node Ready again.
        const silent = new Set(down.map((d) => d.id));
        for (const s of this.sessions.values()) {
          if (!silent.has(s.nodeId)) continue;
          s.sink.end(new TswarmError('UNAVAILABLE', 'session expired: heartbeat failure'));
          this.sessions.delete(s.id);
        }
        this.log.info({ nodes: down.map((d) => d.id) }, 'marking nodes down: heartbeat failure');
        await this.opts.propose({
          op: 'node.set-status',
          at: new Date(now).toISOString(),
          updates: down,
        });
      }
    } catch (err) {
      this.log.warn({ err }, 'heartbeat check failed');
    } finally {
      this.marking = false;
    }
  }
}

function commandTouches(cmd: Command, nodeId: string): boolean {
  switch (cmd.op) {
    case 'node.set-status':
      return cmd.updates.some((u) => u.id === nodeId);
    case 'node.set-reachability':
      return true;
    case 'node.update-spec':
    case 'node.update-description':
    case 'node.set-manager':
    case 'node.remove':
      return true;
    case 'node.create':
      return true;
    case 'cluster.create':
    case 'cluster.update':
    case 'service.create':
    case 'service.update':
    case 'service.remove':
    case 'task.create':
    case 'task.update':
    case 'task.remove':
    case 'secret.create':
    case 'secret.remove':
      return false;
    default:
      return false;
  }
}
