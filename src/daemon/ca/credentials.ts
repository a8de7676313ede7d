import type { PeerCertificate } from 'node:tls';
import { ChannelCredentials, experimental, type ServerCredentials } from '@grpc/grpc-js';
import { assertIdentityConsistent, type TlsIdentity } from './identity.js';
import { verifyCaAgainstToken, parseJoinToken } from './join-token.js';
import { assertRootCaCertificate } from './root-ca.js';
import { MANAGER_OU, ouForRole, WORKER_OU, type NodeRole } from './roles.js';

type CertificateProvider = experimental.CertificateProvider;
type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

/**
 * A node's current TLS identity, shared by every server and channel built from it.
 * `update()` swaps in a renewed certificate (or a rotated CA) and pushes it to all of
 * them: new TLS handshakes use it at once, established connections keep theirs
 * (swarmkit's MutableTLSCreds). Implements grpc-js's CertificateProvider.
 */
export class TlsIdentitySource implements CertificateProvider {
  #identity: TlsIdentity;
  readonly #caListeners = new Set<CaListener>();
  readonly #identityListeners = new Set<IdentityListener>();

  /** Throws if the certificate was not issued by the CA or does not match the key. */
  constructor(identity: TlsIdentity) {
    assertIdentityConsistent(identity);
    this.#identity = identity;
  }

  /** The identity new handshakes use. */
  get current(): TlsIdentity {
    return this.#identity;
  }

