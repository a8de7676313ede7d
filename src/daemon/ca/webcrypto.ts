import { createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from './x509.js';

/**
 * The one WebCrypto provider the CA code uses. We pass it explicitly to every
 * `@peculiar/x509` call instead of relying on its global provider, so another module
 * setting that global cannot change how we sign or verify.
 */
export const cryptoImpl: webcrypto.Crypto = webcrypto;

/** Key algorithm for every key tswarm generates: ECDSA over P-256 (as swarmkit). */
export const EC_KEY_ALGORITHM: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
/** Signature algorithm for certificates and CSRs: ECDSA with SHA-256. */
export const SIGNING_ALGORITHM: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

/** A fresh, extractable P-256 key pair. */
export async function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return cryptoImpl.subtle.generateKey(EC_KEY_ALGORITHM, true, ['sign', 'verify']);
}

/** PKCS#8 PEM ("PRIVATE KEY"), which node's tls and grpc-js accept as-is. */
export async function exportPrivateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await cryptoImpl.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/**
 * Imports a PEM private key for signing. Accepts PKCS#8 and SEC1 ("EC PRIVATE KEY")
 * encodings of a P-256 key; anything else is refused with a clear error.
 */
export async function importSigningKeyPem(pem: string): Promise<webcrypto.CryptoKey> {
  let der: Buffer;
  try {
    const key = createPrivateKey(pem);
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
      throw new Error(
        `expected an ECDSA P-256 key, got ${key.asymmetricKeyType ?? '?'} ${curve ?? ''}`,
      );
    }
    der = key.export({ type: 'pkcs8', format: 'der' });
  } catch (err) {
    throw new Error(`invalid CA private key: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  return cryptoImpl.subtle.importKey('pkcs8', der, EC_KEY_ALGORITHM, false, ['sign']);
}

/** Parses a PEM certificate, naming what was being parsed in the error. */
export function parseCertificatePem(pem: string, what: string): x509.X509Certificate {
  try {
    return new x509.X509Certificate(pem);
  } catch (err) {
    throw new Error(`invalid ${what}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}

/** A random positive 128-bit serial number in hex (RFC 5280 allows up to 20 octets). */
export function randomSerialNumber(): string {
  const bytes = cryptoImpl.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // keep it positive in DER
  if (bytes[0] === 0) bytes[0] = 1; // and without a leading zero octet
  return Buffer.from(bytes).toString('hex');
}
