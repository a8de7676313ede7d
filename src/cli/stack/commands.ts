import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Node, Service, ServiceSpec, Task } from '../../shared/api-types.js';
import { TswarmError } from '../../shared/errors.js';
import { decodeObject, type Client } from '../client.js';
import { addCommand, collect } from '../command.js';
import { createSecret, listSecrets, removeSecret } from '../commands/secret/index.js';
import type { Context } from '../context.js';
import { combineErrors } from '../errors.js';
import {
  orderTasks,
  renderServiceList,
  renderTable,
  renderTaskList,
  type ListedService,
} from '../service/render.js';
import { convertStack, STACK_LABEL, validateStackName, type StackPlan } from './convert.js';

async function stackServices(client: Client, stack: string): Promise<ListedService[]> {
  const r = await client.call<{ json: string[] }>((c, o, cb) =>
    c.ServiceList({ filters: [`label=${STACK_LABEL}=${stack}`], stale_ok: false }, o, cb),
  );
  return r.json.map((j) => decodeObject<ListedService>(j, 'service'));
}

async function allServices(client: Client): Promise<ListedService[]> {
  const r = await client.call<{ json: string[] }>((c, o, cb) =>
    c.ServiceList({ filters: [], stale_ok: false }, o, cb),
  );
  return r.json.map((j) => decodeObject<ListedService>(j, 'service'));
}

/** Reads and checks every file before anything is sent: a bad file changes nothing. */
async function planStack(
  files: readonly string[],
  stack: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ plan: StackPlan; warnings: string[]; data: Map<string, Buffer> }> {
  // Loaded here, not at start-up: the yaml parser is ~25 ms of every other command's start.
  const { mergeCompose, parseCompose } = await import('./compose.js');
  const parsed = [];
  for (const f of files) {
    let text: string;
    try {
      text = await readFile(f, 'utf8');
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new TswarmError(
        'NOT_FOUND',
        code === 'ENOENT' ? `open ${f}: no such file or directory` : String(err),
      );
    }
    parsed.push(parseCompose(text, f, env));
  }
  const plan = convertStack(stack, mergeCompose(parsed.map((p) => p.config)));
  const data = new Map<string, Buffer>();
  for (const s of plan.secrets) {
    if (s.external || !s.file) continue;
    try {
      data.set(s.name, await readFile(s.file));
    } catch {
      throw new TswarmError(
        'NOT_FOUND',
        `secret "${s.key}": open ${s.file}: no such file or directory`,
      );
    }
  }
  return { plan, warnings: [...new Set(parsed.flatMap((p) => p.warnings))], data };
}

/** Keeps what a redeploy must not reset (`service update --force`'s counter). */
function carryOver(spec: ServiceSpec, old: Service): ServiceSpec {
  const force = old.Spec.TaskTemplate.ForceUpdate;
  return force === undefined
    ? spec
    : { ...spec, TaskTemplate: { ...spec.TaskTemplate, ForceUpdate: force } };
}

