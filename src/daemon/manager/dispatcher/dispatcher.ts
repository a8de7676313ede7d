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
  /** The agent said it is shutting down cleanly: its stream's close is not a crash. */
  stopping: boolean;
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
 *
 * A session whose stream closed without its agent saying it was stopping (the daemon's process
 * died and its host closed the connection) marks the node Down after one period without a new
 * session, sooner than silence would.
 */
export class Dispatcher {
  private readonly sessions = new Map<string, Session>();
  /** When a node's session closed with no newer one and no word that its agent was stopping. */
  private readonly droppedAt = new Map<string, number>();
  /** When each node was last heard from (sessions may come and go). */
  private readonly lastSeen = new Map<string, number>();
  private readonly startedAt: number;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private marking = false;
  /** When the last heartbeat check ran: a late one means this process stalled. */
  private lastCheckAt: number | undefined;
  private skippedLast = false;
  private readonly statusBatch = new Map<string, TaskStatus>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly log: Logger;
  /** Which node each task is on, and the tasks of each node: who a task write concerns. */
  private readonly taskNode = new Map<string, string>();
  private readonly nodeTasks = new Map<string, Set<string>>();
  /**
   * Each node's session (one at most: a new one replaces it). With thousands of agents,
   * scanning every session per open or per write was quadratic: 3.5 s of a 27 s window of
   * 5,000 sessions re-opening.
   */
  private readonly byNode = new Map<string, Session>();
  /** The mesh table of the store as it is (cleared on every change). */
  private meshCache: { table: MeshTable; json: string } | undefined;

  private addSession(s: Session): void {
    this.sessions.set(s.id, s);
    this.byNode.set(s.nodeId, s);
  }

  private dropSession(s: Session): void {
    this.sessions.delete(s.id);
    if (this.byNode.get(s.nodeId) === s) this.byNode.delete(s.nodeId);
  }

  constructor(private readonly opts: DispatcherOptions) {
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    this.log = opts.log.child({ component: 'dispatcher' });
    this.rebuildIndex();
  }

  private rebuildIndex(): void {
    this.taskNode.clear();
    this.nodeTasks.clear();
    for (const t of this.opts.store.tasks()) this.trackTask(t.ID);
  }

