import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import * as x509 from '../../../src/daemon/ca/x509.js';
import {
  cryptoImpl,
  generateKeyPair,
  SIGNING_ALGORITHM,
} from '../../../src/daemon/ca/webcrypto.js';
import {
  createNodeKeyAndCsr,
  createRootCa,
  DEFAULT_NODE_CERT_VALIDITY_MS,
  DEFAULT_ROOT_CA_VALIDITY_MS,
  CERT_BACKDATE_MS,
  issueNodeCertificate,
  needsRenewal,
  parseNodeCertificate,
  renewalTime,
  verifyNodeCertificate,
  assertIssuedBy,
  type RootCa,
} from '../../../src/daemon/ca/index.js';
import { generateId } from '../../../src/shared/ids.js';

const DAY = 24 * 60 * 60 * 1000;

function subjectLines(cert: X509Certificate): string[] {
  return cert.subject.split('\n').sort();
}

describe('root CA', () => {
  it('is a self-signed ECDSA P-256 CA named swarm-ca, valid 20 years', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const ca = await createRootCa({ now });
    const cert = new X509Certificate(ca.certPem);
    assert.equal(cert.subject, 'CN=swarm-ca');
    assert.equal(cert.issuer, 'CN=swarm-ca');
    assert.equal(cert.ca, true);
    assert.equal(cert.verify(cert.publicKey), true);
    assert.equal(cert.publicKey.asymmetricKeyType, 'ec');
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(new Date(cert.validTo).getTime(), now.getTime() + DEFAULT_ROOT_CA_VALIDITY_MS);
    assert.equal(new Date(cert.validFrom).getTime(), now.getTime() - CERT_BACKDATE_MS);
    assert.equal(cert.checkPrivateKey(createPrivateKey(ca.keyPem)), true);
    const ku = new x509.X509Certificate(ca.certPem).getExtension(x509.KeyUsagesExtension);
    assert.ok(ku);
    assert.equal(ku.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  });

  it('honours a custom validity', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const ca = await createRootCa({ now, validityMs: 10 * DAY });
    assert.equal(
      new Date(new X509Certificate(ca.certPem).validTo).getTime(),
      now.getTime() + 10 * DAY,
    );
    await assert.rejects(createRootCa({ validityMs: 0 }), RangeError);
  });
});

