/**
 * Cluster objects as the control API returns them and `inspect` prints them: the shapes of
 * Docker Engine API's /nodes and /swarm, so operators' jq scripts keep working.
 * Times are RFC 3339 strings; versions count store updates.
 */

export type NodeRole = 'manager' | 'worker';
export type NodeAvailability = 'active' | 'pause' | 'drain';
export type NodeState = 'unknown' | 'down' | 'ready' | 'disconnected';
export type Reachability = 'unknown' | 'unreachable' | 'reachable';

export interface ObjectVersion {
  readonly Index: number;
}

export interface NodeSpec {
  readonly Name?: string;
  readonly Labels: Readonly<Record<string, string>>;
  readonly Role: NodeRole;
  readonly Availability: NodeAvailability;
}

export interface NodeDescription {
  readonly Hostname: string;
  readonly Platform: { readonly Architecture: string; readonly OS: string };
  readonly Resources: { readonly NanoCPUs: number; readonly MemoryBytes: number };
  readonly Engine: {
    readonly EngineVersion: string;
    readonly Labels: Readonly<Record<string, string>>;
  };
  readonly TLSInfo?: { readonly CertIssuerSubject?: string; readonly TrustRoot?: string };
}

export interface NodeStatus {
  readonly State: NodeState;
  readonly Message?: string;
  /** The address the node's traffic comes from (no port). */
  readonly Addr: string;
}

export interface ManagerStatus {
  readonly Leader?: boolean;
  readonly Reachability: Reachability;
  /** host:port of the manager's 2377 listener. */
  readonly Addr: string;
}

export interface Node {
  readonly ID: string;
  readonly Version: ObjectVersion;
  readonly CreatedAt: string;
  readonly UpdatedAt: string;
  readonly Spec: NodeSpec;
  readonly Description: NodeDescription;
  readonly Status: NodeStatus;
  readonly ManagerStatus?: ManagerStatus;
}

export interface SwarmSpec {
  readonly Name: string;
  readonly Labels: Readonly<Record<string, string>>;
  readonly Orchestration: { readonly TaskHistoryRetentionLimit: number };
  readonly Raft: {
    readonly SnapshotInterval: number;
    readonly KeepOldSnapshots: number;
    readonly LogEntriesForSlowFollowers: number;
    readonly ElectionTick: number;
    readonly HeartbeatTick: number;
  };
  /** Nanoseconds, as Docker. */
  readonly Dispatcher: { readonly HeartbeatPeriod: number };
  /** Nanoseconds, as Docker. */
  readonly CAConfig: { readonly NodeCertExpiry: number };
}

/** `swarm inspect` (join tokens are included for managers, as Docker). */
export interface Swarm {
  readonly ID: string;
  readonly Version: ObjectVersion;
  readonly CreatedAt: string;
  readonly UpdatedAt: string;
  readonly Spec: SwarmSpec;
  readonly TLSInfo: { readonly TrustRoot: string; readonly CertIssuerSubject: string };
  readonly RootRotationInProgress: boolean;
  readonly JoinTokens: { readonly Worker: string; readonly Manager: string };
}

export const NANOS_PER_MS = 1_000_000;

// ---- Services and tasks (Docker Engine API /services and /tasks shapes) ----

export type RestartCondition = 'none' | 'on-failure' | 'any';

export interface HealthConfig {
  /** ["CMD-SHELL", "cmd"] | ["CMD", ...] | ["NONE"] */
  readonly Test?: readonly string[];
  /** Nanoseconds, as Docker. */
  readonly Interval?: number;
  readonly Timeout?: number;
  readonly Retries?: number;
  readonly StartPeriod?: number;
}

export interface ContainerSpec {
  readonly Image: string;
  readonly Labels?: Readonly<Record<string, string>>;
  readonly Command?: readonly string[];
  readonly Args?: readonly string[];
  readonly Hostname?: string;
  readonly Env?: readonly string[];
  readonly Dir?: string;
  readonly User?: string;
  /** Nanoseconds. */
  readonly StopGracePeriod?: number;
  readonly Healthcheck?: HealthConfig;
  /** Secrets mounted read-only under /run/secrets (Docker's SecretReference). */
  readonly Secrets?: readonly SecretReference[];
}

/** A service's use of a secret: mounted at /run/secrets/<File.Name> (Docker's shape). */
export interface SecretReference {
  readonly File?: {
    readonly Name: string;
    readonly UID: string;
    readonly GID: string;
    /** File mode (decimal in JSON, as Docker: 0444 is 292). */
    readonly Mode: number;
  };
  /** Filled in by the manager from SecretName when empty. */
  readonly SecretID: string;
  readonly SecretName: string;
}

export interface SecretSpec {
  readonly Name: string;
  readonly Labels: Readonly<Record<string, string>>;
}

/** `secret inspect`: Docker's /secrets object. The data never leaves the managers this way. */
export interface Secret {
  readonly ID: string;
  readonly Version: ObjectVersion;
  readonly CreatedAt: string;
  readonly UpdatedAt: string;
  readonly Spec: SecretSpec;
}