  start(): void {
    this.rebuildIndex();
    const period = this.opts.heartbeatPeriodMs();
    this.timer = setInterval(
      () => {
        void this.checkHeartbeats();
      },
      Math.max(50, Math.floor(period / 4)),
    );
    this.unsubscribe = this.opts.store.onChange((ev) => {
      this.meshCache = undefined;
      // A node that joins after this dispatcher started gets its 3 periods of grace from
      // its creation, not from our start: it is in the store before its agent dials in.
      if (ev.cmd.op === 'node.create' && ev.result.ok && !this.lastSeen.has(ev.cmd.node.ID)) {
        this.lastSeen.set(ev.cmd.node.ID, this.now());
      }
      if (ev.cmd.op === 'node.remove') {
        this.droppedAt.delete(ev.cmd.id);
        const s = this.byNode.get(ev.cmd.id);
        if (s) {
          s.sink.end(
            new TswarmError(
              'PERMISSION_DENIED',
              `node ${s.nodeId} has been removed from the swarm`,
            ),
          );
          this.dropSession(s);
        }
        return;
      }
      if (!ev.result.ok) return;
      const op = ev.cmd.op;
      const changed = this.nodesConcerned(ev.cmd);
      const tasksChanged = op.startsWith('task.') || op.startsWith('service.');
      const meshChanged =
        tasksChanged || op === 'node.set-status' || op === 'node.create' || op === 'cluster.create';
      // Only the sessions whose node (or its task set) the write concerns hear about it, or
      // every session when the manager list they carry changed: with N agents a join or a
      // task write is O(1) pushes, not N.
      const targets =
        changed === 'all'
          ? [...this.sessions.values()]
          : [...changed].flatMap((id) => this.byNode.get(id) ?? []);
      for (const s of targets) {
        const n = this.opts.store.node(s.nodeId);
        if (!n) continue;
        if (tasksChanged) this.pushAssignments(s, n, false);
        else s.sink.push(n);
      }
      if (meshChanged) this.pushMesh(false);
    });
    // A restored snapshot replaces everything: rebuild the index and refresh every session.
    const offRestore = this.opts.store.onRestore(() => {
      this.meshCache = undefined;
      this.rebuildIndex();
      for (const s of this.sessions.values()) {
        const n = this.opts.store.node(s.nodeId);
        if (n) this.pushAssignments(s, n, false);
      }
      this.pushMesh(false);
    });
    const offChange = this.unsubscribe;
    this.unsubscribe = () => {
      offChange();
      offRestore();
    };
    this.log.info({ heartbeatPeriodMs: period }, 'dispatcher started');
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    for (const s of this.sessions.values())
      s.sink.end(new TswarmError('NOT_LEADER', 'dispatcher stopped: leadership changed'));
    this.sessions.clear();
    this.byNode.clear();
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
    const old = this.byNode.get(nodeId);
    if (old) {
      old.sink.end(new TswarmError('FAILED_PRECONDITION', 'session replaced by a newer one'));
      this.dropSession(old);
    }
    const id = randomUUID();
    const now = this.now();
    this.addSession({
      id,
      nodeId,
      sink,
      lastSeen: now,
      lastAssignments: '',
      lastMesh: EMPTY_MESH,
      stopping: false,
    });
    this.droppedAt.delete(nodeId);
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
    this.meshCache ??= (() => {
      const table = this.meshTable();
      return { table, json: JSON.stringify(table) };
    })();
    const { table, json } = this.meshCache;
    for (const s of targets) {
      if (!force && s.lastMesh === json) continue;
      const n = this.opts.store.node(s.nodeId);
      if (!n) continue;
      s.lastMesh = json;
      s.sink.push(n, undefined, table);
    }
  }

  assignmentsFor(nodeId: string): Assignment[] {
    const st = this.opts.store;
    const out: Assignment[] = [];
    for (const id of this.nodeTasks.get(nodeId) ?? []) {
      const task = st.task(id);
      if (!task || task.Status.State === 'new' || task.Status.State === 'pending') continue;
      out.push({
        task,
        serviceName: st.service(task.ServiceID)?.Spec.Name ?? task.ServiceID,
        ...this.secretsOf(task),
      });
    }
    return out;
  }

  /** Re-reads task `id`'s node from the store into the index; returns the nodes it was/is on. */
  private trackTask(id: string): string[] {
    const was = this.taskNode.get(id);
    const now = this.opts.store.task(id)?.NodeID;
    if (was === now) return was ? [was] : [];
    if (was) {
      this.nodeTasks.get(was)?.delete(id);
      this.taskNode.delete(id);
    }
    if (now) {
      this.taskNode.set(id, now);
      let set = this.nodeTasks.get(now);
      if (!set) this.nodeTasks.set(now, (set = new Set()));
      set.add(id);
    }
    return [was, now].filter((x): x is string => x !== undefined);
  }

