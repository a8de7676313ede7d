import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { before, describe, it } from 'node:test';
import { TswarmError } from '../../../src/shared/errors.js';
import {
  authorize,
  peerIdentity,
  type HasAuthContext,
  type RootCa,
} from '../../../src/daemon/ca/index.js';
import { createRootCa, makeIdentity } from './ca-fixtures.js';

/** A stand-in for a grpc-js server call whose TLS peer presented `certPem` (already verified). */
function callWith(certPem: string | undefined): HasAuthContext {
  const peer =
    certPem === undefined
      ? undefined
      : ({ raw: new X509Certificate(certPem).raw } as PeerCertificate);
  return {
    getAuthContext: () => (peer ? { sslPeerCertificate: peer } : {}),
  };
}

function denied(message: string | RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof TswarmError, String(err));
    assert.equal(err.code, 'PERMISSION_DENIED');
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  };
}

describe('authorization', () => {
  let ca: RootCa;
  let manager: Awaited<ReturnType<typeof makeIdentity>>;
  let worker: Awaited<ReturnType<typeof makeIdentity>>;
  before(async () => {
    ca = await createRootCa();
    manager = await makeIdentity(ca, 'manager');
    worker = await makeIdentity(ca, 'worker', { clusterId: manager.clusterId });
  });

  it('peerIdentity reads node id, role and cluster from the certificate', () => {
    assert.deepEqual(peerIdentity(callWith(manager.certPem)), {
      nodeId: manager.nodeId,
      role: 'manager',
      clusterId: manager.clusterId,
    });
  });

  it('peerIdentity refuses calls without a verified certificate', () => {
    assert.throws(
      () => peerIdentity(callWith(undefined)),
      denied(/presented no valid certificate from this swarm/),
    );
    assert.throws(
      () => peerIdentity({ getAuthContext: () => null }),
      denied(/no valid certificate/),
    );
  });

  it('peerIdentity refuses a certificate that is not a node certificate', () => {
    assert.throws(() => peerIdentity(callWith(ca.certPem)), denied(/not a swarm node certificate/));
  });

  it('lets a manager call a manager-only method', () => {
    assert.equal(
      authorize(callWith(manager.certPem), { roles: ['manager'] }).nodeId,
      manager.nodeId,
    );
  });

  it('refuses a worker on a manager-only method with a clear message', () => {
    assert.throws(
      () => authorize(callWith(worker.certPem), { roles: ['manager'] }),
      denied(
        `permission denied: node ${worker.nodeId} with role worker cannot call a manager-only API`,
      ),
    );
  });

  it('lets both roles call a method open to both', () => {
    assert.equal(
      authorize(callWith(worker.certPem), { roles: ['manager', 'worker'] }).role,
      'worker',
    );
  });

  it('refuses removed nodes before looking at the role', () => {
    const removed = new Set<string>([manager.nodeId]);
    assert.throws(
      () =>
        authorize(callWith(manager.certPem), {
          roles: ['manager'],
          isRevoked: (id) => removed.has(id),
        }),
      denied(`node ${manager.nodeId} has been removed from the swarm`),
    );
    assert.equal(
      authorize(callWith(worker.certPem), { roles: ['worker'], isRevoked: (id) => removed.has(id) })
        .nodeId,
      worker.nodeId,
    );
  });

  it('checks the cluster when asked', () => {
    assert.equal(
      authorize(callWith(worker.certPem), { roles: ['worker'], clusterId: manager.clusterId }).role,
      'worker',
    );
    assert.throws(
      () =>
        authorize(callWith(worker.certPem), { roles: ['worker'], clusterId: 'someothercluster0' }),
      denied(/belongs to cluster .*, not someothercluster0/),
    );
  });
});
