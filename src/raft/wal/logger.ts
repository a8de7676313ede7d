/**
 * The logging surface storage needs. Structural, so a pino child logger (or the core's
 * RaftLogger) satisfies it as-is; storage never imports pino.
 */
export interface StorageLogger {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

/** Discards everything (the default when no logger is given). */
export const NOOP_LOGGER: StorageLogger = {
  debug() {
    /* discard */
  },
  info() {
    /* discard */
  },
  warn() {
    /* discard */
  },
};
