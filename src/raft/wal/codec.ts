/**
 * Compact binary codecs for what the WAL and the snapshotter store: entries, hard state,
 * snapshot metadata. Little-endian, fixed-width integers; numbers are JS safe integers
 * (terms and indexes never reach 2^53), written as two u32 halves.
 */
import type { ConfState, Entry, EntryType, HardState, SnapshotMeta } from '../types.js';

const TWO_32 = 2 ** 32;

/** Thrown by the decoders when a payload does not have the shape its type promises. */
export class CodecError extends RangeError {
  override readonly name = 'CodecError';
}

/** Appends fixed-width fields to a growing byte array. */
export class ByteWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    this.reserve(1);
    this.buf[this.pos++] = v;
    return this;
  }

  u16(v: number): this {
    this.reserve(2);
    this.pos = this.buf.writeUInt16LE(v, this.pos);
    return this;
  }

  u32(v: number): this {
    this.reserve(4);
    this.pos = this.buf.writeUInt32LE(v >>> 0, this.pos);
    return this;
  }

  /** A non-negative safe integer as u64. */
  u64(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`not a u64-safe integer: ${v}`);
    this.reserve(8);
    this.buf.writeUInt32LE(v % TWO_32, this.pos);
    this.buf.writeUInt32LE(Math.floor(v / TWO_32), this.pos + 4);
    this.pos += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** A UTF-8 string prefixed by its u16 byte length. */
  str16(s: string): this {
    const b = Buffer.from(s, 'utf8');
    if (b.length > 0xffff)
      throw new RangeError(`string too long for the codec (${b.length} bytes)`);
    return this.u16(b.length).bytes(b);
  }

  get length(): number {
    return this.pos;
  }

  /** The bytes written so far (a view, not a copy). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Reads fixed-width fields, throwing CodecError on a short buffer. */
export class ByteReader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  private need(n: number): number {
    const at = this.pos;
    if (at + n > this.buf.length) {
      throw new CodecError(`truncated payload: need ${n} bytes at ${at}, have ${this.buf.length}`);
    }
    this.pos += n;
    return at;
  }

  u8(): number {
    return this.buf.readUInt8(this.need(1));
  }

  u16(): number {
    return this.buf.readUInt16LE(this.need(2));
  }

  u32(): number {
    return this.buf.readUInt32LE(this.need(4));
  }

  u64(): number {
    const at = this.need(8);
    const v = this.buf.readUInt32LE(at) + this.buf.readUInt32LE(at + 4) * TWO_32;
    if (!Number.isSafeInteger(v))
      throw new CodecError(`u64 out of the safe integer range at ${at}`);
    return v;
  }

  /** A copy of the next n bytes as a plain Uint8Array. */
  bytes(n: number): Uint8Array {
    const at = this.need(n);
    return new Uint8Array(this.buf.subarray(at, at + n));
  }

  str16(): string {
    const n = this.u16();
    const at = this.need(n);
    return this.buf.toString('utf8', at, at + n);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** Throws unless every byte was consumed. */
  end(): void {
    if (this.pos !== this.buf.length) {
      throw new CodecError(`${this.buf.length - this.pos} unexpected trailing bytes`);
    }
  }
}

const ENTRY_TYPE_CODES = { normal: 0, 'conf-change': 1 } as const satisfies Record<
  EntryType,
  number
>;

/** Fixed part of an encoded entry: term u64, index u64, type u8; the data follows. */
export const ENTRY_FIXED_BYTES = 17;

/** Writes one entry: term, index, type, then the data up to the end of the payload. */
export function writeEntry(w: ByteWriter, e: Entry): void {
  w.u64(e.term).u64(e.index).u8(ENTRY_TYPE_CODES[e.type]).bytes(e.data);
}

/** Decodes an entry payload written by writeEntry (the data runs to the end of `b`). */
export function decodeEntry(b: Buffer): Entry {
  const r = new ByteReader(b);
  const term = r.u64();
  const index = r.u64();
  const code = r.u8();
  let type: EntryType;
  if (code === 0) type = 'normal';
  else if (code === 1) type = 'conf-change';
  else throw new CodecError(`unknown entry type code ${code}`);
  return { term, index, type, data: r.bytes(r.remaining) };
}

/** Writes a hard state: term u64, commit u64, vote (u16-prefixed UTF-8). */
export function writeHardState(w: ByteWriter, hs: HardState): void {
  w.u64(hs.term).u64(hs.commit).str16(hs.vote);
}

/** Decodes a payload written by writeHardState. */
export function decodeHardState(b: Buffer): HardState {
  const r = new ByteReader(b);
  const term = r.u64();
  const commit = r.u64();
  const vote = r.str16();
  r.end();
  return { term, vote, commit };
}

function writePeers(w: ByteWriter, peers: readonly string[]): void {
  w.u32(peers.length);
  for (const p of peers) w.str16(p);
}

function readPeers(r: ByteReader): string[] {
  const n = r.u32();
  if (n > r.remaining / 2) throw new CodecError(`peer count ${n} exceeds the payload`);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(r.str16());
  return out;
}

/** Writes snapshot metadata: index u64, term u64, voters, learners. */
export function writeSnapshotMeta(w: ByteWriter, m: SnapshotMeta): void {
  w.u64(m.index).u64(m.term);
  writePeers(w, m.confState.voters);
  writePeers(w, m.confState.learners);
}

/** Decodes a payload written by writeSnapshotMeta. */
export function decodeSnapshotMeta(b: Buffer): SnapshotMeta {
  const r = new ByteReader(b);
  const index = r.u64();
  const term = r.u64();
  const voters = readPeers(r);
  const learners = readPeers(r);
  r.end();
  const confState: ConfState = { voters, learners };
  return { index, term, confState };
}

/** Encodes snapshot metadata on its own (the snapshotter's file header uses it). */
export function encodeSnapshotMeta(m: SnapshotMeta): Buffer {
  const w = new ByteWriter(64);
  writeSnapshotMeta(w, m);
  return w.finish();
}
