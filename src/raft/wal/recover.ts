/**
 * Opening a WAL directory: verify every segment, repair a torn tail, replay the records.
 *
 * Recovery rules:
 * - Segments are numbered without gaps. A gap is tolerated only when the segments above it
 *   replay to a complete state on their own (their log starts right after a snapshot they
 *   record): the ones below are then leftovers of an interrupted releaseTo and are removed.
 *   Otherwise the missing segment is reported as corruption.
 * - Each segment's seed must equal the last CRC of the segment before it.
 * - Damage in the last segment with no valid record after it is a torn tail: the segment is
 *   truncated to its last good record (or removed, if even its head is incomplete). Any other
 *   damage throws WalCorruptError; nothing is modified before that check.
 */
import { readFile, readdir, open } from 'node:fs/promises';
import path from 'node:path';
import type { Index } from '../types.js';
import { CodecError } from './codec.js';
import { WalCorruptError } from './errors.js';
import { fsyncDir, removeFile } from './fs.js';
import type { StorageLogger } from './logger.js';
import { Replay, ReplayError } from './replay.js';
import type { WalState } from './replay.js';
import { FIRST_RECORD_OFFSET, parseSegmentName, scanSegment, segmentName } from './segment.js';

/** A live segment file and the highest entry index it holds (0 if none). */
export interface SegmentInfo {
  readonly seq: number;
  readonly file: string;
  maxEntryIndex: Index;
}

export interface Recovered {
  readonly state: WalState;
  /** Live segments, oldest first; empty when the directory held no usable segment. */
  readonly segments: SegmentInfo[];
  /** Where appending resumes in the last segment (absent when `segments` is empty). */
  readonly tail?: { readonly end: number; readonly headEnd: number; readonly lastCrc: number };
  readonly repaired?: { readonly truncatedBytes: number; readonly reason: string };
}

async function listSegments(dir: string): Promise<number[]> {
  const seqs: number[] = [];
  for (const name of await readdir(dir)) {
    const seq = parseSegmentName(name);
    if (seq !== undefined) seqs.push(seq);
  }
  return seqs.sort((a, b) => a - b);
}

function wrapReplayError(err: unknown, file: string, offset: number): unknown {
  if (err instanceof ReplayError || err instanceof CodecError) {
    return new WalCorruptError(file, offset, err.message, { cause: err });
  }
  return err;
}

/** Verifies, repairs and replays the WAL in `dir` (which must exist). */
export async function recover(dir: string, log: StorageLogger): Promise<Recovered> {
  const all = await listSegments(dir);
  // Split at the last gap in the numbering.
  let firstLive = 0;
  for (let i = 1; i < all.length; i++) if (all[i] !== (all[i - 1] ?? 0) + 1) firstLive = i;
  const stale = all.slice(0, firstLive);
  const live = all.slice(firstLive);
  const missing = (): WalCorruptError => {
    const below = stale.at(-1) ?? 0;
    return new WalCorruptError(
      path.join(dir, segmentName(below + 1)),
      0,
      `segment ${below + 1} is missing (found ${segmentName(below)} and ${segmentName(live[0] ?? 0)})`,
    );
  };

  const replay = new Replay();
  const segments: SegmentInfo[] = [];
  let repaired: Recovered['repaired'];
  let tail: Recovered['tail'];

  for (const [i, seq] of live.entries()) {
    const file = path.join(dir, segmentName(seq));
    const buf = await readFile(file);
    const scan = scanSegment(buf, seq);
    const isLast = i === live.length - 1;
    if (tail !== undefined && scan.end > 0 && scan.seed !== tail.lastCrc) {
      throw new WalCorruptError(
        file,
        FIRST_RECORD_OFFSET,
        `CRC chain broken: the segment is seeded with ${scan.seed.toString(16)} but ` +
          `${segmentName(seq - 1)} ends with ${tail.lastCrc.toString(16)}`,
      );
    }
    if (scan.damage !== undefined) {
      const { offset, reason, validRecordAt } = scan.damage;
      if (validRecordAt !== undefined) {
        throw new WalCorruptError(
          file,
          offset,
          `${reason}; a valid record follows at offset ${validRecordAt}`,
        );
      }
      if (!isLast) {
        throw new WalCorruptError(file, offset, `${reason}, in a segment that is not the last`);
      }
      const why = `${reason} at offset ${offset} of ${segmentName(seq)}`;
      if (scan.end === 0) {
        // Torn while being created: the segment holds nothing usable.
        if (segments.length === 0 && seq !== 0) {
          throw new WalCorruptError(
            file,
            offset,
            `${reason}, and no earlier segment holds the state`,
          );
        }
        await removeFile(file);
        await fsyncDir(dir);
        repaired = { truncatedBytes: buf.length, reason: `${why}: removed the unfinished segment` };
        log.warn({ file, offset, bytes: buf.length, reason }, 'wal: removed a torn segment');
        break;
      }
      const fh = await open(file, 'r+');
      try {
        await fh.truncate(scan.end);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      repaired = { truncatedBytes: buf.length - scan.end, reason: `torn or corrupt tail: ${why}` };
      log.warn(
        { file, offset, bytes: buf.length - scan.end, reason },
        'wal: truncated a torn or corrupt tail',
      );
    }
    const info: SegmentInfo = { seq, file, maxEntryIndex: 0 };
    for (const r of scan.records) {
      try {
        info.maxEntryIndex = Math.max(info.maxEntryIndex, replay.apply(r));
      } catch (err) {
        throw wrapReplayError(err, file, r.offset);
      }
    }
    segments.push(info);
    // The head's hard state record comes first after the crc record.
    tail = { end: scan.end, headEnd: scan.records[0]?.next ?? scan.end, lastCrc: scan.lastCrc };
  }

  let state: WalState;
  try {
    state = replay.finish();
  } catch (err) {
    throw stale.length > 0 ? missing() : wrapReplayError(err, segments[0]?.file ?? dir, 0);
  }
  if (stale.length > 0) {
    if (segments.length === 0) throw missing();
    for (const seq of stale) await removeFile(path.join(dir, segmentName(seq)));
    await fsyncDir(dir);
    log.warn(
      { dir, removed: stale.map(segmentName) },
      'wal: removed segments left over from an interrupted release',
    );
  }
  const result = { state, segments };
  return {
    ...result,
    ...(tail === undefined ? {} : { tail }),
    ...(repaired === undefined ? {} : { repaired }),
  };
}
