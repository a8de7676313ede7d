/**
 * Raised by Wal.open when the log is damaged somewhere other than its tail: a record that
 * does not verify while valid records follow it, a damaged non-last segment, a missing
 * segment or a broken CRC chain between segments. Opening refuses rather than guess: the
 * operator must restore the node's data (or rejoin it) by hand.
 */
export class WalCorruptError extends Error {
  override readonly name = 'WalCorruptError';

  constructor(
    /** Absolute path of the damaged segment file. */
    readonly file: string,
    /** Byte offset of the first bad record in `file`. */
    readonly offset: number,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`WAL corrupt: ${file} at offset ${offset}: ${reason}`, options);
  }
}
