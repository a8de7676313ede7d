import { generateId } from '../../../src/shared/ids.js';
import {
  createNodeKeyAndCsr,
  createRootCa,
  issueNodeCertificate,
  type NodeRole,
  type RootCa,
  type TlsIdentity,
} from '../../../src/daemon/ca/index.js';

/** A node identity issued by `ca`, with fresh ids unless given. */
export async function makeIdentity(
  ca: RootCa,
  role: NodeRole,
  opts: { nodeId?: string; clusterId?: string; validityMs?: number; now?: Date } = {},
): Promise<TlsIdentity & { nodeId: string; clusterId: string }> {
  const nodeId = opts.nodeId ?? generateId();
  const clusterId = opts.clusterId ?? generateId();
  const { keyPem, csrPem } = await createNodeKeyAndCsr();
  const certPem = await issueNodeCertificate(ca, csrPem, {
    nodeId,
    role,
    clusterId,
    ...(opts.validityMs !== undefined ? { validityMs: opts.validityMs } : {}),
    ...(opts.now !== undefined ? { now: opts.now } : {}),
  });
  return { caCertPem: ca.certPem, certPem, keyPem, nodeId, clusterId };
}

export { createRootCa };
