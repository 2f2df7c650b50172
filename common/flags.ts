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
  const rows = Object.entries(spec.flags).map(([name, option]) => {
    const value = option.type === 'string' ? ` ${name.toUpperCase().replaceAll('-', '_')}` : '';
    const repeat = option.multiple ? ' (repeatable)' : '';
    return [`  --${name}${value}${repeat}`, spec.help[name] ?? ''] as const;
  });
  rows.push(['  --help', 'show this help']);
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return [spec.summary, '', `Usage: ${spec.usage}`, '', 'Flags:', ...rows.map(([flag, text]) => flag.padEnd(width) + text)].join('\n');
}

/** Parses "HOST:PORT" (IPv6 as "[::1]:53"); the port must be 0-65535. */
export function parseHostPort(flag: string, value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new UsageError(`--${flag}: expected HOST:PORT, got "${value}"`);
  return { host: (match[1] ?? match[2]) as string, port };
}
