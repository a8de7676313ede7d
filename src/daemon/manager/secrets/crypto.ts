import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { TswarmError } from '../../../shared/errors.js';
import type { ClusterObject } from '../store/types.js';

/*
 * Secret data at rest on the managers: AES-256-GCM, one random 96-bit nonce per secret,
 * the secret's ID as additional authenticated data (a sealed blob cannot be moved to another
 * secret). The key is never stored: every manager derives it in memory with HKDF-SHA256 from
 * the cluster's root CA private key (salt: the cluster ID, info: "tswarm secrets v1"). Only
 * managers hold the CA key (in their replicated store); workers never see it and get a
 * secret's clear text only from the dispatcher, for a task they run.
 *
 * NOTE(secrets): this keeps clear text out of the Raft log, the snapshots and anything that
 * copies them, but it is not a defence against someone who can read a whole manager data
 * root: the CA key is in that store too, unencrypted (Docker without autolock is the same;
 * an autolock-style key-encryption key held outside the data root would be the next step).
 */

const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** The 32-byte data key of a cluster (derived, never written anywhere). */
export function secretKey(cluster: Pick<ClusterObject, 'ID' | 'RootCA'>): Buffer {
  return Buffer.from(
    hkdfSync(
      'sha256',
      Buffer.from(cluster.RootCA.KeyPem, 'utf8'),
      Buffer.from(cluster.ID, 'utf8'),
      Buffer.from('tswarm secrets v1', 'utf8'),
      32,
    ),
  );
}

/** Encrypts a secret's data for the store: `v1:` + base64(nonce | ciphertext | tag). */
export function sealSecret(key: Buffer, secretId: string, data: Buffer): string {
  const nonce = randomBytes(NONCE_BYTES);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(secretId, 'utf8'));
  const body = Buffer.concat([c.update(data), c.final()]);
  return `${VERSION}:${Buffer.concat([nonce, body, c.getAuthTag()]).toString('base64')}`;
}

/** Decrypts what sealSecret made; throws INTERNAL when the key or the blob is wrong. */
export function openSecret(key: Buffer, secretId: string, sealed: string): Buffer {
  const i = sealed.indexOf(':');
  if (i < 0 || sealed.slice(0, i) !== VERSION)
    throw new TswarmError('INTERNAL', `secret ${secretId}: unknown sealing format`);
  const raw = Buffer.from(sealed.slice(i + 1), 'base64');
  if (raw.length < NONCE_BYTES + TAG_BYTES)
    throw new TswarmError('INTERNAL', `secret ${secretId}: sealed data too short`);
  const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, NONCE_BYTES));
  d.setAAD(Buffer.from(secretId, 'utf8'));
  d.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  try {
    return Buffer.concat([d.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), d.final()]);
  } catch (err) {
    throw new TswarmError('INTERNAL', `secret ${secretId}: cannot decrypt`, { cause: err });
  }
}
