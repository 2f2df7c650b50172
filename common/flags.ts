import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.ts';

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec<F extends FlagSpec> {
  name: string;
  summary: string;
  usage: string;
  flags: F;
  /** One line of help per flag, printed by --help. */
  help: Partial<Record<keyof F & string, string>>;
}

/**
 * Parses argv for one subcommand. Unknown or malformed flags become a
 * UsageError with one line that names the flag, which the CLI prints before
 * exiting non-zero.
 */
export function parseFlags<F extends FlagSpec>(spec: CommandSpec<F>, argv: string[]) {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...spec.flags, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
      strict: true,
    });
    return { values, positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UsageError(`kplane ${spec.name}: ${message} (see kplane ${spec.name} --help)`);
  }
}

export function helpText<F extends FlagSpec>(spec: CommandSpec<F>): string {
  const lines = [`${spec.summary}`, '', `Usage: ${spec.usage}`, '', 'Flags:'];
  for (const [name, option] of Object.entries(spec.flags)) {
    const value = option.type === 'string' ? ` ${name.toUpperCase().replaceAll('-', '_')}` : '';
    const repeat = option.multiple ? ' (repeatable)' : '';
    lines.push(`  --${name}${value}${repeat}`.padEnd(34) + (spec.help[name] ?? ''));
  }
  lines.push('  --help'.padEnd(34) + 'show this help');
  return lines.join('\n');
}

/** Parses "HOST:PORT" (IPv6 as "[::1]:53"); the port must be 0-65535. */
export function parseHostPort(flag: string, value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new UsageError(`--${flag}: expected HOST:PORT, got "${value}"`);
  return { host: (match[1] ?? match[2]) as string, port };
}
