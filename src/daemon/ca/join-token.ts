import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { TswarmError } from '../../shared/errors.js';
import type { NodeRole } from './roles.js';
import { parseCertificatePem } from './webcrypto.js';

/**
 * Join tokens, as Docker Swarm's v1 format:
 *
 *   SWMTKN-1-<CA digest: sha256 in base 36, 0-padded to 50>-<secret: 128 bits in base 36, 0-padded to 25>
 *
 * The digest pins the cluster's root CA: a joining node fetches the CA over an
 * unverified TLS session and accepts it only if it hashes to the digest. The secret
 * authenticates the join itself; workers and managers get different secrets.
 *
 * NOTE(ca): swarmkit hashes the CA's PEM bytes; we hash the certificate's DER, which does
 * not change with PEM line wrapping or trailing whitespace. Tokens are therefore not
 * interchangeable with Docker's, which they never need to be.
 */
export const JOIN_TOKEN_PREFIX = 'SWMTKN';
export const JOIN_TOKEN_VERSION = 1;
/** ceil(log36(2^256)): a sha256 digest in base 36. */
export const CA_DIGEST_LENGTH = 50;
/** ceil(log36(2^128)): a 16-byte secret in base 36. */
export const JOIN_SECRET_LENGTH = 25;

const SECRET_BYTES = 16;
const MAX_DIGEST = 1n << 256n;
const MAX_SECRET = 1n << 128n;

/** The parts of a join token. `caDigest` has the format `caDigest()` returns. */
export interface JoinToken {
  readonly version: 1;
  readonly caDigest: string;
  readonly secret: string;
}

function base36(bytes: Uint8Array, width: number): string {
  const n = BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
  return n.toString(36).padStart(width, '0');
}

function caDer(caCertPem: string): Uint8Array {
  return new Uint8Array(parseCertificatePem(caCertPem, 'CA certificate').rawData);
}

/** sha256 of the CA certificate (DER), in base 36, left-padded with '0' to 50 characters. */
export function caDigest(caCertPem: string): string {
  return base36(createHash('sha256').update(caDer(caCertPem)).digest(), CA_DIGEST_LENGTH);
}

/** A digest (as `caDigest` returns it) rendered as `sha256:<64 hex>`, for messages. */
export function caDigestHex(digest: string): string {
  let n = 0n;
  for (const ch of digest) n = n * 36n + BigInt(parseInt(ch, 36));
  return `sha256:${n.toString(16).padStart(64, '0')}`;
}

/** A fresh token for the cluster whose root CA is `caCertPem`, with a new random secret. */
export function generateJoinToken(caCertPem: string): string {
  const secret = base36(randomBytes(SECRET_BYTES), JOIN_SECRET_LENGTH);
  return `${JOIN_TOKEN_PREFIX}-${JOIN_TOKEN_VERSION}-${caDigest(caCertPem)}-${secret}`;
}

function invalidToken(): TswarmError {
  return new TswarmError('INVALID_ARGUMENT', 'invalid join token');
}

function parseBase36(raw: string, width: number, max: bigint): bigint | undefined {
  if (raw.length !== width || !/^[0-9a-z]+$/.test(raw)) return undefined;
  let n = 0n;
  for (const ch of raw) n = n * 36n + BigInt(parseInt(ch, 36));
  return n < max ? n : undefined;
}

/**
 * Splits a token into its parts. Anything but a well-formed v1 token (prefix, version,
 * a 50-character base-36 digest below 2^256, a 25-character base-36 secret below 2^128)
 * throws TswarmError INVALID_ARGUMENT "invalid join token", without echoing the token.
 */
export function parseJoinToken(token: string): JoinToken {
  const parts = token.trim().split('-');
  if (parts.length !== 4) throw invalidToken();
  const [prefix, version, digest, secret] = parts;
  if (prefix !== JOIN_TOKEN_PREFIX || version !== String(JOIN_TOKEN_VERSION)) throw invalidToken();
  if (digest === undefined || secret === undefined) throw invalidToken();
  if (parseBase36(digest, CA_DIGEST_LENGTH, MAX_DIGEST) === undefined) throw invalidToken();
  if (parseBase36(secret, JOIN_SECRET_LENGTH, MAX_SECRET) === undefined) throw invalidToken();
  return { version: 1, caDigest: digest, secret };
}

/**
 * Checks a CA certificate fetched from a remote (untrusted) manager against the digest in
 * the join token. Throws TswarmError PERMISSION_DENIED
 * "remote CA does not match fingerprint. Expected: sha256:<hex>, got sha256:<hex>"
 * on mismatch, and "invalid join token" for a malformed token. Only after this returns
 * may the joiner trust the CA, and only then may it send its secret.
 */
export function verifyCaAgainstToken(caCertPem: string, token: string): void {
  const expected = parseJoinToken(token).caDigest;
  let actual: string;
  try {
    actual = caDigest(caCertPem);
  } catch (err) {
    throw new TswarmError(
      'PERMISSION_DENIED',
      `remote CA is not a valid certificate: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  if (!constantTimeEqual(actual, expected)) {
    throw new TswarmError(
      'PERMISSION_DENIED',
      `remote CA does not match fingerprint. Expected: ${caDigestHex(expected)}, got ${caDigestHex(actual)}`,
    );
  }
}

/**
 * Compares two strings in time independent of where they differ (and of their lengths,
 * by comparing fixed-size hashes), for secrets and tokens.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  // The hash comparison decides; the length check only rules out (astronomically
  // unlikely) collisions and is not secret-dependent in any useful way.
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** The cluster's current tokens, one per role. */
export interface JoinTokens {
  readonly worker: string;
  readonly manager: string;
}

/**
 * The role a presented token grants, or undefined if it matches neither current token.
 * Compares whole tokens (digest included) in constant time, and always against both,
 * so the timing does not reveal which one nearly matched.
 */
export function roleForJoinToken(presented: string, tokens: JoinTokens): NodeRole | undefined {
  const isWorker = constantTimeEqual(presented.trim(), tokens.worker);
  const isManager = constantTimeEqual(presented.trim(), tokens.manager);
  if (isManager) return 'manager';
  if (isWorker) return 'worker';
  return undefined;
}
