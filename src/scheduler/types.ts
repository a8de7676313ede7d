/**
 * The scheduler's own input and output types. They describe only what placement needs,
 * so the scheduler never imports from the daemon: the manager maps its store objects onto
 * these shapes (swarmkit's `NodeInfo` plays the same role) and maps decisions back.
 *
 * IDs are plain strings here; the caller owns their validation.
 */

/** CPU in units of 1e-9 CPU (Docker's NanoCPUs) and memory in bytes. */
export interface Resources {
  readonly nanoCpus: number;
  readonly memoryBytes: number;
}

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

/** A port published in host mode (`--publish mode=host,published=8080`). */
export interface HostPort {
  readonly port: number;
  readonly protocol: PortProtocol;
}

/**
 * A task already assigned to a node. It counts for that node's used resources and host
 * ports, for the per-service and total task counts the ordering uses, and for spread.
 * The caller decides which tasks are live (swarmkit counts tasks whose desired state is
 * running or below); tasks passed here always count.
 */
export interface NodeTask {
  readonly taskId: string;
  readonly serviceId: string;
  readonly reservations: Resources;
  readonly hostPorts: readonly HostPort[];
}

export type NodeRole = 'manager' | 'worker';
export type NodeStatus = 'ready' | 'down' | 'unknown' | 'disconnected';
export type NodeAvailability = 'active' | 'pause' | 'drain';

/** One node of the cluster as the scheduler sees it. */
export interface NodeInfo {
  readonly id: string;
  readonly hostname: string;
  readonly role: NodeRole;
  readonly status: NodeStatus;
  readonly availability: NodeAvailability;
  /** `node.labels`: set by operators with `node update --label-add`. */
  readonly labels: Readonly<Record<string, string>>;
  /** `engine.labels`: reported by the node's Docker engine. */
  readonly engineLabels: Readonly<Record<string, string>>;
  /** Total capacity; what is free is this minus the reservations of `tasks`. */
  readonly resources: Resources;
  /** Matched by `node.platform.os` / `node.platform.arch`; absent means "" (as swarmkit). */
  readonly platform?: { readonly os: string; readonly architecture: string };
  readonly tasks: readonly NodeTask[];
}

export type ConstraintOperator = '==' | '!=';

/** Fields whose value is compared case-insensitively, as Docker does. */
export type ConstraintField =
  'node.id' | 'node.hostname' | 'node.role' | 'node.platform.os' | 'node.platform.arch';

/** Label maps, whose values are compared exactly (see README: a deliberate deviation). */
export type ConstraintLabelSource = 'node.labels' | 'engine.labels';

/** A parsed placement constraint; make one with `parseConstraint`. */
export type Constraint =
  | {
      readonly kind: 'field';
      readonly field: ConstraintField;
      readonly operator: ConstraintOperator;
      readonly value: string;
    }
  | {
      readonly kind: 'label';
      readonly source: ConstraintLabelSource;
      /** Label keys are case-sensitive. */
      readonly label: string;
      readonly operator: ConstraintOperator;
      readonly value: string;
    };

/** `--placement-pref spread=node.labels.zone`; make one with `parsePlacementPref`. */
export interface PlacementPref {
  /** `node.labels.KEY` or `engine.labels.KEY`; other descriptors are ignored, as swarmkit does. */
  readonly spreadDescriptor: string;
}

/** A task waiting for a node. Tasks with equal fields besides `taskId`/`slot` are placed as a group. */
export interface TaskSpec {
  readonly taskId: string;
  readonly serviceId: string;
  readonly slot?: number;
  /**
   * Set when the orchestrator has already chosen the node (global services): the scheduler
   * then only checks the filters on that node, before placing any other task, as swarmkit.
   */
  readonly nodeId?: string;
  readonly constraints: readonly Constraint[];
  /** Applied in order: the first preference splits the nodes, the next splits each part. */
  readonly placementPrefs: readonly PlacementPref[];
  /** `--replicas-max-per-node`; 0 means unlimited. */
  readonly maxReplicasPerNode: number;
  readonly reservations: Resources;
  readonly hostPorts: readonly HostPort[];
}

/** The outcome for one pending task. `explanation` is Docker's `no suitable node (...)` text. */
export type Decision =
  | { readonly kind: 'assign'; readonly taskId: string; readonly nodeId: string }
  | { readonly kind: 'unschedulable'; readonly taskId: string; readonly explanation: string };
