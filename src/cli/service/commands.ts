import { Option, type Command } from 'commander';
import type { Node, PortConfig, Service, ServiceSpec } from '../../shared/api-types.js';
import { TswarmError } from '../../shared/errors.js';
import type { Client } from '../client.js';
import type { Context } from '../context.js';
import { waitConverged } from './progress.js';
import {
  humanDuration,
  orderTasks,
  renderServiceList,
  renderTaskList,
  type ListedService,
  withoutTaskId,
} from './render.js';
import { addCommand } from '../command.js';
import {
  applySpecFlags,
  parsePublish,
  parseUint,
  splitShellWords,
  type SpecFlags,
} from './spec-flags.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** The spec flags shared by `service create` and `service update`. */
function addSpecOptions(cmd: Command, forUpdate: boolean): Command {
  cmd
    .option('--replicas <n>', 'Number of tasks')
    .option('-e, --env <KEY=VALUE>', 'Set environment variables', collect)
    .option('--constraint <expr>', 'Placement constraints', collect)
    .option('--placement-pref <pref>', 'Add a placement preference (spread=node.labels.X)', collect)
    .option(
      '--max-replicas-per-node <n>',
      'Maximum number of tasks per node (default 0 = unlimited)',
    )
    .option('--reserve-cpu <cpus>', 'Reserve CPUs')
    .option('--reserve-memory <bytes>', 'Reserve Memory')
    .option('--limit-cpu <cpus>', 'Limit CPUs')
    .option('--limit-memory <bytes>', 'Limit Memory')
    .option(
      '--restart-condition <cond>',
      'Restart when condition is met ("none"|"on-failure"|"any")',
    )
    .option('--restart-delay <duration>', 'Delay between restart attempts (ns|us|ms|s|m|h)')
    .option('--restart-max-attempts <n>', 'Maximum number of restarts before giving up')
    .option('--restart-window <duration>', 'Window used to evaluate the restart policy')
    .option('--stop-grace-period <duration>', 'Time to wait before force killing a container')
    .option('--entrypoint <command>', 'Overwrite the default ENTRYPOINT of the image')
    .option('-w, --workdir <dir>', 'Working directory inside the container')
    .option('-u, --user <user>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option('--hostname <name>', 'Container hostname')
    .option('--health-cmd <cmd>', 'Command to run to check health')
    .option('--health-interval <duration>', 'Time between running the check')
    .option('--health-timeout <duration>', 'Maximum time to allow one check to run')
    .option('--health-retries <n>', 'Consecutive failures needed to report unhealthy')
    .option('--health-start-period <duration>', 'Start period for the container to initialize')
    .option('--no-healthcheck', 'Disable any container-specified HEALTHCHECK')
    .option(
      '--update-parallelism <n>',
      'Maximum number of tasks updated simultaneously (0 to update all at once)',
    )
    .option('--update-delay <duration>', 'Delay between updates')
    .option('--update-order <order>', 'Update order ("start-first"|"stop-first")')
    .option(
      '--update-failure-action <action>',
      'Action on update failure ("pause"|"continue"|"rollback")',
    )
    .option('--update-monitor <duration>', 'Duration after each task update to monitor for failure')
    .option('--update-max-failure-ratio <ratio>', 'Failure rate to tolerate during an update')
    .option('--rollback-parallelism <n>', 'Maximum number of tasks rolled back simultaneously')
    .option('--rollback-delay <duration>', 'Delay between task rollbacks')
    .option('--rollback-order <order>', 'Rollback order ("start-first"|"stop-first")')
    .option('--rollback-failure-action <action>', 'Action on rollback failure ("pause"|"continue")')
    .option(
      '--rollback-monitor <duration>',
      'Duration after each task rollback to monitor for failure',
    )
    .option('--rollback-max-failure-ratio <ratio>', 'Failure rate to tolerate during a rollback')
    .option('-d, --detach', 'Exit immediately instead of waiting for the service to converge')
    .option('-q, --quiet', 'Suppress progress output');
  if (!forUpdate) {
    cmd
      .option('--name <name>', 'Service name')
      .addOption(new Option('--mode <mode>', 'Service mode').choices(['replicated', 'global']))
      .option('-l, --label <KEY=VALUE>', 'Service labels', collect)
      .option('--container-label <KEY=VALUE>', 'Container labels', collect)
      .option('-p, --publish <port>', 'Publish a port as a node port', collect)
      .option('--secret <secret>', 'Specify secrets to expose to the service', collect);
  }
  return cmd;
}

async function inspect(client: Client, ref: string): Promise<ListedService> {
  const r = await client.call<{ json: string }>((c, o, cb) =>
    c.ServiceInspect({ ref, stale_ok: false }, o, cb),
  );
  return JSON.parse(r.json) as Service;
}

async function listNodes(client: Client): Promise<Node[]> {
  const r = await client.call<{ json: string[] }>((c, o, cb) =>
    c.NodeList({ filters: [], stale_ok: true }, o, cb),
  );
  return r.json.map((j) => JSON.parse(j) as Node);
}

async function updateSpec(
  client: Client,
  ref: string,
  spec: ServiceSpec | undefined,
  version: number,
  rollback: boolean,
): Promise<void> {
  await client.call((c, o, cb) =>
    c.ServiceUpdate({ ref, spec_json: spec ? JSON.stringify(spec) : '', version, rollback }, o, cb),
  );
}

type UpdateFlags = SpecFlags & {
  image?: string;
  args?: string;
  force?: boolean;
  rollback?: boolean;
  envAdd?: string[];
  envRm?: string[];
  labelAdd?: string[];
  labelRm?: string[];
  constraintAdd?: string[];
  constraintRm?: string[];
  containerLabelAdd?: string[];
  containerLabelRm?: string[];
  placementPrefAdd?: string[];
  placementPrefRm?: string[];
  publishAdd?: string[];
  publishRm?: string[];
  secretAdd?: string[];
  secretRm?: string[];
  detach?: boolean;
  quiet?: boolean;
};

export function registerServiceCommands(group: Command, ctx: Context): void {
  group.enablePositionalOptions();
  const io = ctx.io;

  addCommand<SpecFlags & { detach?: boolean; quiet?: boolean }>(
    group,
    {
      name: 'create',
      usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
      description: 'Create a new service',
      args: { min: 1 },
    },
    (cmd) => addSpecOptions(cmd.passThroughOptions(), false),
    async ([image = '', ...args], f) => {
      const spec = applySpecFlags(f, undefined, image, args);
      const name = spec.Name || generateName();
      const client = ctx.client();
      const r = await client.call<{ id: string; warnings: string[] }>((c, o, cb) =>
        c.ServiceCreate({ spec_json: JSON.stringify({ ...spec, Name: name }) }, o, cb),
      );
      io.stdout(`${r.id}\n`);
      if (f.detach) return;
      await waitConverged(client, r.id, io, Boolean(f.quiet));
    },
  );

  addCommand<{ quiet?: boolean; filter?: string[]; format?: string }>(
    group,
    {
      name: 'ls',
      aliases: ['list'],
      usage: '[OPTIONS]',
      description: 'List services',
      args: { min: 0, max: 0 },
    },
    (cmd) =>
      cmd
        .option('-q, --quiet', 'Only display IDs')
        .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
        .option('--format <format>', 'Format output: json'),
    async (_args, f) => {
      const client = ctx.client();
      const services = await client.serviceList(f.filter ?? []);
      if (f.quiet) {
        io.stdout(services.map((s) => s.ID + '\n').join(''));
        return;
      }
      if (f.format !== undefined && f.format !== 'json')
        ctx.fail(`unsupported format "${f.format}": use json`);
      io.stdout(renderServiceList(services, f.format === 'json'));
    },
  );

  addCommand<{ quiet?: boolean; trunc: boolean; filter?: string[]; format?: string }>(
    group,
    {
      name: 'ps',
      usage: '[OPTIONS] SERVICE [SERVICE...]',
      description: 'List the tasks of one or more services',
      args: { min: 1 },
    },
    (cmd) =>
      cmd
        .option('-q, --quiet', 'Only display task IDs')
        .option('--no-trunc', 'Do not truncate output')
        .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
        .option('--format <format>', 'Format output: json'),
    async (refs, f) => {
      const client = ctx.client();
      const services = new Map<string, Service>();
      for (const ref of refs) {
        const s = await inspect(client, ref);
        services.set(s.ID, s);
      }
      const tasks = (await client.taskList(f.filter ?? [])).filter((t) =>
        services.has(t.ServiceID),
      );
      const nodes = new Map((await listNodes(client)).map((n) => [n.ID, n.Description.Hostname]));
      const rows = orderTasks(tasks, services);
      if (f.quiet) {
        io.stdout(rows.map((r) => r.task.ID + '\n').join(''));
        return;
      }
      if (f.format !== undefined && f.format !== 'json')
        ctx.fail(`unsupported format "${f.format}": use json`);
      io.stdout(renderTaskList(rows, nodes, !f.trunc, f.format === 'json'));
    },
  );

  addCommand<{ pretty?: boolean }>(
    group,
    {
      name: 'inspect',
      usage: '[OPTIONS] SERVICE [SERVICE...]',
      description: 'Display detailed information on one or more services',
      args: { min: 1 },
    },
    (cmd) =>
      cmd
        .option('--pretty', 'Print the information in a human friendly format')
        .option('-f, --format <format>', 'Format output: json'),
    async (refs, f) => {
      const client = ctx.client();
      const list = [];
      for (const ref of refs) list.push(await inspect(client, ref));
      if (!f.pretty) {
        io.stdout(JSON.stringify(list, null, 4) + '\n');
        return;
      }
      io.stdout(list.map(prettyService).join('\n\n') + '\n');
    },
  );

  addCommand<{ detach?: boolean }>(
    group,
    {
      name: 'scale',
      usage: 'SERVICE=REPLICAS [SERVICE=REPLICAS...]',
      description: 'Scale one or multiple replicated services',
      args: { min: 1 },
    },
    (cmd) =>
      cmd.option('-d, --detach', 'Exit immediately instead of waiting for the service to converge'),
    async (pairs, f) => {
      const parsed = pairs.map((p) => {
        const i = p.indexOf('=');
        if (i <= 0) ctx.fail(`invalid scale specifier '${p}'.\nSee 'tswarm service scale --help'.`);
        return { ref: p.slice(0, i), replicas: parseUint(p.slice(i + 1), 'scale') };
      });
      const client = ctx.client();
      let failed = false;
      for (const { ref, replicas } of parsed) {
        try {
          const s = await inspect(client, ref);
          if (s.Spec.Mode.Global)
            throw new TswarmError(
              'INVALID_ARGUMENT',
              `scale can only be used with replicated mode`,
            );
          await updateSpec(
            client,
            s.ID,
            { ...s.Spec, Mode: { Replicated: { Replicas: replicas } } },
            s.Version.Index,
            false,
          );
          io.stdout(`${ref} scaled to ${replicas}\n`);
          if (!f.detach) await waitConverged(client, s.ID, io, false);
        } catch (err) {
          failed = true;
          io.stderr(`${err instanceof Error ? err.message : String(err)}\n`);
        }
      }
      if (failed) throw new TswarmError('INVALID_ARGUMENT', 'scaling failed for some services');
    },
  );

  addCommand<UpdateFlags>(
    group,
    {
      name: 'update',
      usage: '[OPTIONS] SERVICE',
      description: 'Update a service',
      args: { min: 1, max: 1 },
    },
    (cmd) =>
      addSpecOptions(
        cmd
          .option('--image <image>', 'Service image tag')
          .option('--args <command>', 'Service command args')
          .option('--force', 'Force update even if no changes require it')
          .option('--rollback', 'Rollback to previous specification')
          .option('--env-add <KEY=VALUE>', 'Add or update an environment variable', collect)
          .option('--env-rm <KEY>', 'Remove an environment variable', collect)
          .option('--label-add <KEY=VALUE>', 'Add or update a service label', collect)
          .option('--label-rm <KEY>', 'Remove a label by its key', collect)
          .option('--constraint-add <expr>', 'Add or update a placement constraint', collect)
          .option('--constraint-rm <expr>', 'Remove a constraint', collect)
          .option('--container-label-add <KEY=VALUE>', 'Add or update a container label', collect)
          .option('--container-label-rm <KEY>', 'Remove a container label by its key', collect)
          .option('--placement-pref-add <pref>', 'Add a placement preference', collect)
          .option('--placement-pref-rm <pref>', 'Remove a placement preference', collect)
          .option('--publish-add <port>', 'Add or update a published port', collect)
          .option('--publish-rm <port>', 'Remove a published port by its target port', collect)
          .option('--secret-add <secret>', 'Add or update a secret on a service', collect)
          .option('--secret-rm <secret>', 'Remove a secret', collect),
        true,
      ),
    async ([ref = ''], f) => {
      const client = ctx.client();
      const s = await inspect(client, ref);
      if (f.rollback) {
        await updateSpec(client, s.ID, undefined, 0, true);
        io.stdout(`${ref}\n`);
        if (!f.detach) await waitConverged(client, s.ID, io, Boolean(f.quiet), 'rollback');
        return;
      }
      let spec = applySpecFlags(
        {
          ...f,
          env: f.envAdd ?? [],
          constraint: f.constraintAdd ?? [],
          containerLabel: f.containerLabelAdd ?? [],
          placementPref: f.placementPrefAdd ?? [],
          publish: f.publishAdd ?? [],
          label: f.labelAdd ?? [],
          secret: f.secretAdd ?? [],
        },
        s.Spec,
        f.image,
        f.args !== undefined ? splitShellWords(f.args, '--args') : [],
      );
      const cs = spec.TaskTemplate.ContainerSpec;
      const envRm = new Set(f.envRm ?? []);
      const labels = { ...spec.Labels };
      for (const k of f.labelRm ?? []) Reflect.deleteProperty(labels, k);
      const constraintsRm = new Set(f.constraintRm ?? []);
      const containerLabelsRm = new Set(f.containerLabelRm ?? []);
      const prefsRm = new Set(f.placementPrefRm ?? []);
      const secretsRm = new Set(f.secretRm ?? []);
      // `--publish-rm 80`, `--publish-rm 8080:80/tcp` or the long form, as Docker: a port goes
      // when its target and protocol match (and its published port, when one is given).
      const portsRm = (f.publishRm ?? []).map(parsePublish);
      const removed = (p: PortConfig): boolean =>
        portsRm.some(
          (r) =>
            r.TargetPort === p.TargetPort &&
            r.Protocol === p.Protocol &&
            (r.PublishedPort === undefined || r.PublishedPort === p.PublishedPort),
        );
      spec = {
        ...spec,
        Labels: labels,
        TaskTemplate: {
          ...spec.TaskTemplate,
          ContainerSpec: {
            ...cs,
            ...(cs.Env ? { Env: cs.Env.filter((e) => !envRm.has(e.split('=')[0] ?? '')) } : {}),
            ...(cs.Labels
              ? {
                  Labels: Object.fromEntries(
                    Object.entries(cs.Labels).filter(([k]) => !containerLabelsRm.has(k)),
                  ),
                }
              : {}),
            ...(cs.Secrets
              ? {
                  Secrets: cs.Secrets.filter(
                    (r) => !secretsRm.has(r.SecretName) && !secretsRm.has(r.SecretID),
                  ),
                }
              : {}),
          },
          ...(spec.TaskTemplate.Placement
            ? {
                Placement: {
                  ...spec.TaskTemplate.Placement,
                  Constraints: (spec.TaskTemplate.Placement.Constraints ?? []).filter(
                    (c) => !constraintsRm.has(c),
                  ),
                  ...(spec.TaskTemplate.Placement.Preferences
                    ? {
                        Preferences: spec.TaskTemplate.Placement.Preferences.filter(
                          (p) => !prefsRm.has(`spread=${p.Spread.SpreadDescriptor}`),
                        ),
                      }
                    : {}),
                },
              }
            : {}),
          ...(f.force ? { ForceUpdate: (spec.TaskTemplate.ForceUpdate ?? 0) + 1 } : {}),
        },
        ...(spec.EndpointSpec
          ? {
              EndpointSpec: {
                Ports: (spec.EndpointSpec.Ports ?? []).filter((p) => !removed(p)),
              },
            }
          : {}),
      };
      await updateSpec(client, s.ID, spec, s.Version.Index, false);
      io.stdout(`${ref}\n`);
      if (!f.detach) await waitConverged(client, s.ID, io, Boolean(f.quiet));
    },
  );

  addCommand<{ detach?: boolean; quiet?: boolean }>(
    group,
    {
      name: 'rollback',
      usage: '[OPTIONS] SERVICE',
      description: "Revert changes to a service's configuration",
      args: { min: 1, max: 1 },
    },
    (cmd) =>
      cmd
        .option('-d, --detach', 'Exit immediately instead of waiting for the service to converge')
        .option('-q, --quiet', 'Suppress progress output'),
    async ([ref = ''], f) => {
      const client = ctx.client();
      const s = await inspect(client, ref);
      await updateSpec(client, s.ID, undefined, 0, true);
      io.stdout(`${ref}\n`);
      if (!f.detach) await waitConverged(client, s.ID, io, Boolean(f.quiet), 'rollback');
    },
  );

  addCommand(
    group,
    {
      name: 'rm',
      aliases: ['remove'],
      usage: 'SERVICE [SERVICE...]',
      description: 'Remove one or more services',
      args: { min: 1 },
    },
    () => undefined,
    async (refs) => {
      const client = ctx.client();
      let failed = false;
      for (const ref of refs) {
        try {
          await client.call((c, o, cb) => c.ServiceRemove({ ref, stale_ok: false }, o, cb));
          io.stdout(`${ref}\n`);
        } catch (err) {
          failed = true;
          io.stderr(
            `Error response from daemon: ${err instanceof Error ? err.message : String(err)}\n`,
          );
        }
      }
      if (failed) throw new TswarmError('NOT_FOUND', 'some services could not be removed');
    },
  );

  addCommand<{
    follow?: boolean;
    tail: string;
    timestamps?: boolean;
    raw?: boolean;
    taskIds: boolean;
  }>(
    group,
    {
      name: 'logs',
      usage: '[OPTIONS] SERVICE',
      description: 'Fetch the logs of a service',
      args: { min: 1, max: 1 },
    },
    (cmd) =>
      cmd
        .option('-f, --follow', 'Follow log output')
        .option('-n, --tail <n>', 'Number of lines to show from the end of the logs', 'all')
        .option('-t, --timestamps', 'Show timestamps')
        .option('--raw', 'Do not neatly format logs')
        .option('--no-task-ids', 'Do not include task IDs in output'),
    async ([ref = ''], f) => {
      const tail = f.tail === 'all' ? -1 : parseUint(f.tail, '--tail');
      const client = ctx.client();
      await client.logs(
        { ref, follow: Boolean(f.follow), tail, timestamps: Boolean(f.timestamps) },
        (l) => {
          const source = f.taskIds ? l.source : withoutTaskId(l.source);
          const text = f.raw ? `${l.line}\n` : `${source}    | ${l.line}\n`;
          if (l.stream === 'stderr') io.stderr(text);
          else io.stdout(text);
        },
      );
    },
  );
}

function generateName(): string {
  const adjectives = [
    'brave',
    'calm',
    'eager',
    'fancy',
    'jolly',
    'keen',
    'lucid',
    'quirky',
    'serene',
    'witty',
  ];
  const nouns = [
    'turing',
    'hopper',
    'lovelace',
    'knuth',
    'ritchie',
    'thompson',
    'liskov',
    'lamport',
    'dijkstra',
    'hoare',
  ];
  const pick = <T>(a: readonly T[]): T => a[Math.floor(Math.random() * a.length)] as T;
  return `${pick(adjectives)}_${pick(nouns)}`;
}

function prettyService(s: ListedService): string {
  const sp = s.Spec;
  const c = sp.TaskTemplate.ContainerSpec;
  const lines = [
    `ID:\t\t${s.ID}`,
    `Name:\t\t${sp.Name}`,
    ...(Object.keys(sp.Labels).length
      ? ['Labels:', ...Object.entries(sp.Labels).map(([k, v]) => ` ${k}=${v}`)]
      : []),
    `Service Mode:\t${sp.Mode.Global ? 'Global' : 'Replicated'}`,
    ...(sp.Mode.Replicated ? [` Replicas:\t${sp.Mode.Replicated.Replicas}`] : []),
    ...(s.UpdateStatus
      ? [
          `UpdateStatus:`,
          ` State:\t\t${s.UpdateStatus.State}`,
          ...(s.UpdateStatus.StartedAt
            ? [` Started:\t${humanDuration(Date.now() - Date.parse(s.UpdateStatus.StartedAt))} ago`]
            : []),
          ...(s.UpdateStatus.CompletedAt
            ? [
                ` Completed:\t${humanDuration(Date.now() - Date.parse(s.UpdateStatus.CompletedAt))} ago`,
              ]
            : []),
          ` Message:\t${s.UpdateStatus.Message}`,
        ]
      : []),
    ...(sp.TaskTemplate.Placement?.Constraints?.length
      ? ['Placement:', ` Constraints:\t[${sp.TaskTemplate.Placement.Constraints.join(' ')}]`]
      : ['Placement:']),
    ...(sp.UpdateConfig
      ? [
          'UpdateConfig:',
          ` Parallelism:\t${sp.UpdateConfig.Parallelism}`,
          ...(sp.UpdateConfig.Delay ? [` Delay:\t\t${sp.UpdateConfig.Delay / 1e9}s`] : []),
          ` On failure:\t${sp.UpdateConfig.FailureAction}`,
          ` Monitoring Period: ${sp.UpdateConfig.Monitor / 1e9}s`,
          ` Max failure ratio: ${sp.UpdateConfig.MaxFailureRatio}`,
          ` Update order:      ${sp.UpdateConfig.Order}`,
        ]
      : []),
    ...(sp.RollbackConfig
      ? [
          'RollbackConfig:',
          ` Parallelism:\t${sp.RollbackConfig.Parallelism}`,
          ...(sp.RollbackConfig.Delay ? [` Delay:\t\t${sp.RollbackConfig.Delay / 1e9}s`] : []),
          ` On failure:\t${sp.RollbackConfig.FailureAction}`,
          ` Monitoring Period: ${sp.RollbackConfig.Monitor / 1e9}s`,
          ` Max failure ratio: ${sp.RollbackConfig.MaxFailureRatio}`,
          ` Rollback order:    ${sp.RollbackConfig.Order}`,
        ]
      : []),
    'ContainerSpec:',
    ` Image:\t\t${c.Image}`,
    ...(c.Command ? [` Command:\t${c.Command.join(' ')}`] : []),
    ...(c.Args ? [` Args:\t\t${c.Args.join(' ')}`] : []),
    ...(c.Env?.length ? [` Env:\t\t${c.Env.join(' ')}`] : []),
    ...(sp.TaskTemplate.Resources
      ? [
          'Resources:',
          ...(sp.TaskTemplate.Resources.Reservations?.NanoCPUs ||
          sp.TaskTemplate.Resources.Reservations?.MemoryBytes
            ? [
                ' Reservations:',
                ...(sp.TaskTemplate.Resources.Reservations.NanoCPUs
                  ? [`  CPU:\t\t${sp.TaskTemplate.Resources.Reservations.NanoCPUs / 1e9}`]
                  : []),
                ...(sp.TaskTemplate.Resources.Reservations.MemoryBytes
                  ? [`  Memory:\t${sp.TaskTemplate.Resources.Reservations.MemoryBytes}`]
                  : []),
              ]
            : []),
        ]
      : []),
    ...(s.Endpoint?.Ports?.length
      ? [
          'Ports:',
          ...s.Endpoint.Ports.map(
            (p) =>
              ` PublishedPort = ${p.PublishedPort ?? ''}\n  Protocol = ${p.Protocol}\n  TargetPort = ${p.TargetPort}\n  PublishMode = ${p.PublishMode}${p.ProxyProtocol ? `\n  ProxyProtocol = ${p.ProxyProtocol}` : ''}`,
          ),
        ]
      : []),
  ];
  return lines.join('\n');
}
