/**
 * Segment files: `<seq as 16 hex digits>.wal`, numbered from 0 without gaps.
 *
 * ```
 * 0   'TSWALSEG' magic
 * 8   u32 LE format version (1)
 * 12  u32 LE reserved (0)
 * 16  crc record: payload seq u64, seed u32; its CRC is seeded by `seed`, which is the last
 *     CRC of the previous segment (0 for the first), so the chain runs across segments and
 *     still verifies once earlier segments are released
 * ... the current hard state and snapshot metadata (so any segment is self-sufficient),
 *     then records as appended
 * ```
 */
import { ByteReader } from './codec.js';
import {
  RECORD_HEADER_BYTES,
  RecordType,
  RecordWriter,
  findValidRecordAfter,
  readRecord,
  sealRecords,
} from './record.js';
import type { BadRecord, GoodRecord } from './record.js';

/** The first 8 bytes of every segment file. */
export const SEGMENT_MAGIC = Buffer.from('TSWALSEG', 'latin1');
/** Format version written after the magic. */
export const SEGMENT_VERSION = 1;
/** Magic, version, reserved. */
export const SEGMENT_HEADER_BYTES = 16;
/** Offset of a segment's first (crc) record. */
export const FIRST_RECORD_OFFSET = SEGMENT_HEADER_BYTES;

const SEGMENT_NAME = /^([0-9a-f]{16})\.wal$/;

/** The file name of segment `seq`. */
export function segmentName(seq: number): string {
  return `${seq.toString(16).padStart(16, '0')}.wal`;
}

/** The sequence number of a segment file name, or undefined if it is not one. */
export function parseSegmentName(name: string): number | undefined {
  const m = SEGMENT_NAME.exec(name);
  return m?.[1] === undefined ? undefined : Number.parseInt(m[1], 16);
}

/** The file header plus the sealed crc record; returns the bytes and the chain's CRC after them. */
export function encodeSegmentHead(seq: number, seed: number): { bytes: Buffer; crc: number } {
  const head = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(head, 0);
  head.writeUInt32LE(SEGMENT_VERSION, 8);
  const rw = new RecordWriter();
  rw.begin(RecordType.crc).u64(seq).u32(seed);
  rw.end();
  const rec = rw.finish();
  const crc = sealRecords(rec, seed);
  return { bytes: Buffer.concat([head, rec]), crc };
}

/** Where the readable part of a segment stops, and why. */
export interface SegmentDamage {
  readonly offset: number;
  readonly reason: string;
  /** Offset of a valid record found after the damage: the damage is not a torn tail. */
  readonly validRecordAt?: number;
}

/** What scanSegment verified in one segment image. */
export interface SegmentScan {
  readonly seq: number;
  /** The chain seed stored in the crc record (the previous segment's last CRC). */
  readonly seed: number;
  /** Verified records after the crc record, in order. */
  readonly records: readonly GoodRecord[];
  /** Offset just past the last verified record; 0 when even the header is unusable. */
  readonly end: number;
  /** CRC of the last verified record (the chain value to continue from). */
  readonly lastCrc: number;
  /** Set when the segment holds bytes past `end` that do not verify. */
  readonly damage?: SegmentDamage;
}

function damaged(scan: Omit<SegmentScan, 'damage'>, buf: Buffer, bad: BadRecord): SegmentScan {
  const found = findValidRecordAfter(buf, bad, FIRST_RECORD_OFFSET + 1);
  const damage: SegmentDamage =
    found === undefined
      ? { offset: bad.offset, reason: bad.reason }
      : { offset: bad.offset, reason: bad.reason, validRecordAt: found };
  return { ...scan, damage };
}

/** Verifies a whole segment image. Never throws; problems come back in `damage`. */
export function scanSegment(buf: Buffer, seq: number): SegmentScan {
  const empty = { seq, seed: 0, records: [], end: 0, lastCrc: 0 };
  if (buf.length < SEGMENT_HEADER_BYTES) {
    return {
      ...empty,
      damage: { offset: 0, reason: `partial segment header (${buf.length} of 16 bytes)` },
    };
  }
  if (!buf.subarray(0, 8).equals(SEGMENT_MAGIC)) {
    return { ...empty, damage: { offset: 0, reason: 'not a WAL segment (bad magic)' } };
  }
  const version = buf.readUInt32LE(8);
  if (version !== SEGMENT_VERSION) {
    return { ...empty, damage: { offset: 8, reason: `unsupported segment version ${version}` } };
  }
  // The crc record seeds its own CRC with the value in its payload (seq u64 then seed u32).
  const seedAt = FIRST_RECORD_OFFSET + RECORD_HEADER_BYTES + 8;
  const seed = buf.length >= seedAt + 4 ? buf.readUInt32LE(seedAt) : 0;
  const first = readRecord(buf, FIRST_RECORD_OFFSET, seed);
  if (!first.ok) return damaged(empty, buf, first);
  if (first.type !== RecordType.crc || first.payload.length !== 12) {
    return {
      ...empty,
      damage: { offset: FIRST_RECORD_OFFSET, reason: 'segment does not start with a crc record' },
    };
  }
  const storedSeq = new ByteReader(first.payload).u64();
  if (storedSeq !== seq) {
    return {
      ...empty,
      damage: {
        offset: FIRST_RECORD_OFFSET,
        reason: `segment records sequence ${storedSeq}, its name says ${seq}`,
      },
    };
  }
  const records: GoodRecord[] = [];
  let crc = first.crc;
  let o = first.next;
  while (o < buf.length) {
    const r = readRecord(buf, o, crc);
    if (!r.ok) return damaged({ seq, seed, records, end: o, lastCrc: crc }, buf, r);
    if (r.type === RecordType.crc) {
      return {
        seq,
        seed,
        records,
        end: o,
        lastCrc: crc,
        damage: { offset: o, reason: 'crc record in the middle of a segment', validRecordAt: o },
      };
    }
    records.push(r);
    crc = r.crc;
    o = r.next;
  }
  return { seq, seed, records, end: o, lastCrc: crc };
}
