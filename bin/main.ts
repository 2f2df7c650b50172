import { UsageError } from '../common/errors.ts';
import { helpText, parseFlags, type FlagSpec } from '../common/flags.ts';
import { createLogger } from '../common/logger.ts';
import type { Command } from '../common/command.ts';

/** Subcommands load lazily so `kplane dns` never pays for the API server's imports. */
const commands: Record<string, () => Promise<Command<FlagSpec>>> = {
  apiserver: async () => (await import('../controlplane/cli.ts')).apiserverCommand as unknown as Command<FlagSpec>,
  demo: async () => (await import('../launcher/demo.ts')).demoCommand as unknown as Command<FlagSpec>,
  dns: async () => (await import('../dns/cli.ts')).dnsCommand as unknown as Command<FlagSpec>,
  ingress: async () => (await import('../ingress/cli.ts')).ingressCommand as unknown as Command<FlagSpec>,
  proxy: async () => (await import('../proxy/cli.ts')).proxyCommand as unknown as Command<FlagSpec>,
  up: async () => (await import('../launcher/up.ts')).upCommand as unknown as Command<FlagSpec>,
};

function usage(): string {
  return [
    'kplane: the networking data plane of a Kubernetes cluster',
    '',
    'Usage: kplane <command> [flags]',
    '',
    'Commands:',
    ...Object.keys(commands).map((name) => `  ${name}`),
    '',
    'Run "kplane <command> --help" for its flags.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`kplane: unknown command "${name}" (run kplane --help)\n`);
    return 2;
  }
  const command = await load();
  const { values } = parseFlags(command.spec, rest);
  if (values['help']) {
    process.stdout.write(helpText(command.spec) + '\n');
    return 0;
  }
  const env = process.env;
  const logger = createLogger({
    level: env['KPLANE_LOG_LEVEL'] ?? 'info',
    pretty: env['KPLANE_LOG_FORMAT'] ? env['KPLANE_LOG_FORMAT'] === 'pretty' : Boolean(process.stderr.isTTY),
  });
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) process.exit(130);
    logger.info({ signal }, 'stopping');
    controller.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await command.run(values, { logger, signal: controller.signal, env, stdout: process.stdout });
  logger.flush();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    // Exit now: a command that failed half-started (say, a port in use) may still hold watches and timers.
    if (error instanceof UsageError) {
      process.stderr.write(error.message + '\n');
      process.exit(2);
    }
    // One line for the operator; the stack only when asked for (KPLANE_LOG_LEVEL=debug).
    const debug = process.env['KPLANE_LOG_LEVEL'] === 'debug';
    const text = error instanceof Error ? (debug ? (error.stack ?? error.message) : error.message) : String(error);
    process.stderr.write(`kplane ${process.argv[2] ?? ''}: ${text}\n`);
    process.exit(1);
  },
);
