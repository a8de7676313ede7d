import * as x509 from './x509.js';
import { ROOT_CA_COMMON_NAME } from './roles.js';
import {
  cryptoImpl,
  exportPrivateKeyPem,
  generateKeyPair,
  parseCertificatePem,
  randomSerialNumber,
  SIGNING_ALGORITHM,
} from './webcrypto.js';

/** The cluster's signing authority: a self-signed certificate and its private key (PEM). */
export interface RootCa {
  readonly certPem: string;
  readonly keyPem: string;
}

/** Twenty years, swarmkit's root CA lifetime. */
export const DEFAULT_ROOT_CA_VALIDITY_MS = 20 * 365 * 24 * 60 * 60 * 1000;

/**
 * How far certificates are backdated, to tolerate clock skew between the CA and the
 * nodes that verify its certificates (swarmkit backdates by an hour too).
 */
export const CERT_BACKDATE_MS = 60 * 60 * 1000;

export interface CreateRootCaOptions {
  /** Lifetime from `now`. Default 20 years. */
  readonly validityMs?: number;
  /** The issuing time (tests pin it). Default: the current time. */
  readonly now?: Date;
}

/**
 * Creates a new root CA: an ECDSA P-256 key and a self-signed certificate with
 * CN "swarm-ca", basicConstraints CA:true (critical) and keyUsage keyCertSign+cRLSign.
 * Only the first manager (`swarm init`) calls this; the key never leaves the managers.
 */
export async function createRootCa(opts: CreateRootCaOptions = {}): Promise<RootCa> {
  const validityMs = opts.validityMs ?? DEFAULT_ROOT_CA_VALIDITY_MS;
  if (!Number.isFinite(validityMs) || validityMs <= 0) {
    throw new RangeError(`invalid root CA validity ${validityMs} ms`);
  }
  const now = opts.now ?? new Date();
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerialNumber(),
      name: [{ CN: [ROOT_CA_COMMON_NAME] }],
      notBefore: new Date(now.getTime() - CERT_BACKDATE_MS),
      notAfter: new Date(now.getTime() + validityMs),
      signingAlgorithm: SIGNING_ALGORITHM,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, cryptoImpl),
      ],
    },
    cryptoImpl,
  );
  return { certPem: cert.toString('pem'), keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/**
 * Checks that a PEM certificate is usable as a cluster root: it parses, is a CA
 * (basicConstraints CA:true) and its self-signature verifies. Throws a clear error
 * otherwise. Used on a CA fetched from a remote manager, after its digest matched.
 */
export async function assertRootCaCertificate(certPem: string): Promise<void> {
  const cert = parseCertificatePem(certPem, 'root CA certificate');
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) throw new Error('invalid root CA certificate: not a CA (basicConstraints)');
  const ok = await cert.verify({ signatureOnly: true }, cryptoImpl);
  if (!ok) throw new Error('invalid root CA certificate: self-signature does not verify');
}
