import { createHash, X509Certificate as NodeX509Certificate, type webcrypto } from 'node:crypto';
import * as x509 from './x509.js';
import { parseNodeId, type ClusterId, type NodeId } from '../../shared/ids.js';
import { CERT_BACKDATE_MS, type RootCa } from './root-ca.js';
import { isNodeRole, ouForRole, roleForOu, type NodeRole } from './roles.js';
import {
  cryptoImpl,
  exportPrivateKeyPem,
  generateKeyPair,
  importSigningKeyPem,
  parseCertificatePem,
  randomSerialNumber,
  SIGNING_ALGORITHM,
} from './webcrypto.js';

/** A node's fresh private key and the CSR it sends to the CA. The key never leaves the node. */
export interface NodeKeyAndCsr {
  readonly keyPem: string;
  readonly csrPem: string;
}

/** Ninety days, swarmkit's default node certificate lifetime. */
export const DEFAULT_NODE_CERT_VALIDITY_MS = 90 * 24 * 60 * 60 * 1000;

/** Renewal starts between these fractions of the validity period (swarmkit: 50 % .. 80 %). */
export const RENEWAL_WINDOW = { from: 0.5, to: 0.8 } as const;

export interface IssueNodeCertificateOptions {
  readonly nodeId: string;
  readonly role: NodeRole;
  readonly clusterId: string;
  /** Lifetime from `now`, clamped to the CA's own expiry. Default 90 days. */
  readonly validityMs?: number;
  /** The issuing time (tests pin it). Default: the current time. */
  readonly now?: Date;
}

/** What a node certificate says about its holder. */
export interface NodeCertificateInfo {
  readonly nodeId: NodeId;
  readonly role: NodeRole;
  readonly clusterId: ClusterId;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

const ID_RE = /^[a-z0-9]{12,64}$/;

/**
 * Generates the node's key pair (ECDSA P-256) and a PKCS#10 CSR signed with it. The CSR
 * carries only the public key: the CA takes node id, role and cluster from its own
 * records, never from the request (swarmkit whitelists only the key fields too).
 */
export async function createNodeKeyAndCsr(): Promise<NodeKeyAndCsr> {
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { keys, signingAlgorithm: SIGNING_ALGORITHM },
    cryptoImpl,
  );
  return { keyPem: await exportPrivateKeyPem(keys.privateKey), csrPem: csr.toString('pem') };
}

