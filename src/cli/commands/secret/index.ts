import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Secret } from '../../../shared/api-types.js';
import { TswarmError } from '../../../shared/errors.js';
import { decodeObject, type Client } from '../../client.js';
import { addCommand, collect } from '../../command.js';
import type { Context } from '../../context.js';
import { combineErrors } from '../../errors.js';
import { humanDuration, renderTable } from '../../service/render.js';
import { parseKeyValues } from '../../service/spec-flags.js';

/** Creates a secret; resolves with its ID. Shared with `stack deploy`. */
export async function createSecret(
  client: Client,
  name: string,
  labels: Record<string, string>,
  data: Buffer,
): Promise<string> {
  const r = await client.call<{ id: string }>((c, o, cb) =>
    c.SecretCreate({ name, labels, data }, o, cb),
  );
  return r.id;
}

export async function listSecrets(client: Client, filters: readonly string[]): Promise<Secret[]> {
  const r = await client.call<{ json: string[] }>((c, o, cb) =>
    c.SecretList({ filters: [...filters], stale_ok: false }, o, cb),
  );
  return r.json.map((j) => decodeObject<Secret>(j, 'secret'));
}

export async function removeSecret(client: Client, ref: string): Promise<void> {
  await client.call((c, o, cb) => c.SecretRemove({ ref, stale_ok: false }, o, cb));
}

async function inspectSecret(client: Client, ref: string): Promise<Secret> {
  const r = await client.call<{ json: string }>((c, o, cb) =>
    c.SecretInspect({ ref, stale_ok: false }, o, cb),
  );
  return decodeObject<Secret>(r.json, 'secret');
}

function ago(iso: string, now: number): string {
  return `${humanDuration(now - Date.parse(iso))} ago`;
}

function prettySecret(s: Secret): string {
  const labels = Object.entries(s.Spec.Labels);
  return [
    `ID:              ${s.ID}`,
    `Name:            ${s.Spec.Name}`,
    ...(labels.length ? ['Labels:', ...labels.map(([k, v]) => ` - ${k}=${v}`)] : []),
    `Driver:`,
    `Created at:      ${s.CreatedAt}`,
    `Updated at:      ${s.UpdatedAt}`,
  ].join('\n');
}

/** `tswarm secret create|ls|inspect|rm`, with Docker's output and texts. */
export function registerSecretCommands(group: Command, ctx: Context): void {
  const io = ctx.io;

  addCommand<{ label?: string[] }>(
    group,
    {
      name: 'create',
      usage: '[OPTIONS] SECRET [file|-]',
      description: 'Create a secret from a file or STDIN as content',
      args: { min: 1, max: 2 },
    },
    (cmd) => cmd.option('-l, --label <KEY=VALUE>', 'Secret labels', collect),
    async ([name = '', file], opts) => {
      const labels = parseKeyValues(opts.label ?? [], '--label');
      if (file === undefined) ctx.fail('secret data must be given as a file or - for STDIN');
      let data: Buffer;
      if (file === '-') {
        if (!io.readStdin) ctx.fail('cannot read STDIN here');
        data = await io.readStdin();
      } else {
        try {
          data = await readFile(file);
        } catch (err) {
          const code = (err as { code?: string }).code;
          throw new TswarmError(
            'NOT_FOUND',
            code === 'ENOENT' ? `open ${file}: no such file or directory` : String(err),
          );
        }
      }
      io.stdout(`${await createSecret(ctx.client(), name, labels, data)}\n`);
    },
  );

  addCommand<{ quiet?: boolean; filter?: string[]; format?: string }>(
    group,
    {
      name: 'ls',
      aliases: ['list'],
      usage: '[OPTIONS]',
      description: 'List secrets',
      args: { min: 0, max: 0 },
    },
    (cmd) =>
      cmd
        .option('-q, --quiet', 'Only display IDs')
        .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
        .option('--format <format>', 'Format output: table or json'),
    async (_args, opts) => {
      if (opts.format !== undefined && opts.format !== 'json' && opts.format !== 'table')
        ctx.fail(`unsupported format "${opts.format}": use table or json`);
      const secrets = await listSecrets(ctx.client(), opts.filter ?? []);
      if (opts.quiet) {
        io.stdout(secrets.map((s) => `${s.ID}\n`).join(''));
        return;
      }
      const now = Date.now();
      if (opts.format === 'json') {
        for (const s of secrets) {
          io.stdout(
            JSON.stringify({
              CreatedAt: ago(s.CreatedAt, now),
              Driver: '',
              ID: s.ID,
              Labels: Object.entries(s.Spec.Labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(','),
              Name: s.Spec.Name,
              UpdatedAt: ago(s.UpdatedAt, now),
            }) + '\n',
          );
        }
        return;
      }
      io.stdout(
        renderTable(
          ['ID', 'NAME', 'DRIVER', 'CREATED', 'UPDATED'],
          secrets.map((s) => [s.ID, s.Spec.Name, '', ago(s.CreatedAt, now), ago(s.UpdatedAt, now)]),
        ),
      );
    },
  );

  addCommand<{ pretty?: boolean; format?: string }>(
    group,
    {
      name: 'inspect',
      usage: '[OPTIONS] SECRET [SECRET...]',
      description: 'Display detailed information on one or more secrets',
      args: { min: 1 },
    },
    (cmd) =>
      cmd
        .option('--pretty', 'Print the information in a human friendly format')
        .option('-f, --format <format>', 'Format output: json'),
    async (refs, opts) => {
      const client = ctx.client();
      const found: Secret[] = [];
      const errs: unknown[] = [];
      for (const ref of refs) {
        try {
          found.push(await inspectSecret(client, ref));
        } catch (err) {
          if (err instanceof TswarmError && err.code === 'NOT_FOUND')
            errs.push(new Error(`No such secret: ${ref}`));
          else errs.push(err);
        }
      }
      if (opts.pretty)
        io.stdout(found.map(prettySecret).join('\n\n\n') + (found.length ? '\n' : ''));
      else io.stdout(JSON.stringify(found, null, 4) + '\n');
      if (errs.length) throw combineErrors(errs);
    },
  );

  addCommand(
    group,
    {
      name: 'rm',
      aliases: ['remove'],
      usage: 'SECRET [SECRET...]',
      description: 'Remove one or more secrets',
      args: { min: 1 },
    },
    () => undefined,
    async (refs) => {
      const client = ctx.client();
      const errs: unknown[] = [];
      for (const ref of refs) {
        try {
          await removeSecret(client, ref);
          io.stdout(`${ref}\n`);
        } catch (err) {
          errs.push(err);
        }
      }
      if (errs.length) throw combineErrors(errs);
    },
  );
}
