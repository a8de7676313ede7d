import { TswarmError } from '../../shared/errors.js';

/**
 * Go's `time.ParseDuration` grammar, which Docker's duration flags use:
 * an optional sign, then one or more `<decimal><unit>` pairs (`5s`, `1m30s`, `1.5h`, `500ms`),
 * with units ns, us (µs, μs), ms, s, m, h. A bare `0` is allowed.
 */

const NANOS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3, // U+00B5 micro sign
  μs: 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's time.Duration is an int64 of nanoseconds. */
const MAX_NANOS = 2 ** 63;

/** A malformed duration; `message` reads like Go's (`time: unknown unit "d" in duration "5d"`). */
export class DurationError extends Error {
  override readonly name = 'DurationError';
}

/** Parses a Go duration into nanoseconds (may be negative). Throws DurationError. */
export function parseDuration(raw: string): number {
  const quoted = JSON.stringify(raw);
  let s = raw;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s.startsWith('-')) sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new DurationError(`time: invalid duration ${quoted}`);
  let total = 0;
  while (s !== '') {
    const num = /^(\d*)(?:\.(\d*))?/.exec(s);
    const whole = num?.[1] ?? '';
    const frac = num?.[2];
    if (whole === '' && (frac === undefined || frac === '')) {
      throw new DurationError(`time: invalid duration ${quoted}`);
    }
    s = s.slice(num?.[0].length ?? 0);
    const unitMatch = /^[^\d.]+/.exec(s);
    if (!unitMatch) throw new DurationError(`time: missing unit in duration ${quoted}`);
    const unit = unitMatch[0];
    const scale = NANOS_PER_UNIT[unit];
    if (scale === undefined) {
      throw new DurationError(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    }
    s = s.slice(unit.length);
    const value = Number(`${whole || '0'}.${frac ?? '0'}`);
    total += value * scale;
    if (total >= MAX_NANOS) throw new DurationError(`time: invalid duration ${quoted}`);
  }
  return sign * Math.round(total);
}

/**
 * Parses a duration flag into whole milliseconds, as the control API takes them.
 * The message names the flag the way Docker's pflag errors do.
 * Rejects zero, negative and sub-millisecond values with an INVALID_ARGUMENT TswarmError.
 */
export function parseDurationFlagMs(flag: string, raw: string): number {
  const prefix = `invalid argument ${JSON.stringify(raw)} for "${flag}" flag`;
  let nanos: number;
  try {
    nanos = parseDuration(raw);
  } catch (err) {
    throw new TswarmError('INVALID_ARGUMENT', `${prefix}: ${(err as Error).message}`);
  }
  if (nanos <= 0)
    throw new TswarmError('INVALID_ARGUMENT', `${prefix}: the duration must be positive`);
  const ms = nanos / 1e6;
  if (!Number.isInteger(ms)) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `${prefix}: the duration must be a whole number of milliseconds`,
    );
  }
  return ms;
}

/** Renders milliseconds the way Go's Duration.String() does: `5s`, `1m30s`, `1h0m0s`, `500ms`. */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(ms);
  let out: string;
  if (rest < 1000) {
    out = `${rest}ms`;
  } else {
    const h = Math.floor(rest / 3_600_000);
    rest -= h * 3_600_000;
    const m = Math.floor(rest / 60_000);
    rest -= m * 60_000;
    const secs = String(rest / 1000);
    if (h > 0) out = `${h}h${m}m${secs}s`;
    else if (m > 0) out = `${m}m${secs}s`;
    else out = `${secs}s`;
  }
  return neg ? `-${out}` : out;
}
