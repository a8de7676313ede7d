/**
 * Raft's write-ahead log: a directory of append-only segments (segment.ts) of CRC-chained
 * records (record.ts); recovery in recover.ts. README.md in this folder has the overview.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { Entry, HardState, Index, SnapshotMeta } from '../types.js';
import { writeEntry, writeHardState, writeSnapshotMeta } from './codec.js';
import { ensureDir, errnoCode, fsyncDir, removeFile, writeFully } from './fs.js';
import type { StorageLogger } from './logger.js';
import { NOOP_LOGGER } from './logger.js';
import { RecordType, RecordWriter, sealRecords } from './record.js';
import { recover } from './recover.js';
import type { SegmentInfo } from './recover.js';
import type { WalState } from './replay.js';
import { encodeSegmentHead, segmentName } from './segment.js';

/** Default segment size: a segment is closed once the next write would take it past this. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

export interface WalOptions {
  /** Roll to a new segment once a write would take the current one past this (default 64 MiB). */
  readonly segmentBytes?: number;
  readonly logger?: StorageLogger;
}

/** What Wal.open recovered, and what it had to cut off the tail to get there. */
export interface WalOpenResult {
  readonly wal: Wal;
  readonly state: WalState;
  /** Present when a torn or corrupt tail of the last segment was removed. */
  readonly repaired?: { readonly truncatedBytes: number; readonly reason: string };
}

/** Counters, for tests and benchmarks. */
export interface WalStats {
  /** save() and saveSnapshotMeta() calls accepted. */
  readonly saves: number;
  /** Writes to segment files (one per group commit, plus segment creation). */
  readonly writes: number;
  /** fdatasync calls on segment files. */
  readonly syncs: number;
  /** fsync calls on the WAL directory (segment creation and release). */
  readonly dirSyncs: number;
  readonly bytesWritten: number;
  /** Live segment files. */
  readonly segments: number;
}

interface Batch {
  /** Framed records with unsealed CRCs (sealed at write time). */
  readonly buf: Buffer;
  readonly hardState: HardState | undefined;
  readonly snapshot: SnapshotMeta | undefined;
  readonly maxEntryIndex: Index;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

type Task = () => Promise<void>;

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Directories with an open Wal in this process (two writers would corrupt a segment). */
const openDirs = new Set<string>();

/** Encodes the records every new segment starts with after its crc record. */
function encodeStateRecords(hs: HardState, snapshot: SnapshotMeta | undefined): Buffer {
  const rw = new RecordWriter();
  writeHardState(rw.begin(RecordType.hardState), hs);
  rw.end();
  if (snapshot !== undefined) {
    writeSnapshotMeta(rw.begin(RecordType.snapshotMeta), snapshot);
    rw.end();
  }
  return rw.finish();
}

/**
 * The write-ahead log. One instance owns a directory: opening a directory that is already
 * open in this process throws. Two processes must never open the same directory at once;
 * TODO(raft-wal): nothing enforces that across processes yet (no flock in Node's fs).
 *
 * Durability: every promise returned by save(), saveSnapshotMeta() resolves only once its
 * records are on stable storage (fdatasync returned). Calls made while a write is in flight
 * are coalesced into the next write (group commit): each flush does one write and exactly
 * one fdatasync of the segment, plus one directory fsync when it starts a new segment.
 * After any I/O error the instance is failed: every later call rejects, and the log must be
 * reopened (the state of the failed write on disk is unknown).
 */
export class Wal {
  private readonly segmentBytes: number;
  private readonly log: StorageLogger;

  private fh: FileHandle;
  private size: number;
  /** End of the active segment's head (crc + state records): a segment this small is empty. */
  private headEnd: number;
  private crc: number;
  private readonly segments: SegmentInfo[];

  /** State as of the last record on disk (what a new segment's head repeats). */
  private durableHardState: HardState;
  private durableSnapshot: SnapshotMeta | undefined;
  /** State as of the last call accepted (validation of new calls). */
  private lastIndex: Index;
  private snapIndex: Index;

  private pending: Batch[] = [];
  private readonly tasks: Task[] = [];
  private running = false;
  private failure: Error | undefined;
  private closed = false;

