import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  Snapshotter,
  decodeSnapshotFile,
  encodeSnapshotFile,
  parseSnapshotFileName,
  snapshotFileName,
} from '../../../src/raft/snapshot/index.js';
import type { Snapshot } from '../../../src/raft/types.js';
import { entryData, tempDir } from './fixtures.js';

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});

function newDir(): string {
  const t = tempDir('tswarm-snap-');
  cleanups.push(t.cleanup);
  return t.dir;
}

function snap(index: number, term: number, size = 1000): Snapshot {
  return {
    meta: { index, term, confState: { voters: ['a', 'b', 'c'], learners: [] } },
    data: new Uint8Array(
      Buffer.concat([Buffer.from(entryData(index, term)), Buffer.alloc(size, index % 251)]),
    ),
  };
}

function snapFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.snap'))
    .sort();
}

describe('snapshot file format', () => {
  it('round-trips and names files by term and index', () => {
    const s = snap(12345, 7);
    assert.deepEqual(decodeSnapshotFile(encodeSnapshotFile(s)), s);
    assert.equal(snapshotFileName(s.meta), '0000000000000007-0000000000003039.snap');
    assert.deepEqual(parseSnapshotFileName(snapshotFileName(s.meta)), { term: 7, index: 12345 });
    assert.equal(parseSnapshotFileName('0000000000000007-0000000000003039.snap.broken'), undefined);
  });

  it('rejects any single flipped byte and any truncation', () => {
    const bytes = encodeSnapshotFile(snap(9, 2, 64));
    for (let at = 0; at < bytes.length; at++) {
      const b = Buffer.from(bytes);
      b[at] = (b[at] ?? 0) ^ 0x10;
      assert.throws(() => decodeSnapshotFile(b), Error, `flip at ${at}`);
    }
    for (let len = 0; len < bytes.length; len++) {
      assert.throws(() => decodeSnapshotFile(bytes.subarray(0, len)), Error, `length ${len}`);
    }
  });
});

describe('Snapshotter', () => {
  it('returns undefined for a missing or empty directory', async () => {
    const dir = newDir();
    assert.equal(await new Snapshotter(path.join(dir, 'nope')).loadNewest(), undefined);
    assert.equal(await new Snapshotter(dir).loadNewest(), undefined);
  });

  it('saves atomically and loads the newest by index, then term', async () => {
    const dir = path.join(newDir(), 'snap');
    const s = new Snapshotter(dir);
    await s.save(snap(100, 2));
    await s.save(snap(300, 3));
    await s.save(snap(200, 4));
    await s.save(snap(300, 3)); // the same snapshot again replaces the file
    assert.deepEqual(await s.loadNewest(), snap(300, 3));
    assert.deepEqual(s.lastSkipped, []);
    assert.equal(
      readdirSync(dir).some((n) => n.endsWith('.tmp')),
      false,
    );
    assert.equal(snapFiles(dir).length, 3);
  });

  it('prunes down to the newest `keep` files', async () => {
    const dir = newDir();
    const s = new Snapshotter(dir);
    for (const i of [10, 50, 20, 40, 30]) await s.save(snap(i, 1, 10));
    await s.prune(2);
    assert.deepEqual(
      snapFiles(dir).map((n) => parseSnapshotFileName(n)?.index),
      [40, 50],
    );
    await s.prune(5);
    assert.equal(snapFiles(dir).length, 2);
    await s.prune(0);
    assert.equal(snapFiles(dir).length, 0);
    await assert.rejects(s.prune(-1), RangeError);
  });

  it('skips and reports a corrupt newest snapshot, falling back to the previous one', async () => {
    const dir = newDir();
    const s = new Snapshotter(dir);
    await s.save(snap(100, 1));
    await s.save(snap(200, 1));
    await s.save(snap(300, 2));
    const newest = path.join(dir, snapshotFileName(snap(300, 2).meta));
    const buf = readFileSync(newest);
    buf[buf.length - 1] = (buf[buf.length - 1] ?? 0) ^ 0xff;
    writeFileSync(newest, buf);
    // A truncated one in the middle, and a file whose name lies about its contents.
    const mid = path.join(dir, snapshotFileName(snap(200, 1).meta));
    writeFileSync(mid, readFileSync(mid).subarray(0, 50));
    writeFileSync(
      path.join(dir, snapshotFileName({ index: 250, term: 2 })),
      encodeSnapshotFile(snap(100, 1)),
    );

    const warnings: object[] = [];
    const logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: (fields: object) => {
        warnings.push(fields);
      },
    };
    const s2 = new Snapshotter(dir, { logger });
    assert.deepEqual(await s2.loadNewest(), snap(100, 1));
    assert.deepEqual(
      s2.lastSkipped.map((k) => path.basename(k.file)),
      [
        snapshotFileName({ index: 300, term: 2 }),
        snapshotFileName({ index: 250, term: 2 }),
        snapshotFileName({ index: 200, term: 1 }),
      ],
    );
    assert.match(s2.lastSkipped[0]?.reason ?? '', /CRC mismatch/);
    assert.match(s2.lastSkipped[1]?.reason ?? '', /its name says/);
    assert.match(s2.lastSkipped[2]?.reason ?? '', /does not match the header|too short/);
    assert.equal(warnings.length, 3);
    assert.ok(existsSync(`${newest}.broken`));
    // Broken files are set aside: the next load goes straight to the good one.
    assert.deepEqual(await s2.loadNewest(), snap(100, 1));
    assert.deepEqual(s2.lastSkipped, []);
  });

  it('removes temp files left by an interrupted save', async () => {
    const dir = newDir();
    const stale = path.join(dir, `${snapshotFileName({ index: 5, term: 1 })}.999.0.tmp`);
    writeFileSync(stale, 'half a snapshot');
    const s = new Snapshotter(dir);
    assert.equal(await s.loadNewest(), undefined);
    assert.equal(existsSync(stale), false);
  });

  it('loadForWal restores the snapshot the WAL names and deletes newer orphans', async () => {
    const dir = newDir();
    const s = new Snapshotter(dir);
    for (const x of [snap(100, 1), snap(200, 2), snap(300, 2)]) await s.save(x);
    // The WAL's last marker is 200: 300 was saved but its marker never written.
    assert.deepEqual(await s.loadForWal({ index: 200, term: 2 }), snap(200, 2));
    assert.deepEqual(snapFiles(dir), [
      snapshotFileName({ index: 100, term: 1 }),
      snapshotFileName({ index: 200, term: 2 }),
    ]);
    // No marker at all: every file is an orphan.
    assert.equal(await s.loadForWal(undefined), undefined);
    assert.deepEqual(snapFiles(dir), []);
  });

  it('loadForWal refuses to start when the named snapshot is missing or corrupt', async () => {
    const dir = newDir();
    const s = new Snapshotter(dir);
    await s.save(snap(100, 1));
    await assert.rejects(
      s.loadForWal({ index: 150, term: 1 }),
      /names snapshot 1\/150 .* is missing/,
    );
    const file = path.join(dir, snapshotFileName({ index: 100, term: 1 }));
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    writeFileSync(file, bytes);
    await assert.rejects(s.loadForWal({ index: 100, term: 1 }), /unreadable: CRC mismatch/);
  });
});
