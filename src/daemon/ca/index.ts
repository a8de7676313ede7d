/**
 * Cluster PKI and mTLS plumbing: the root CA, node certificates, join tokens, grpc-js
 * credentials, per-call authorization and the on-disk identity. The only import path
 * other folders use. See README.md for the join flow and its trust argument.
 */
export {
  ROOT_CA_COMMON_NAME,
  MANAGER_OU,
  WORKER_OU,
  ouForRole,
  roleForOu,
  isNodeRole,
  type NodeRole,
} from './roles.js';
export {
  createRootCa,
  assertRootCaCertificate,
  DEFAULT_ROOT_CA_VALIDITY_MS,
  CERT_BACKDATE_MS,
  type RootCa,
  type CreateRootCaOptions,
} from './root-ca.js';
export {
  createNodeKeyAndCsr,
  issueNodeCertificate,
  parseNodeCertificate,
  assertIssuedBy,
  verifyNodeCertificate,
  renewalTime,
  needsRenewal,
  DEFAULT_NODE_CERT_VALIDITY_MS,
  RENEWAL_WINDOW,
  type NodeKeyAndCsr,
  type IssueNodeCertificateOptions,
  type NodeCertificateInfo,
} from './node-cert.js';
export {
  generateJoinToken,
  parseJoinToken,
  caDigest,
  caDigestHex,
  verifyCaAgainstToken,
  constantTimeEqual,
  roleForJoinToken,
  JOIN_TOKEN_PREFIX,
  JOIN_TOKEN_VERSION,
  CA_DIGEST_LENGTH,
  JOIN_SECRET_LENGTH,
  type JoinToken,
  type JoinTokens,
} from './join-token.js';
export {
  TlsIdentitySource,
  serverCredentials,
  channelCredentials,
  insecureCaFetchCredentials,
  joinChannelCredentials,
  fetchRootCaForToken,
  MTLS_CHANNEL_OPTIONS,
  type ServerCredentialsOptions,
  type ChannelCredentialsOptions,
} from './credentials.js';
export {
  peerIdentity,
  authorize,
  type PeerIdentity,
  type HasAuthContext,
  type AuthorizeOptions,
} from './authorize.js';
export {
  saveIdentity,
  loadIdentity,
  certificatePaths,
  assertIdentityConsistent,
  ROOT_CA_CERT_FILE,
  NODE_CERT_FILE,
  NODE_KEY_FILE,
  type TlsIdentity,
  type CertificatePaths,
} from './identity.js';
