/**
 * WAL record framing.
 *
 * ```
 * 0  u32 LE  payload length L
 * 4  u8      record type (RecordType)
 * 5  u8      flags (0)
 * 6  u16 LE  header check: a 16-bit hash of (L, type, flags), so that a scan can reject
 *            random offsets cheaply when it looks for valid records after a bad one
 * 8  L bytes payload
 * 8+L u32 LE crc = crc32(bytes 0 .. 8+L, prevCrc)
 * ```
 *
 * The CRC is chained: each record's checksum is seeded with the previous record's stored CRC,
 * so reordering, dropping or splicing records breaks the chain. The previous CRC is always the
 * 4 bytes just before a record (the previous trailer), except for a segment's first record,
 * which is seeded by the value in its own payload (see segment.ts). So any record can be
 * verified on its own, which is what tells a torn tail apart from corruption in the middle.
 */
import { crc32 } from 'node:zlib';
import { ByteWriter } from './codec.js';

/** Record type codes (one byte on disk). */
export const RecordType = {
  /** Chain seed at the start of each segment: seq u64, seed u32 (previous segment's last CRC). */
  crc: 1,
  hardState: 2,
  entry: 3,
  snapshotMeta: 4,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** Length, type, flags and header check. */
export const RECORD_HEADER_BYTES = 8;
/** The chained CRC after the payload. */
export const RECORD_TRAILER_BYTES = 4;
/** Bytes a record takes on disk beyond its payload. */
export const RECORD_OVERHEAD = RECORD_HEADER_BYTES + RECORD_TRAILER_BYTES;

/** Whether `t` is a known record type code. */
export function isRecordType(t: number): t is RecordType {
  return t >= RecordType.crc && t <= RecordType.snapshotMeta;
}

/** 16-bit hash of the header fields (not a checksum: the record CRC covers the header too). */
export function headerCheck(len: number, type: number, flags: number): number {
  const h = Math.imul(len ^ (type << 24) ^ (flags << 16), 0x9e3779b1);
  return ((h >>> 16) ^ (h & 0xffff) ^ 0x5a3c) & 0xffff;
}

/**
 * Builds framed records into one buffer. CRC trailers are left zero: they depend on the
 * record that precedes the batch on disk, which is only known when the batch is written
 * (see sealRecords).
 */
export class RecordWriter {
  readonly w = new ByteWriter(1024);
  private start = -1;

  begin(type: RecordType): ByteWriter {
    if (this.start !== -1) throw new Error('RecordWriter: begin() inside an open record');
    this.start = this.w.length;
    this.w.u32(0).u8(type).u8(0).u16(0);
    return this.w;
  }

  end(): void {
    if (this.start === -1) throw new Error('RecordWriter: end() without begin()');
    const buf = this.w.finish();
    const len = this.w.length - this.start - RECORD_HEADER_BYTES;
    const type = buf.readUInt8(this.start + 4);
    buf.writeUInt32LE(len, this.start);
    buf.writeUInt16LE(headerCheck(len, type, 0), this.start + 6);
    this.w.u32(0);
    this.start = -1;
  }

  finish(): Buffer {
    if (this.start !== -1) throw new Error('RecordWriter: finish() inside an open record');
    return this.w.finish();
  }
}

/**
 * Fills in the CRC trailers of consecutive framed records in `buf`, chaining from `prev`,
 * and returns the last record's CRC (or `prev` if `buf` is empty).
 */
export function sealRecords(buf: Buffer, prev: number): number {
  let crc = prev;
  let o = 0;
  while (o < buf.length) {
    const len = buf.readUInt32LE(o);
    const end = o + RECORD_HEADER_BYTES + len;
    crc = crc32(buf.subarray(o, end), crc);
    buf.writeUInt32LE(crc, end);
    o = end + RECORD_TRAILER_BYTES;
  }
  return crc;
}

/** A record that verified: its payload is a view into the segment image. */
export interface GoodRecord {
  readonly ok: true;
  readonly type: RecordType;
  readonly offset: number;
  readonly payload: Buffer;
  readonly crc: number;
  /** Offset just past this record. */
  readonly next: number;
}

/** A record that did not verify, and why. */
export interface BadRecord {
  readonly ok: false;
  readonly offset: number;
  readonly reason: string;
  /** Offset just past the record if its header was plausible, else undefined. */
  readonly next?: number;
  /** The CRC the record's bytes would have had (when its header was plausible). */
  readonly computedCrc?: number;
}

/** Reads and verifies the record at `o`, seeded with `prev`. Never throws. */
export function readRecord(buf: Buffer, o: number, prev: number): GoodRecord | BadRecord {
  const avail = buf.length - o;
  if (avail < RECORD_HEADER_BYTES) {
    return { ok: false, offset: o, reason: `partial record header (${avail} of 8 bytes)` };
  }
  const len = buf.readUInt32LE(o);
  const type = buf.readUInt8(o + 4);
  const flags = buf.readUInt8(o + 5);
  const check = buf.readUInt16LE(o + 6);
  if (!isRecordType(type) || flags !== 0 || check !== headerCheck(len, type, flags)) {
    return { ok: false, offset: o, reason: 'invalid record header' };
  }
  const end = o + RECORD_HEADER_BYTES + len;
  if (end + RECORD_TRAILER_BYTES > buf.length) {
    return {
      ok: false,
      offset: o,
      reason: `partial record (${avail} of ${len + RECORD_OVERHEAD} bytes)`,
    };
  }
  const computed = crc32(buf.subarray(o, end), prev);
  const stored = buf.readUInt32LE(end);
  const next = end + RECORD_TRAILER_BYTES;
  if (computed !== stored) {
    return { ok: false, offset: o, reason: 'CRC mismatch', next, computedCrc: computed };
  }
  return {
    ok: true,
    type,
    offset: o,
    payload: buf.subarray(o + RECORD_HEADER_BYTES, end),
    crc: stored,
    next,
  };
}

/**
 * Looks for any valid record that starts after the bad record `bad`, at any byte offset
 * (`minOffset` is the lowest offset whose 4 preceding bytes may hold a CRC). A hit means
 * the damage is in the middle of the log, not a torn tail. Returns the offset or undefined.
 */
export function findValidRecordAfter(
  buf: Buffer,
  bad: BadRecord,
  minOffset: number,
): number | undefined {
  // The record right after a bad one whose only damage is its own trailer chains from the
  // CRC its bytes should have had, not from the damaged trailer: try that seed as well.
  if (bad.next !== undefined && bad.computedCrc !== undefined && bad.next < buf.length) {
    if (readRecord(buf, bad.next, bad.computedCrc).ok) return bad.next;
  }
  const last = buf.length - RECORD_OVERHEAD;
  for (let p = Math.max(bad.offset + 1, minOffset); p <= last; p++) {
    const type = buf[p + 4] ?? 0;
    if (!isRecordType(type) || buf[p + 5] !== 0) continue;
    if (readRecord(buf, p, buf.readUInt32LE(p - 4)).ok) return p;
  }
  return undefined;
}
