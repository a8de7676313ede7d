import type { Command } from 'commander';
import type { InfoResponse__Output } from '../../../proto/gen/tswarm/control/v1/InfoResponse.js';
import { VERSION } from '../../shared/version.js';
import type { Context } from '../context.js';
import {
  compileTemplate,
  JSON_FORMAT,
  templateError,
  templateSource,
} from '../format/formatter.js';

/** Renders `tswarm info` the way `docker info` lays itself out. */
export function renderInfo(host: string, info: InfoResponse__Output): string {
  const lines: string[] = [];
  lines.push('Client:', ` Version:    ${VERSION}`, ` Host:       ${host}`, '', 'Server:');
  lines.push(` Daemon Version: ${info.daemon_version}`);
  lines.push(` Node Name: ${info.node_name}`);
  lines.push(` Data Root: ${info.data_root}`);
  const e = info.engine;
  lines.push(' Docker Engine:');
  lines.push(`  Host: ${info.docker_host}`);
  if (!e || e.error) {
    lines.push(`  Error: ${e?.error ?? 'unknown'}`);
  } else {
    lines.push(`  Server Version: ${e.version}`);
    lines.push(`  API Version: ${e.api_version}`);
    lines.push(`  Storage Driver: ${e.storage_driver}`);
    lines.push(`  Containers: ${e.containers}`);
    lines.push(`   Running: ${e.containers_running}`);
    lines.push(`  Images: ${e.images}`);
    lines.push(`  Kernel Version: ${e.kernel_version}`);
    lines.push(`  OSType: ${e.os}`);
    lines.push(`  Architecture: ${e.arch}`);
  }
  const s = info.swarm;
  lines.push(` Swarm: ${s?.local_node_state ?? 'inactive'}`);
  if (s && s.local_node_state === 'active') {
    lines.push(`  NodeID: ${s.node_id}`);
    lines.push(`  Is Manager: ${String(s.is_manager)}`);
    if (s.is_manager) {
      lines.push(`  ClusterID: ${s.cluster_id}`);
      lines.push(`  Managers: ${s.managers}`);
      lines.push(`  Nodes: ${s.nodes}`);
      if (s.leader_id) lines.push(`  Leader: ${s.leader_id}`);
      lines.push('  Orchestration:');
      lines.push(`   Task History Retention Limit: ${s.task_history_limit}`);
      lines.push('  Raft:');
      lines.push(`   Snapshot Interval: ${s.snapshot_interval}`);
      lines.push('   Number of Old Snapshots to Retain: 0');
      lines.push(`   Heartbeat Tick: ${s.heartbeat_tick}`);
      lines.push(`   Election Tick: ${s.election_tick}`);
      lines.push(`   Tick: ${humanMs(Number(s.tick_ms))}`);
      lines.push('  Dispatcher:');
      lines.push(`   Heartbeat Period: ${humanMs(Number(s.dispatcher_heartbeat_ms))}`);
      lines.push('  CA Configuration:');
      lines.push(`   Expiry Duration: ${humanMs(Number(s.cert_expiry_ms))}`);
      lines.push('   Force Rotate: 0');
      lines.push('  Autolock Managers: false');
      lines.push('  Root Rotation In Progress: false');
    }
    if (s.ca_not_after) lines.push(`  CA Expires: ${s.ca_not_after}`);
    lines.push(`  Node Address: ${s.node_addr}`);
    if (s.manager_addrs.length) {
      lines.push('  Manager Addresses:');
      for (const a of s.manager_addrs) lines.push(`   ${a}`);
    }
  }
  if (s?.error) lines.push(`  Error: ${s.error}`);
  return lines.join('\n') + '\n';
}

export function registerInfo(program: Command, ctx: Context): void {
  program
    .command('info')
    .description('Display system-wide information')
    .option(
      '-f, --format <format>',
      "Format output using a custom template:\n'json': Print in JSON format\n'TEMPLATE': Print output using the given Go template (fields as in the json output)",
    )
    .action(async (opts: { format?: string }) => {
      // Check a template before contacting the daemon.
      const tmpl =
        opts.format === undefined || opts.format === JSON_FORMAT
          ? undefined
          : compileTemplate(templateSource(opts.format));
      const client = ctx.client();
      const info = await client.info();
      if (opts.format === JSON_FORMAT) ctx.io.stdout(JSON.stringify(info) + '\n');
      else if (tmpl) {
        try {
          ctx.io.stdout(tmpl.execute(info) + '\n');
        } catch (err) {
          throw templateError(err);
        }
      } else ctx.io.stdout(renderInfo(client.host, info));
    });
}

/** Docker's units.HumanDuration for settings ("1 second", "50 milliseconds", "3 months"). */
function humanMs(ms: number): string {
  if (ms < 1000) return `${ms} milliseconds`;
  const s = Math.round(ms / 1000);
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const h = Math.round(s / 3600);
  if (h < 1) return `${Math.round(s / 60)} minutes`;
  if (h < 48) return `${h} hours`;
  const d = Math.floor(h / 24);
  if (d < 14) return `${d} days`;
  if (d < 60) return `${Math.floor(d / 7)} weeks`;
  if (d < 730) return `${Math.floor(d / 30)} months`;
  return `${Math.floor(d / 365)} years`;
}
