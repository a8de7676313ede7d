/**
 * The two orchestrators the side-by-side benches drive through their own CLIs, on the same
 * engine: tswarm (one tswarmd manager on 127.0.0.51) and Docker Swarm mode (a one-node swarm
 * on 127.0.0.54). Both are observed the same way: running containers of the service, polled
 * through the Engine API (docker ps) every 100 ms.
 */
import type Docker from 'dockerode';
import {
  BenchDaemon,
  BENCH_IPS,
  docker,
  dockerCli,
  ok,
  progress,
  run,
  runningContainers,
  SIGTERM_AWARE,
  sleep,
  TEST_IMAGE,
  waitFor,
  waitRunning,
} from './lib.js';

export interface Orchestrator {
  readonly name: 'tswarm' | 'docker-swarm';
  /** `service create -d --replicas N`; resolves when the CLI returns (its wall time in ms). */
  create(service: string, replicas: number): Promise<number>;
  scale(service: string, replicas: number): Promise<number>;
  /** A full rolling update: --force with update-parallelism 0 (every task at once). */
  forceUpdate(service: string): Promise<number>;
  remove(service: string): Promise<void>;
  /** Label filter of the service's containers on the engine. */
  labels(service: string): string[];
  /** Running tasks as the orchestrator itself reports them (`service ps`), for a final check. */
  runningTasks(service: string): Promise<number>;
}

export class TswarmOrchestrator implements Orchestrator {
  readonly name = 'tswarm';
  constructor(readonly daemon: BenchDaemon) {}

  static async start(): Promise<TswarmOrchestrator> {
    const d = new BenchDaemon('bench-m1', BENCH_IPS[0]);
    await d.start();
    await d.init();
    progress(`tswarmd ${d.name} up on ${d.ip} (pid ${d.pid}), swarm initialized`);
    return new TswarmOrchestrator(d);
  }

  private async timed(args: string[]): Promise<number> {
    const t = performance.now();
    await this.daemon.ok(args);
    return performance.now() - t;
  }

  create(service: string, replicas: number): Promise<number> {
    return this.timed([
      'service',
      'create',
      '-d',
      '--name',
      service,
      '--replicas',
      String(replicas),
      TEST_IMAGE,
      ...SIGTERM_AWARE,
    ]);
  }

  scale(service: string, replicas: number): Promise<number> {
    return this.timed(['service', 'scale', '-d', `${service}=${replicas}`]);
  }

  forceUpdate(service: string): Promise<number> {
    return this.timed(['service', 'update', '-d', '--force', '--update-parallelism', '0', service]);
  }

  async remove(service: string): Promise<void> {
    await this.daemon.cli(['service', 'rm', service]);
    await waitGone(this.labels(service));
  }

  labels(service: string): string[] {
    return [`com.tswarm.service.name=${service}`];
  }

  async runningTasks(service: string): Promise<number> {
    const out = await this.daemon.ok([
      'service',
      'ps',
      '--filter',
      'desired-state=running',
      '--format',
      'json',
      service,
    ]);
    return out
      .split('\n')
      .filter(Boolean)
      .filter((l) => (JSON.parse(l) as { CurrentState: string }).CurrentState.startsWith('Running'))
      .length;
  }
}

export class DockerSwarmOrchestrator implements Orchestrator {
  readonly name = 'docker-swarm';

  private async timed(args: string[]): Promise<number> {
    const t = performance.now();
    await ok('docker', args);
    return performance.now() - t;
  }

  create(service: string, replicas: number): Promise<number> {
    // --no-resolve-image: no registry is reachable here, and tswarm does not resolve either.
    return this.timed([
      'service',
      'create',
      '-d',
      '--quiet',
      '--no-resolve-image',
      '--name',
      service,
      '--replicas',
      String(replicas),
      '--container-label',
      'bench.docker-swarm=1',
      TEST_IMAGE,
      ...SIGTERM_AWARE,
    ]);
  }

  scale(service: string, replicas: number): Promise<number> {
    return this.timed(['service', 'scale', '-d', `${service}=${replicas}`]);
  }

  forceUpdate(service: string): Promise<number> {
    return this.timed([
      'service',
      'update',
      '-d',
      '--quiet',
      '--no-resolve-image',
      '--force',
      '--update-parallelism',
      '0',
      service,
    ]);
  }

  async remove(service: string): Promise<void> {
    await run('docker', ['service', 'rm', service]);
    await waitGone(this.labels(service));
  }

  labels(service: string): string[] {
    return [`com.docker.swarm.service.name=${service}`, 'bench.docker-swarm=1'];
  }

  async runningTasks(service: string): Promise<number> {
    const out = await dockerCli(
      'service',
      'ps',
      '--filter',
      'desired-state=running',
      '--format',
      '{{.CurrentState}}',
      service,
    );
    return out.split('\n').filter((l) => l.startsWith('Running')).length;
  }
}

/** Waits until no container (running or not) of the service is left on the engine. */
export async function waitGone(labels: readonly string[]): Promise<void> {
  await waitFor(
    `containers of ${labels.join(',')} removed`,
    async () =>
      (await docker.listContainers({ all: true, filters: { label: [...labels] } })).length === 0,
    120_000,
    250,
  );
}

export function ids(cs: readonly Docker.ContainerInfo[]): Set<string> {
  return new Set(cs.map((c) => c.Id));
}

/** create --replicas N -d, until N running; returns {cliMs, convergedMs}. */
export async function measureCreate(
  o: Orchestrator,
  service: string,
  replicas: number,
): Promise<{ cliMs: number; convergedMs: number }> {
  const t0 = performance.now();
  const { cliMs, convergedMs } = await timedUntil(
    o,
    () => o.create(service, replicas),
    `${replicas} running`,
    service,
    (cs) => cs.length >= replicas,
    t0,
  );
  const seen = await o.runningTasks(service);
  if (seen < replicas) progress(`${o.name}: service ps shows ${seen}/${replicas} Running so far`);
  return { cliMs: Math.round(cliMs), convergedMs: Math.round(convergedMs) };
}

/**
 * Runs a CLI command and, from `t0` on, polls the service's running containers until `pred`;
 * a failing command ends the wait at once.
 */
export async function timedUntil(
  o: Orchestrator,
  command: () => Promise<number>,
  what: string,
  service: string,
  pred: (cs: Docker.ContainerInfo[]) => boolean,
  t0: number,
  timeoutMs = 180_000,
): Promise<{ cliMs: number; convergedMs: number }> {
  let failed: Error | undefined;
  const cliP = command().catch((err: unknown) => {
    failed = err instanceof Error ? err : new Error(String(err));
    return NaN;
  });
  const convergedMs = await waitRunning(
    `${o.name}: ${what}`,
    o.labels(service),
    (cs) => {
      if (failed) throw failed;
      return pred(cs);
    },
    t0,
    timeoutMs,
  );
  const cliMs = await cliP;
  return { cliMs: Math.round(cliMs), convergedMs: Math.round(convergedMs) };
}

export async function settle(ms = 1000): Promise<void> {
  await sleep(ms);
}

export { runningContainers };
