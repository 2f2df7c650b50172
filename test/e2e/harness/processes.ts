/**
 * Long-running processes inside our namespaces (pod apps, agents, the API
 * store). Output goes straight to a log file (not a pipe), so a process
 * outlives the test runner when a cluster is kept for debugging, and its log
 * can be printed when a test fails. Each process leads its own process group;
 * stop() sends SIGTERM to the group, then SIGKILL after a bounded wait.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { spawnLogged, type ExitInfo } from '../../../common/logged-child.ts';
import { assertOurNetns, HarnessError } from './netns.ts';

export interface SpawnOptions {
  /** Used in messages and log headers, e.g. "pod default/web-1" or "proxy node-1". */
  name: string;
  logFile: string;
  /** The complete environment; PATH is added when missing. */
  env?: Record<string, string>;
  cwd?: string;
  /** Keep running when the test runner exits (KEEP_CLUSTER). */
  survive?: boolean;
}

export type { ExitInfo };

export interface ManagedProcess {
  readonly name: string;
  readonly netns: string;
  readonly argv: readonly string[];
  readonly pid: number;
  readonly logFile: string;
  /** Set once the process has exited. */
  readonly exit: ExitInfo | undefined;
  readonly exited: Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. Idempotent. */
  stop(graceMs?: number): Promise<ExitInfo>;
  /** The log so far (the last `maxBytes`). */
  log(maxBytes?: number): string;
  /** Polls the log until `pattern` matches; throws on timeout or exit. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** The last `maxBytes` of a file ('' when it is missing). */
export function readTail(path: string, maxBytes = 64 * 1024): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Process groups to kill if the runner exits without a teardown (kept clusters are not in it). */
const ownedGroups = new Set<number>();
process.on('exit', () => {
  for (const pid of ownedGroups) signalGroup(pid, 'SIGKILL');
});

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
}

/** Starts `argv` inside `netns` via `ip netns exec`, output appended to options.logFile. */
export function spawnInNetns(netns: string, argv: readonly string[], options: SpawnOptions): ManagedProcess {
  assertOurNetns(netns);
  if (argv.length === 0) throw new HarnessError(`${options.name}: empty command`);
  const { child, exit: exitInfo, exited } = spawnLogged('ip', ['netns', 'exec', netns, ...argv], {
    logFile: options.logFile,
    append: true,
    env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...options.env },
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  });
  const pid = child.pid;
  if (pid === undefined) throw new HarnessError(`${options.name}: could not start ${argv.join(' ')}`);
  if (options.survive) child.unref();
  else ownedGroups.add(pid);
  void exited.then(() => ownedGroups.delete(pid));

  let stopping: Promise<ExitInfo> | undefined;
  const handle: ManagedProcess = {
    name: options.name,
    netns,
    argv,
    pid,
    logFile: options.logFile,
    get exit() {
      return exitInfo();
    },
    exited,
    stop(graceMs = 3_000) {
      const finished = exitInfo();
      if (finished) return Promise.resolve(finished);
      stopping ??= (async () => {
        signalGroup(pid, 'SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const killed = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            signalGroup(pid, 'SIGKILL');
            resolve();
          }, graceMs);
        });
        await Promise.race([exited, killed]);
        clearTimeout(timer);
        // After SIGKILL the exit event follows promptly; bound the wait anyway.
        const late = await Promise.race([exited, new Promise<undefined>((resolve) => setTimeout(resolve, 2_000, undefined).unref())]);
        return late ?? { code: null, signal: 'SIGKILL' };
      })();
      return stopping;
    },
    log(maxBytes) {
      return readTail(options.logFile, maxBytes);
    },
    async waitForLog(pattern, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (let i = 0; ; i++) {
        const text = readTail(options.logFile, 1024 * 1024);
        const match = pattern.exec(text);
        if (match) return match[0];
        const exit = exitInfo();
        if (exit) throw new HarnessError(`${options.name} exited (${exit.code ?? exit.signal}) before logging ${pattern}:\n${readTail(options.logFile, 4096)}`);
        if (Date.now() > deadline) throw new HarnessError(`${options.name} did not log ${pattern} within ${timeoutMs} ms:\n${readTail(options.logFile, 4096)}`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(20 + i * 5, 100)));
      }
    },
  };
  return handle;
}

/** Polls for a file (a pod app's "listening" marker) with a bounded wait; throws if the process exits first. */
export async function waitForFile(path: string, process_: ManagedProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    if (existsSync(path)) return;
    if (process_.exit) throw new HarnessError(`${process_.name} exited (${process_.exit.code ?? process_.exit.signal}) before it was ready:\n${process_.log(4096)}`);
    if (Date.now() > deadline) throw new HarnessError(`${process_.name} was not ready within ${timeoutMs} ms:\n${process_.log(4096)}`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(10 + i * 5, 100)));
  }
}
