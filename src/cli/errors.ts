import { TswarmError } from '../shared/errors.js';

interface GrpcCause {
  readonly code: number;
  readonly metadata: { get(key: string): unknown[] };
}

function grpcCause(err: TswarmError): GrpcCause | undefined {
  const cause = err.cause as Partial<GrpcCause> | undefined;
  if (
    typeof cause === 'object' &&
    typeof cause.code === 'number' &&
    typeof cause.metadata?.get === 'function'
  ) {
    return cause as GrpcCause;
  }
  return undefined;
}

/**
 * True when the daemon answered with this error (it then prints as
 * `Error response from daemon: ...`); false for local failures such as usage errors
 * or "Cannot connect to the tswarm daemon".
 */
export function isRemoteError(err: TswarmError): boolean {
  const cause = grpcCause(err);
  if (!cause) return false;
  return cause.metadata.get('tswarm-error-code').length > 0 || err.code !== 'UNAVAILABLE';
}

/** True when no daemon answered at all (nothing else will work either). */
export function isConnectionError(err: unknown): boolean {
  return err instanceof TswarmError && err.code === 'UNAVAILABLE' && !isRemoteError(err);
}

/** The line the CLI prints for an error, Docker style. */
export function errorText(err: unknown): string {
  if (err instanceof TswarmError) {
    return isRemoteError(err) ? `Error response from daemon: ${err.message}` : err.message;
  }
  return `Error: ${err instanceof Error ? err.message : String(err)}`;
}

/**
 * Several failures of one command (`node rm a b`) as one error printed line by line,
 * like Go's errors.Join; the code is the first failure's.
 */
export function combineErrors(errs: readonly unknown[]): TswarmError {
  const first = errs[0];
  if (errs.length === 1 && first instanceof TswarmError) return first;
  const code = first instanceof TswarmError ? first.code : 'INTERNAL';
  return new TswarmError(code, errs.map((e) => errorText(e)).join('\n'));
}

/** A daemon error whose gRPC status says the deadline passed. */
export function isDeadlineExceeded(err: unknown): boolean {
  if (!(err instanceof TswarmError)) return false;
  const cause = grpcCause(err);
  return cause?.code === 4; // grpc status DEADLINE_EXCEEDED
}