describe('node certificates', () => {
  let ca: RootCa;
  before(async () => {
    ca = await createRootCa();
  });

  it('issues CN=<node>, OU=<role>, O=<cluster> with SANs, usages and 90-day validity', async () => {
    const nodeId = generateId();
    const clusterId = generateId();
    const now = new Date();
    now.setMilliseconds(0); // certificates carry whole seconds
    const { keyPem, csrPem } = await createNodeKeyAndCsr();
    const certPem = await issueNodeCertificate(ca, csrPem, {
      nodeId,
      role: 'manager',
      clusterId,
      now,
    });
    const cert = new X509Certificate(certPem);
    assert.deepEqual(subjectLines(cert), [`CN=${nodeId}`, `O=${clusterId}`, 'OU=swarm-manager']);
    assert.equal(cert.issuer, 'CN=swarm-ca');
    assert.equal(cert.subjectAltName, `DNS:swarm-manager, DNS:${nodeId}`);
    assert.equal(cert.ca, false);
    assert.deepEqual([...cert.keyUsage].sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    assert.equal(cert.checkPrivateKey(createPrivateKey(keyPem)), true);
    assert.equal(cert.verify(new X509Certificate(ca.certPem).publicKey), true);
    assert.equal(new Date(cert.validTo).getTime(), now.getTime() + DEFAULT_NODE_CERT_VALIDITY_MS);
    assert.equal(new Date(cert.validFrom).getTime(), now.getTime() - CERT_BACKDATE_MS);
    const ku = new x509.X509Certificate(certPem).getExtension(x509.KeyUsagesExtension);
    assert.ok(ku);
    assert.equal(
      ku.usages,
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
    );

    const info = parseNodeCertificate(certPem);
    assert.equal(info.nodeId, nodeId);
    assert.equal(info.role, 'manager');
    assert.equal(info.clusterId, clusterId);
    assert.equal(info.notAfter.getTime(), now.getTime() + DEFAULT_NODE_CERT_VALIDITY_MS);
    assert.deepEqual(verifyNodeCertificate(ca.certPem, certPem), info);
  });

  it('issues worker certificates with the worker OU and SAN', async () => {
    const { csrPem } = await createNodeKeyAndCsr();
    const nodeId = generateId();
    const certPem = await issueNodeCertificate(ca, csrPem, {
      nodeId,
      role: 'worker',
      clusterId: generateId(),
    });
    const cert = new X509Certificate(certPem);
    assert.ok(subjectLines(cert).includes('OU=swarm-worker'));
    assert.equal(cert.subjectAltName, `DNS:swarm-worker, DNS:${nodeId}`);
    assert.equal(parseNodeCertificate(certPem).role, 'worker');
  });

  it('never outlives the CA', async () => {
    const shortCa = await createRootCa({ validityMs: 10 * DAY });
    const { csrPem } = await createNodeKeyAndCsr();
    const certPem = await issueNodeCertificate(shortCa, csrPem, {
      nodeId: generateId(),
      role: 'worker',
      clusterId: generateId(),
    });
    assert.equal(
      parseNodeCertificate(certPem).notAfter.getTime(),
      new x509.X509Certificate(shortCa.certPem).notAfter.getTime(),
    );
  });

  it('refuses a CSR whose signature was not made with its key', async () => {
    const a = await generateKeyPair();
    const b = await generateKeyPair();
    const csr = await x509.Pkcs10CertificateRequestGenerator.create(
      {
        keys: { publicKey: a.publicKey, privateKey: b.privateKey },
        signingAlgorithm: SIGNING_ALGORITHM,
      },
      cryptoImpl,
    );
    await assert.rejects(
      issueNodeCertificate(ca, csr.toString('pem'), {
        nodeId: generateId(),
        role: 'manager',
        clusterId: generateId(),
      }),
      { message: 'invalid certificate signing request: signature does not verify' },
    );
  });

  it('refuses a CSR with a tampered signature', async () => {
    const { csrPem } = await createNodeKeyAndCsr();
    const der = Buffer.from(new x509.Pkcs10CertificateRequest(csrPem).rawData);
    const last = der.length - 1;
    der[last] = (der[last] ?? 0) ^ 0x01; // flip a bit in the signature's last byte
    const tampered = x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
    await assert.rejects(
      issueNodeCertificate(ca, tampered, {
        nodeId: generateId(),
        role: 'worker',
        clusterId: generateId(),
      }),
      /invalid certificate signing request/,
    );
  });

  it('refuses garbage CSRs, bad ids and a CA key that does not match', async () => {
    const opts = { nodeId: generateId(), role: 'worker', clusterId: generateId() } as const;
    await assert.rejects(
      issueNodeCertificate(ca, 'not a csr', opts),
      /invalid certificate signing request/,
    );
    const { csrPem } = await createNodeKeyAndCsr();
    await assert.rejects(
      issueNodeCertificate(ca, csrPem, { ...opts, nodeId: 'UPPER' }),
      RangeError,
    );
    await assert.rejects(issueNodeCertificate(ca, csrPem, { ...opts, clusterId: 'x' }), RangeError);
    const other = await createRootCa();
    await assert.rejects(
      issueNodeCertificate({ certPem: ca.certPem, keyPem: other.keyPem }, csrPem, opts),
      { message: 'the CA private key does not match the CA certificate' },
    );
  });

  it('verifyNodeCertificate refuses certificates from another CA and expired ones', async () => {
    const other = await createRootCa();
    const { csrPem } = await createNodeKeyAndCsr();
    const foreign = await issueNodeCertificate(other, csrPem, {
      nodeId: generateId(),
      role: 'manager',
      clusterId: generateId(),
    });
    assert.throws(() => verifyNodeCertificate(ca.certPem, foreign), {
      message: 'node certificate was not issued by this cluster CA',
    });
    const old = await issueNodeCertificate(ca, csrPem, {
      nodeId: generateId(),
      role: 'manager',
      clusterId: generateId(),
      now: new Date(Date.now() - 100 * DAY),
    });
    assert.throws(() => verifyNodeCertificate(ca.certPem, old), /node certificate expired at/);
    assert.equal(assertIssuedBy(ca.certPem, old).role, 'manager');
  });

  it('parseNodeCertificate refuses the CA certificate (no node subject)', () => {
    assert.throws(() => parseNodeCertificate(ca.certPem), /invalid node certificate/);
  });
});

describe('renewal', () => {
  let ca: RootCa;
  before(async () => {
    ca = await createRootCa();
  });

  async function issueAt(now: Date, validityMs: number): Promise<string> {
    const { csrPem } = await createNodeKeyAndCsr();
    return issueNodeCertificate(ca, csrPem, {
      nodeId: generateId(),
      role: 'worker',
      clusterId: generateId(),
      now,
      validityMs,
    });
  }

  it('renews between 50% and 80% of the validity period', async () => {
    const t0 = new Date('2030-01-01T00:00:00Z');
    const cert = await issueAt(t0, 100 * DAY);
    const { notBefore, notAfter } = parseNodeCertificate(cert);
    const span = notAfter.getTime() - notBefore.getTime();
    const at = renewalTime(cert);
    assert.ok(at.getTime() >= notBefore.getTime() + 0.5 * span - 1, at.toISOString());
    assert.ok(at.getTime() <= notBefore.getTime() + 0.8 * span, at.toISOString());
    assert.equal(renewalTime(cert).getTime(), at.getTime(), 'stable for one certificate');

    assert.equal(needsRenewal(cert, new Date(t0.getTime() + 10 * DAY)), false);
    assert.equal(needsRenewal(cert, new Date(at.getTime() - 1)), false);
    assert.equal(needsRenewal(cert, at), true);
    assert.equal(needsRenewal(cert, new Date(t0.getTime() + 81 * DAY)), true);
    assert.equal(needsRenewal(cert, new Date(t0.getTime() + 200 * DAY)), true, 'expired');
  });

  it('explicit jitter pins the point: 0 → half-life, just under 1 → 80%', async () => {
    const t0 = new Date('2030-01-01T00:00:00Z');
    const cert = await issueAt(t0, 100 * DAY);
    const { notBefore, notAfter } = parseNodeCertificate(cert);
    const span = notAfter.getTime() - notBefore.getTime();
    assert.equal(renewalTime(cert, 0).getTime(), notBefore.getTime() + Math.floor(span / 2));
    const half = new Date(notBefore.getTime() + Math.floor(span / 2));
    assert.equal(needsRenewal(cert, new Date(half.getTime() - 1), 0), false);
    assert.equal(needsRenewal(cert, half, 0), true);
    assert.equal(needsRenewal(cert, half, 0.999), false);
    assert.ok(renewalTime(cert, 0.999).getTime() <= notBefore.getTime() + 0.8 * span);
    assert.throws(() => renewalTime(cert, 1), RangeError);
    assert.throws(() => renewalTime(cert, -0.1), RangeError);
  });

  it('spreads renewal points across certificates', async () => {
    const t0 = new Date('2030-01-01T00:00:00Z');
    const points = new Set<number>();
    for (let i = 0; i < 8; i++) points.add(renewalTime(await issueAt(t0, 100 * DAY)).getTime());
    assert.ok(points.size >= 7, `only ${points.size} distinct renewal points`);
  });
});
