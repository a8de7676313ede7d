/**
 * Crash test with real processes: a writer (writer.ts) appends to a WAL until it is killed
 * with SIGKILL at a seeded random moment, 200 times on the same directory. After each kill
 * the WAL is reopened here and must open (a repaired tail at most), hold every acknowledged
 * record with the exact bytes the writer derived, and be exactly "everything acknowledged
 * plus some prefix of what was in flight" (writes are ordered, so nothing else is possible).
 *
 * Set WAL_CRASH_SEED to replay a failing seed (timing still varies, the decisions do not).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { HardState } from '../../../src/raft/types.js';
import { EMPTY_HARD_STATE } from '../../../src/raft/types.js';
import { Wal } from '../../../src/raft/wal/index.js';
import type { WalState } from '../../../src/raft/wal/index.js';
import { isDerivedEntry, seededRandom, tempDir } from '../../unit/raft-storage/fixtures.js';

const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'writer.js');
const KILLS = Number(process.env['WAL_CRASH_KILLS'] ?? 200);
const SEGMENT_BYTES = 16 * 1024;
const SEED = Number(process.env['WAL_CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

/** What the WAL must replay to, mirroring the replay rules. */
interface Model {
  terms: Map<number, number>;
  last: number;
  hardState: HardState;
  snapshot: { index: number; term: number } | undefined;
}

type Rec =
  | { kind: 'entry'; index: number; term: number }
  | { kind: 'hs'; hs: HardState }
  | { kind: 'snap'; index: number; term: number };

/** An operation the writer announced, as the records it writes in order. */
interface Op {
  readonly line: string;
  readonly records: readonly Rec[];
}

function cloneModel(m: Model): Model {
  return { ...m, terms: new Map(m.terms) };
}

function applyRecord(m: Model, r: Rec): void {
  switch (r.kind) {
    case 'entry':
      for (let i = r.index; i <= m.last; i++) m.terms.delete(i);
      m.terms.set(r.index, r.term);
      m.last = r.index;
      return;
    case 'hs':
      m.hardState = r.hs;
      return;
    case 'snap':
      m.snapshot = { index: r.index, term: r.term };
      if (r.index >= m.last) {
        m.terms.clear();
        m.last = r.index;
      } else {
        for (const i of [...m.terms.keys()]) if (i <= r.index) m.terms.delete(i);
      }
      return;
  }
}

function parseOp(line: string): Op | undefined {
  const f = line.split(' ');
  if (f[0] === 'save') {
    const [first, last, term] = [Number(f[1]), Number(f[2]), Number(f[3])];
    const records: Rec[] = [];
    for (let i = first; i <= last; i++) records.push({ kind: 'entry', index: i, term });
    if (f[4] !== '-') {
      records.push({
        kind: 'hs',
        hs: { term: Number(f[4]), vote: f[5] ?? '', commit: Number(f[6]) },
      });
    }
    return { line, records };
  }
  if (f[0] === 'snap')
    return { line, records: [{ kind: 'snap', index: Number(f[1]), term: Number(f[2]) }] };
  return undefined;
}

/** Why `state` differs from `m`, or undefined if it matches. */
function mismatch(state: WalState, m: Model): string | undefined {
  const snap = state.snapshot;
  if (
    (snap?.index ?? 0) !== (m.snapshot?.index ?? 0) ||
    (snap?.term ?? 0) !== (m.snapshot?.term ?? 0)
  ) {
    return `snapshot ${snap?.index ?? '-'}/${snap?.term ?? '-'} != ${m.snapshot?.index ?? '-'}/${m.snapshot?.term ?? '-'}`;
  }
  const lastIndex = state.entries.at(-1)?.index ?? snap?.index ?? 0;
  if (lastIndex !== m.last) return `last index ${lastIndex} != ${m.last}`;
  const hs = state.hardState;
  if (
    hs.term !== m.hardState.term ||
    hs.vote !== m.hardState.vote ||
    hs.commit !== m.hardState.commit
  ) {
    return `hard state ${JSON.stringify(hs)} != ${JSON.stringify(m.hardState)}`;
  }
  if (state.entries.length !== m.terms.size)
    return `${state.entries.length} entries != ${m.terms.size}`;
  for (const e of state.entries) {
    if (m.terms.get(e.index) !== e.term) {
      return `entry ${e.index} has term ${e.term}, expected ${m.terms.get(e.index) ?? 'none'}`;
    }
  }
  return undefined;
}

interface RunResult {
  readonly lines: string[];
  readonly stderr: string;
  readonly signal: NodeJS.Signals | null;
  readonly code: number | null;
}

/** Runs the writer and SIGKILLs it: after `delayMs` from spawn, or from `ready` if asked. */
function runAndKill(
  dir: string,
  seed: number,
  delayMs: number,
  afterReady: boolean,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, dir, String(seed), String(SEGMENT_BYTES)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const kill = (): void => {
      child.kill('SIGKILL');
    };
    const arm = (): void => {
      timer ??= setTimeout(kill, delayMs);
    };
    // A writer that never gets going must not hang the test.
    const deadline = setTimeout(kill, 15_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (afterReady && stdout.includes('ready ')) arm();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(deadline);
      resolve({ lines: stdout.split('\n').filter((l) => l !== ''), stderr, signal, code });
    });
    if (!afterReady) arm();
  });
}