export function registerStackCommands(group: Command, ctx: Context): void {
  const io = ctx.io;

  addCommand<{ composeFile?: string[]; prune?: boolean }>(
    group,
    {
      name: 'deploy',
      aliases: ['up'],
      usage: '[OPTIONS] STACK',
      description: 'Deploy a new stack or update an existing stack',
      args: { min: 1, max: 1 },
    },
    (cmd) =>
      cmd
        .option('-c, --compose-file <file>', 'Path to a Compose file', collect)
        .option('--prune', 'Prune services that are no longer referenced')
        .option('--resolve-image <when>', 'Query the registry to resolve image digest (ignored)')
        .option('--with-registry-auth', 'Send registry authentication details (ignored)'),
    async ([stack = ''], opts) => {
      validateStackName(stack);
      const files = opts.composeFile ?? [];
      if (files.length === 0) ctx.fail('Please specify a Compose file (with --compose-file).');
      const { plan, warnings, data } = await planStack(files, stack, io.env);
      for (const w of warnings) io.stderr(`${w}\n`);
      const client = ctx.client();
      const existing = new Map((await stackServices(client, stack)).map((s) => [s.Spec.Name, s]));
      const haveSecrets = new Set((await listSecrets(client, [])).map((s) => s.Spec.Name));
      for (const s of plan.secrets) {
        if (s.external && !haveSecrets.has(s.name))
          throw new TswarmError('NOT_FOUND', `secret not found: ${s.name}`);
      }
      if (opts.prune) {
        const keep = new Set(plan.services.map((s) => s.Name));
        for (const [name, s] of existing) {
          if (keep.has(name)) continue;
          io.stdout(`Removing service ${name}\n`);
          await client.call((c, o, cb) => c.ServiceRemove({ ref: s.ID, stale_ok: false }, o, cb));
        }
      }
      for (const s of plan.secrets) {
        const bytes = data.get(s.name);
        if (s.external || haveSecrets.has(s.name) || !bytes) continue;
        io.stdout(`Creating secret ${s.name}\n`);
        await createSecret(client, s.name, { ...s.labels }, bytes);
      }
      for (const spec of plan.services) {
        const old = existing.get(spec.Name);
        if (old) {
          io.stdout(`Updating service ${spec.Name} (id: ${old.ID})\n`);
          const next = carryOver(spec, old);
          await client.call((c, o, cb) =>
            c.ServiceUpdate(
              {
                ref: old.ID,
                spec_json: JSON.stringify(next),
                version: old.Version.Index,
                rollback: false,
              },
              o,
              cb,
            ),
          );
        } else {
          io.stdout(`Creating service ${spec.Name}\n`);
          await client.call((c, o, cb) =>
            c.ServiceCreate({ spec_json: JSON.stringify(spec) }, o, cb),
          );
        }
      }
    },
  );

  addCommand<{ format?: string }>(
    group,
    {
      name: 'ls',
      aliases: ['list'],
      usage: '[OPTIONS]',
      description: 'List stacks',
      args: { min: 0, max: 0 },
    },
    (cmd) => cmd.option('--format <format>', 'Format output: table or json'),
    async (_args, opts) => {
      const counts = new Map<string, number>();
      for (const s of await allServices(ctx.client())) {
        const ns = s.Spec.Labels[STACK_LABEL];
        if (ns !== undefined) counts.set(ns, (counts.get(ns) ?? 0) + 1);
      }
      const rows = [...counts].sort(([a], [b]) => a.localeCompare(b));
      if (opts.format === 'json') {
        for (const [name, n] of rows)
          io.stdout(JSON.stringify({ Name: name, Services: String(n) }) + '\n');
        return;
      }
      if (opts.format !== undefined && opts.format !== 'table')
        ctx.fail(`unsupported format "${opts.format}": use table or json`);
      io.stdout(
        renderTable(
          ['NAME', 'SERVICES'],
          rows.map(([name, n]) => [name, String(n)]),
        ),
      );
    },
  );

  addCommand<{ quiet?: boolean; format?: string }>(
    group,
    {
      name: 'services',
      usage: '[OPTIONS] STACK',
      description: 'List the services in the stack',
      args: { min: 1, max: 1 },
    },
    (cmd) =>
      cmd
        .option('-q, --quiet', 'Only display IDs')
        .option('--format <format>', 'Format output: table or json'),
    async ([stack = ''], opts) => {
      const services = await stackServices(ctx.client(), stack);
      if (services.length === 0) {
        io.stderr(`Nothing found in stack: ${stack}\n`);
        return;
      }
      if (opts.quiet) {
        io.stdout(services.map((s) => `${s.ID}\n`).join(''));
        return;
      }
      io.stdout(renderServiceList(services, opts.format === 'json'));
    },
  );

  addCommand<{ quiet?: boolean; trunc: boolean; format?: string }>(
    group,
    {
      name: 'ps',
      usage: '[OPTIONS] STACK',
      description: 'List the tasks in the stack',
      args: { min: 1, max: 1 },
    },
    (cmd) =>
      cmd
        .option('-q, --quiet', 'Only display task IDs')
        .option('--no-trunc', 'Do not truncate output')
        .option('--format <format>', 'Format output: table or json'),
    async ([stack = ''], opts) => {
      const client = ctx.client();
      const services = new Map((await stackServices(client, stack)).map((s) => [s.ID, s]));
      const r = await client.call<{ json: string[] }>((c, o, cb) =>
        c.TaskList({ filters: [], stale_ok: false }, o, cb),
      );
      const tasks = r.json
        .map((j) => decodeObject<Task>(j, 'task'))
        .filter((t) => services.has(t.ServiceID));
      if (tasks.length === 0) {
        io.stderr(`Nothing found in stack: ${stack}\n`);
        return;
      }
      const rows = orderTasks(tasks, services);
      if (opts.quiet) {
        io.stdout(rows.map((x) => `${x.task.ID}\n`).join(''));
        return;
      }
      const nr = await client.call<{ json: string[] }>((c, o, cb) =>
        c.NodeList({ filters: [], stale_ok: true }, o, cb),
      );
      const nodes = new Map(
        nr.json
          .map((j) => decodeObject<Node>(j, 'node'))
          .map((n) => [n.ID, n.Description.Hostname]),
      );
      io.stdout(renderTaskList(rows, nodes, !opts.trunc, opts.format === 'json'));
    },
  );

  addCommand(
    group,
    {
      name: 'rm',
      aliases: ['remove', 'down'],
      usage: 'STACK [STACK...]',
      description: 'Remove one or more stacks',
      args: { min: 1 },
    },
    () => undefined,
    async (stacks) => {
      const client = ctx.client();
      const errs: unknown[] = [];
      for (const stack of stacks) {
        const services = (await stackServices(client, stack)).sort((a, b) =>
          a.Spec.Name.localeCompare(b.Spec.Name),
        );
        const secrets = await listSecrets(client, [`label=${STACK_LABEL}=${stack}`]);
        if (services.length === 0 && secrets.length === 0) {
          io.stderr(`Nothing found in stack: ${stack}\n`);
          continue;
        }
        for (const s of services) {
          io.stdout(`Removing service ${s.Spec.Name}\n`);
          try {
            await client.call((c, o, cb) => c.ServiceRemove({ ref: s.ID, stale_ok: false }, o, cb));
          } catch (err) {
            errs.push(err);
          }
        }
        for (const s of secrets) {
          io.stdout(`Removing secret ${s.Spec.Name}\n`);
          try {
            await removeSecret(client, s.ID);
          } catch (err) {
            errs.push(err);
          }
        }
      }
      if (errs.length) throw combineErrors(errs);
    },
  );
}
