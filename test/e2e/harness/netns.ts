/**
 * The harness's only door to the kernel: `ip -batch` inside a namespace of
 * ours, `ip netns exec` with a timeout, and read-only looks at /run/netns and
 * /proc. Every function that changes anything refuses a namespace name that
 * does not carry the run prefix, so a bug cannot reach the root namespace.
 */
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { execa } from 'execa';
import { KplaneError } from '../../../common/errors.ts';
import { isRunPrefix, runPrefixOf } from './plan.ts';

export class HarnessError extends KplaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KPLANE_E2E_HARNESS', message, options);
  }
}

export interface CommandResult {
  command: string;
  stdout: string;
  stderr: string;
  /** undefined when the command was killed (timeout or signal) or could not start. */
  exitCode: number | undefined;
  timedOut: boolean;
}

export interface RunOptions {
  timeoutMs?: number;
  input?: string;
  /** The complete environment (PATH is added when missing); the test runner's environment is not passed on. */
  env?: Record<string, string>;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
const NETNS_DIR = '/run/netns';

function baseEnv(env: Record<string, string> | undefined): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env };
}

/** Runs a program to completion with a timeout; never throws for a non-zero exit. */
export async function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const result = await execa(file, args, {
    input: options.input ?? '',
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    forceKillAfterDelay: 500,
    env: baseEnv(options.env),
    extendEnv: false,
    reject: false,
    stripFinalNewline: false,
    maxBuffer: 16 * 1024 * 1024,
  });
  return {
    command: result.command,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    exitCode: result.exitCode,
    timedOut: result.timedOut,
  };
}

/** Throws unless `netns` belongs to a run (prefix "kpt<6 hex>-" followed by a name). */
export function assertOurNetns(netns: string, prefix?: string): void {
  const owner = runPrefixOf(netns);
  if (owner === undefined || netns.length <= owner.length || (prefix !== undefined && owner !== prefix)) {
    throw new HarnessError(`refusing to touch network namespace "${netns}": not one of this run's (${prefix ?? 'kpt<hex>-'})`);
  }
  if (netns.includes('/') || netns.includes(' ')) throw new HarnessError(`bad network namespace name "${netns}"`);
}

function describeFailure(what: string, result: CommandResult, lines?: readonly string[]): string {
  const why = result.timedOut ? 'timed out' : `exited ${result.exitCode ?? 'by signal'}`;
  const detail = result.stderr.trim() || result.stdout.trim();
  const script = lines ? `\n  batch:\n    ${lines.join('\n    ')}` : '';
  return `${what} ${why}: ${detail}${script}`;
}

/**
 * `ip -batch` inside one of the run's namespaces (`ip -n NS`), or in the root
 * context when `netns` is null; there only `netns add|del <ours>` lines pass.
 */
export async function ipBatch(netns: string | null, lines: readonly string[], prefix: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  if (!isRunPrefix(prefix)) throw new HarnessError(`bad run prefix "${prefix}"`);
  if (lines.length === 0) return;
  const args: string[] = [];
  if (netns === null) {
    for (const line of lines) {
      const match = /^netns (add|del) (\S+)$/.exec(line);
      if (!match) throw new HarnessError(`refusing root-context ip command "${line}": only "netns add|del" of our namespaces`);
      assertOurNetns(match[2] as string, prefix);
    }
  } else {
    assertOurNetns(netns, prefix);
    args.push('-n', netns);
  }
  args.push('-batch', '-');
  const result = await run('ip', args, { input: lines.join('\n') + '\n', timeoutMs });
  if (result.exitCode !== 0) throw new HarnessError(describeFailure(`ip ${netns === null ? '' : `-n ${netns} `}-batch`, result, lines));
}

/** `ip netns exec NS argv…` with a timeout; returns stdout/stderr/exit code. */
export async function execIn(netns: string, argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  assertOurNetns(netns);
  if (argv.length === 0) throw new HarnessError('execIn: empty command');
  return run('ip', ['netns', 'exec', netns, ...argv], options);
}

/** Like execIn, but throws with stderr when the command fails. */
export async function execInOrThrow(netns: string, argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const result = await execIn(netns, argv, options);
  if (result.exitCode !== 0) throw new HarnessError(describeFailure(`in ${netns}: ${argv.join(' ')}`, result));
  return result;
}

/** Sets sysctls inside one of our namespaces (never the root's: ip netns exec fails if NS is missing). */
export async function setSysctls(netns: string, values: Record<string, string | number>): Promise<void> {
  const pairs = Object.entries(values).map(([key, value]) => {
    if (!/^net\.[a-z0-9_.]+$/.test(key)) throw new HarnessError(`refusing sysctl "${key}": only net.* keys`);
    return `${key}=${value}`;
  });
  if (pairs.length > 0) await execInOrThrow(netns, ['sysctl', '-q', '-w', ...pairs]);
}

/** Names in /run/netns (what `ip netns list` shows), without spawning anything. */
export function listNetns(): string[] {
  try {
    return readdirSync(NETNS_DIR).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/**
 * Processes living in the given namespaces (what `ip netns pids` reports),
 * found in one pass over /proc by comparing namespace inodes.
 */
export function pidsInNetns(names: readonly string[]): Map<string, number[]> {
  const byInode = new Map<string, string>();
  const result = new Map<string, number[]>();
  for (const name of names) {
    assertOurNetns(name);
    result.set(name, []);
    try {
      byInode.set(`net:[${statSync(`${NETNS_DIR}/${name}`).ino}]`, name);
    } catch {
      // already gone
    }
  }
  if (byInode.size === 0) return result;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return result;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let link: string;
    try {
      link = readlinkSync(`/proc/${entry}/ns/net`);
    } catch {
      continue;
    }
    const name = byInode.get(link);
    if (name !== undefined) result.get(name)?.push(Number(entry));
  }
  return result;
}

/** True when `ip` can be run and we are root: the e2e suites skip otherwise. */
export async function netnsSupport(): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, reason: 'needs root (network namespaces)' };
  const result = await run('ip', ['-V'], { timeoutMs: 5_000 }).catch(() => undefined);
  if (!result || result.exitCode !== 0) return { ok: false, reason: '`ip` (iproute2) is not installed' };
  return { ok: true };
}
