import type { PortConfig, Service, Task, TaskState } from '../../shared/api-types.js';

/** Docker's tabwriter layout: each column padded to its widest cell plus 3 spaces. */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3)))
      .join('')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** Docker's units.HumanDuration. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  // Go truncates the hours here (they were rounded above).
  return `${Math.floor(Math.floor(ms / 3_600_000) / 24 / 365)} years`;
}

export function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function formatPorts(ports: readonly PortConfig[] | undefined): string {
  return (ports ?? [])
    .map((p) => `*:${p.PublishedPort ?? ''}->${p.TargetPort}/${p.Protocol}`)
    .join(', ');
}

export function stateText(state: TaskState, timestamp: string, now: number): string {
  return `${capitalize(state)} ${humanDuration(now - Date.parse(timestamp))} ago`;
}

export interface PsRow {
  readonly task: Task;
  readonly name: string;
  readonly history: boolean;
}

/**
 * Orders tasks as `docker service ps`: by service, then slot (or node), newest first within a
 * slot; the newest of a slot shows its name, older ones are history rows (` \_ name`).
 */
export function orderTasks(
  tasks: readonly Task[],
  services: ReadonlyMap<string, Service>,
): PsRow[] {
  const sorted = [...tasks].sort((a, b) => {
    const sa = services.get(a.ServiceID)?.Spec.Name ?? a.ServiceID;
    const sb = services.get(b.ServiceID)?.Spec.Name ?? b.ServiceID;
    if (sa !== sb) return sa.localeCompare(sb);
    const ka = a.Slot ?? 0;
    const kb = b.Slot ?? 0;
    if (ka !== kb) return ka - kb;
    if ((a.NodeID ?? '') !== (b.NodeID ?? '') && a.Slot === undefined)
      return (a.NodeID ?? '').localeCompare(b.NodeID ?? '');
    return Date.parse(b.CreatedAt) - Date.parse(a.CreatedAt);
  });
  const seen = new Set<string>();
  return sorted.map((t) => {
    const svc = services.get(t.ServiceID)?.Spec.Name ?? t.ServiceID;
    const name = t.Slot !== undefined ? `${svc}.${t.Slot}` : `${svc}.${t.NodeID ?? ''}`;
    const history = seen.has(name);
    seen.add(name);
    return { task: t, name, history };
  });
}

/** A service as ServiceList returns it: with its running / desired task counts. */
export type ListedService = Service & {
  readonly ServiceStatus?: { readonly RunningTasks: number; readonly DesiredTasks: number };
};

/** `service ls` and `stack services`: Docker's table, or one JSON object per line. */
export function renderServiceList(services: readonly ListedService[], json: boolean): string {
  const rows = services.map((s) => [
    s.ID.slice(0, 12),
    s.Spec.Name,
    s.Spec.Mode.Global ? 'global' : 'replicated',
    `${s.ServiceStatus?.RunningTasks ?? 0}/${s.ServiceStatus?.DesiredTasks ?? 0}`,
    s.Spec.TaskTemplate.ContainerSpec.Image,
    formatPorts(s.Endpoint?.Ports),
  ]);
  if (!json) return renderTable(['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS'], rows);
  return rows
    .map(([ID, Name, Mode, Replicas, Image, Ports]) =>
      JSON.stringify({ ID, Name, Mode, Replicas, Image, Ports }),
    )
    .map((l) => l + '\n')
    .join('');
}

/**
 * `service ps` and `stack ps`: Docker's table, or one JSON object per line. `nodes` maps node
 * IDs to hostnames; without `noTrunc`, IDs are cut to 12 characters and errors to 28.
 */
export function renderTaskList(
  rows: readonly PsRow[],
  nodes: ReadonlyMap<string, string>,
  noTrunc: boolean,
  json: boolean,
  now = Date.now(),
): string {
  const cells = rows.map(({ task: t, name, history }) => {
    const err = t.Status.Err ?? '';
    return [
      noTrunc ? t.ID : t.ID.slice(0, 12),
      history ? ` \\_ ${name}` : name,
      t.Spec.ContainerSpec.Image,
      t.NodeID ? (nodes.get(t.NodeID) ?? t.NodeID) : '',
      capitalize(t.DesiredState),
      stateText(t.Status.State, t.Status.Timestamp, now),
      err ? `"${noTrunc || err.length <= 28 ? err : err.slice(0, 26) + '…'}"` : '',
      formatPorts(t.Status.PortStatus?.Ports),
    ];
  });
  if (!json) {
    return renderTable(
      ['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR', 'PORTS'],
      cells,
    );
  }
  return cells
    .map(([ID, Name, Image, Node, DesiredState, CurrentState, Error, Ports]) =>
      JSON.stringify({ ID, Name, Image, Node, DesiredState, CurrentState, Error, Ports }),
    )
    .map((l) => l + '\n')
    .join('');
}

/** `web.1.abc123def456@node1` → `web.1@node1`, for `service logs --no-task-ids`. */
export function withoutTaskId(source: string): string {
  return source.replace(/^(.*\.\d+)\.[0-9a-z]+@/, '$1@');
}
