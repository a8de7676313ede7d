/**
 * Snapshot files: one per snapshot, named `<term>-<index>.snap` (16 hex digits each).
 *
 * ```
 * 0   'TSWSNAP1' magic
 * 8   u32 LE crc32 of every byte from offset 12 to the end of the file
 * 12  u32 LE metadata length M
 * 16  u64 LE data length D
 * 24  M bytes: SnapshotMeta (codec.ts)
 * 24+M D bytes: the state machine image
 * ```
 */
import { readFile, readdir, rename, open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Snapshot, SnapshotMeta } from '../types.js';
import {
  ByteReader,
  ByteWriter,
  NOOP_LOGGER,
  decodeSnapshotMeta,
  encodeSnapshotMeta,
  ensureDir,
  errnoCode,
  fsyncDir,
  removeFile,
  writeFully,
} from '../wal/index.js';
import type { StorageLogger } from '../wal/index.js';

const MAGIC = Buffer.from('TSWSNAP1', 'latin1');
const HEADER_BYTES = 24;
const SNAP_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;
const TMP_SUFFIX = '.tmp';
const BROKEN_SUFFIX = '.broken';

/** A snapshot file that loadNewest() could not use. */
export interface SkippedSnapshot {
  readonly file: string;
  readonly reason: string;
}

export interface SnapshotterOptions {
  readonly logger?: StorageLogger;
}

/** `<term>-<index>.snap`, both as 16 hex digits, so names sort by term then index. */
export function snapshotFileName(meta: Pick<SnapshotMeta, 'term' | 'index'>): string {
  const hex = (n: number): string => n.toString(16).padStart(16, '0');
  return `${hex(meta.term)}-${hex(meta.index)}.snap`;
}

/** Parses a snapshot file name; undefined if `name` is not one. */
export function parseSnapshotFileName(name: string): { term: number; index: number } | undefined {
  const m = SNAP_NAME.exec(name);
  if (m?.[1] === undefined || m[2] === undefined) return undefined;
  return { term: Number.parseInt(m[1], 16), index: Number.parseInt(m[2], 16) };
}

/** Serializes a snapshot into the file format above. */
export function encodeSnapshotFile(snap: Snapshot): Buffer {
  const meta = encodeSnapshotMeta(snap.meta);
  const header = new ByteWriter(HEADER_BYTES)
    .bytes(MAGIC)
    .u32(0) // crc, filled in below
    .u32(meta.length)
    .u64(snap.data.length)
    .finish();
  const out = Buffer.concat([header, meta, snap.data]);
  out.writeUInt32LE(crc32(out.subarray(12)), 8);
  return out;
}

/** Parses and verifies a snapshot file image; throws Error with the reason. */
export function decodeSnapshotFile(buf: Buffer): Snapshot {
  if (buf.length < HEADER_BYTES) throw new Error(`file too short (${buf.length} bytes)`);
  if (!buf.subarray(0, 8).equals(MAGIC)) throw new Error('not a snapshot file (bad magic)');
  const header = new ByteReader(buf.subarray(12, HEADER_BYTES));
  const metaLen = header.u32();
  const dataLen = header.u64();
  const want = HEADER_BYTES + metaLen + dataLen;
  if (want !== buf.length)
    throw new Error(`size ${buf.length} does not match the header (${want})`);
  const stored = buf.readUInt32LE(8);
  const actual = crc32(buf.subarray(12));
  if (stored !== actual) {
    throw new Error(
      `CRC mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)})`,
    );
  }
  const meta = decodeSnapshotMeta(buf.subarray(HEADER_BYTES, HEADER_BYTES + metaLen));
  const data = new Uint8Array(buf.subarray(HEADER_BYTES + metaLen));
  return { meta, data };
}

/**
 * Stores Raft snapshots in a directory, one file per snapshot, each written atomically
 * (temp file, fsync, rename, directory fsync), so a crash leaves either the old set of
 * snapshots or the new one, never a half-written file under a snapshot name.
 *
 * Order of operations with the WAL (etcd's): save the snapshot file first, then
 * `Wal.saveSnapshotMeta`, then `Wal.releaseTo`. A snapshot file the WAL does not mention
 * is harmless; a WAL marker without its file would not be.
 */
export class Snapshotter {
  private readonly log: StorageLogger;
  private readonly inFlight = new Set<string>();
  private tmpSeq = 0;
  private skipped: SkippedSnapshot[] = [];

  constructor(
    readonly dir: string,
    opts: SnapshotterOptions = {},
  ) {
    this.log = opts.logger ?? NOOP_LOGGER;
  }

  /** Files the last loadNewest() call skipped as unreadable (each renamed to `*.broken`). */
  get lastSkipped(): readonly SkippedSnapshot[] {
    return this.skipped;
  }

  /** Writes `snap` durably; resolves once the file and its name are on stable storage. */
  async save(snap: Snapshot): Promise<void> {
    await ensureDir(this.dir);
    const name = snapshotFileName(snap.meta);
    const final = path.join(this.dir, name);
    const tmp = `${final}.${process.pid}.${this.tmpSeq++}${TMP_SUFFIX}`;
    const bytes = encodeSnapshotFile(snap);
    this.inFlight.add(tmp);
    try {
      let fh: FileHandle;
      try {
        fh = await open(tmp, 'wx');
      } catch (err) {
        throw new Error(`cannot create snapshot temp file ${tmp}: ${String(err)}`, { cause: err });
      }
      try {
        await writeFully(fh, bytes, 0);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, final);
      await fsyncDir(this.dir);
      this.log.info(
        { file: final, index: snap.meta.index, term: snap.meta.term, bytes: bytes.length },
        'snapshot: saved',
      );
    } catch (err) {
      await removeFile(tmp).catch(() => false);
      throw err;
    } finally {
      this.inFlight.delete(tmp);
    }
  }