  private counters = { saves: 0, writes: 0, syncs: 0, dirSyncs: 0, bytesWritten: 0 };

  private constructor(
    readonly dir: string,
    opts: WalOptions,
    init: {
      fh: FileHandle;
      size: number;
      headEnd: number;
      crc: number;
      segments: SegmentInfo[];
      state: WalState;
    },
  ) {
    this.segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.log = opts.logger ?? NOOP_LOGGER;
    this.fh = init.fh;
    this.size = init.size;
    this.headEnd = init.headEnd;
    this.crc = init.crc;
    this.segments = init.segments;
    this.durableHardState = init.state.hardState;
    this.durableSnapshot = init.state.snapshot;
    this.snapIndex = init.state.snapshot?.index ?? 0;
    this.lastIndex = init.state.entries.at(-1)?.index ?? this.snapIndex;
  }

  /**
   * Opens (creating if needed) the WAL in `dir` and replays it.
   *
   * A torn or corrupt tail of the last segment (nothing valid after the first bad byte) is cut
   * off and reported in `repaired`; damage anywhere else throws WalCorruptError naming the
   * file and offset. Returns the hard state, the entries after the last snapshot marker and
   * that snapshot's metadata.
   */
  static async open(dir: string, opts: WalOptions = {}): Promise<WalOpenResult> {
    const segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 1024) {
      throw new RangeError(`segmentBytes must be an integer >= 1024, got ${segmentBytes}`);
    }
    const log = opts.logger ?? NOOP_LOGGER;
    const abs = path.resolve(dir);
    if (openDirs.has(abs)) {
      throw new Error(`WAL ${abs} is already open in this process: close it before reopening`);
    }
    openDirs.add(abs);
    try {
      return await Wal.openUnguarded(abs, opts, log);
    } catch (err) {
      openDirs.delete(abs);
      throw err;
    }
  }

  private static async openUnguarded(
    abs: string,
    opts: WalOptions,
    log: StorageLogger,
  ): Promise<WalOpenResult> {
    await ensureDir(abs);
    const { state, segments, tail, repaired } = await recover(abs, log);

    let fh: FileHandle;
    let init: { size: number; headEnd: number; crc: number };
    const active = segments.at(-1);
    if (active === undefined || tail === undefined) {
      const created = await Wal.createSegment(
        abs,
        0,
        0,
        state.hardState,
        state.snapshot,
        undefined,
      );
      fh = created.fh;
      init = { size: created.size, headEnd: created.headEnd, crc: created.crc };
      segments.push({ seq: 0, file: path.join(abs, segmentName(0)), maxEntryIndex: 0 });
    } else {
      try {
        fh = await open(active.file, 'r+');
      } catch (err) {
        throw new Error(`cannot open WAL segment ${active.file} for writing: ${String(err)}`, {
          cause: err,
        });
      }
      init = { size: tail.end, headEnd: tail.headEnd, crc: tail.lastCrc };
    }
    const wal = new Wal(abs, opts, { fh, ...init, segments, state });
    log.info(
      {
        dir: abs,
        segments: segments.length,
        entries: state.entries.length,
        lastIndex: wal.lastIndex,
        snapshotIndex: wal.snapIndex,
        repaired: repaired !== undefined,
      },
      'wal: opened',
    );
    return repaired === undefined ? { wal, state } : { wal, state, repaired };
  }

