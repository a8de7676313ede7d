import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import tls, { type PeerCertificate, type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { TswarmError } from '../../../src/shared/errors.js';
import type { RootCa } from '../../../src/daemon/ca/index.js';
import { cachePeerCertificates, verifyPeer } from '../../../src/daemon/cluster/tls.js';
import { createRootCa, makeIdentity } from './ca-fixtures.js';

/**
 * The per-connection peer certificate cache and the verified-identity cache on top of it, over
 * real TLS connections on loopback: each connection keeps its own certificate, and a cached
 * object never lets a certificate pass a check it failed.
 */
describe('peer certificates cached per TLS connection', () => {
  let ca: RootCa;
  let foreign: RootCa;
  let server: tls.Server;
  let port = 0;
  const accepted: TLSSocket[] = [];
  const clients: TLSSocket[] = [];

  before(async () => {
    cachePeerCertificates();
    ca = await createRootCa();
    foreign = await createRootCa();
    const self = await makeIdentity(ca, 'manager');
    server = tls.createServer(
      {
        key: self.keyPem,
        cert: self.certPem,
        // Both CAs, so the handshake accepts the foreign client too: verifyPeer must refuse it.
        ca: [ca.certPem, foreign.certPem],
        requestCert: true,
        rejectUnauthorized: false,
      },
      (s) => {
        accepted.push(s);
        s.on('error', () => undefined);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    for (const c of clients) c.destroy();
    for (const s of accepted) s.destroy();
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  });

  async function connect(id: { certPem: string; keyPem: string }): Promise<TLSSocket> {
    const n = accepted.length;
    const c = tls.connect({
      host: '127.0.0.1',
      port,
      key: id.keyPem,
      cert: id.certPem,
      rejectUnauthorized: false,
    });
    clients.push(c);
    await new Promise<void>((resolve, reject) => {
      c.once('secureConnect', resolve);
      c.once('error', reject);
    });
    for (let i = 0; accepted.length <= n && i < 200; i++)
      await new Promise((r) => setTimeout(r, 5));
    const s = accepted[n];
    assert.ok(s, 'server side of the connection');
    return s;
  }

  const callOn = (s: TLSSocket) => ({
    getAuthContext: () => ({ sslPeerCertificate: s.getPeerCertificate() }),
  });

  it('returns one frozen object per connection, each with its own certificate', async () => {
    const a = await makeIdentity(ca, 'worker');
    const b = await makeIdentity(ca, 'manager');
    const sa = await connect(a);
    const sb = await connect(b);
    const first: PeerCertificate = sa.getPeerCertificate();
    assert.equal(sa.getPeerCertificate(), first);
    assert.ok(Object.isFrozen(first));
    assert.notEqual(sb.getPeerCertificate(), first);
    assert.equal(verifyPeer(callOn(sa), ca.certPem)?.nodeId, a.nodeId);
    assert.equal(verifyPeer(callOn(sb), ca.certPem)?.nodeId, b.nodeId);
    assert.equal(verifyPeer(callOn(sb), ca.certPem)?.role, 'manager');
    // A detailed request is Node's own answer, not the cached one.
    assert.notEqual(sa.getPeerCertificate(true), first);
  });

  it('a certificate from another CA is refused on every call, cached object or not', async () => {
    const stranger = await makeIdentity(foreign, 'manager');
    const s = await connect(stranger);
    for (let i = 0; i < 3; i++) {
      assert.throws(
        () => verifyPeer(callOn(s), ca.certPem),
        (err: unknown) =>
          err instanceof TswarmError &&
          err.code === 'PERMISSION_DENIED' &&
          /not issued by this swarm/.test(err.message),
      );
    }
  });

  it('an identity verified against one CA is checked again against another', async () => {
    const a = await makeIdentity(ca, 'worker');
    const s = await connect(a);
    assert.equal(verifyPeer(callOn(s), ca.certPem)?.nodeId, a.nodeId);
    assert.throws(() => verifyPeer(callOn(s), foreign.certPem), /not issued by this swarm/);
  });
});
