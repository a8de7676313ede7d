/**
 * The logging surface the transport needs. Structurally the same as the core's RaftLogger,
 * so a pino child logger satisfies it as-is.
 */
export interface TransportLogger {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

/** Discards everything; the default when no logger is injected. */
export const SILENT_LOGGER: TransportLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
};
