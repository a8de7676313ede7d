import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { TLSSocket, type PeerCertificate } from 'node:tls';
import type { NodeRole } from '../../shared/api-types.js';
import type { AuthContext } from '@grpc/grpc-js/build/src/auth-context.js';
import { TswarmError } from '../../shared/errors.js';
import { TlsIdentitySource } from '../ca/index.js';

/** A node's TLS identity: the cluster root CA and the node's own certificate and key. */
export interface TlsIdentity {
  readonly caCertPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * Feeds grpc-js servers the node's certificates and swaps them in place when the node's
 * certificate is renewed or its role changes (no server restart, no dropped connections).
 */
export class IdentityProvider extends TlsIdentitySource {
  get identity(): TlsIdentity {
    return this.current;
  }
}

/**
 * Server credentials for 2377: TLS with the node's certificate, client certificates requested
 * but not required (a joining node has none yet). Every handler that needs a member checks
 * the peer with `verifyPeer`, which verifies the chain to the cluster CA itself.
 */
export function clusterServerCredentials(p: IdentityProvider): grpc.ServerCredentials {
  return grpc.experimental.createCertificateProviderServerCredentials(p, p, false);
}

/** Server credentials for 7946: client certificates from the cluster CA are required. */
export function nodeServerCredentials(p: IdentityProvider): grpc.ServerCredentials {
  return grpc.experimental.createCertificateProviderServerCredentials(p, p, true);
}

/**
 * Client credentials: our certificate, and the server must chain to the cluster CA. Peers are
 * addressed by IP, so the host name check is replaced by the chain check TLS already did.
 */
export function clusterChannelCredentials(id: TlsIdentity): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(
    Buffer.from(id.caCertPem),
    Buffer.from(id.keyPem),
    Buffer.from(id.certPem),
    {
      checkServerIdentity: () => undefined,
    },
  );
}

/** A channel that trusts a known CA but presents no certificate (a joiner asking for one). */
export function anonymousChannelCredentials(caCertPem: string): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(caCertPem), null, null, {
    checkServerIdentity: () => undefined,
  });
}

/**
 * A channel that verifies nothing: used only to fetch the root CA while joining, whose
 * digest is then checked against the join token before anything is trusted or sent.
 */
export function untrustedChannelCredentials(): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(null, null, null, {
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  });
}

export interface PeerIdentity {
  readonly nodeId: string;
  readonly role: NodeRole;
  readonly clusterId: string;
}

function subjectField(subject: string, key: string): string | undefined {
  for (const line of subject.split('\n')) {
    const i = line.indexOf('=');
    if (line.slice(0, i) === key) return line.slice(i + 1);
  }
  return undefined;
}

/** Reads CN (node ID), OU (role) and O (cluster ID) from a node certificate. */
export function identityOfCert(cert: X509Certificate): PeerIdentity {
  const nodeId = subjectField(cert.subject, 'CN') ?? '';
  const ou = subjectField(cert.subject, 'OU') ?? '';
  const role: NodeRole = ou === 'swarm-manager' ? 'manager' : 'worker';
  if (ou !== 'swarm-manager' && ou !== 'swarm-worker') {
    throw new TswarmError(
      'PERMISSION_DENIED',
      `certificate of ${nodeId} has no swarm role (OU=${ou})`,
    );
  }
  return { nodeId, role, clusterId: subjectField(cert.subject, 'O') ?? '' };
}

/**
 * grpc-js's getAuthContext() asks the socket for its peer certificate on every call, and
 * Node builds a new object each time (subject, issuer, three fingerprints, the raw DER). With
 * 5,000 nodes heartbeating, that was a sixth of the leader's CPU. The peer certificate of a
 * TLS connection cannot change: HTTP/2 forbids renegotiation and TLS 1.3 has none. So the
 * first complete answer is kept per socket and returned frozen after that. Detailed
 * (issuer chain) requests are not cached. Idempotent; the servers on 2377 install it.
 */
export function cachePeerCertificates(): void {
  const proto = TLSSocket.prototype as TLSSocket & { [CACHED]?: true };
  if (proto[CACHED]) return;
  proto[CACHED] = true;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with the socket below
  const original = proto.getPeerCertificate;
  const cache = new WeakMap<TLSSocket, PeerCertificate>();
  proto.getPeerCertificate = function (this: TLSSocket, detailed?: boolean) {
    if (detailed) return original.call(this, true);
    const hit = cache.get(this);
    if (hit) return hit;
    const cert = original.call(this, false);
    // Before the handshake completes there is none yet ({} or null): ask again next time.
    if ((cert as Partial<PeerCertificate> | null)?.raw) cache.set(this, Object.freeze(cert));
    return cert;
  } as TLSSocket['getPeerCertificate'];
}
const CACHED = Symbol('tswarm.peerCertificateCache');

