/**
 * A child process that writes its own output straight into a log file (no
 * pipe through the parent, so it can outlive it) and leads its own process
 * group (so a terminal's Ctrl-C reaches only the parent, which decides how
 * to stop it). Used by `kplane up` and by the e2e harness.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface ExitInfo {
  code: number | null;
  /** The signal that ended it, or why it never started. */
  signal: string | null;
}

export interface LoggedChild {
  child: ChildProcess;
  /** Undefined until the child exits (or fails to start). */
  exit(): ExitInfo | undefined;
  exited: Promise<ExitInfo>;
}

export interface LoggedChildOptions {
  logFile: string;
  /** Keep what the file holds (default: start it afresh). */
  append?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function spawnLogged(command: string, args: readonly string[], options: LoggedChildOptions): LoggedChild {
  const fd = openSync(options.logFile, options.append ? 'a' : 'w');
  let child: ChildProcess;
  try {
    child = spawn(command, args, { stdio: ['ignore', fd, fd], env: options.env, cwd: options.cwd, detached: true });
  } finally {
    closeSync(fd);
  }
  let exit: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
    child.once('error', (error) => {
      exit ??= { code: null, signal: `spawn error: ${error.message}` };
      resolve(exit);
    });
  });
  return { child, exit: () => exit, exited };
}
