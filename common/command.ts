import type { Logger } from './logger.ts';
import type { CommandSpec, FlagSpec } from './flags.ts';
import { parseFlags } from './flags.ts';

export interface CommandContext {
  logger: Logger;
  /** Aborted on SIGTERM/SIGINT: the command stops cleanly and resolves. */
  signal: AbortSignal;
  /** The environment, read only here at the edge (bin/ passes process.env). */
  env: Readonly<Record<string, string | undefined>>;
  /** Where human-facing output (reports, --dry-run text) goes. */
  stdout: NodeJS.WritableStream;
}

type Values<F extends FlagSpec> = ReturnType<typeof parseFlags<F>>['values'];

export interface Command<F extends FlagSpec = FlagSpec> {
  spec: CommandSpec<F>;
  /** Resolves when the command is finished: at once for one-shot commands, after ctx.signal for servers. */
  run(values: Values<F>, ctx: CommandContext): Promise<void>;
}

export function defineCommand<F extends FlagSpec>(command: Command<F>): Command<F> {
  return command;
}
