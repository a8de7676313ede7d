import assert from 'node:assert/strict';
import {
  cpSync,
  readFileSync,
  readdirSync,
  statSync,
  truncateSync,
  writeFileSync,
  appendFileSync,
  rmSync,
  renameSync,
} from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Wal, WalCorruptError } from '../../../src/raft/wal/index.js';
import type { HardState, SnapshotMeta } from '../../../src/raft/types.js';
import { EMPTY_HARD_STATE } from '../../../src/raft/types.js';
import { makeEntries, makeEntry, tempDir } from './fixtures.js';

const dirs: (() => void)[] = [];
after(() => {
  for (const c of dirs) c();
});

function newDir(): string {
  const t = tempDir();
  dirs.push(t.cleanup);
  return t.dir;
}

function cloneDir(src: string): string {
  const dst = newDir();
  cpSync(src, dst, { recursive: true });
  return dst;
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.wal'))
    .sort();
}

function lastSegment(dir: string): string {
  const files = segmentFiles(dir);
  const last = files.at(-1);
  assert.ok(last !== undefined, `no segment in ${dir}`);
  return path.join(dir, last);
}

function hs(term: number, commit: number, vote = 'n1'): HardState {
  return { term, vote, commit };
}

function meta(index: number, term: number): SnapshotMeta {
  return { index, term, confState: { voters: ['n1', 'n2', 'n3'], learners: ['n4'] } };
}

describe('Wal round trip', () => {
  it('opens an empty directory as an empty log', async () => {
    const dir = path.join(newDir(), 'nested', 'wal');
    const { wal, state, repaired } = await Wal.open(dir);
    assert.deepEqual(state, { hardState: EMPTY_HARD_STATE, entries: [] });
    assert.equal(repaired, undefined);
    assert.equal(segmentFiles(dir).length, 1);
    await wal.close();
  });

  it('returns what was saved, byte for byte, with one fdatasync per sequential save', async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir);
    await wal.save(hs(1, 0), makeEntries(1, 3, 1));
    await wal.save(undefined, makeEntries(4, 20, 1));
    await wal.save(hs(2, 10, 'n2'), makeEntries(21, 21, 2));
    await wal.save(hs(2, 15, 'n2'), []);
    const stats = wal.stats();
    assert.equal(stats.saves, 4);
    assert.equal(stats.syncs, 4);
    await wal.close();

    const reopened = await Wal.open(dir);
    assert.equal(reopened.repaired, undefined);
    assert.deepEqual(reopened.state.hardState, hs(2, 15, 'n2'));
    assert.deepEqual(reopened.state.entries, [...makeEntries(1, 20, 1), makeEntry(21, 2)]);
    assert.equal(reopened.state.snapshot, undefined);
    await reopened.wal.close();
  });

  it('keeps appending after a reopen', async () => {
    const dir = newDir();
    let { wal } = await Wal.open(dir);
    await wal.save(hs(1, 1), makeEntries(1, 5, 1));
    await wal.close();
    ({ wal } = await Wal.open(dir));
    await wal.save(hs(1, 5), makeEntries(6, 9, 1));
    await wal.close();
    const { wal: w3, state } = await Wal.open(dir);
    assert.deepEqual(state.entries, makeEntries(1, 9, 1));
    assert.deepEqual(state.hardState, hs(1, 5));
    await w3.close();
  });

  it('coalesces concurrent saves (group commit) and resolves each only once durable', async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir);
    const saves: Promise<void>[] = [];
    for (let i = 1; i <= 50; i++) saves.push(wal.save(hs(1, i - 1), [makeEntry(i, 1)]));
    await Promise.all(saves);
    const { syncs, saves: n } = wal.stats();
    assert.equal(n, 50);
    assert.ok(syncs >= 1 && syncs < 50, `expected coalesced syncs, got ${syncs}`);
    await wal.close();
    const { wal: w2, state } = await Wal.open(dir);
    assert.deepEqual(state.entries, makeEntries(1, 50, 1));
    assert.deepEqual(state.hardState, hs(1, 49));
    await w2.close();
  });

  it('refuses a second open of the same directory until the first is closed', async () => {
    const dir = newDir();
    const first = await Wal.open(dir);
    await assert.rejects(Wal.open(path.join(dir, '.')), /already open in this process/);
    await first.wal.close();
    const second = await Wal.open(dir);
    await second.wal.close();
  });

  it('refuses gaps, non-contiguous batches, entries below the snapshot, and use after close', async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir);
    await assert.rejects(wal.save(undefined, [makeEntry(2, 1)]), /gap/);
    await assert.rejects(wal.save(undefined, [makeEntry(1, 1), makeEntry(3, 1)]), /contiguous/);
    await wal.save(undefined, makeEntries(1, 10, 1));
    await wal.saveSnapshotMeta(meta(5, 1));
    await assert.rejects(wal.save(undefined, [makeEntry(5, 2)]), /at or below the snapshot/);
    await assert.rejects(wal.saveSnapshotMeta(meta(4, 1)), /older than/);
    await wal.close();
    await assert.rejects(wal.save(undefined, [makeEntry(11, 1)]), /is closed/);
  });
});