  /**
   * Creates segment `seq` holding its head (crc record seeded with `seed`, then the state
   * records) and, optionally, a batch of framed records; syncs the file and the directory.
   */
  private static async createSegment(
    dir: string,
    seq: number,
    seed: number,
    hs: HardState,
    snapshot: SnapshotMeta | undefined,
    batch: Buffer | undefined,
  ): Promise<{ fh: FileHandle; size: number; crc: number; headEnd: number }> {
    const head = encodeSegmentHead(seq, seed);
    const state = encodeStateRecords(hs, snapshot);
    let crc = sealRecords(state, head.crc);
    const headEnd = head.bytes.length + state.length;
    const parts = [head.bytes, state];
    if (batch !== undefined) {
      crc = sealRecords(batch, crc);
      parts.push(batch);
    }
    const bytes = Buffer.concat(parts);
    const file = path.join(dir, segmentName(seq));
    let fh: FileHandle;
    try {
      fh = await open(file, 'wx');
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') {
        throw new Error(`WAL segment ${file} already exists: is another process using ${dir}?`, {
          cause: err,
        });
      }
      throw new Error(`cannot create WAL segment ${file}: ${String(err)}`, { cause: err });
    }
    try {
      await writeFully(fh, bytes, 0);
      await fh.datasync();
      await fsyncDir(dir);
    } catch (err) {
      await fh.close();
      throw err;
    }
    return { fh, size: bytes.length, crc, headEnd };
  }

  /**
   * Appends `entries` and then `hardState` (if given) and resolves once they are durable.
   * Entries must be contiguous; the first may be at most lastIndex + 1, and an index at or
   * below the last saved one replaces the old suffix from there (Raft §5.3). Entries at or
   * below the last snapshot are refused. A call with nothing to write resolves once every
   * earlier call is durable.
   */
  save(hardState: HardState | undefined, entries: readonly Entry[]): Promise<void> {
    try {
      this.checkOpen();
      const first = entries[0];
      let maxEntryIndex = 0;
      const rw = new RecordWriter();
      if (first !== undefined) {
        if (!Number.isSafeInteger(first.index) || first.index <= this.snapIndex) {
          throw new RangeError(
            `entry index ${first.index} is at or below the snapshot index ${this.snapIndex}`,
          );
        }
        if (first.index > this.lastIndex + 1) {
          throw new RangeError(`entry ${first.index} would leave a gap after ${this.lastIndex}`);
        }
        for (const [i, e] of entries.entries()) {
          if (e.index !== first.index + i) {
            throw new RangeError(
              `entries are not contiguous: ${e.index} at position ${i} after ${first.index}`,
            );
          }
          writeEntry(rw.begin(RecordType.entry), e);
          rw.end();
        }
        maxEntryIndex = first.index + entries.length - 1;
      }
      if (hardState !== undefined) {
        writeHardState(rw.begin(RecordType.hardState), hardState);
        rw.end();
      }
      const buf = rw.finish();
      if (first !== undefined) this.lastIndex = maxEntryIndex;
      return this.enqueue(buf, hardState, undefined, maxEntryIndex);
    } catch (err) {
      return Promise.reject(toError(err));
    }
  }

  /**
   * Records that a snapshot at `meta.index` exists (the snapshot file itself must already be
   * saved). Replay then drops entries <= meta.index; a snapshot past the end of the log
   * empties it, so the next entry must be meta.index + 1. Resolves once durable.
   */
  saveSnapshotMeta(meta: SnapshotMeta): Promise<void> {
    try {
      this.checkOpen();
      if (meta.index < this.snapIndex) {
        throw new RangeError(
          `snapshot ${meta.index} is older than the saved snapshot ${this.snapIndex}`,
        );
      }
      const rw = new RecordWriter();
      writeSnapshotMeta(rw.begin(RecordType.snapshotMeta), meta);
      rw.end();
      const buf = rw.finish();
      this.snapIndex = meta.index;
      if (meta.index >= this.lastIndex) this.lastIndex = meta.index;
      return this.enqueue(buf, undefined, meta, 0);
    } catch (err) {
      return Promise.reject(toError(err));
    }
  }

  /**
   * Deletes, oldest first, whole segments that only hold entries < `index`, never the
   * active one. `index` is clamped to the durable snapshot's index + 1, so entries that no
   * snapshot covers are never dropped. The CRC chain stays verifiable: each segment carries
   * its own seed. Runs between writes, once no save is waiting.
   */
  releaseTo(index: Index): Promise<void> {
    return this.runTask(async () => {
      const limit = Math.min(index, (this.durableSnapshot?.index ?? 0) + 1);
      let removed = 0;
      for (;;) {
        const seg = this.segments[0];
        if (seg === undefined || this.segments.length === 1 || seg.maxEntryIndex >= limit) break;
        await removeFile(seg.file);
        this.segments.shift();
        removed++;
      }
      if (removed > 0) {
        await fsyncDir(this.dir);
        this.counters.dirSyncs++;
        this.log.info(
          { index, limit, removed, segments: this.segments.length },
          'wal: released segments',
        );
      }
    });
  }

  /**
   * Waits for queued writes, then closes the active segment (also after a failure, so the
   * directory can be reopened). Later calls reject.
   */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const done = this.runTask(async () => {
      try {
        await this.fh.close();
      } finally {
        openDirs.delete(this.dir);
      }
    }, true);
    this.closed = true;
    return done;
  }

  /** Counters since open (see WalStats). */
  stats(): WalStats {
    return { ...this.counters, segments: this.segments.length };
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`WAL ${this.dir} is closed`);
    if (this.failure !== undefined) throw this.failure;
  }

  private enqueue(
    buf: Buffer,
    hardState: HardState | undefined,
    snapshot: SnapshotMeta | undefined,
    maxEntryIndex: Index,
  ): Promise<void> {
    this.counters.saves++;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ buf, hardState, snapshot, maxEntryIndex, resolve, reject });
      this.kick();
    });
  }

  /** Queues `fn` to run between writes; it is refused once the WAL failed, unless `always`. */
  private runTask(fn: Task, always = false): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.tasks.push(async () => {
        try {
          if (this.failure !== undefined && !always) throw this.failure;
          await fn();
          resolve();
        } catch (err) {
          reject(toError(err));
        }
      });
      this.kick();
    });
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    void this.drain();
  }

  /** The single writer: flushes pending batches (coalesced), then runs maintenance tasks. */
  private async drain(): Promise<void> {
    try {
      for (;;) {
        if (this.pending.length > 0) {
          const batches = this.pending;
          this.pending = [];
          await this.flush(batches);
          continue;
        }
        const task = this.tasks.shift();
        if (task === undefined) break;
        await task();
      }
    } finally {
      this.running = false;
    }
  }

  private async flush(batches: Batch[]): Promise<void> {
    try {
      if (this.failure !== undefined) throw this.failure;
      const total = batches.reduce((n, b) => n + b.buf.length, 0);
      if (total > 0) {
        const data =
          batches.length === 1 && batches[0]
            ? batches[0].buf
            : Buffer.concat(
                batches.map((b) => b.buf),
                total,
              );
        if (this.size + total > this.segmentBytes && this.size > this.headEnd) {
          await this.rollOver(data);
        } else {
          const crc = sealRecords(data, this.crc);
          this.counters.writes++;
          await writeFully(this.fh, data, this.size);
          this.counters.syncs++;
          await this.fh.datasync();
          this.size += total;
          this.crc = crc;
          this.counters.bytesWritten += total;
        }
        const active = this.segments.at(-1);
        for (const b of batches) {
          if (b.hardState !== undefined) this.durableHardState = b.hardState;
          if (b.snapshot !== undefined) this.durableSnapshot = b.snapshot;
          if (active !== undefined)
            active.maxEntryIndex = Math.max(active.maxEntryIndex, b.maxEntryIndex);
        }
      }
      for (const b of batches) b.resolve();
    } catch (err) {
      this.failure ??= new Error(
        `WAL ${this.dir} failed and must be reopened: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
      this.log.warn({ dir: this.dir, err: this.failure.message }, 'wal: write failed');
      for (const b of batches) b.reject(this.failure);
    }
  }

  /** Starts segment seq+1 with `data` as its first batch, then retires the current one. */
  private async rollOver(data: Buffer): Promise<void> {
    const prev = this.segments.at(-1);
    const seq = (prev?.seq ?? -1) + 1;
    const created = await Wal.createSegment(
      this.dir,
      seq,
      this.crc,
      this.durableHardState,
      this.durableSnapshot,
      data,
    );
    this.counters.writes++;
    this.counters.syncs++;
    this.counters.dirSyncs++;
    this.counters.bytesWritten += created.size;
    const old = this.fh;
    this.fh = created.fh;
    this.size = created.size;
    this.headEnd = created.headEnd;
    this.crc = created.crc;
    this.segments.push({ seq, file: path.join(this.dir, segmentName(seq)), maxEntryIndex: 0 });
    this.log.debug({ seq, bytes: created.size }, 'wal: started a new segment');
    await old.close();
  }
}
