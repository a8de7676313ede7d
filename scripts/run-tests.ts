/**
 * Runs test tiers over the built output with node's test runner:
 *   node build/scripts/run-tests.js all | unit sim integration lab ...
 * Node 20's --test takes no globs, so the files are listed here; helpers (files not ending
 * in .test.js) are never run as tests. Tiers run in order; the first failing tier fails the run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TIERS = ['unit', 'sim', 'integration', 'lab'] as const;
type Tier = (typeof TIERS)[number];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function findTests(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

function isTier(s: string): s is Tier {
  return (TIERS as readonly string[]).includes(s);
}

const args = process.argv.slice(2);
const tiers: Tier[] = args.includes('all') || args.length === 0 ? [...TIERS] : [];
for (const a of args) {
  if (a === 'all') continue;
  if (!isTier(a)) {
    process.stderr.write(`unknown test tier "${a}" (one of: all, ${TIERS.join(', ')})\n`);
    process.exit(64);
  }
  tiers.push(a);
}

let failed = false;
for (const tier of tiers) {
  const files = findTests(path.join(root, 'test', tier));
  if (files.length === 0) {
    process.stdout.write(`# tier ${tier}: no tests\n`);
    continue;
  }
  process.stdout.write(`# tier ${tier}: ${files.length} files\n`);
  // Real-process tiers share one engine and fixed loopback addresses: run their files one at a time.
  const serial = tier === 'integration' || tier === 'lab';
  const res = spawnSync(
    process.execPath,
    [
      '--test',
      '--test-reporter=spec',
      // A hung test fails on its own instead of holding CI to its 60-minute limit.
      `--test-timeout=${serial ? 600_000 : 300_000}`,
      ...(serial ? ['--test-concurrency=1'] : []),
      ...files,
    ],
    { stdio: 'inherit', cwd: root },
  );
  if (res.status !== 0) {
    process.stdout.write(`# tier ${tier}: FAILED (exit ${res.status ?? res.signal ?? '?'})\n`);
    failed = true;
    break;
  }
}
process.exit(failed ? 1 : 0);
