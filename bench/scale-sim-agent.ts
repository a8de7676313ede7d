/**
 * Simulated agents for bench/scale-sim.ts, run in a child process (fork) so the simulation
 * is spread over processes and does not share the leader's event loop.
 *
 * Each agent joins through the real join path (GetRootCA over an unverified channel, digest
 * checked against the token, then IssueNodeCertificate with a fresh key/CSR and the worker
 * token over a CA-verified channel: the leader creates the node through Raft and signs its
 * certificate), then runs the real AgentSession (src/daemon/agent/session.ts) over its own
 * mTLS gRPC channel to the dispatcher: session stream, heartbeats at the leader's period,
 * batched task status reports. The executor is fake: an assigned task reports `accepted`,
 * then `running` 50-250 ms later; a task told to shut down reports `shutdown`.
 *
 * Each agent opens its session right after its join, as a real node does.
 *
 *   (forked by scale-sim) --from N --count N --manager HOST:PORT --token TOKEN
 *
 * IPC to the parent: {type:'joined', n}, {type:'connected', n}, {type:'stats', ...}.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { NodeDescription, Task, TaskStatus } from '../src/shared/api-types.js';
import { AgentSession } from '../src/daemon/agent/session.js';
import { caClient, getRootCa, issueNodeCertificate } from '../src/daemon/cluster/forward.js';
import { caDigest, createKeyAndCsr, parseJoinToken } from '../src/daemon/cluster/pki.js';
import {
  anonymousChannelCredentials,
  clusterChannelCredentials,
  untrustedChannelCredentials,
} from '../src/daemon/cluster/tls.js';

const { values: args } = parseArgs({
  options: {
    from: { type: 'string', default: '0' },
    count: { type: 'string', default: '100' },
    manager: { type: 'string', default: '127.0.0.51:2377' },
    token: { type: 'string', default: '' },
    'join-parallel': { type: 'string', default: '32' },
    addr: { type: 'string', default: '127.0.0.54' },
  },
});
const from = Number(args.from);
const count = Number(args.count);
const manager = args.manager;
const joinParallel = Number(args['join-parallel']);

function send(msg: object): void {
  process.send?.(msg);
}

const log = pino(
  { level: process.env['SIM_LOG'] ?? 'warn', base: { sim: process.pid } },
  pino.destination(2),
);

interface SimAgent {
  readonly hostname: string;
  nodeId: string;
  session?: AgentSession;
  /** Last state reported per task. */
  readonly tasks: Map<string, TaskStatus['State']>;
}

// This process's own event-loop delay: a stalled agent process misses heartbeats by itself,
// and the leader would be right to mark its nodes Down.
const lag = monitorEventLoopDelay({ resolution: 20 });
lag.enable();
let lagMaxMs = 0;

let running = 0;
let reports = 0;
let assignmentMessages = 0;

function status(state: TaskStatus['State'], message: string): TaskStatus {
  return {
    Timestamp: new Date().toISOString(),
    State: state,
    Message: message,
    ...(state === 'running' ? { ContainerStatus: { ContainerID: 'sim', PID: 1 } } : {}),
  };
}

function onAssignments(a: SimAgent, assigned: readonly { task: Task }[]): void {
  assignmentMessages++;
  const wanted = new Set<string>();
  for (const { task } of assigned) {
    wanted.add(task.ID);
    const mine = a.tasks.get(task.ID);
    const desired = task.DesiredState;
    if (desired === 'running' || desired === 'ready') {
      if (mine === undefined) {
        a.tasks.set(task.ID, 'accepted');
        reports++;
        a.session?.reportStatus(task.ID, status('accepted', 'accepted'));
        setTimeout(
          () => {
            if (a.tasks.get(task.ID) !== 'accepted') return;
            a.tasks.set(task.ID, 'running');
            running++;
            reports++;
            a.session?.reportStatus(task.ID, status('running', 'started'));
          },
          50 + Math.random() * 200,
        );
      }
    } else if (mine !== undefined && mine !== 'shutdown') {
      if (mine === 'running') running--;
      a.tasks.set(task.ID, 'shutdown');
      reports++;
      a.session?.reportStatus(task.ID, status('shutdown', 'shutdown'));
    }
  }
  for (const [id, st] of a.tasks) {
    if (wanted.has(id)) continue;
    if (st === 'running') running--;
    a.tasks.delete(id);
  }
}

