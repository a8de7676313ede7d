import type {
  Node,
  Secret,
  NodeAvailability,
  NodeRole,
  Reachability,
  NodeState,
  Service,
  SwarmSpec,
  Task,
  TaskState,
  TaskStatus,
} from '../../../shared/api-types.js';

/** The cluster object as the store keeps it; `swarm inspect` shows it without the CA key. */
export interface ClusterObject {
  readonly ID: string;
  readonly Version: { readonly Index: number };
  readonly CreatedAt: string;
  readonly UpdatedAt: string;
  readonly Spec: SwarmSpec;
  readonly RootCA: { readonly CertPem: string; readonly KeyPem: string };
  /** The secrets of the join tokens (the token is SWMTKN-1-<ca digest>-<secret>). */
  readonly JoinTokens: { readonly Worker: string; readonly Manager: string };
}

/**
 * A secret as the store keeps it: the object `secret inspect` shows plus its data sealed
 * with the managers' secret key (src/daemon/manager/secrets/crypto.ts). The clear text is
 * never in a command, the Raft log or a snapshot.
 */
export interface StoredSecret extends Secret {
  /** `v1:` + base64(nonce | ciphertext | GCM tag); see sealSecret(). */
  readonly Sealed: string;
}

/**
 * Every write to the replicated store is one of these, proposed through Raft.
 * Commands carry their own timestamps (`at`), so applying them is deterministic.
 */
export type Command =
  | { readonly op: 'cluster.create'; readonly at: string; readonly cluster: ClusterObject }
  | {
      readonly op: 'cluster.update';
      readonly at: string;
      readonly spec?: SwarmSpec;
      readonly joinTokens?: ClusterObject['JoinTokens'];
    }
  | { readonly op: 'node.create'; readonly at: string; readonly node: Node }
  | {
      readonly op: 'node.update-spec';
      readonly at: string;
      readonly id: string;
      readonly role?: NodeRole;
      readonly availability?: NodeAvailability;
      readonly labelAdd?: Readonly<Record<string, string>>;
      readonly labelRm?: readonly string[];
    }
  | {
      readonly op: 'node.update-description';
      readonly at: string;
      readonly id: string;
      readonly description: Node['Description'];
    }
  | {
      readonly op: 'node.set-status';
      readonly at: string;
      /** Several nodes at once: a new leader marks the silent ones in one entry. */
      readonly updates: readonly {
        readonly id: string;
        readonly state: NodeState;
        readonly addr?: string;
        readonly message?: string;
      }[];
    }
  | {
      readonly op: 'node.set-manager';
      readonly at: string;
      readonly id: string;
      /** undefined: the node is no longer a Raft member. */
      readonly manager?: { readonly addr: string; readonly reachability: Reachability };
    }
  | {
      readonly op: 'node.set-reachability';
      readonly at: string;
      readonly updates: readonly { readonly id: string; readonly reachability: Reachability }[];
    }
  | { readonly op: 'node.remove'; readonly at: string; readonly id: string }
  | { readonly op: 'service.create'; readonly at: string; readonly service: Service }
  | {
      readonly op: 'service.update';
      readonly at: string;
      readonly id: string;
      /** Optimistic concurrency: refused when the service changed since this version. */
      readonly expectVersion?: number;
      readonly service: Omit<Service, 'ID' | 'Version' | 'CreatedAt' | 'UpdatedAt'>;
    }
  | { readonly op: 'service.remove'; readonly at: string; readonly id: string }
  /** Many tasks in one entry: a scale to 20 replicas is one Raft write. */
  | { readonly op: 'task.create'; readonly at: string; readonly tasks: readonly Task[] }
  | {
      readonly op: 'task.update';
      readonly at: string;
      readonly updates: readonly TaskUpdate[];
    }
  | { readonly op: 'task.remove'; readonly at: string; readonly ids: readonly string[] }
  | { readonly op: 'secret.create'; readonly at: string; readonly secret: StoredSecret }
  | { readonly op: 'secret.remove'; readonly at: string; readonly id: string };

export interface TaskUpdate {
  readonly id: string;
  readonly nodeId?: string;
  readonly desiredState?: TaskState;
  /** Applied only when it moves the observed state forward (Swarm's rule). */
  readonly status?: TaskStatus;
}

export type CommandResult =
  | { readonly ok: true; readonly value?: unknown }
  | {
      readonly ok: false;
      readonly code: 'NOT_FOUND' | 'FAILED_PRECONDITION' | 'ALREADY_EXISTS';
      readonly message: string;
    };
