/**
 * The iptables backend's side-effect edge. It holds no rule logic: it hands
 * a rendered payload to one `iptables-restore --noflush --counters` (each
 * table's COMMIT is one transaction, applied whole or not at all), reads the
 * kernel's rules back with iptables-save, checks for the canary chain, and
 * tells which iptables the host uses. Failures come back as typed errors;
 * the sync loop decides what to do about them.
 *
 * The `iptables*` programs are the host's (on Debian, `update-alternatives`
 * picks iptables-nft or iptables-legacy): kplane follows the host's mode as
 * kube-proxy does, so its rules live in the same ruleset as the kubelet's,
 * the CNI's and the firewall's. See proxy/README.md ("Performance") for what
 * each mode costs and why kplane does not switch to the faster one itself.
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

/** Which kernel interface the host's `iptables` drives. */
export type IptablesMode = 'nft' | 'legacy' | 'unknown';

/** From `iptables -V`: "iptables v1.8.9 (nf_tables)" or "iptables v1.8.9 (legacy)". */
export function parseIptablesMode(versionOutput: string): IptablesMode {
  if (versionOutput.includes('(nf_tables)')) return 'nft';
  if (versionOutput.includes('(legacy)')) return 'legacy';
  return 'unknown';
}

export async function iptablesMode(run: CommandRunner): Promise<IptablesMode> {
  const result = await run('iptables', ['-V']);
  if (result.exitCode !== 0) throw new ProxyCommandError(failure('iptables', result.exitCode, result.stderr), result.stderr);
  return parseIptablesMode(result.stdout + result.stderr);
}

/** Fewest per-service chains per nat commit worth splitting at (a few ms of fixed cost per commit). */
export const MIN_CHAINS_PER_COMMIT = 500;

/**
 * How many per-service chains one nat commit should hold with iptables-nft
 * (render's natChainsPerCommit), given the kplane nat rules already in the
 * kernel. Two costs pull apart: iptables-nft 1.8.9 spends O(n²) in userspace
 * on the n chains one transaction names (a sorted linked list), and the
 * kernel re-validates every rule reachable from the built-in chains on each
 * commit (0.3 s at 10,000 services × 10 endpoints on the test machine). The
 * total is flat near its minimum around n = √(25 × installed rules): 500 on
 * an empty node, ~1,000 at 1,000 services × 10 endpoints, ~3,300 at 10,000
 * (measured: 100/50/34/20 commits took 43/34/32/36 s there).
 * undefined (one commit) for legacy iptables, whose every commit replaces
 * the whole table, and when the mode is unknown.
 */
export function natChainsPerCommit(mode: IptablesMode, installedNatRules: number): number | undefined {
  if (mode !== 'nft') return undefined;
  return Math.max(MIN_CHAINS_PER_COMMIT, Math.round(Math.sqrt(25 * Math.max(0, installedNatRules))));
}