function parseCsr(csrPem: string): x509.Pkcs10CertificateRequest {
  try {
    return new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new Error(
      `invalid certificate signing request: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

function assertAcceptableKey(csr: x509.Pkcs10CertificateRequest): void {
  const alg = csr.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (alg.name !== 'ECDSA' || (alg.namedCurve !== 'P-256' && alg.namedCurve !== 'P-384')) {
    throw new Error(
      `invalid certificate signing request: unsupported key ${alg.name ?? '?'} ${alg.namedCurve ?? ''} (want ECDSA P-256 or P-384)`,
    );
  }
}

/**
 * The CA's parsed certificate and imported signing key, once per CA: parsing and importing
 * them for every certificate was a sixth of the leader's CPU while thousands of nodes joined.
 * Keyed by the PEMs, so a rotated CA gets its own entry; a few entries at most.
 */
function signerOf(
  ca: RootCa,
): Promise<{ caCert: x509.X509Certificate; signingKey: webcrypto.CryptoKey }> {
  const key = `${ca.certPem}|${ca.keyPem}`;
  let hit = signers.get(key);
  if (!hit) {
    const caCert = parseCertificatePem(ca.certPem, 'root CA certificate');
    hit = importSigningKeyPem(ca.keyPem).then((signingKey) => ({ caCert, signingKey }));
    // A key that fails to import fails every time, the same way, and is not kept.
    void hit.catch(() => signers.delete(key));
    if (signers.size >= 8) signers.clear();
    signers.set(key, hit);
  }
  return hit;
}
const signers = new Map<
  string,
  Promise<{ caCert: x509.X509Certificate; signingKey: webcrypto.CryptoKey }>
>();

/**
 * Signs a node certificate for the public key in `csrPem`. The CSR's own signature is
 * verified first (proof that the requester holds the private key); a bad one is refused
 * with "invalid certificate signing request: signature does not verify".
 *
 * The certificate has subject CN=<nodeId>, OU=swarm-manager|swarm-worker, O=<clusterId>;
 * SAN DNS names <OU> and <nodeId>; keyUsage digitalSignature+keyEncipherment;
 * extKeyUsage serverAuth+clientAuth. It is backdated an hour for clock skew and never
 * outlives the CA. The caller (the CA service) must already have authenticated the
 * request (join token secret, or an existing certificate for renewal) and chosen the role.
 */
export async function issueNodeCertificate(
  ca: RootCa,
  csrPem: string,
  opts: IssueNodeCertificateOptions,
): Promise<string> {
  if (!ID_RE.test(opts.nodeId))
    throw new RangeError(`invalid node id ${JSON.stringify(opts.nodeId)}`);
  if (!ID_RE.test(opts.clusterId)) {
    throw new RangeError(`invalid cluster id ${JSON.stringify(opts.clusterId)}`);
  }
  if (!isNodeRole(opts.role))
    throw new RangeError(`invalid node role ${JSON.stringify(opts.role)}`);
  const validityMs = opts.validityMs ?? DEFAULT_NODE_CERT_VALIDITY_MS;
  if (!Number.isFinite(validityMs) || validityMs <= 0) {
    throw new RangeError(`invalid certificate validity ${validityMs} ms`);
  }

  const csr = parseCsr(csrPem);
  assertAcceptableKey(csr);
  if (!(await csr.verify(cryptoImpl))) {
    throw new Error('invalid certificate signing request: signature does not verify');
  }

  const { caCert, signingKey } = await signerOf(ca);
  const now = opts.now ?? new Date();
  const notAfter = new Date(Math.min(now.getTime() + validityMs, caCert.notAfter.getTime()));
  const ou = ouForRole(opts.role);

  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialNumber(),
      subject: [{ O: [opts.clusterId] }, { OU: [ou] }, { CN: [opts.nodeId] }],
      issuer: caCert.subjectName,
      notBefore: new Date(now.getTime() - CERT_BACKDATE_MS),
      notAfter,
      signingAlgorithm: SIGNING_ALGORITHM,
      publicKey: csr.publicKey,
      signingKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          true,
        ),
        new x509.ExtendedKeyUsageExtension(
          [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
          false,
        ),
        new x509.SubjectAlternativeNameExtension([
          { type: 'dns', value: ou },
          { type: 'dns', value: opts.nodeId },
        ]),
        await x509.SubjectKeyIdentifierExtension.create(csr.publicKey, false, cryptoImpl),
        await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey, false, cryptoImpl),
      ],
    },
    cryptoImpl,
  );
  // A CA key that does not belong to the CA certificate would sign certificates that
  // nobody accepts; say so here rather than as a TLS failure somewhere else.
  if (!(await cert.verify({ publicKey: caCert.publicKey, signatureOnly: true }, cryptoImpl))) {
    throw new Error('the CA private key does not match the CA certificate');
  }
  return cert.toString('pem');
}

function singleField(name: x509.Name, field: string, what: string): string {
  const values = name.getField(field);
  const [value] = values;
  if (values.length !== 1 || value === undefined) {
    throw new Error(`invalid node certificate: expected one ${field} in the subject (${what})`);
  }
  return value;
}

/**
 * Reads node id, role, cluster id and validity from a node certificate. It does not
 * check who signed it: use `verifyNodeCertificate` for certificates from elsewhere.
 */
export function parseNodeCertificate(certPem: string): NodeCertificateInfo {
  const cert = parseCertificatePem(certPem, 'node certificate');
  const subject = cert.subjectName;
  const cn = singleField(subject, 'CN', 'node id');
  const ou = singleField(subject, 'OU', 'role');
  const o = singleField(subject, 'O', 'cluster id');
  const role = roleForOu(ou);
  if (!role) throw new Error(`invalid node certificate: unknown role OU ${JSON.stringify(ou)}`);
  if (!ID_RE.test(o))
    throw new Error(`invalid node certificate: bad cluster id ${JSON.stringify(o)}`);
  return {
    nodeId: parseNodeId(cn),
    role,
    // NOTE(ca): src/shared has no parseClusterId yet; the format check above stands in.
    clusterId: o as ClusterId,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

/**
 * Checks that `certPem` was issued by the CA in `caCertPem` (issuer name and signature),
 * ignoring validity dates, and returns its fields. Throws a clear error otherwise.
 */
export function assertIssuedBy(caCertPem: string, certPem: string): NodeCertificateInfo {
  let ca: NodeX509Certificate;
  let leaf: NodeX509Certificate;
  try {
    ca = new NodeX509Certificate(caCertPem);
    leaf = new NodeX509Certificate(certPem);
  } catch (err) {
    throw new Error(`invalid certificate: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) {
    throw new Error('node certificate was not issued by this cluster CA');
  }
  return parseNodeCertificate(certPem);
}

/**
 * Checks that `certPem` was issued by the CA in `caCertPem` and is valid at `now`, then
 * returns its fields. Throws a clear error otherwise.
 */
export function verifyNodeCertificate(
  caCertPem: string,
  certPem: string,
  now: Date = new Date(),
): NodeCertificateInfo {
  const info = assertIssuedBy(caCertPem, certPem);
  if (now < info.notBefore) {
    throw new Error(`node certificate is not valid before ${info.notBefore.toISOString()}`);
  }
  if (now > info.notAfter) {
    throw new Error(`node certificate expired at ${info.notAfter.toISOString()}`);
  }
  return info;
}

/** A stable per-certificate value in [0, 1), so every node renews at a different point. */
function certificateJitter(certPem: string): number {
  const raw = parseCertificatePem(certPem, 'node certificate').rawData;
  const digest = createHash('sha256').update(new Uint8Array(raw)).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

/**
 * When the holder should renew: at a point between 50 % and 80 % of the validity period
 * (from notBefore), as swarmkit does, so that renewals spread out instead of arriving
 * as a thundering herd. `jitter` in [0, 1) picks the point; by default it is derived
 * from the certificate's own hash, so the answer is stable for a given certificate.
 */
export function renewalTime(certPem: string, jitter?: number): Date {
  const { notBefore, notAfter } = parseNodeCertificate(certPem);
  const j = jitter ?? certificateJitter(certPem);
  if (!(j >= 0 && j < 1)) throw new RangeError(`jitter must be in [0, 1), got ${j}`);
  const span = notAfter.getTime() - notBefore.getTime();
  const fraction = RENEWAL_WINDOW.from + (RENEWAL_WINDOW.to - RENEWAL_WINDOW.from) * j;
  return new Date(notBefore.getTime() + Math.floor(span * fraction));
}

/**
 * True once `now` has reached `renewalTime(certPem)`, i.e. when less than 50 % (minus
 * up to 30 points of per-certificate jitter) of the validity remains, and for expired
 * certificates. The daemon polls this and requests a new certificate over mTLS.
 */
export function needsRenewal(certPem: string, now: Date = new Date(), jitter?: number): boolean {
  return now.getTime() >= renewalTime(certPem, jitter).getTime();
}