/**
 * The verified identity of the calling node, or undefined when it presented no certificate.
 * A certificate that does not chain to our CA, or has expired, is refused.
 */
export function verifyPeer(
  call: { getAuthContext(): AuthContext },
  caCertPem: string,
): PeerIdentity | undefined {
  const peer = call.getAuthContext().sslPeerCertificate;
  if (!peer?.raw) return undefined;
  // Every heartbeat of every node comes through here: parsing both certificates and checking
  // the ECDSA signature each time cost the leader about a millisecond per call. A certificate
  // verified once against this CA stays verified; only its validity window is re-checked.
  // With cachePeerCertificates() the same object comes back for every call on a connection,
  // so the lookup by object saves even the base64 key of the DER.
  const byObject = verifiedByObject.get(peer);
  let v = byObject?.caCertPem === caCertPem ? byObject.v : undefined;
  if (!v) {
    const key = `${peer.raw.toString('base64')}|${caCertPem}`;
    v = verifiedPeers.get(key);
    if (!v) {
      const cert = new X509Certificate(peer.raw);
      const ca = new X509Certificate(caCertPem);
      if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
        throw new TswarmError(
          'PERMISSION_DENIED',
          'permission denied: certificate not issued by this swarm',
        );
      }
      v = {
        id: identityOfCert(cert),
        from: Date.parse(cert.validFrom),
        to: Date.parse(cert.validTo),
      };
      if (verifiedPeers.size >= VERIFIED_PEERS_MAX) verifiedPeers.clear();
      verifiedPeers.set(key, v);
    }
    verifiedByObject.set(peer, { caCertPem, v });
  }
  const t = Date.now();
  if (t < v.from || t > v.to) {
    throw new TswarmError(
      'PERMISSION_DENIED',
      'permission denied: certificate expired or not yet valid',
    );
  }
  return v.id;
}

interface Verified {
  readonly id: PeerIdentity;
  readonly from: number;
  readonly to: number;
}
/** Peer certificates already verified against a CA (keyed by both), with their windows. */
const verifiedPeers = new Map<string, Verified>();
/** The same, by certificate object (one per connection with cachePeerCertificates). */
const verifiedByObject = new WeakMap<object, { caCertPem: string; v: Verified }>();
/** Enough for every node of a large swarm and their renewed certificates. */
const VERIFIED_PEERS_MAX = 20_000;

export interface AuthorizeOptions {
  readonly roles: readonly NodeRole[];
  readonly isRemoved: (nodeId: string) => boolean;
}

/** Requires a member certificate with one of `roles`, from a node not removed from the swarm. */
export function authorize(
  call: { getAuthContext(): AuthContext },
  caCertPem: string,
  o: AuthorizeOptions,
): PeerIdentity {
  const id = verifyPeer(call, caCertPem);
  if (!id)
    throw new TswarmError(
      'PERMISSION_DENIED',
      'permission denied: a swarm node certificate is required',
    );
  if (o.isRemoved(id.nodeId)) {
    throw new TswarmError(
      'PERMISSION_DENIED',
      `permission denied: node ${id.nodeId} has been removed from the swarm`,
    );
  }
  if (!o.roles.includes(id.role)) {
    throw new TswarmError(
      'PERMISSION_DENIED',
      `permission denied: node ${id.nodeId} with role ${id.role} cannot call a ${o.roles.join('/')}-only API`,
    );
  }
  return id;
}

/**
 * Guards the Raft transport's service on the shared 2377 server: only managers of this
 * swarm (not removed) may send Raft messages. Other services check their callers themselves.
 */
export function raftAuthInterceptor(
  guard: () =>
    { readonly caCertPem: string; readonly isRemoved: (id: string) => boolean } | undefined,
): grpc.ServerInterceptor {
  return (method, call) => {
    if (!method.path.startsWith('/tswarm.raft.v1.')) return new grpc.ServerInterceptingCall(call);
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        try {
          const g = guard();
          if (!g)
            throw new TswarmError(
              'PERMISSION_DENIED',
              'permission denied: this node is not a manager',
            );
          authorize(call, g.caCertPem, { roles: ['manager'], isRemoved: g.isRemoved });
          next();
        } catch (err) {
          call.sendStatus({
            code: grpc.status.PERMISSION_DENIED,
            details: err instanceof Error ? err.message : String(err),
            metadata: new grpc.Metadata(),
          });
        }
      },
    });
  };
}
