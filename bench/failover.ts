/**
 * Failover through the CLI: three tswarm managers on 127.0.0.51-.53 (their own data roots,
 * one engine). Each round kills -9 the leader's daemon, then runs
 * `tswarm service create -d --replicas 0` through a surviving manager, again and again, until
 * one succeeds; the figure is the wall time from the kill to that success. The killed daemon
 * is restarted and the round ends when the survivors list it Reachable again.
 *
 * At the same moment a second probe sends the same ServiceCreate over the survivor's control
 * socket from this process (the CLI's client, no process start-up), again and again until one
 * succeeds: `apiFailoverMs`, the daemon-side figure without the CLI's start-up on a loaded box.
 *
 *   npm run bench -- failover [--rounds 20]
 *
 * `baselineMs` is the same command on a healthy cluster (mostly the CLI's own start-up), so
 * failover minus baseline is what the kill costs. Target: p50 <= 1 s.
 */
import {
  type BenchDaemon,
  loopbackCluster,
  numFlag,
  progress,
  runBench,
  SIGTERM_AWARE,
  sleep,
  summarize,
  TEST_IMAGE,
  waitFor,
  waitLeader,
} from './lib.js';

const rounds = numFlag('rounds', 20);

function createArgs(name: string): string[] {
  return [
    'service',
    'create',
    '-d',
    '--replicas',
    '0',
    '--name',
    name,
    TEST_IMAGE,
    ...SIGTERM_AWARE,
  ];
}

runBench('failover', async () => {
  const ds = await loopbackCluster(3, 'manager');
  const byName = (n: string): BenchDaemon => {
    const d = ds.find((x) => x.name === n);
    if (!d) throw new Error(`no daemon ${n}`);
    return d;
  };
  progress(`3 managers up: ${ds.map((d) => `${d.name}@${d.ip}`).join(', ')}`);
  const samples: number[] = [];
  const attempts: number[] = [];
  const baseline: number[] = [];
  const errors = new Map<string, number>();
  let created = 0;
  const api: number[] = [];
  const apiBaseline: number[] = [];
  const apiAttempts: number[] = [];
  let spec: Record<string, unknown> | undefined;
  for (let round = 1; round <= rounds; round++) {
    const leader = byName(await waitLeader(ds));
    const survivor = ds.find((d) => d !== leader);
    if (!survivor) throw new Error('no survivor');
    const tb = performance.now();
    await survivor.ok(createArgs(`bench-fo-base-${round}`));
    baseline.push(performance.now() - tb);
    created++;
    // The spec the CLI sent, for the in-process probe (read once).
    spec ??= (
      JSON.parse(await survivor.ok(['service', 'inspect', `bench-fo-base-${round}`])) as {
        Spec: Record<string, unknown>;
      }[]
    )[0]?.Spec;
    if (!spec) throw new Error('service inspect returned nothing');
    const theSpec = spec;
    const apiCreate = (name: string): Promise<unknown> =>
      survivor
        .api()
        .call((c, o, cb) =>
          c.ServiceCreate({ spec_json: JSON.stringify({ ...theSpec, Name: name }) }, o, cb),
        );
    const ta = performance.now();
    await apiCreate(`bench-fo-apibase-${round}`);
    apiBaseline.push(performance.now() - ta);
    created++;

    const t0 = performance.now();
    await leader.kill9();
    const apiProbe = (async () => {
      for (let k = 1; ; k++) {
        try {
          await apiCreate(`bench-fo-api-${round}-${k}`);
          apiAttempts.push(k);
          return performance.now() - t0;
        } catch (err) {
          if (performance.now() - t0 > 60_000) throw err;
          await sleep(10);
        }
      }
    })();
    let n = 0;
    for (;;) {
      n++;
      const r = await survivor.cli(createArgs(`bench-fo-${round}-${n}`));
      if (r.code === 0) break;
      const msg = r.stderr.trim().split('\n')[0] ?? '';
      const key = msg.replace(/[0-9a-z]{25}/g, 'ID').slice(0, 120);
      errors.set(key, (errors.get(key) ?? 0) + 1);
      if (performance.now() - t0 > 60_000)
        throw new Error(`round ${round}: no create succeeded in 60 s: ${msg}`);
      await sleep(20);
    }
    created++;
    const ms = performance.now() - t0;
    const apiMs = await apiProbe;
    created++;
    samples.push(ms);
    attempts.push(n);
    api.push(apiMs);
    progress(
      `round ${round}/${rounds}: killed ${leader.name}; create through ${survivor.name}: CLI succeeded after ${ms.toFixed(0)} ms (${n} attempt${n > 1 ? 's' : ''}), API after ${apiMs.toFixed(0)} ms`,
    );

    await leader.start();
    await waitFor(
      `${leader.name} Reachable again`,
      async () => {
        const rows = await survivor.nodeTable();
        const me = rows.find((x) => x.hostname === leader.name);
        return me?.status === 'Ready' && (me.manager === 'Reachable' || me.manager === 'Leader');
      },
      60_000,
      200,
    );
    await waitLeader(ds);
  }
  const s = summarize(samples);
  const b = summarize(baseline);
  const a = summarize(api);
  return {
    managers: 3,
    rounds,
    method:
      'kill -9 of the leader daemon, then `tswarm service create -d --replicas 0` through a survivor until one succeeds; wall ms from the kill',
    failoverMs: s,
    baselineMs: b,
    failoverMinusBaselineP50Ms: Math.round(s.p50 - b.p50),
    attempts: summarize(attempts),
    apiFailoverMs: a,
    apiBaselineMs: summarize(apiBaseline),
    apiAttempts: summarize(apiAttempts),
    errorsSeen: Object.fromEntries(errors),
    servicesCreated: created,
    target: { p50: '<= 1000 ms (through the CLI)', value: s.p50, met: s.p50 <= 1000 },
    targetApi: {
      p50: '<= 1000 ms (control API, no CLI start-up)',
      value: a.p50,
      met: a.p50 <= 1000,
    },
  };
});
