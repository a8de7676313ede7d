import { Command, CommanderError } from 'commander';
import { VERSION } from '../shared/version.js';
import { Client, resolveHost } from './client.js';
import { registerInfo } from './commands/info.js';
import { registerServiceCommands } from './service/commands.js';
import { registerNodeCommands } from './commands/node/index.js';
import { registerSwarmCommands } from './commands/swarm/index.js';
import { registerSecretCommands } from './commands/secret/index.js';
import { registerStackCommands } from './stack/commands.js';
import { commandPath } from './command.js';
import { usageError, type Context } from './context.js';
import { errorText } from './errors.js';
import type { CliIo } from './io.js';

/** Command groups whose subcommands register themselves; the order is `tswarm --help`'s. */
const GROUPS: readonly (readonly [name: string, description: string])[] = [
  ['swarm', 'Manage Swarm'],
  ['node', 'Manage Swarm nodes'],
  ['service', 'Manage Swarm services'],
  ['secret', 'Manage Swarm secrets'],
  ['stack', 'Manage Swarm stacks'],
];

export type GroupRegistrar = (group: Command, ctx: Context) => void;

/** Subcommand registrars per group, filled in by the command modules. */
const registrars = new Map<string, GroupRegistrar[]>([['service', [registerServiceCommands]]]);

export function registerGroup(name: string, fn: GroupRegistrar): void {
  const list = registrars.get(name) ?? [];
  list.push(fn);
  registrars.set(name, list);
}

registerGroup('swarm', registerSwarmCommands);
registerGroup('node', registerNodeCommands);
registerGroup('secret', registerSecretCommands);
registerGroup('stack', registerStackCommands);

/**
 * Runs the CLI on argv (without node and the script) and returns the exit code:
 * 0 on success, 1 on any error (usage, daemon refusal, no daemon), as Docker's CLI.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let client: Client | undefined;
  let hostFlag: string | undefined;
  const ctx: Context = {
    io,
    client() {
      client ??= new Client(resolveHost(hostFlag, io.env));
      return client;
    },
    fail: usageError,
  };

  const program = new Command('tswarm')
    .enablePositionalOptions()
    .description('A self-sufficient runtime for containers, in swarm mode')
    .version(VERSION, '-v, --version', 'Print version information and quit')
    .option('-H, --host <socket>', 'daemon control socket to connect to (env TSWARM_HOST)')
    .helpCommand(false)
    .configureHelp({ subcommandTerm: (c) => c.name() })
    .showSuggestionAfterError(true)
    .hook('preAction', (_this, action) => {
      hostFlag = action.optsWithGlobals<{ host?: string }>().host;
    });

  const configure = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({
      writeOut: (s) => {
        io.stdout(s);
      },
      writeErr: (s) => {
        io.stderr(s);
      },
      outputError: (s, write) => {
        write(s);
      },
    });
  };

  configure(program);
  registerInfo(program, ctx);
  program
    .command('version')
    .description('Show the tswarm version information')
    .action(() => {
      io.stdout(`tswarm version ${VERSION}\n`);
    });
  for (const [name, description] of GROUPS) {
    const group = program
      .command(name)
      .description(description)
      .usage('COMMAND')
      .argument('[command...]')
      .configureHelp({ sortSubcommands: true, subcommandTerm: (c) => c.name() });
    for (const fn of registrars.get(name) ?? []) fn(group, ctx);
    group.action((words: string[]) => {
      const [word] = words;
      if (word !== undefined) {
        usageError(
          `unknown command "${word}" for "${commandPath(group)}"\nSee '${commandPath(group)} --help'.`,
        );
      }
      group.outputHelp();
    });
  }
  const configureAll = (cmd: Command): void => {
    configure(cmd);
    for (const sub of cmd.commands) configureAll(sub);
  };
  configureAll(program);

  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has printed its message; help and version exit 0.
      return err.exitCode === 0 ? 0 : 1;
    }
    io.stderr(`${errorText(err)}\n`);
    return 1;
  } finally {
    client?.close();
  }
}
