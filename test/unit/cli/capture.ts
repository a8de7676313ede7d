import type { CliIo } from '../../../src/cli/io.js';
import { main } from '../../../src/cli/main.js';

export interface Captured extends CliIo {
  out: string;
  err: string;
}

/** An io that records what the CLI writes. */
export function capture(env: Record<string, string> = {}): Captured {
  const io: Captured = {
    out: '',
    err: '',
    env,
    stdout: (s: string) => {
      io.out += s;
    },
    stderr: (s: string) => {
      io.err += s;
    },
  };
  return io;
}

/** Runs `tswarm -H host ...argv` and returns the exit code with what was printed. */
export async function run(
  host: string,
  argv: readonly string[],
): Promise<{ code: number; out: string; err: string }> {
  const io = capture();
  const code = await main(['-H', host, ...argv], io);
  return { code, out: io.out, err: io.err };
}

/** A socket path where no daemon listens. */
export const NO_DAEMON = 'unix:///nonexistent/tswarm-cli-test/control.sock';
