import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** Human-readable output (pino-pretty) instead of JSON lines. */
  pretty: boolean;
}

/** The root logger; components receive `logger.child({ component })`. */
export function createLogger(options: LoggerOptions): Logger {
  if (!options.pretty) return pino({ level: options.level });
  return pino({
    level: options.level,
    transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } },
  });
}

/** A logger that drops everything: for tests and library use without output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