  /**
   * Start-up: loads the snapshot the WAL's last marker names (`marker`; undefined when the
   * WAL has none), removes leftover temp files, and deletes snapshot files newer than the
   * marker. Those are orphans of a crash between save() and Wal.saveSnapshotMeta: the WAL's
   * entries need not continue them, and keeping them would let prune() keep an orphan and
   * drop the snapshot the WAL names. Throws when the named file is missing or unreadable.
   */
  async loadForWal(
    marker: Pick<SnapshotMeta, 'term' | 'index'> | undefined,
  ): Promise<Snapshot | undefined> {
    this.skipped = [];
    const names = await this.listDir();
    let removed = await this.removeTemps(names);
    for (const { name, term, index } of this.snapshotNames(names)) {
      const newer =
        marker === undefined ||
        index > marker.index ||
        (index === marker.index && term > marker.term);
      if (!newer) continue;
      this.log.warn(
        {
          file: path.join(this.dir, name),
          walSnapshot: marker ? `${marker.term}/${marker.index}` : 'none',
        },
        'snapshot: removing a snapshot the WAL does not name (interrupted save)',
      );
      removed = (await removeFile(path.join(this.dir, name))) || removed;
    }
    if (removed) await fsyncDir(this.dir);
    if (marker === undefined) return undefined;
    const snap = await this.load(marker);
    if (!snap) {
      throw new Error(
        `the WAL names snapshot ${marker.term}/${marker.index} but ${path.join(this.dir, snapshotFileName(marker))} is missing`,
      );
    }
    return snap;
  }

  /**
   * Loads the newest snapshot (highest index, then highest term) that verifies. Corrupt
   * files are skipped, logged, listed in `lastSkipped` and renamed to `*.broken` so they are
   * not tried again. Leftover temp files from interrupted saves are removed. Resolves to
   * undefined when there is no usable snapshot (or no directory).
   */
  async loadNewest(): Promise<Snapshot | undefined> {
    this.skipped = [];
    const names = await this.listDir();
    if (await this.removeTemps(names)) await fsyncDir(this.dir);
    for (const { name, term, index } of this.snapshotNames(names)) {
      const file = path.join(this.dir, name);
      let reason: string;
      try {
        const snap = decodeSnapshotFile(await readFile(file));
        if (snap.meta.index === index && snap.meta.term === term) return snap;
        reason = `holds snapshot ${snap.meta.term}/${snap.meta.index}, its name says ${term}/${index}`;
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') continue;
        reason = err instanceof Error ? err.message : String(err);
      }
      this.skipped.push({ file, reason });
      this.log.warn({ file, reason }, 'snapshot: skipping an unreadable snapshot');
      await rename(file, file + BROKEN_SUFFIX).catch((err: unknown) => {
        this.log.warn({ file, err: String(err) }, 'snapshot: could not rename a broken snapshot');
      });
    }
    return undefined;
  }

  /**
   * Loads the snapshot file for exactly `meta` (the one the WAL's last marker names).
   * Resolves to undefined when that file does not exist; throws with the reason when it
   * exists but does not verify (it is not renamed: the member cannot start without it).
   */
  async load(meta: Pick<SnapshotMeta, 'term' | 'index'>): Promise<Snapshot | undefined> {
    const file = path.join(this.dir, snapshotFileName(meta));
    let buf: Buffer;
    try {
      buf = await readFile(file);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw new Error(`cannot read snapshot ${file}: ${String(err)}`, { cause: err });
    }
    let snap: Snapshot;
    try {
      snap = decodeSnapshotFile(buf);
    } catch (err) {
      throw new Error(
        `snapshot ${file} is unreadable: ${err instanceof Error ? err.message : String(err)}`,
        {
          cause: err,
        },
      );
    }
    if (snap.meta.index !== meta.index || snap.meta.term !== meta.term) {
      throw new Error(
        `snapshot ${file} holds ${snap.meta.term}/${snap.meta.index}, its name says ${meta.term}/${meta.index}`,
      );
    }
    return snap;
  }

  /** Deletes all but the `keep` newest snapshot files (by index, then term). */
  async prune(keep: number): Promise<void> {
    if (!Number.isSafeInteger(keep) || keep < 0) {
      throw new RangeError(`prune: keep must be a non-negative integer, got ${keep}`);
    }
    const doomed = this.snapshotNames(await this.listDir()).slice(keep);
    let removed = 0;
    for (const { name } of doomed) {
      if (await removeFile(path.join(this.dir, name))) removed++;
    }
    if (removed > 0) {
      await fsyncDir(this.dir);
      this.log.debug({ dir: this.dir, removed, keep }, 'snapshot: pruned');
    }
  }

  /** Removes temp files left by interrupted saves (not ours in flight); true if any went. */
  private async removeTemps(names: readonly string[]): Promise<boolean> {
    let removed = false;
    for (const name of names) {
      const file = path.join(this.dir, name);
      if (name.endsWith(TMP_SUFFIX) && !this.inFlight.has(file)) {
        removed = (await removeFile(file)) || removed;
      }
    }
    return removed;
  }

  private async listDir(): Promise<string[]> {
    try {
      return await readdir(this.dir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw new Error(`cannot list snapshot directory ${this.dir}: ${String(err)}`, { cause: err });
    }
  }

  /** Snapshot file names, newest first. */
  private snapshotNames(names: readonly string[]): { name: string; term: number; index: number }[] {
    const out: { name: string; term: number; index: number }[] = [];
    for (const name of names) {
      const parsed = parseSnapshotFileName(name);
      if (parsed !== undefined) out.push({ name, ...parsed });
    }
    return out.sort((a, b) => b.index - a.index || b.term - a.term);
  }
}