export interface ResourceSet {
  readonly NanoCPUs?: number;
  readonly MemoryBytes?: number;
}

export interface TaskTemplate {
  readonly ContainerSpec: ContainerSpec;
  readonly Resources?: { readonly Limits?: ResourceSet; readonly Reservations?: ResourceSet };
  readonly RestartPolicy?: {
    readonly Condition?: RestartCondition;
    /** Nanoseconds. */
    readonly Delay?: number;
    readonly MaxAttempts?: number;
    /** Nanoseconds. */
    readonly Window?: number;
  };
  readonly Placement?: {
    readonly Constraints?: readonly string[];
    readonly Preferences?: readonly { readonly Spread: { readonly SpreadDescriptor: string } }[];
    readonly MaxReplicas?: number;
  };
  /** Bumped by `service update --force` to redeploy every task. */
  readonly ForceUpdate?: number;
}

export interface UpdateConfig {
  readonly Parallelism: number;
  /** Nanoseconds. */
  readonly Delay: number;
  readonly FailureAction: 'pause' | 'continue' | 'rollback';
  /** Nanoseconds. */
  readonly Monitor: number;
  readonly MaxFailureRatio: number;
  readonly Order: 'stop-first' | 'start-first';
}

export interface PortConfig {
  readonly Protocol: 'tcp' | 'udp';
  readonly TargetPort: number;
  readonly PublishedPort?: number;
  readonly PublishMode: 'ingress' | 'host';
  /**
   * tswarm addition: the routing mesh sends a PROXY protocol v2 header to the task before the
   * client's bytes, so the backend sees the client's address (ingress ports only).
   */
  readonly ProxyProtocol?: 'v2';
}

/** tswarm addition: where a task's ingress target port is reachable for the routing mesh. */
export interface MeshPort {
  readonly Protocol: 'tcp' | 'udp';
  readonly TargetPort: number;
  /** The node address the engine bound the port to (the node's advertise address). */
  readonly HostIP: string;
  /** The ephemeral host port the engine chose. */
  readonly HostPort: number;
}

export interface ServiceSpec {
  readonly Name: string;
  readonly Labels: Readonly<Record<string, string>>;
  readonly TaskTemplate: TaskTemplate;
  readonly Mode: {
    readonly Replicated?: { readonly Replicas: number };
    readonly Global?: Readonly<Record<string, never>>;
  };
  readonly UpdateConfig?: UpdateConfig;
  readonly RollbackConfig?: UpdateConfig;
  readonly EndpointSpec?: { readonly Ports?: readonly PortConfig[] };
}

export type UpdateState =
  | 'updating'
  | 'paused'
  | 'completed'
  | 'rollback_started'
  | 'rollback_paused'
  | 'rollback_completed';

export interface Service {
  readonly ID: string;
  readonly Version: ObjectVersion;
  readonly CreatedAt: string;
  readonly UpdatedAt: string;
  readonly Spec: ServiceSpec;
  readonly PreviousSpec?: ServiceSpec;
  readonly Endpoint?: { readonly Ports?: readonly PortConfig[] };
  readonly UpdateStatus?: {
    readonly State: UpdateState;
    readonly StartedAt?: string;
    readonly CompletedAt?: string;
    readonly Message: string;
  };
}

/** Swarm's task states, in order: a task's state never goes backwards. */
export const TASK_STATES = [
  'new',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
  'running',
  'complete',
  'shutdown',
  'failed',
  'rejected',
  'remove',
  'orphaned',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

export interface TaskStatus {
  readonly Timestamp: string;
  readonly State: TaskState;
  readonly Message: string;
  readonly Err?: string;
  readonly ContainerStatus?: {
    readonly ContainerID?: string;
    readonly PID?: number;
    readonly ExitCode?: number;
  };
  readonly PortStatus?: { readonly Ports?: readonly PortConfig[] };
  /** tswarm addition: the task's ingress target ports on its node, for the routing mesh. */
  readonly MeshPorts?: readonly MeshPort[];
}

export interface Task {
  readonly ID: string;
  readonly Version: ObjectVersion;
  readonly CreatedAt: string;
  readonly UpdatedAt: string;
  readonly Labels: Readonly<Record<string, string>>;
  readonly Spec: TaskTemplate;
  readonly ServiceID: string;
  /** Replicated services; global tasks have none. */
  readonly Slot?: number;
  readonly NodeID?: string;
  readonly Status: TaskStatus;
  readonly DesiredState: TaskState;
  /** The service's published ports when the task was made (host-mode ones bind on its node). */
  readonly Endpoint?: { readonly Ports?: readonly PortConfig[] };
  /** The service spec version this task was made from (for updates). */
  readonly SpecVersion?: { readonly Index: number };
  /**
   * tswarm addition: when the task first reported `running` (its status timestamp). A rolling
   * update's monitor window starts here, and the store keeps it after the task ends.
   */
  readonly RunningSince?: string;
}
