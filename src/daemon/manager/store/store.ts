import { EventEmitter } from 'node:events';
import type { Node, Service, Task } from '../../../shared/api-types.js';
import { TswarmError } from '../../../shared/errors.js';
import type { Entry } from '../../../raft/types.js';
import {
  applyCommand,
  decodeCommand,
  decodeState,
  emptyState,
  encodeState,
  type StoreState,
} from './fsm.js';
import type { ClusterObject, Command, CommandResult, StoredSecret } from './types.js';

export interface StoreEvent {
  readonly index: number;
  readonly cmd: Command;
  readonly result: CommandResult;
}

/**
 * The manager's replicated store: the Raft state machine (apply/snapshot/restore) plus
 * queries and change events for the dispatcher, orchestrators and control API.
 */
export class Store {
  private state: StoreState = emptyState();
  private readonly events = new EventEmitter();
  private appliedIndex = 0;

  constructor() {
    this.events.setMaxListeners(100);
  }

  /** Raft StateMachine: applies one committed entry; returns the command's result. */
  apply(entry: Entry): CommandResult | undefined {
    this.appliedIndex = entry.index;
    if (entry.type !== 'normal' || entry.data.length === 0) return undefined;
    const cmd = decodeCommand(entry.data);
    const result = applyCommand(this.state, cmd, entry.index);
    this.events.emit('change', { index: entry.index, cmd, result } satisfies StoreEvent);
    return result;
  }

  snapshot(): Uint8Array {
    return encodeState(this.state);
  }

  restore(data: Uint8Array): void {
    this.state = decodeState(data);
    this.events.emit('restore');
  }

  get applied(): number {
    return this.appliedIndex;
  }

  onChange(cb: (ev: StoreEvent) => void): () => void {
    this.events.on('change', cb);
    return () => this.events.off('change', cb);
  }

  onRestore(cb: () => void): () => void {
    this.events.on('restore', cb);
    return () => this.events.off('restore', cb);
  }

  cluster(): ClusterObject | undefined {
    return this.state.cluster;
  }

  requireCluster(): ClusterObject {
    const c = this.state.cluster;
    if (!c) throw new TswarmError('UNAVAILABLE', 'the cluster object is not replicated here yet');
    return c;
  }

  nodes(): Node[] {
    return [...this.state.nodes.values()];
  }

  node(id: string): Node | undefined {
    return this.state.nodes.get(id);
  }

  isRemoved(id: string): boolean {
    return this.state.removedNodes.has(id);
  }

  /**
   * Docker's node lookup: exact ID, then exact name/hostname, then a unique ID prefix.
   * `self` is resolved by the caller.
   */
  resolveNode(ref: string): Node {
    const nodes = this.nodes();
    const exact = this.state.nodes.get(ref);
    if (exact) return exact;
    const byName = nodes.filter(
      (n) => (n.Spec.Name ?? n.Description.Hostname) === ref || n.Description.Hostname === ref,
    );
    if (byName.length === 1 && byName[0]) return byName[0];
    if (byName.length > 1) {
      throw new TswarmError(
        'INVALID_ARGUMENT',
        `node ${ref} is ambiguous (${byName.length} matches found)`,
      );
    }
    const byPrefix = nodes.filter((n) => n.ID.startsWith(ref));
    if (byPrefix.length === 1 && byPrefix[0]) return byPrefix[0];
    if (byPrefix.length > 1) {
      throw new TswarmError(
        'INVALID_ARGUMENT',
        `node ${ref} is ambiguous (${byPrefix.length} matches found)`,
      );
    }
    throw new TswarmError('NOT_FOUND', `node ${ref} not found`);
  }

  services(): Service[] {
    return [...this.state.services.values()];
  }

  service(id: string): Service | undefined {
    return this.state.services.get(id);
  }

  /** Docker's service lookup: exact ID, then exact name, then a unique ID prefix. */
  resolveService(ref: string): Service {
    return resolveNamed('service', this.state.services, ref);
  }

  tasks(): Task[] {
    return [...this.state.tasks.values()];
  }

  task(id: string): Task | undefined {
    return this.state.tasks.get(id);
  }

  tasksOfService(serviceId: string): Task[] {
    return this.tasks().filter((t) => t.ServiceID === serviceId);
  }

  tasksOnNode(nodeId: string): Task[] {
    return this.tasks().filter((t) => t.NodeID === nodeId);
  }

  secrets(): StoredSecret[] {
    return [...this.state.secrets.values()];
  }

  secret(id: string): StoredSecret | undefined {
    return this.state.secrets.get(id);
  }

  /** Docker's secret lookup: exact ID, then exact name, then a unique ID prefix. */
  resolveSecret(ref: string): StoredSecret {
    return resolveNamed('secret', this.state.secrets, ref);
  }
}

/** Docker's lookup of a named object: exact ID, then exact name, then a unique ID prefix. */
function resolveNamed<T extends { readonly ID: string; readonly Spec: { readonly Name: string } }>(
  kind: string,
  byId: ReadonlyMap<string, T>,
  ref: string,
): T {
  const exact = byId.get(ref);
  if (exact) return exact;
  const all = [...byId.values()];
  const byName = all.find((x) => x.Spec.Name === ref);
  if (byName) return byName;
  const byPrefix = all.filter((x) => x.ID.startsWith(ref));
  if (byPrefix.length === 1 && byPrefix[0]) return byPrefix[0];
  if (byPrefix.length > 1) {
    throw new TswarmError(
      'INVALID_ARGUMENT',
      `${kind} ${ref} is ambiguous (${byPrefix.length} matches found)`,
    );
  }
  throw new TswarmError('NOT_FOUND', `${kind} ${ref} not found`);
}
