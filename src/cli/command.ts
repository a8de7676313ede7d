import type { Command } from 'commander';
import { TswarmError } from '../shared/errors.js';

/** How many positional arguments a command takes (Docker's cli.NoArgs/ExactArgs/RequiresMinArgs). */
export interface ArgCount {
  readonly min: number;
  /** Omit for "at least min". */
  readonly max?: number;
}

export interface CommandSpec {
  readonly name: string;
  readonly aliases?: readonly string[];
  /** What follows the command path in `Usage:` (Docker's `Use` minus the name). */
  readonly usage: string;
  readonly description: string;
  readonly args: ArgCount;
}

/** `tswarm node promote`: the names from the root program down to `cmd`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function plural(n: number): string {
  return n === 1 ? 'argument' : 'arguments';
}

/**
 * Docker's wording for a wrong argument count, e.g.
 * `"tswarm node promote" requires at least 1 argument.` then a See/Usage block.
 */
export function argCountError(
  cmd: Command,
  spec: CommandSpec,
  got: number,
): TswarmError | undefined {
  const { min, max } = spec.args;
  const path = commandPath(cmd);
  let first: string | undefined;
  if (max === 0 && got > 0) first = `"${path}" accepts no arguments.`;
  else if (max === min && got !== min) first = `"${path}" requires exactly ${min} ${plural(min)}.`;
  else if (got < min) first = `"${path}" requires at least ${min} ${plural(min)}.`;
  else if (max !== undefined && got > max)
    first = `"${path}" requires at most ${max} ${plural(max)}.`;
  if (first === undefined) return undefined;
  const usage = `${path} ${spec.usage}`.trimEnd();
  return new TswarmError(
    'INVALID_ARGUMENT',
    `${first}\nSee '${path} --help'.\n\nUsage:  ${usage}\n\n${spec.description}`,
  );
}

/**
 * Adds a subcommand whose positional arguments are checked with Docker's messages before
 * `action` runs (so nothing reaches the daemon on a usage error). `action` gets the
 * positional arguments and the parsed options.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names its options type
export function addCommand<Opts>(
  parent: Command,
  spec: CommandSpec,
  configure: (cmd: Command) => void,
  action: (args: string[], opts: Opts, cmd: Command) => Promise<void> | void,
): Command {
  const cmd = parent
    .command(spec.name)
    .description(spec.description)
    .usage(spec.usage)
    .argument('[args...]');
  for (const alias of spec.aliases ?? []) cmd.alias(alias);
  configure(cmd);
  cmd.action(async (args: string[], opts: Opts, self: Command) => {
    const err = argCountError(self, spec, args.length);
    if (err) throw err;
    await action(args, opts, self);
  });
  return cmd;
}

/** commander's collector for repeatable flags (`--filter a=b --filter c=d`). */
export function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value];
}
