import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it, before } from 'node:test';
import { TswarmError } from '../../../src/shared/errors.js';
import {
  caDigest,
  caDigestHex,
  constantTimeEqual,
  createRootCa,
  generateJoinToken,
  parseJoinToken,
  roleForJoinToken,
  verifyCaAgainstToken,
  type RootCa,
} from '../../../src/daemon/ca/index.js';

function isInvalidToken(err: unknown): boolean {
  return (
    err instanceof TswarmError &&
    err.code === 'INVALID_ARGUMENT' &&
    err.message === 'invalid join token'
  );
}

describe('join tokens', () => {
  let ca: RootCa;
  let other: RootCa;
  before(async () => {
    ca = await createRootCa();
    other = await createRootCa();
  });

  it('digest is sha256 of the DER certificate in base 36, 50 chars', () => {
    const d = caDigest(ca.certPem);
    assert.match(d, /^[0-9a-z]{50}$/);
    // Independent computation from node's own fingerprint.
    const hex = new X509Certificate(ca.certPem).fingerprint256.replaceAll(':', '').toLowerCase();
    assert.equal(d, BigInt(`0x${hex}`).toString(36).padStart(50, '0'));
    assert.equal(caDigestHex(d), `sha256:${hex}`);
    assert.notEqual(caDigest(other.certPem), d);
  });

  it('digest ignores PEM formatting', () => {
    const reformatted = `\n\n${ca.certPem.replaceAll('\n', '\r\n')}  \n`;
    assert.equal(caDigest(reformatted), caDigest(ca.certPem));
  });

  it('round trips: SWMTKN-1-<digest>-<secret>', () => {
    const token = generateJoinToken(ca.certPem);
    assert.match(token, /^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
    const parsed = parseJoinToken(token);
    assert.equal(parsed.version, 1);
    assert.equal(parsed.caDigest, caDigest(ca.certPem));
    assert.equal(token, `SWMTKN-1-${parsed.caDigest}-${parsed.secret}`);
    assert.deepEqual(parseJoinToken(`  ${token}\n`), parsed);
  });

  it('secrets are fresh on every call', () => {
    const secrets = new Set(
      Array.from({ length: 50 }, () => parseJoinToken(generateJoinToken(ca.certPem)).secret),
    );
    assert.equal(secrets.size, 50);
  });

  it('refuses malformed tokens with "invalid join token"', () => {
    const good = generateJoinToken(ca.certPem);
    const { caDigest: d, secret: s } = parseJoinToken(good);
    const bad = [
      '',
      'SWMTKN',
      'SWMTKN-1',
      `SWMTKN-1-${d}`,
      `SWMTKN-1-${d}-${s}-extra`,
      `SWMTKX-1-${d}-${s}`,
      `SWMTKN-2-${d}-${s}`,
      `swmtkn-1-${d}-${s}`,
      `SWMTKN-1-${d.slice(1)}-${s}`,
      `SWMTKN-1-${d}0-${s}`,
      `SWMTKN-1-${d}-${s.slice(1)}`,
      `SWMTKN-1-${d.toUpperCase()}-${s}`,
      `SWMTKN-1-${d}-${s.slice(0, 24)}_`,
      `SWMTKN-1-${'z'.repeat(50)}-${s}`, // above 2^256
      `SWMTKN-1-${d}-${'z'.repeat(25)}`, // above 2^128
    ];
    for (const token of bad) {
      assert.throws(() => parseJoinToken(token), isInvalidToken, JSON.stringify(token));
    }
  });

  it('error message never echoes the token', () => {
    const token = `SWMTKN-1-${'a'.repeat(50)}-secretsecretsecretsecretX`;
    assert.throws(
      () => parseJoinToken(token),
      (err: unknown) => err instanceof Error && !err.message.includes('secret'),
    );
  });

  it('verifyCaAgainstToken accepts the right CA', () => {
    verifyCaAgainstToken(ca.certPem, generateJoinToken(ca.certPem));
  });

  it('verifyCaAgainstToken refuses another CA with the expected fingerprint in the message', () => {
    const token = generateJoinToken(ca.certPem);
    const expectedHex = caDigestHex(caDigest(ca.certPem));
    assert.throws(
      () => {
        verifyCaAgainstToken(other.certPem, token);
      },
      (err: unknown) =>
        err instanceof TswarmError &&
        err.code === 'PERMISSION_DENIED' &&
        err.message.startsWith(
          `remote CA does not match fingerprint. Expected: ${expectedHex}, got sha256:`,
        ),
    );
  });

  it('verifyCaAgainstToken refuses garbage instead of a certificate', () => {
    assert.throws(
      () => {
        verifyCaAgainstToken(
          '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
          generateJoinToken(ca.certPem),
        );
      },
      (err: unknown) => err instanceof TswarmError && err.code === 'PERMISSION_DENIED',
    );
  });

  it('constantTimeEqual compares exactly', () => {
    assert.equal(constantTimeEqual('abc', 'abc'), true);
    assert.equal(constantTimeEqual('abc', 'abd'), false);
    assert.equal(constantTimeEqual('abc', 'abcd'), false);
    assert.equal(constantTimeEqual('', ''), true);
  });

  it('roleForJoinToken picks the role whose token matches', () => {
    const tokens = {
      worker: generateJoinToken(ca.certPem),
      manager: generateJoinToken(ca.certPem),
    };
    assert.equal(roleForJoinToken(tokens.worker, tokens), 'worker');
    assert.equal(roleForJoinToken(tokens.manager, tokens), 'manager');
    assert.equal(roleForJoinToken(generateJoinToken(ca.certPem), tokens), undefined);
    assert.equal(roleForJoinToken('', tokens), undefined);
  });
});
