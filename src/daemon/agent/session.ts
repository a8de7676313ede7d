import type * as grpc from '@grpc/grpc-js';
import type { ProtoGrpcType as ClusterProto } from '../../../proto/gen/cluster.js';
import type { DispatcherClient } from '../../../proto/gen/tswarm/cluster/v1/Dispatcher.js';
import type { SessionMessage__Output } from '../../../proto/gen/tswarm/cluster/v1/SessionMessage.js';
import type { Node, NodeDescription, Task, TaskStatus } from '../../shared/api-types.js';
import { fromServiceError } from '../../shared/grpc-status.js';
import { loadProto } from '../../shared/proto.js';
import { MTLS_CHANNEL_OPTIONS } from '../ca/index.js';
import type { PeerAddr } from '../cluster/node-state.js';
import type { Logger } from '../log.js';
import type { MeshTable } from '../mesh/table.js';

export const LEADER_ADDR_KEY = 'tswarm-leader-addr';

/** How long a manager may take to open a session before the agent tries another. */
const SESSION_OPEN_TIMEOUT_MS = 2_000;

export interface AgentSessionOptions {
  readonly nodeId: string;
  /** This node's address as its peers see it (no port). */
  readonly addr: string;
  readonly managers: () => readonly PeerAddr[];
  readonly credentials: () => grpc.ChannelCredentials;
  readonly description: () => Promise<NodeDescription | undefined>;
  readonly onMessage: (m: {
    node: Node;
    managers: PeerAddr[];
    leaderId: string;
    assignments?: {
      task: Task;
      serviceName: string;
      secrets: { id: string; name: string; data: Buffer }[];
    }[];
    /** The routing mesh's table, when it changed. */
    mesh?: MeshTable;
  }) => void;
  /** Called when a session is (re-)established: the agent re-sends its tasks' states. */
  readonly onConnected?: () => void;
  readonly log: Logger;
}

/**
 * The node's session with the leader's dispatcher: opens it on any known manager (following
 * the leader hint a follower answers with), heartbeats at the period the leader sets, and
 * re-opens it on any failure. A worker that loses every manager keeps its containers running;
 * only the session is retried.
 */
export class AgentSession {
  private stopped = false;
  private client: DispatcherClient | undefined;
  private clientAddr = '';
  private next = 0;
  private hint: string | undefined;
  private connected = false;
  private readonly log: Logger;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private call: grpc.ClientReadableStream<SessionMessage__Output> | undefined;
  private sessionId = '';
  private activeClient: DispatcherClient | undefined;
  private readonly pending = new Map<string, TaskStatus>();
  private flushing = false;

  constructor(private readonly opts: AgentSessionOptions) {
    this.log = opts.log.child({ component: 'agent-session' });
  }

  get isConnected(): boolean {
    return this.connected;
  }

  private isStopped(): boolean {
    return this.stopped;
  }

  start(): void {
    this.loop = this.run();
  }

  /**
   * Queues a task's observed state for the leader. Kept until acknowledged, so a state seen
   * while no leader answers is delivered to the next one.
   */
  reportStatus(taskId: string, status: TaskStatus): void {
    this.pending.set(taskId, status);
    this.flush();
  }