  /** Replaces the identity (checked as in the constructor) and notifies every listener. */
  update(identity: TlsIdentity): void {
    assertIdentityConsistent(identity);
    this.#identity = identity;
    for (const l of this.#caListeners) l(this.#caUpdate());
    for (const l of this.#identityListeners) l(this.#identityUpdate());
  }

  #caUpdate(): experimental.CaCertificateUpdate {
    return { caCertificate: Buffer.from(this.#identity.caCertPem) };
  }

  #identityUpdate(): experimental.IdentityCertificateUpdate {
    return {
      certificate: Buffer.from(this.#identity.certPem),
      privateKey: Buffer.from(this.#identity.keyPem),
    };
  }

  /** grpc-js: registers a listener and hands it the current CA (on the next microtask). */
  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    // NOTE(ca): grpc-js 1.14's server credentials register with the provider *before*
    // adding their own watcher, so a synchronous first update is lost and the server
    // drops every connection. Deliver the first value asynchronously.
    queueMicrotask(() => {
      if (this.#caListeners.has(listener)) listener(this.#caUpdate());
    });
  }

  /** grpc-js. */
  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
  }

  /** grpc-js: registers a listener and hands it the current certificate and key (next microtask). */
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.add(listener);
    queueMicrotask(() => {
      if (this.#identityListeners.has(listener)) listener(this.#identityUpdate());
    });
  }

  /** grpc-js. */
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.delete(listener);
  }
}

function toSource(identity: TlsIdentity | TlsIdentitySource): TlsIdentitySource {
  return identity instanceof TlsIdentitySource ? identity : new TlsIdentitySource(identity);
}

export interface ServerCredentialsOptions {
  /**
   * 'require' (default): the TLS handshake fails unless the client presents a certificate
   * that chains to the cluster CA. Use it where only members talk (7946, Raft).
   *
   * 'verify-if-given': clients without a certificate may connect, so that a joining node
   * can reach the CA service on 2377 (Go's VerifyClientCertIfGiven, as swarmkit). A
   * certificate that does not chain to the CA is then not a handshake failure; grpc-js
   * reports such a peer, like an anonymous one, with an empty auth context, so
   * `peerIdentity`/`authorize` refuse it. Every method except the CA's own join methods
   * must call `authorize`.
   */
  readonly clientCerts?: 'require' | 'verify-if-given';
}

/**
 * Server credentials for mutual TLS with the cluster CA: the server presents its node
 * certificate and verifies client certificates against the CA (see `clientCerts`).
 * Hostnames are never checked: identity is the certificate's CN/OU.
 */
export function serverCredentials(
  identity: TlsIdentity | TlsIdentitySource,
  opts: ServerCredentialsOptions = {},
): ServerCredentials {
  const source = toSource(identity);
  // NOTE(ca): grpc-js 1.14 passes this function's first two arguments to the constructor
  // in swapped order; one object for both makes the order irrelevant.
  return experimental.createCertificateProviderServerCredentials(
    source,
    source,
    (opts.clientCerts ?? 'require') === 'require',
  );
}

/**
 * Channel options to pass with any of these credentials. We dial IP addresses and never
 * check hostnames, but without an override grpc-js sends the IP as the TLS server name,
 * which node flags (DEP0123, RFC 6066). The fixed name only fills SNI; `checkNodeRole`
 * ignores it.
 */
export const MTLS_CHANNEL_OPTIONS = { 'grpc.ssl_target_name_override': 'tswarm' } as const;

function subjectValues(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/**
 * A checkServerIdentity that ignores the hostname (we dial addresses, and certificates
 * name nodes, not hosts) and instead requires a node OU, or a specific role's OU.
 * Node's tls calls it only after the chain verified against the CA we pass.
 */
function checkNodeRole(expectRole?: NodeRole) {
  const allowed = expectRole ? [ouForRole(expectRole)] : [MANAGER_OU, WORKER_OU];
  return (_hostname: string, cert: PeerCertificate): Error | undefined => {
    const ous = subjectValues(cert.subject.OU);
    if (ous.length === 1 && allowed.includes(ous[0] ?? '')) return undefined;
    const cn = subjectValues(cert.subject.CN).join(',');
    return new Error(
      `remote node ${cn || '(no CN)'} has role ${ous.join(',') || '(none)'}, expected ${allowed.join(' or ')}`,
    );
  };
}

export interface ChannelCredentialsOptions {
  /** Accept only a server whose certificate has this role (e.g. 'manager' when dialing 2377). */
  readonly expectRole?: NodeRole;
}

/**
 * Client credentials for mutual TLS: present our node certificate, and accept a server
 * only if its certificate chains to the cluster CA (and has `expectRole`, if given).
 */
export function channelCredentials(
  identity: TlsIdentity | TlsIdentitySource,
  opts: ChannelCredentialsOptions = {},
): ChannelCredentials {
  const source = toSource(identity);
  return experimental.createCertificateProviderChannelCredentials(source, source, {
    checkServerIdentity: checkNodeRole(opts.expectRole),
  });
}

/**
 * UNTRUSTED credentials for the first step of a join only: TLS that does not verify the
 * server at all (the joiner has no CA yet). Anything received over such a channel is
 * attacker-controlled until proven otherwise: use it solely to fetch the root CA
 * certificate, check that against the join token's digest (`verifyCaAgainstToken`, or
 * `fetchRootCaForToken` which does both), and send nothing secret over it: not the
 * token, not the CSR.
 */
export function insecureCaFetchCredentials(): ChannelCredentials {
  return ChannelCredentials.createSsl(null, null, null, {
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  });
}

/**
 * Credentials for the second step of a join: the joiner has a CA it verified against the
 * token but no certificate yet, so it verifies the server (a manager, by default) against
 * that CA and presents none. The join token secret and the CSR go over this channel.
 */
export function joinChannelCredentials(
  caCertPem: string,
  opts: ChannelCredentialsOptions = { expectRole: 'manager' },
): ChannelCredentials {
  return ChannelCredentials.createSsl(Buffer.from(caCertPem), null, null, {
    checkServerIdentity: checkNodeRole(opts.expectRole),
  });
}

/**
 * The trust-on-token step of `swarm join`, in order:
 *  1. parse the token (a malformed token fails here, before any network I/O);
 *  2. call `fetchCaPem` with `insecureCaFetchCredentials()`; it must return the PEM the
 *     remote manager's CA service hands out, and must send nothing secret;
 *  3. accept that PEM only if its digest matches the token and it is a valid self-signed
 *     CA; otherwise throw ("remote CA does not match fingerprint. Expected: ...").
 * The caller then uses `joinChannelCredentials(ca)` for a second, verified connection
 * that carries the token and the CSR.
 */
export async function fetchRootCaForToken(
  token: string,
  fetchCaPem: (untrusted: ChannelCredentials) => Promise<string>,
): Promise<string> {
  parseJoinToken(token);
  const caCertPem = await fetchCaPem(insecureCaFetchCredentials());
  verifyCaAgainstToken(caCertPem, token);
  await assertRootCaCertificate(caCertPem);
  return caCertPem;
}
