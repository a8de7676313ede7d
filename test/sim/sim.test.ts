/**
 * The simulator's CI tier: 1,000 seeded schedules (seeds 1..1000; TSWARM_SIM_SEEDS raises the
 * count) must keep every invariant and stay linearizable; a failure names its seed and the
 * command that replays it. Then the checks themselves are tested: injected driver bugs and
 * unsafe reads must be caught.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runSeeds, type RunOptions, type SeedReport } from './pool.js';
import { runSeed } from './sim.js';

const SEEDS = Math.max(1000, Number(process.env['TSWARM_SIM_SEEDS'] ?? 0) || 0);

function describeFailures(bad: readonly SeedReport[]): string {
  return bad
    .slice(0, 10)
    .map(
      (r) =>
        `seed ${r.seed}: ${r.failure?.invariant ?? '?'} at step ${r.failure?.step ?? '?'}: ` +
        `${(r.failure?.detail ?? '').split('\n').slice(0, 8).join('\n    ')}\n` +
        `  replay: npm run sim -- --seed ${r.seed}`,
    )
    .join('\n');
}

describe('simulator', () => {
  let reports: SeedReport[] = [];

  test(`${SEEDS} seeded schedules keep safety, liveness and linearizability`, async (t) => {
    const t0 = performance.now();
    reports = await runSeeds(Array.from({ length: SEEDS }, (_, i) => i + 1));
    const bad = reports.filter((r) => !r.ok);
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    t.diagnostic(`${reports.length - bad.length} passed, ${bad.length} failed in ${secs}s`);
    assert.equal(bad.length, 0, describeFailures(bad));
  });

  test('the schedules exercise what they claim to', (t) => {
    assert.ok(reports.length >= 1000);
    const totals: Record<string, number> = {};
    const sizes = new Set<number>();
    for (const r of reports) {
      sizes.add(r.nodes);
      const stats: Readonly<Record<string, number>> = { ...r.stats };
      for (const [k, v] of Object.entries(stats)) totals[k] = (totals[k] ?? 0) + v;
    }
    t.diagnostic(`totals ${JSON.stringify(totals)}`);
    assert.deepEqual([...sizes].sort(), [3, 5]);
    const msg = JSON.stringify(totals);
    // Per seed on average: several elections, crashes and snapshots, ~100 client operations.
    const perSeed = (k: string): number => (totals[k] ?? 0) / reports.length;
    assert.ok(perSeed('elections') > 2, msg);
    assert.ok(perSeed('crashes') > 1 && perSeed('torn') > 0.3, msg);
    assert.ok(perSeed('snapshotsTaken') > 10 && perSeed('snapshotsSent') > 2, msg);
    assert.ok(perSeed('ops') > 50 && (totals['unknownOps'] ?? 0) > 0, msg);
    assert.ok((totals['snapshotsOverLog'] ?? 0) > 0, msg);
  });

  test('a seed replays identically', () => {
    const a = runSeed({ seed: 4242, trace: true });
    const b = runSeed({ seed: 4242, trace: true });
    assert.deepEqual(a.stats, b.stats);
    assert.deepEqual(a.trace, b.trace);
    assert.ok(a.ok, a.failure?.detail);
  });
});

/** Runs seeds 1..n with `options` and returns the failures, by seed. */
async function failures(options: RunOptions, n: number): Promise<SeedReport[]> {
  const all = await runSeeds(
    Array.from({ length: n }, (_, i) => i + 1),
    { options },
  );
  return all.filter((r) => !r.ok);
}

describe('the checks catch broken drivers', () => {
  test('reads served locally without ReadIndex are not linearizable', async () => {
    const bad = await failures({ reads: 'stale' }, 8);
    assert.ok(bad.length > 0, 'stale reads went unnoticed');
    for (const r of bad) assert.equal(r.failure?.invariant, 'linearizability', r.failure?.detail);
  });

  test('a restart that forgets its vote is caught', async () => {
    const bad = await failures({ bug: 'forget-vote' }, 16);
    assert.ok(bad.length > 0, 'forgotten votes went unnoticed');
    for (const r of bad) {
      assert.match(r.failure?.invariant ?? '', /^(durability|election-safety)$/, r.failure?.detail);
    }
  });

  test('acknowledging entries before they are fsynced is caught', async () => {
    const bad = await failures({ bug: 'unsynced-entries' }, 96);
    assert.ok(bad.length > 0, 'unsynced entries went unnoticed');
    for (const r of bad) {
      assert.match(
        r.failure?.invariant ?? '',
        /^(committed-entry-lost|state-machine-safety|leader-completeness|log-matching|linearizability|liveness|raft-exception)$/,
        r.failure?.detail,
      );
    }
  });
});
