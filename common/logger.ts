import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** Human-readable output (pino-pretty) instead of JSON lines. */
  pretty: boolean;
}

/**
 * The root logger; components receive `logger.child({ component })`. Logs
 * go to stderr, as kube components do, so stdout stays free for output a
 * user pipes (`--dry-run` rules, reports).
 */
export function createLogger(options: LoggerOptions): Logger {
  if (!options.pretty) return pino({ level: options.level }, pino.destination({ fd: 2, sync: false }));
  return pino({
    level: options.level,
    transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } },
  });
}

/** A logger that drops everything: for tests and library use without output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