describe('WAL crash test (SIGKILL, real processes)', () => {
  const tmp = tempDir('tswarm-wal-crash-');
  after(tmp.cleanup);

  it(
    `survives ${KILLS} SIGKILLs on the same directory (seed ${SEED})`,
    { timeout: 120_000 },
    async () => {
      const random = seededRandom(SEED);
      const dir = path.join(tmp.dir, 'wal');
      let model: Model = {
        terms: new Map(),
        last: 0,
        hardState: EMPTY_HARD_STATE,
        snapshot: undefined,
      };
      let repairs = 0;
      let maxLast = 0;
      let acked = 0;
      let inFlightSeen = 0;
      let snapshots = 0;
      const repairKinds = new Map<string, number>();
      let maxSegment = 0;
      const started = Date.now();

      for (let kill = 0; kill < KILLS; kill++) {
        const ctx = `seed ${SEED}, kill #${kill}`;
        const afterReady = random() >= 0.15;
        const delayMs = afterReady ? Math.floor(random() * 150) : Math.floor(random() * 100);
        const run = await runAndKill(dir, SEED + kill, delayMs, afterReady);
        assert.equal(
          run.signal,
          'SIGKILL',
          `${ctx}: the writer exited by itself (code ${run.code ?? '-'}):\n${run.stderr}`,
        );

        // Acknowledged operations are durable: fold them into the model. What follows the
        // last acknowledgement was in flight and may be on disk in part (a record prefix).
        const pending: Op[] = [];
        for (const line of run.lines) {
          const op = parseOp(line);
          if (op !== undefined) {
            pending.push(op);
          } else if (line.startsWith('ack ') || line.startsWith('snapack ')) {
            const op = pending.shift();
            assert.ok(op !== undefined, `${ctx}: "${line}" with no operation in flight`);
            for (const r of op.records) applyRecord(model, r);
            acked++;
            if (line.startsWith('snapack ')) snapshots++;
          } else {
            assert.match(line, /^ready \d+$/, `${ctx}: unexpected writer output`);
          }
        }

        let opened;
        try {
          opened = await Wal.open(dir, { segmentBytes: SEGMENT_BYTES });
        } catch (err) {
          assert.fail(`${ctx}: the WAL does not open after the kill: ${String(err)}`);
        }
        const { wal, state, repaired } = opened;
        await wal.close();
        if (repaired !== undefined) {
          repairs++;
          // "torn or corrupt tail: partial record (…" -> "partial record"
          const kind = repaired.reason
            .replace(/^torn or corrupt tail: /, '')
            .replace(/ ?[(].*$/, '');
          repairKinds.set(kind, (repairKinds.get(kind) ?? 0) + 1);
        }

        for (const e of state.entries) {
          assert.ok(
            isDerivedEntry(e),
            `${ctx}: entry ${e.index} (term ${e.term}) has the wrong bytes`,
          );
        }
        const base = snapIndexOf(state);
        state.entries.forEach((e, i) => {
          assert.equal(e.index, base + 1 + i, `${ctx}: the log is not contiguous at position ${i}`);
        });

        // Find the prefix of the in-flight records that the disk holds.
        const records = pending.flatMap((op) => op.records);
        const candidate = cloneModel(model);
        let why = mismatch(state, candidate);
        let k = 0;
        while (why !== undefined && k < records.length) {
          const r = records[k++];
          if (r !== undefined) applyRecord(candidate, r);
          why = mismatch(state, candidate);
        }
        assert.equal(
          why,
          undefined,
          `${ctx}: the reopened WAL is neither the acknowledged state nor it plus a prefix of ` +
            `the ${records.length} in-flight records (first difference vs the acknowledged state: ` +
            `${mismatch(state, model) ?? '-'}); in flight: ${pending.map((p) => p.line).join(' | ')}`,
        );
        if (k > 0) inFlightSeen++;
        model = candidate;
        maxLast = Math.max(maxLast, model.last);
        for (const name of readdirSync(dir)) {
          if (name.endsWith('.wal')) maxSegment = Math.max(maxSegment, Number.parseInt(name, 16));
        }
      }

      const secs = (Date.now() - started) / 1000;
      process.stdout.write(
        `# wal crash: seed ${SEED}, ${KILLS} kills in ${secs.toFixed(1)} s, ${acked} acked ops, ` +
          `${snapshots} snapshots, ${repairs} tail repairs ${JSON.stringify(Object.fromEntries(repairKinds))}, ` +
          `${inFlightSeen} times unacked records ` +
          `survived, last index ${maxLast}, ${maxSegment + 1} segments created, ` +
          `${readdirSync(dir).length} left\n`,
      );
      assert.ok(
        acked > KILLS,
        `the writer acknowledged too little (${acked}) for the test to mean much`,
      );
    },
  );
});

function snapIndexOf(state: WalState): number {
  return state.snapshot?.index ?? 0;
}