function description(hostname: string): NodeDescription {
  return {
    Hostname: hostname,
    Platform: { Architecture: 'x86_64', OS: 'linux' },
    Resources: { NanoCPUs: 4e9, MemoryBytes: 8 * 1024 ** 3 },
    Engine: { EngineVersion: '20.10.0-sim', Labels: {} },
  };
}

async function main(): Promise<void> {
  const token = parseJoinToken(args.token);
  const untrusted = caClient(manager, untrustedChannelCredentials());
  const caCertPem = await getRootCa(untrusted);
  untrusted.close();
  if (caDigest(caCertPem) !== token.caDigest) throw new Error('CA digest does not match token');
  const trusted = caClient(manager, anonymousChannelCredentials(caCertPem));

  const agents: SimAgent[] = Array.from({ length: count }, (_, i) => ({
    hostname: `bench-sim-${String(from + i).padStart(5, '0')}`,
    nodeId: '',
    tasks: new Map(),
  }));

  // 1. Join, joinParallel at a time, until all have joined or the parent says stop.
  let next = 0;
  let joined = 0;
  let stopJoining = false;
  process.on('message', (m: { cmd?: string }) => {
    if (m.cmd === 'stop-joining') stopJoining = true;
  });
  await Promise.all(
    Array.from({ length: joinParallel }, async () => {
      while (next < agents.length && !stopJoining) {
        const a = agents[next++];
        if (!a) break;
        const { keyPem, csrPem } = await createKeyAndCsr();
        let res;
        for (let attempt = 1; ; attempt++) {
          try {
            res = await issueNodeCertificate(trusted, {
              csr_pem: csrPem,
              token: args.token,
              description_json: JSON.stringify(description(a.hostname)),
              advertise_addr: args.addr,
            });
            break;
          } catch (err) {
            if (attempt >= 5) throw err;
            await new Promise((r) => setTimeout(r, 500 * attempt));
          }
        }
        a.nodeId = res.node_id;
        const creds = clusterChannelCredentials({ caCertPem, certPem: res.cert_pem, keyPem });
        const managers = res.managers.map((p) => ({ node_id: p.node_id, addr: p.addr }));
        a.session = new AgentSession({
          nodeId: a.nodeId,
          addr: args.addr,
          managers: () => managers,
          credentials: () => creds,
          description: () => Promise.resolve(description(a.hostname)),
          onMessage: (m) => {
            if (m.assignments) onAssignments(a, m.assignments);
          },
          log,
        });
        // As a real node does: the session opens as soon as the node has its certificate
        // (a node that stays silent for 3 heartbeat periods after joining is marked Down).
        a.session.start();
        if (++joined % 25 === 0) send({ type: 'joined', n: joined });
      }
    }),
  );
  trusted.close();
  send({ type: 'joined', n: joined, done: true });
  const members = agents.filter((a) => a.session);

  // 2. Report sessions and tasks every second.
  const connectedCount = (): number => members.filter((a) => a.session?.isConnected).length;
  setInterval(() => {
    const lagMs = Math.round(lag.max / 1e6);
    lag.reset();
    lagMaxMs = Math.max(lagMaxMs, lagMs);
    const n = connectedCount();
    send({ type: 'connected', n, done: n === members.length });
    send({
      type: 'stats',
      running,
      reports,
      assignmentMessages,
      connected: connectedCount(),
      lagMs,
      lagMaxMs,
      rssKb: Math.round(process.memoryUsage().rss / 1024),
    });
  }, 1000);
  process.on('message', (m: { cmd?: string }) => {
    if (m.cmd !== 'stop') return;
    void Promise.all(members.map((a) => a.session?.stop() ?? Promise.resolve())).finally(() =>
      process.exit(0),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `scale-sim-agent: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
