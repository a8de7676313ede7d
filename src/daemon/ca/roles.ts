/**
 * Node roles as they appear in certificates. Swarm encodes the role in the subject's
 * OU, and authorization reads it back from the verified peer certificate, so the role a
 * node may act in is whatever the CA last signed for it.
 */
export type NodeRole = 'manager' | 'worker';

/** The CN of the cluster's root CA. */
export const ROOT_CA_COMMON_NAME = 'swarm-ca';
/** OU (and SAN) carried by a manager's certificate. */
export const MANAGER_OU = 'swarm-manager';
/** OU (and SAN) carried by a worker's certificate. */
export const WORKER_OU = 'swarm-worker';

const ouFor = {
  manager: MANAGER_OU,
  worker: WORKER_OU,
} as const satisfies Record<NodeRole, string>;

/** The OU string for a role. */
export function ouForRole(role: NodeRole): string {
  return ouFor[role];
}

/** The role an OU string names, or undefined for anything else. */
export function roleForOu(ou: string): NodeRole | undefined {
  if (ou === MANAGER_OU) return 'manager';
  if (ou === WORKER_OU) return 'worker';
  return undefined;
}

/** Type guard for values arriving from the wire or the CLI. */
export function isNodeRole(raw: unknown): raw is NodeRole {
  return raw === 'manager' || raw === 'worker';
}
