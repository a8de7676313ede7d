import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { TswarmError } from '../../shared/errors.js';
import type { ClusterId, NodeId } from '../../shared/ids.js';
import { parseNodeCertificate } from './node-cert.js';
import type { NodeRole } from './roles.js';

/** Who is calling, as the verified client certificate says. */
export interface PeerIdentity {
  readonly nodeId: NodeId;
  readonly role: NodeRole;
  readonly clusterId: ClusterId;
}

/**
 * Anything with grpc-js's server-side `getAuthContext()`: every ServerUnaryCall,
 * ServerReadableStream, ServerWritableStream and ServerDuplexStream.
 */
export interface HasAuthContext {
  getAuthContext(): { readonly sslPeerCertificate?: PeerCertificate | undefined } | null;
}

/**
 * The identity in the caller's client certificate. grpc-js fills `sslPeerCertificate`
 * only for a TLS connection whose client certificate verified against the server's CA,
 * so presence means "signed by our cluster CA". Throws TswarmError PERMISSION_DENIED
 * when there is none (plaintext, anonymous join connection, foreign certificate) or it
 * is not a node certificate.
 */
export function peerIdentity(call: HasAuthContext): PeerIdentity {
  const cert = call.getAuthContext()?.sslPeerCertificate;
  if (!cert?.raw) {
    throw new TswarmError(
      'PERMISSION_DENIED',
      'permission denied: the caller presented no valid certificate from this swarm',
    );
  }
  try {
    const { nodeId, role, clusterId } = parseNodeCertificate(
      new X509Certificate(cert.raw).toString(),
    );
    return { nodeId, role, clusterId };
  } catch (err) {
    throw new TswarmError(
      'PERMISSION_DENIED',
      `permission denied: the caller's certificate is not a swarm node certificate (${err instanceof Error ? err.message : String(err)})`,
      { cause: err },
    );
  }
}

export interface AuthorizeOptions {
  /** Roles allowed to call. */
  readonly roles: readonly NodeRole[];
  /**
   * True for nodes removed from the swarm (their certificates stay cryptographically
   * valid until they expire, so membership is checked on every call).
   */
  readonly isRevoked?: (nodeId: NodeId) => boolean;
  /** If given, the caller's certificate must be for this cluster. */
  readonly clusterId?: string;
}

/**
 * The per-method gate: returns the caller's identity if it may call, else throws
 * TswarmError PERMISSION_DENIED with one of
 *   "node <id> has been removed from the swarm"
 *   "permission denied: node <id> with role worker cannot call a manager-only API"
 *   "permission denied: node <id> belongs to cluster <x>, not <y>"
 * (plus `peerIdentity`'s messages). Revocation is checked before the role.
 */
export function authorize(call: HasAuthContext, opts: AuthorizeOptions): PeerIdentity {
  const peer = peerIdentity(call);
  if (opts.clusterId !== undefined && peer.clusterId !== opts.clusterId) {
    throw new TswarmError(
      'PERMISSION_DENIED',
      `permission denied: node ${peer.nodeId} belongs to cluster ${peer.clusterId}, not ${opts.clusterId}`,
    );
  }
  if (opts.isRevoked?.(peer.nodeId)) {
    throw new TswarmError(
      'PERMISSION_DENIED',
      `node ${peer.nodeId} has been removed from the swarm`,
    );
  }
  if (!opts.roles.includes(peer.role)) {
    throw new TswarmError(
      'PERMISSION_DENIED',
      `permission denied: node ${peer.nodeId} with role ${peer.role} cannot call a ${opts.roles.join('/') || 'no-role'}-only API`,
    );
  }
  return peer;
}
