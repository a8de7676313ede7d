/**
 * Byte-level primitives of the codec: a growable Writer and a strict Reader. Integers are
 * unsigned LEB128 varints limited to safe integers; strings are length-prefixed UTF-8; byte
 * arrays are length-prefixed. Every read error is a RangeError.
 */
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export class Writer {
  private buf = new Uint8Array(64);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  uint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`codec: cannot encode ${n}`);
    let v = n;
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }

  bool(b: boolean): void {
    this.byte(b ? 1 : 0);
  }

  bytes(b: Uint8Array): void {
    this.uint(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  str(s: string): void {
    this.bytes(utf8Encoder.encode(s));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export class Reader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  byte(): number {
    const b = this.buf[this.pos];
    if (b === undefined) throw new RangeError(`codec: truncated at byte ${this.pos}`);
    this.pos++;
    return b;
  }

  uint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(result)) throw new RangeError('codec: integer too large');
        if (i > 0 && b === 0) throw new RangeError('codec: non-minimal varint');
        return result;
      }
      scale *= 0x80;
    }
    throw new RangeError('codec: varint too long');
  }

  bool(): boolean {
    const b = this.byte();
    if (b > 1) throw new RangeError(`codec: bad boolean ${b}`);
    return b === 1;
  }

  bytes(): Uint8Array {
    const n = this.uint();
    if (n > this.buf.length - this.pos) throw new RangeError('codec: truncated byte string');
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  str(): string {
    try {
      return utf8Decoder.decode(this.bytes());
    } catch (err) {
      if (err instanceof RangeError) throw err;
      throw new RangeError('codec: invalid UTF-8');
    }
  }

  tag<T>(table: readonly T[], what: string): T {
    const i = this.byte();
    const v = table[i];
    if (v === undefined) throw new RangeError(`codec: unknown ${what} ${i}`);
    return v;
  }

  end(): void {
    if (this.pos !== this.buf.length) {
      throw new RangeError(`codec: ${this.buf.length - this.pos} trailing bytes`);
    }
  }
}
