/**
 * A simulated disk for one node: WAL records (hard state, entries, snapshot metadata) and
 * snapshot files, with the fsync boundary made explicit.
 *
 * Records are encoded with the real WAL codec and folded with the real WAL replay rules
 * (src/raft/wal/replay.ts), so recovery here is recovery there. Records written since the last
 * `sync()` are pending: a crash keeps only a prefix of them (a torn tail; a process kill keeps
 * them all, a power loss any prefix). Synced records and saved snapshot files (the snapshotter
 * fsyncs and renames atomically) always survive.
 *
 * Recovery follows src/raft/wal/README.md: the WAL's snapshot metadata names the snapshot the
 * log continues from; the hard state and entries after it come from the WAL.
 */
import {
  MemoryStorage,
  type Entry,
  type HardState,
  type Snapshot,
  type SnapshotMeta,
} from '../../src/raft/index.js';
import {
  ByteWriter,
  writeEntry,
  writeHardState,
  writeSnapshotMeta,
} from '../../src/raft/wal/codec.js';
import { RecordType } from '../../src/raft/wal/record.js';
import { Replay } from '../../src/raft/wal/replay.js';

interface WalRecord {
  readonly type: RecordType;
  readonly payload: Buffer;
}

export interface Recovered {
  readonly storage: MemoryStorage;
  readonly snapshot: Snapshot;
  readonly hardState: HardState;
}

/** Recovery found the disk unusable (a bug in what was persisted, or in replay). */
export class RecoveryError extends Error {}

function encode(type: RecordType, write: (w: ByteWriter) => void): WalRecord {
  const w = new ByteWriter(64);
  write(w);
  return { type, payload: Buffer.from(w.finish()) };
}

export class Disk {
  private replay = new Replay();
  private pending: WalRecord[] = [];
  private offset = 0;
  /** Snapshot files, oldest first. */
  private snaps: Snapshot[] = [];
  /** Counters for the run's statistics. */
  records = 0;
  syncs = 0;

  writeEntries(entries: readonly Entry[]): void {
    for (const e of entries) {
      this.pending.push(
        encode(RecordType.entry, (w) => {
          writeEntry(w, e);
        }),
      );
    }
    this.records += entries.length;
  }

  writeHardState(hs: HardState): void {
    this.pending.push(
      encode(RecordType.hardState, (w) => {
        writeHardState(w, hs);
      }),
    );
    this.records++;
  }

  writeSnapshotMeta(meta: SnapshotMeta): void {
    this.pending.push(
      encode(RecordType.snapshotMeta, (w) => {
        writeSnapshotMeta(w, meta);
      }),
    );
    this.records++;
  }

  /** Saves a snapshot file (atomic and durable once this returns). */
  saveSnapshotFile(s: Snapshot): void {
    this.snaps.push(s);
    // Keep a few, like Snapshotter.prune: never the one the durable WAL names.
    if (this.snaps.length > 4) this.snaps = this.snaps.slice(-4);
  }

  /** fdatasync: every record written so far is durable. */
  sync(): void {
    for (const r of this.pending) this.fold(r);
    this.pending = [];
    this.syncs++;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  private fold(r: WalRecord): void {
    this.replay.apply({
      ok: true,
      type: r.type,
      offset: this.offset,
      payload: r.payload,
      crc: 0,
      next: this.offset + r.payload.length + 12,
    });
    this.offset += r.payload.length + 12;
  }

  /** The machine stops: only the first `keep` pending records reached the platter. */
  crash(keep: number): void {
    const kept = this.pending.slice(0, Math.max(0, keep));
    for (const r of kept) this.fold(r);
    this.pending = [];
  }

  /** Rebuilds the MemoryStorage a restarting driver would (the disk must be crashed/synced). */
  recover(): Recovered {
    if (this.pending.length > 0) throw new Error('recover() with pending records: crash first');
    let state;
    try {
      state = this.replay.finish();
    } catch (err) {
      throw new RecoveryError(`WAL replay failed: ${(err as Error).message}`);
    }
    const meta = state.snapshot;
    const storage = new MemoryStorage();
    let snapshot: Snapshot = {
      meta: { index: 0, term: 0, confState: { voters: [], learners: [] } },
      data: new Uint8Array(0),
    };
    if (meta !== undefined) {
      const file = [...this.snaps]
        .reverse()
        .find((s) => s.meta.index === meta.index && s.meta.term === meta.term);
      if (file === undefined) {
        throw new RecoveryError(`the WAL names snapshot ${meta.index}/${meta.term}: no such file`);
      }
      snapshot = file;
      storage.applySnapshot(file);
    }
    const entries = state.entries.filter((e) => e.index > snapshot.meta.index);
    const first = entries[0];
    if (first !== undefined && first.index !== snapshot.meta.index + 1) {
      throw new RecoveryError(
        `WAL entries start at ${first.index} but the snapshot ends at ${snapshot.meta.index}`,
      );
    }
    storage.setHardState(state.hardState);
    storage.append(entries);
    return { storage, snapshot, hardState: state.hardState };
  }
}
