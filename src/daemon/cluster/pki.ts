import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import {
  caDigest,
  constantTimeEqual,
  createNodeKeyAndCsr,
  createRootCa,
  issueNodeCertificate,
  loadIdentity as loadIdentityFrom,
  needsRenewal,
  parseJoinToken,
  saveIdentity as saveIdentityTo,
  type RootCa,
  type TlsIdentity,
} from '../ca/index.js';
import type { NodeRole } from '../../shared/api-types.js';

/*
 * The swarm node's view of the cluster PKI (src/daemon/ca): where its identity lives in the
 * data root, and the CA operations as the membership code uses them.
 */

export { caDigest, createRootCa, needsRenewal, parseJoinToken };

export const createKeyAndCsr = createNodeKeyAndCsr;
export const timingSafeEqualString = constantTimeEqual;

/** The CA as the store keeps it, or as createRootCa returns it. */
export type CaKeys = RootCa | { readonly CertPem: string; readonly KeyPem: string };

/** Signs a node's CSR; the subject (CN node ID, OU role, O cluster) is set by the CA. */
export function signNodeCsr(
  ca: CaKeys,
  csrPem: string,
  o: { nodeId: string; role: NodeRole; clusterId: string; validityMs: number },
): Promise<string> {
  const root: RootCa = 'certPem' in ca ? ca : { certPem: ca.CertPem, keyPem: ca.KeyPem };
  return issueNodeCertificate(root, csrPem, o);
}

export function formatJoinToken(caCertPem: string, secret: string): string {
  return `SWMTKN-1-${caDigest(caCertPem)}-${secret}`;
}

export function certNotAfter(certPem: string): Date {
  return new Date(new X509Certificate(certPem).validTo);
}

function certDir(dataRoot: string): string {
  return path.join(dataRoot, 'swarm');
}

/** <data-root>/swarm/certificates/ (swarmkit's file names, keys 0600, atomic writes). */
export function saveIdentity(dataRoot: string, id: TlsIdentity): Promise<void> {
  return saveIdentityTo(certDir(dataRoot), id);
}

export function loadIdentity(dataRoot: string): Promise<TlsIdentity | undefined> {
  return loadIdentityFrom(certDir(dataRoot));
}