describe('Wal suffix overwrite (Raft log truncation)', () => {
  it('a later entry at or below the last index replaces the old suffix', async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir);
    await wal.save(hs(1, 0), makeEntries(1, 10, 1));
    await wal.save(hs(2, 0), makeEntries(6, 8, 2));
    await wal.save(undefined, makeEntries(9, 9, 2));
    await wal.close();
    const { wal: w2, state } = await Wal.open(dir);
    assert.deepEqual(state.entries, [...makeEntries(1, 5, 1), ...makeEntries(6, 9, 2)]);
    await w2.close();
  });

  it('works across segment boundaries and down to the first entry', async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir, { segmentBytes: 2048 });
    for (let i = 1; i <= 200; i += 10) await wal.save(hs(1, 0), makeEntries(i, i + 9, 1));
    assert.ok(wal.stats().segments > 3);
    await wal.save(hs(3, 0), makeEntries(37, 40, 3));
    await wal.close();
    let r = await Wal.open(dir, { segmentBytes: 2048 });
    assert.deepEqual(r.state.entries, [...makeEntries(1, 36, 1), ...makeEntries(37, 40, 3)]);
    await r.wal.save(hs(4, 0), makeEntries(1, 2, 4));
    await r.wal.close();
    r = await Wal.open(dir, { segmentBytes: 2048 });
    assert.deepEqual(r.state.entries, makeEntries(1, 2, 4));
    await r.wal.close();
  });
});

describe('Wal snapshots, segments and releaseTo', () => {
  it('rolls over many segments, releases the ones a snapshot covers, and replays the rest', async () => {
    const dir = newDir();
    const opts = { segmentBytes: 4096 };
    const { wal } = await Wal.open(dir, opts);
    for (let i = 1; i <= 2000; i += 20) await wal.save(hs(1, i), makeEntries(i, i + 19, 1));
    const before = segmentFiles(dir).length;
    assert.ok(before > 20, `expected many segments, got ${before}`);
    assert.equal(wal.stats().segments, before);

    // Without a snapshot nothing may go: releaseTo is clamped to snapshot + 1.
    await wal.releaseTo(1_000_000);
    assert.equal(segmentFiles(dir).length, before);

    await wal.saveSnapshotMeta(meta(1500, 1));
    await wal.releaseTo(1501);
    const afterRelease = segmentFiles(dir);
    assert.ok(afterRelease.length < before / 3, `released ${before} -> ${afterRelease.length}`);
    assert.notEqual(afterRelease[0], '0000000000000000.wal');
    await wal.save(hs(1, 2000), makeEntries(2001, 2010, 1));
    await wal.close();

    const { wal: w2, state } = await Wal.open(dir, opts);
    assert.deepEqual(state.snapshot, meta(1500, 1));
    assert.deepEqual(state.entries, makeEntries(1501, 2010, 1));
    assert.deepEqual(state.hardState, hs(1, 2000));
    await w2.close();
  });

  it('a snapshot past the end of the log empties it; the log continues after the snapshot', async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir);
    await wal.save(hs(1, 5), makeEntries(1, 10, 1));
    await wal.saveSnapshotMeta(meta(50, 3));
    await assert.rejects(wal.save(undefined, [makeEntry(52, 3)]), /gap/);
    await wal.save(hs(3, 50), makeEntries(51, 55, 3));
    await wal.close();
    const { wal: w2, state } = await Wal.open(dir);
    assert.deepEqual(state.snapshot, meta(50, 3));
    assert.deepEqual(state.entries, makeEntries(51, 55, 3));
    await w2.close();
  });

  it('a snapshot inside the log keeps the entries after it', async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir);
    await wal.save(hs(1, 8), makeEntries(1, 10, 1));
    await wal.saveSnapshotMeta(meta(8, 1));
    await wal.close();
    const { wal: w2, state } = await Wal.open(dir);
    assert.deepEqual(state.entries, makeEntries(9, 10, 1));
    await w2.close();
  });

  it('refuses to open when a segment in the middle is missing', async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir, { segmentBytes: 2048 });
    for (let i = 1; i <= 300; i += 10) await wal.save(hs(1, 0), makeEntries(i, i + 9, 1));
    await wal.close();
    const files = segmentFiles(dir);
    assert.ok(files.length >= 4);
    rmSync(path.join(dir, files[2] ?? ''));
    await assert.rejects(Wal.open(dir), (err: unknown) => {
      assert.ok(err instanceof WalCorruptError);
      assert.match(err.message, /segment 2 is missing/);
      return true;
    });
  });

  it('removes segments left below a gap by an interrupted releaseTo', async () => {
    const dir = newDir();
    const opts = { segmentBytes: 4096 };
    const { wal } = await Wal.open(dir, opts);
    for (let i = 1; i <= 1000; i += 20) await wal.save(hs(1, i), makeEntries(i, i + 19, 1));
    await wal.saveSnapshotMeta(meta(700, 1));
    await wal.close();
    // Learn which segments a full release keeps, on a copy.
    const copy = cloneDir(dir);
    const released = await Wal.open(copy, opts);
    await released.wal.releaseTo(701);
    await released.wal.close();
    const kept = segmentFiles(copy);
    const all = segmentFiles(dir);
    const firstKept = all.indexOf(kept[0] ?? '');
    assert.ok(firstKept >= 3, `expected a release, kept ${kept.length} of ${all.length}`);
    // A crash that made the later unlinks durable but not the first one leaves segment 0.
    for (const name of all.slice(1, firstKept)) rmSync(path.join(dir, name));
    const r = await Wal.open(dir, opts);
    assert.deepEqual(segmentFiles(dir), kept);
    assert.deepEqual(r.state.snapshot, meta(700, 1));
    assert.deepEqual(r.state.entries, makeEntries(701, 1000, 1));
    await r.wal.close();
  });

  it('refuses to open when the CRC chain between segments is broken', async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir, { segmentBytes: 2048 });
    for (let i = 1; i <= 300; i += 10) await wal.save(hs(1, 0), makeEntries(i, i + 9, 1));
    await wal.close();
    // Cut the last whole record (a hard state: 12 bytes of framing, term, commit, vote 'n1')
    // off a middle segment: it still verifies alone, but the next one's seed no longer matches.
    const files = segmentFiles(dir);
    const victim = path.join(dir, files[1] ?? '');
    truncateSync(victim, statSync(victim).size - (12 + 8 + 8 + 2 + 2));
    await assert.rejects(Wal.open(dir), (err: unknown) => {
      assert.ok(err instanceof WalCorruptError, String(err));
      assert.match(err.message, /CRC chain broken/);
      assert.ok(err.file.endsWith(files[2] ?? '?'), err.file);
      return true;
    });
  });
});

