import { TswarmError } from '../../../shared/errors.js';

interface ModemError {
  statusCode?: number;
  reason?: string;
  json?: { message?: string } | null;
  code?: string;
  message?: string;
}

/** The engine's own message for a dockerode failure ("No such image: x", ...). */
export function engineMessage(err: unknown): string {
  const e = err as ModemError;
  const m = e.json?.message ?? e.message ?? String(err);
  return m.replace(/^\(HTTP code \d+\) [^-]+- /, '').trim();
}

/** Maps dockerode/docker-modem failures to our codes; engine codes never leak past here. */
export function fromDockerError(err: unknown, what: string): TswarmError {
  const e = err as ModemError;
  const msg = `${what}: ${engineMessage(err)}`;
  if (e.statusCode === 404) return new TswarmError('NOT_FOUND', msg, { cause: err });
  if (e.statusCode === 409) return new TswarmError('ALREADY_EXISTS', msg, { cause: err });
  if (e.statusCode === 400) return new TswarmError('INVALID_ARGUMENT', msg, { cause: err });
  if (
    e.code === 'ECONNREFUSED' ||
    e.code === 'ENOENT' ||
    e.code === 'EPIPE' ||
    e.code === 'ECONNRESET'
  ) {
    return new TswarmError('DOCKER_UNAVAILABLE', msg, { cause: err });
  }
  return new TswarmError('INTERNAL', msg, { cause: err });
}

export function isNotFound(err: unknown): boolean {
  return (err as ModemError).statusCode === 404;
}
