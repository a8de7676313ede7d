import type { Node } from '../../../shared/api-types.js';
import { renderRows, TABLE_FORMAT } from '../../format/formatter.js';
import { asStruct } from '../../format/template.js';
import { bytesSize, capitalize, goTimeString, naturalCompare } from '../../format/text.js';

/** docker/cli's default `node ls` table: the `*` after the ID marks the node the CLI talks to. */
export const DEFAULT_NODE_TABLE_FORMAT =
  'table {{.ID}} {{if .Self}}*{{else}} {{ end }}\t{{.Hostname}}\t{{.Status}}\t{{.Availability}}\t{{.ManagerStatus}}\t{{.EngineVersion}}';

/** Column titles per row field (Docker's node SubHeaderContext). */
export const NODE_HEADER: Readonly<Record<string, string>> = {
  ID: 'ID',
  Self: '',
  Hostname: 'HOSTNAME',
  Status: 'STATUS',
  Availability: 'AVAILABILITY',
  ManagerStatus: 'MANAGER STATUS',
  EngineVersion: 'ENGINE VERSION',
  TLSStatus: 'TLS STATUS',
};

/** What a `node ls --format` template sees per node (fields in JSON key order, as Docker's). */
export interface NodeRow {
  readonly Availability: string;
  readonly EngineVersion: string;
  readonly Hostname: string;
  readonly ID: string;
  readonly ManagerStatus: string;
  readonly Self: boolean;
  readonly Status: string;
  readonly TLSStatus: string;
}

/** `Leader`, `Reachable`, `Unreachable`, `Unknown`; empty for workers. */
export function managerStatusText(node: Node): string {
  const ms = node.ManagerStatus;
  if (!ms) return '';
  return ms.Leader ? 'Leader' : capitalize(ms.Reachability);
}

/**
 * One node as its `node ls` row. TLSStatus is `Unknown`: Docker compares the node's TLS info
 * with the cluster's, which Info does not carry here.
 */
export function nodeRow(node: Node, selfId: string): NodeRow {
  return asStruct(
    {
      Availability: capitalize(node.Spec.Availability),
      EngineVersion: node.Description.Engine.EngineVersion,
      Hostname: node.Description.Hostname,
      ID: node.ID,
      ManagerStatus: managerStatusText(node),
      Self: selfId !== '' && node.ID === selfId,
      Status: capitalize(node.Status.State),
      TLSStatus: 'Unknown',
    },
    '*node.nodeContext',
  );
}

/** Docker's order: hostnames in natural order (`node-2` before `node-10`), then IDs. */
export function sortNodes(nodes: readonly Node[]): Node[] {
  return [...nodes].sort(
    (a, b) =>
      naturalCompare(a.Description.Hostname, b.Description.Hostname) ||
      (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0),
  );
}

/** docker/cli's node newFormat: `table`/`raw` keywords, `-q` meaning IDs only. */
export function nodeListFormat(format: string | undefined, quiet: boolean): string {
  const f = format === undefined || format === '' ? TABLE_FORMAT : format;
  if (f === TABLE_FORMAT) return quiet ? '{{.ID}}' : DEFAULT_NODE_TABLE_FORMAT;
  if (f === 'raw') {
    return quiet
      ? 'node_id: {{.ID}}'
      : 'node_id: {{.ID}}\nhostname: {{.Hostname}}\nstatus: {{.Status}}\navailability: {{.Availability}}\nmanager_status: {{.ManagerStatus}}\n';
  }
  return f;
}

/** The whole `node ls` output for these nodes, sorted as Docker sorts them. */
export function renderNodeList(
  nodes: readonly Node[],
  selfId: string,
  format: string | undefined,
  quiet: boolean,
): string {
  const rows = sortNodes(nodes).map((n) => nodeRow(n, selfId));
  return renderRows(nodeListFormat(format, quiet), rows, NODE_HEADER);
}

function labelLines(labels: Readonly<Record<string, string>> | undefined): string[] {
  return Object.keys(labels ?? {})
    .sort()
    .map((k) => {
      const v = labels?.[k] ?? '';
      return v ? ` - ${k}=${v}` : ` - ${k}`;
    });
}

/** `node inspect --pretty` for one node, laid out (tabs included) as Docker's pretty template. */
export function renderNodePretty(node: Node): string {
  const lines: string[] = [`ID:\t\t\t${node.ID}`];
  if (node.Spec.Name) lines.push(`Name:\t\t\t${node.Spec.Name}`);
  const labels = labelLines(node.Spec.Labels);
  if (labels.length) lines.push('Labels:', ...labels);
  lines.push(`Hostname:              \t${node.Description.Hostname}`);
  lines.push(`Joined at:             \t${goTimeString(node.CreatedAt)}`);
  lines.push('Status:', ` State:\t\t\t${capitalize(node.Status.State)}`);
  if (node.Status.Message)
    lines.push(` Message:              \t${capitalize(node.Status.Message)}`);
  lines.push(` Availability:         \t${capitalize(node.Spec.Availability)}`);
  if (node.Status.Addr) lines.push(` Address:\t\t${node.Status.Addr}`);
  const ms = node.ManagerStatus;
  if (ms) {
    lines.push('Manager Status:', ` Address:\t\t${ms.Addr}`);
    lines.push(` Raft Status:\t\t${capitalize(ms.Reachability)}`);
    lines.push(` Leader:\t\t${ms.Leader ? 'Yes' : 'No'}`);
  }
  const d = node.Description;
  lines.push('Platform:', ` Operating System:\t${d.Platform.OS}`);
  lines.push(` Architecture:\t\t${d.Platform.Architecture}`);
  lines.push('Resources:', ` CPUs:\t\t\t${Math.trunc(d.Resources.NanoCPUs / 1e9)}`);
  lines.push(` Memory:\t\t${d.Resources.MemoryBytes ? bytesSize(d.Resources.MemoryBytes) : ''}`);
  lines.push(`Engine Version:\t\t${d.Engine.EngineVersion}`);
  const engineLabels = labelLines(d.Engine.Labels);
  if (engineLabels.length) lines.push('Engine Labels:', ...engineLabels);
  const tls = d.TLSInfo as
    { TrustRoot?: string; CertIssuerSubject?: string; CertIssuerPublicKey?: string } | undefined;
  if (tls && (tls.TrustRoot || tls.CertIssuerSubject || tls.CertIssuerPublicKey)) {
    lines.push('TLS Info:', ' TrustRoot:', tls.TrustRoot ?? '');
    lines.push(` Issuer Subject:\t${tls.CertIssuerSubject ?? ''}`);
    lines.push(` Issuer Public Key:\t${tls.CertIssuerPublicKey ?? ''}`);
  }
  return lines.join('\n') + '\n';
}
