/**
 * The one way the proxy runs programs (iptables-restore, iptables-save,
 * iptables, conntrack): an injectable function, so the sync loop is tested
 * with a recording fake and the real one is execa behind a timeout.
 */
import { execa } from 'execa';

export interface CommandResult {
  /** undefined when the program could not start, timed out or was killed. */
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

export type CommandRunner = (file: string, args: readonly string[], options?: { input?: string }) => Promise<CommandResult>;

/** Runs programs with execa; never throws for a failed program, which the caller judges by exitCode. */
export function execaRunner(options: { timeoutMs?: number } = {}): CommandRunner {
  return async (file, args, runOptions = {}) => {
    const result = await execa(file, args, {
      input: runOptions.input ?? '',
      timeout: options.timeoutMs ?? 60_000,
      forceKillAfterDelay: 1_000,
      reject: false,
      stripFinalNewline: false,
      maxBuffer: 512 * 1024 * 1024,
    });
    const stderr = String(result.stderr ?? '');
    return {
      exitCode: result.exitCode,
      stdout: String(result.stdout ?? ''),
      stderr: result.exitCode === undefined && stderr === '' ? (result.shortMessage ?? result.message ?? '') : stderr,
    };
  };
}
