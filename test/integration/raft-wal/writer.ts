/**
 * Crash-test writer (not a test file): `node writer.js <dir> <seed> <segmentBytes>`.
 *
 * Opens the WAL in <dir> and appends forever until killed, the way a Raft node would:
 * batches of varying sizes, hard state updates, occasional suffix overwrites in a new term
 * (never at or below the commit index), occasional snapshots followed by releaseTo, and
 * sometimes a few saves in flight at once (group commit). Entry bytes are derived from
 * (index, term) so the checker needs no copy.
 *
 * Protocol on stdout, one line each, written synchronously:
 *   ready <lastIndex>
 *   save <first> <last> <term> <hsTerm> <hsVote> <hsCommit>   (or `- - -` for no hard state)
 *   snap <index> <term>
 *   ack <lastIndex>          after the matching save resolved (in order)
 *   snapack <index>          after the matching saveSnapshotMeta resolved
 * Every `save`/`snap` line is written before its call starts, so the checker always knows
 * what may be on disk.
 */
import { writeSync } from 'node:fs';
import { Wal } from '../../../src/raft/wal/index.js';
import type { Entry, HardState } from '../../../src/raft/types.js';
import { makeEntries, seededRandom } from '../../unit/raft-storage/fixtures.js';

const BATCH_SIZES = [1, 1, 1, 2, 3, 4, 7, 16, 16, 33, 64, 128, 256];

function out(line: string): void {
  writeSync(1, line + '\n');
}

async function main(): Promise<void> {
  const [dir, seedArg, segArg] = process.argv.slice(2);
  if (dir === undefined || seedArg === undefined || segArg === undefined) {
    throw new Error('usage: writer.js <dir> <seed> <segmentBytes>');
  }
  const random = seededRandom(Number(seedArg));
  const pick = (n: number): number => Math.floor(random() * n);
  const { wal, state } = await Wal.open(dir, { segmentBytes: Number(segArg) });

  // Terms of the live log (index > snapIndex), to snapshot at a known term.
  let snapIndex = state.snapshot?.index ?? 0;
  const terms = new Map<number, number>();
  for (const e of state.entries) terms.set(e.index, e.term);
  let last = state.entries.at(-1)?.index ?? snapIndex;
  let term = Math.max(
    state.hardState.term,
    state.entries.at(-1)?.term ?? 0,
    state.snapshot?.term ?? 0,
    1,
  );
  let commit = state.hardState.commit;
  out(`ready ${last}`);

  for (;;) {
    const r = random();
    if (r < 0.04 && commit > snapIndex) {
      const index = commit;
      const t = terms.get(index) ?? 0;
      out(`snap ${index} ${t}`);
      await wal.saveSnapshotMeta({
        index,
        term: t,
        confState: { voters: ['n1', 'n2', 'n3'], learners: [] },
      });
      out(`snapack ${index}`);
      for (const i of terms.keys()) if (i <= index) terms.delete(i);
      snapIndex = index;
      await wal.releaseTo(index + 1);
      continue;
    }
    // A burst of saves in flight together, or a single one.
    const burst = random() < 0.2 ? 2 + pick(3) : 1;
    const inFlight: Promise<void>[] = [];
    for (let b = 0; b < burst; b++) {
      let first: number;
      if (random() < 0.08 && last > commit) {
        // A new leader's log replaces an uncommitted suffix (Raft §5.3).
        first = last - pick(Math.min(last - commit, 10));
        term++;
      } else {
        first = last + 1;
        if (random() < 0.03) term++;
      }
      const n = BATCH_SIZES[pick(BATCH_SIZES.length)] ?? 1;
      const entries: Entry[] = makeEntries(first, first + n - 1, term);
      last = first + n - 1;
      for (const i of terms.keys()) if (i >= first) terms.delete(i);
      for (const e of entries) terms.set(e.index, e.term);
      let hs: HardState | undefined;
      if (random() < 0.7) {
        commit += pick(last - commit + 1);
        hs = { term, vote: `n${term % 3}`, commit };
      }
      out(`save ${first} ${last} ${term} ${hs ? `${hs.term} ${hs.vote} ${hs.commit}` : '- - -'}`);
      const ackLast = last;
      inFlight.push(
        wal.save(hs, entries).then(() => {
          out(`ack ${ackLast}`);
        }),
      );
    }
    await Promise.all(inFlight);
  }
}

main().catch((err: unknown) => {
  writeSync(
    2,
    `writer failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