  /**
   * The nodes whose session a write concerns: the node itself for its own changes, the nodes
   * a task is or was on for task writes, every node for manager-list and service changes.
   */
  private nodesConcerned(cmd: Command): Set<string> | 'all' {
    const ids = (xs: Iterable<string>): Set<string> => new Set(xs);
    switch (cmd.op) {
      case 'node.set-status':
        return ids(cmd.updates.map((u) => u.id));
      case 'node.set-reachability':
        return ids(cmd.updates.map((u) => u.id));
      case 'node.update-spec':
      case 'node.update-description':
        return ids([cmd.id]);
      case 'node.create':
        // A new manager changes the manager list every push carries.
        return cmd.node.ManagerStatus ? 'all' : ids([cmd.node.ID]);
      case 'node.set-manager':
      case 'node.remove':
        return 'all';
      case 'task.create':
        return ids(cmd.tasks.flatMap((t) => this.trackTask(t.ID)));
      case 'task.update':
        return ids(cmd.updates.flatMap((u) => this.trackTask(u.id)));
      case 'task.remove':
        return ids(cmd.ids.flatMap((id) => this.trackTask(id)));
      case 'service.create':
      case 'service.update':
      case 'service.remove':
        // Service names and secret references travel with the assignments.
        return 'all';
      case 'cluster.create':
      case 'cluster.update':
      case 'secret.create':
      case 'secret.remove':
        return ids([]);
    }
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
    // What the agent acts on: which tasks, and their desired states (a task's spec never
    // changes). A status the agent itself reported is not sent back to it, as swarmkit's
    // dispatcher: after a converge of N tasks that was N x 5 pushes of every assignment.
    const fp = JSON.stringify(a.map((x) => [x.task.ID, x.task.DesiredState]));
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

  /** The session's stream closed from the node's side (cancelled, or its connection lost). */
  closeSession(sessionId: string): void {
    const s = this.sessions.get(sessionId);
    if (!s) return;
    this.dropSession(s);
    if (!s.stopping) this.droppedAt.set(s.nodeId, this.now());
  }

  /** `stopping`: the agent is shutting down cleanly and its session closes next. */
  heartbeat(nodeId: string, sessionId: string, stopping = false): number {
    const s = this.sessions.get(sessionId);
    if (s?.nodeId !== nodeId) {
      throw new TswarmError('NOT_FOUND', 'session invalid: open a new session');
    }
    if (stopping) s.stopping = true;
    s.lastSeen = this.now();
    this.lastSeen.set(nodeId, s.lastSeen);
    return this.opts.heartbeatPeriodMs();
  }

  private async checkHeartbeats(): Promise<void> {
    if (this.marking) return;
    this.marking = true;
    try {
      const now = this.now();
      const period = this.opts.heartbeatPeriodMs();
      const limit = 3 * period;
      // If this check comes late, the leader itself was stalled (a long pass, a GC, a
      // starved CPU): heartbeats that arrived meanwhile are still queued behind it. Blaming
      // the nodes now would mark healthy ones Down, end their sessions and move their tasks,
      // which loads the leader more. Skip this round; the next one sees those heartbeats.
      const interval = Math.max(50, Math.floor(period / 4));
      const last = this.lastCheckAt;
      this.lastCheckAt = now;
      // One round at most: a leader that is late every time still marks silent nodes Down.
      const late = last !== undefined && now - last > 2 * interval + 500;
      const skip = late && !this.skippedLast;
      this.skippedLast = skip;
      if (skip) {
        this.log.warn(
          { lateMs: now - last - interval },
          'heartbeat check ran late; skipping a round',
        );
        return;
      }
      const down: { id: string; state: 'down'; message: string }[] = [];
      for (const n of this.opts.store.nodes()) {
        if (n.Status.State === 'down') continue;
        const heard = this.lastSeen.get(n.ID);
        const seen = heard ?? this.startedAt;
        const dropped = this.droppedAt.get(n.ID);
        const crashed = dropped !== undefined && !this.byNode.has(n.ID) && now - dropped > period;
        // Nodes this dispatcher has not heard from yet (a new leader) also get the time their
        // agents need to find it, trying dead managers first; but not a manager Raft cannot
        // reach: its agent lives in the same daemon, so it is not out looking for us.
        const searching = heard === undefined && n.ManagerStatus?.Reachability !== 'unreachable';
        if (crashed || now - seen > (searching ? limit + RECONNECT_GRACE_MS : limit))
          down.push({ id: n.ID, state: 'down', message: 'heartbeat failure' });
      }
      if (down.length) {
        // End their sessions too: a session that outlived its node's Down mark would keep
        // heartbeating and leave the node Down for good; its agent re-opens one, which marks
        // the node Ready again.
        const silent = new Set(down.map((d) => d.id));
        for (const id of silent) {
          this.droppedAt.delete(id);
          const s = this.byNode.get(id);
          if (!s) continue;
          s.sink.end(new TswarmError('UNAVAILABLE', 'session expired: heartbeat failure'));
          this.dropSession(s);
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