  private flush(): void {
    if (this.flushing || this.pending.size === 0) return;
    const client = this.activeClient;
    if (!client || !this.sessionId) return;
    this.flushing = true;
    const batch = [...this.pending];
    client.UpdateTaskStatus(
      {
        session_id: this.sessionId,
        updates: batch.map(([id, st]) => ({ task_id: id, status_json: JSON.stringify(st) })),
      },
      { deadline: Date.now() + 5000 },
      (err) => {
        this.flushing = false;
        if (err) {
          this.log.debug({ err: err.message }, 'status report failed; will retry');
          setTimeout(() => {
            this.flush();
          }, 200).unref();
          return;
        }
        for (const [id, st] of batch) if (this.pending.get(id) === st) this.pending.delete(id);
        this.flush();
      },
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.sayStopping();
    this.call?.cancel();
    this.wake?.();
    await this.loop;
    this.client?.close();
  }

  /**
   * Tells the leader this agent is shutting down cleanly, so that it reads the session's close
   * as a stop (three periods of grace, as for silence) and not as a crash. Best effort: a
   * leader that does not answer within half a second is not waited for.
   */
  private async sayStopping(): Promise<void> {
    const client = this.activeClient;
    if (!client || !this.sessionId) return;
    await new Promise<void>((resolve) => {
      client.Heartbeat(
        { session_id: this.sessionId, stopping: true },
        { deadline: Date.now() + 500 },
        () => {
          resolve();
        },
      );
    });
  }

  private pickManager(): string | undefined {
    if (this.hint) {
      const h = this.hint;
      this.hint = undefined;
      return h;
    }
    const ms = this.opts.managers();
    if (ms.length === 0) return undefined;
    const m = ms[this.next % ms.length];
    this.next++;
    return m?.addr;
  }

  private clientFor(addr: string): DispatcherClient {
    if (this.client && this.clientAddr === addr) return this.client;
    this.client?.close();
    const proto = loadProto<ClusterProto>('cluster.proto');
    this.client = new proto.tswarm.cluster.v1.Dispatcher(addr, this.opts.credentials(), {
      ...MTLS_CHANNEL_OPTIONS,
      // The heartbeat (deadline: two periods) is what finds a manager gone silent; keepalive
      // only catches a connection that dies between beats. At 2 s it dropped thousands of
      // healthy sessions whenever either end stalled for 2 s (5,000 agents, see bench/).
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    });
    this.clientAddr = addr;
    return this.client;
  }

  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wake = undefined;
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (!this.stopped) {
      const addr = this.pickManager();
      if (!addr) {
        await this.pause(500);
        continue;
      }
      try {
        await this.session(addr);
        backoff = 100;
      } catch (err) {
        this.connected = false;
        const e = fromServiceError(err);
        if (!this.isStopped()) this.log.debug({ addr, err: e.message }, 'session ended');
        if (this.hint) continue;
        await this.pause(backoff);
        backoff = Math.min(1000, backoff * 2);
      }
    }
  }

  /** One session: resolves when it ends cleanly, rejects on error. */
  private async session(addr: string): Promise<void> {
    const client = this.clientFor(addr);
    const description = await this.opts.description();
    const call = client.Session({
      description_json: description ? JSON.stringify(description) : '',
      addr: this.opts.addr,
    });
    this.call = call;
    let sessionId = '';
    // A manager whose host is gone does not refuse the connection, it just never answers:
    // give up on it quickly and try the next one.
    const firstMessage = setTimeout(() => {
      if (!sessionId) call.cancel();
    }, SESSION_OPEN_TIMEOUT_MS);
    let period = 1000;
    let heartbeat: NodeJS.Timeout | undefined;
    const beat = (): void => {
      if (!sessionId) return;
      client.Heartbeat(
        { session_id: sessionId },
        { deadline: Date.now() + Math.max(1000, period * 2) },
        (err, res) => {
          if (err) {
            this.log.debug({ err: err.message }, 'heartbeat failed');
            call.cancel();
            return;
          }
          const p = Number(res?.period_ms ?? period);
          if (p > 0 && p !== period) {
            period = p;
            if (heartbeat) clearInterval(heartbeat);
            heartbeat = setInterval(beat, period);
          }
        },
      );
    };
    try {
      await new Promise<void>((resolve, reject) => {
        call.on('data', (m: SessionMessage__Output) => {
          const first = !sessionId;
          sessionId = m.session_id;
          const p = Number(m.heartbeat_period_ms);
          if (p > 0) period = p;
          if (first) {
            setImmediate(() => {
              this.opts.onConnected?.();
              this.flush();
            });
            this.connected = true;
            this.sessionId = sessionId;
            this.activeClient = client;
            this.log.info({ addr, sessionId }, 'session established');
            heartbeat = setInterval(beat, period);
          }
          try {
            this.opts.onMessage({
              node: JSON.parse(m.node_json) as Node,
              managers: m.managers.map((p2) => ({ node_id: p2.node_id, addr: p2.addr })),
              leaderId: m.leader_id,
              ...(m.has_assignments
                ? {
                    assignments: m.assignments.map((a) => ({
                      task: JSON.parse(a.task_json) as Task,
                      serviceName: a.service_name,
                      secrets: a.secrets.map((x) => ({ id: x.id, name: x.name, data: x.data })),
                    })),
                  }
                : {}),
              ...(m.has_mesh ? { mesh: JSON.parse(m.mesh_json) as MeshTable } : {}),
            });
          } catch (err) {
            this.log.warn({ err }, 'session message handler failed');
          }
        });
        call.on('error', (err: grpc.ServiceError) => {
          const leader = err.metadata.get(LEADER_ADDR_KEY)[0];
          if (typeof leader === 'string' && leader) this.hint = leader;
          reject(err);
        });
        call.on('end', () => {
          resolve();
        });
      });
    } finally {
      clearTimeout(firstMessage);
      if (heartbeat) clearInterval(heartbeat);
      this.connected = false;
      this.call = undefined;
      this.sessionId = '';
      this.activeClient = undefined;
    }
  }
}