/** Builds a WAL whose last record spans [start, end) of the last segment. */
async function walWithKnownLastRecord(
  lastIsHardState: boolean,
): Promise<{ dir: string; file: string; start: number; end: number }> {
  const dir = newDir();
  const { wal } = await Wal.open(dir);
  await wal.save(hs(1, 0), makeEntries(1, 30, 1));
  await wal.save(hs(2, 20), makeEntries(31, 40, 2));
  const file = lastSegment(dir);
  const start = statSync(file).size;
  if (lastIsHardState) await wal.save(hs(2, 40, 'n3'), []);
  else await wal.save(undefined, [makeEntry(41, 2)]);
  const end = statSync(file).size;
  await wal.close();
  return { dir, file, start, end };
}

describe('Wal torn tail', () => {
  for (const lastIsHardState of [false, true]) {
    it(`cuts a torn last ${lastIsHardState ? 'hard state' : 'entry'} record at every byte offset, keeping all earlier records`, async () => {
      const base = await walWithKnownLastRecord(lastIsHardState);
      assert.ok(base.end - base.start > 12);
      for (let cut = base.start; cut < base.end; cut++) {
        const dir = cloneDir(base.dir);
        const file = path.join(dir, path.basename(base.file));
        truncateSync(file, cut);
        const { wal, state, repaired } = await Wal.open(dir);
        const ctx = `cut at ${cut} (record ${base.start}..${base.end})`;
        if (cut === base.start) {
          assert.equal(repaired, undefined, ctx);
        } else {
          assert.ok(repaired !== undefined, ctx);
          assert.equal(repaired.truncatedBytes, cut - base.start, ctx);
          assert.match(repaired.reason, /torn or corrupt tail/, ctx);
        }
        assert.equal(statSync(file).size, base.start, ctx);
        assert.deepEqual(state.entries, [...makeEntries(1, 30, 1), ...makeEntries(31, 40, 2)], ctx);
        assert.deepEqual(state.hardState, hs(2, 20), ctx);
        // The repaired log takes new writes and replays them.
        await wal.save(hs(3, 41), [makeEntry(41, 3)]);
        await wal.close();
        const again = await Wal.open(dir);
        assert.equal(again.repaired, undefined, ctx);
        assert.deepEqual(again.state.entries.at(-1), makeEntry(41, 3), ctx);
        assert.deepEqual(again.state.hardState, hs(3, 41), ctx);
        await again.wal.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('cuts zeros or garbage appended after the last record', async () => {
    const base = await walWithKnownLastRecord(false);
    for (const junk of [Buffer.alloc(4096), Buffer.from('not a record at all, just junk')]) {
      const dir = cloneDir(base.dir);
      const file = path.join(dir, path.basename(base.file));
      appendFileSync(file, junk);
      const { wal, state, repaired } = await Wal.open(dir);
      assert.equal(repaired?.truncatedBytes, junk.length);
      assert.equal(state.entries.length, 41);
      await wal.close();
    }
  });

  it('treats a flipped byte in the last record as a corrupt tail', async () => {
    const base = await walWithKnownLastRecord(false);
    const dir = cloneDir(base.dir);
    const file = path.join(dir, path.basename(base.file));
    const buf = readFileSync(file);
    buf[base.start + 20] = (buf[base.start + 20] ?? 0) ^ 0xff;
    writeFileSync(file, buf);
    const { wal, state, repaired } = await Wal.open(dir);
    assert.equal(repaired?.truncatedBytes, base.end - base.start);
    assert.match(repaired.reason, /CRC mismatch/);
    assert.equal(state.entries.length, 40);
    await wal.close();
  });

  it('removes a segment torn while it was being created', async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir, { segmentBytes: 2048 });
    for (let i = 1; i <= 100; i += 10) await wal.save(hs(1, 0), makeEntries(i, i + 9, 1));
    await wal.close();
    const files = segmentFiles(dir);
    const next = files.length.toString(16).padStart(16, '0') + '.wal';
    for (const size of [0, 7, 16, 30]) {
      const d = cloneDir(dir);
      const src = readFileSync(path.join(d, files[0] ?? ''));
      writeFileSync(path.join(d, next), src.subarray(0, size));
      const r = await Wal.open(d, { segmentBytes: 2048 });
      assert.equal(r.repaired?.truncatedBytes, size);
      assert.match(r.repaired.reason, /removed the unfinished segment/);
      assert.deepEqual(r.state.entries, makeEntries(1, 100, 1));
      assert.equal(segmentFiles(d).length, files.length);
      await r.wal.close();
    }
  });
});

describe('Wal corruption in the middle', () => {
  it('refuses to open, naming the file and offset, for a flipped byte anywhere in a middle record', async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir);
    await wal.save(hs(1, 0), makeEntries(1, 10, 1));
    const file = lastSegment(dir);
    const start = statSync(file).size;
    await wal.save(undefined, [makeEntry(11, 1)]);
    const end = statSync(file).size;
    await wal.save(hs(1, 11), makeEntries(12, 20, 1));
    await wal.close();
    const original = readFileSync(file);
    const scratch = newDir();
    const target = path.join(scratch, path.basename(file));
    for (let at = start; at < end; at++) {
      const buf = Buffer.from(original);
      buf[at] = (buf[at] ?? 0) ^ 0x5a;
      writeFileSync(target, buf);
      await assert.rejects(
        Wal.open(scratch),
        (err: unknown) => {
          assert.ok(err instanceof WalCorruptError, `byte ${at}: ${String(err)}`);
          assert.equal(err.file, target);
          assert.equal(err.offset, start, `byte ${at}`);
          assert.ok(err.message.includes(target) && err.message.includes(`offset ${start}`));
          assert.match(err.message, /a valid record follows/);
          return true;
        },
        `byte ${at}`,
      );
      // Opening must not have "repaired" (cut) anything.
      assert.equal(statSync(target).size, original.length);
    }
  });

  it('refuses to open when the last record of a non-last segment is corrupt', async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir, { segmentBytes: 2048 });
    for (let i = 1; i <= 200; i += 10) await wal.save(hs(1, i), makeEntries(i, i + 9, 1));
    await wal.close();
    const files = segmentFiles(dir);
    const victim = path.join(dir, files[0] ?? '');
    const buf = readFileSync(victim);
    const at = buf.length - 6;
    buf[at] = (buf[at] ?? 0) ^ 1;
    writeFileSync(victim, buf);
    await assert.rejects(Wal.open(dir), (err: unknown) => {
      assert.ok(err instanceof WalCorruptError, String(err));
      assert.equal(err.file, victim);
      assert.match(err.message, /not the last/);
      return true;
    });
  });

  it('refuses to open a segment whose name does not match its sequence number', async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir, { segmentBytes: 2048 });
    for (let i = 1; i <= 100; i += 10) await wal.save(hs(1, i), makeEntries(i, i + 9, 1));
    await wal.close();
    const files = segmentFiles(dir);
    const first = path.join(dir, files[0] ?? '');
    rmSync(path.join(dir, files[1] ?? ''));
    renameSync(first, path.join(dir, files[1] ?? ''));
    await assert.rejects(Wal.open(dir), /sequence 0, its name says 1/);
  });
});
