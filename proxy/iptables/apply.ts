/**
 * The iptables backend's side-effect edge. It holds no rule logic: it hands
 * a rendered payload to one `iptables-restore --noflush --counters` (one
 * transaction, applied whole or not at all), reads the kernel's rules back
 * with iptables-save, and checks for the canary chain. Failures come back
 * as typed errors; the sync loop decides what to do about them.
 */
import { IptablesRestoreError, ProxyCommandError } from '../errors.ts';
import type { CommandRunner } from '../exec.ts';

/** Seconds to wait for the xtables lock (only legacy iptables takes it; nft ignores the flag). */
const LOCK_WAIT_SECONDS = '5';
const CONTEXT_LINES = 3;

function failure(program: string, exitCode: number | undefined, stderr: string): string {
  const why = exitCode === undefined ? 'did not finish' : `exited ${exitCode}`;
  const detail = stderr.trim().split('\n')[0] ?? '';
  return `${program} ${why}${detail ? `: ${detail}` : ''}`;
}

/** The line iptables-restore blames: "Error occurred at line: N" (parse errors) or "line N: … failed" (commit errors). */
export function failedLine(stderr: string): number | undefined {
  const match = /Error occurred at line: (\d+)/.exec(stderr) ?? /line (\d+)(?::| failed)/.exec(stderr);
  return match ? Number(match[1]) : undefined;
}

/** The payload lines around `line`, numbered, the failing one marked with ">". */
export function linesAround(text: string, line: number, around = CONTEXT_LINES): string {
  const lines = text.split('\n');
  const first = Math.max(1, line - around);
  const last = Math.min(lines.length, line + around);
  const out: string[] = [];
  for (let n = first; n <= last; n++) out.push(`${n === line ? '>' : ' '}${String(n).padStart(6)}  ${lines[n - 1] ?? ''}`);
  return out.join('\n');
}

/** iptables-restore's complaint without its version banner, usage hint and line report. */
export function restoreComplaint(stderr: string): string {
  return stderr
    .split('\n')
    .map((line) => line.replace(/^iptables-restore( v[^:]*)?:\s*/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('Error occurred at line') && !line.startsWith('Try `iptables-restore'))
    .join('; ');
}

export async function restoreRules(run: CommandRunner, text: string): Promise<void> {
  const result = await run('iptables-restore', ['-w', LOCK_WAIT_SECONDS, '--noflush', '--counters'], { input: text });
  if (result.exitCode === 0) return;
  const line = failedLine(result.stderr);
  const why = result.exitCode === undefined ? 'did not finish' : `exited ${result.exitCode}`;
  const where = line === undefined ? '' : ` at line ${line}`;
  const complaint = restoreComplaint(result.stderr);
  throw new IptablesRestoreError(`iptables-restore ${why}${where}${complaint ? `: ${complaint}` : ''}`, {
    line,
    context: line === undefined ? '' : linesAround(text, line),
    stderr: result.stderr,
  });
}

/** Every table's rules, as iptables-save prints them. */
export async function saveRules(run: CommandRunner): Promise<string> {
  const result = await run('iptables-save', []);
  if (result.exitCode !== 0) throw new ProxyCommandError(failure('iptables-save', result.exitCode, result.stderr), result.stderr);
  return result.stdout;
}

export async function chainExists(run: CommandRunner, table: string, chain: string): Promise<boolean> {
  const result = await run('iptables', ['-w', LOCK_WAIT_SECONDS, '-t', table, '-S', chain]);
  if (result.exitCode === 0) return true;
  // Exit 1 is "no such chain"; anything else means iptables itself is in trouble.
  if (result.exitCode === 1) return false;
  throw new ProxyCommandError(failure('iptables', result.exitCode, result.stderr), result.stderr);
}
