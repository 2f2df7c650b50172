/**
 * Runs the real `bin/kplane apiserver` as a child process on a free loopback
 * port and a temporary data directory, for tests that drive it like a user
 * (kubectl, restarts, kill -9).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const repoRoot = resolve(import.meta.dirname, '../../..');
export const kplaneBin = join(repoRoot, 'bin/kplane');

export interface ApiServerProcess {
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** Everything the process logged, for failure messages. */
  logs: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Starts the API store and resolves once it logs where it serves. */
export function startApiServerProcess(dataDir: string, extraArgs: string[] = []): Promise<ApiServerProcess> {
  const child = spawn(kplaneBin, ['apiserver', '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...extraArgs], {
    env: { ...process.env, KPLANE_LOG_FORMAT: 'json', KPLANE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return new Promise((resolveStart, rejectStart) => {
    const lines = createInterface({ input: child.stderr as NodeJS.ReadableStream });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => logs.push(line));
    lines.on('line', (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; addresses?: string[] };
        const address = entry.msg === 'API store serving' ? entry.addresses?.find((a) => !a.startsWith('unix:')) : undefined;
        if (address) resolveStart({ url: `http://${address}`, dataDir, child, logs, stop });
      } catch {
        // not a JSON log line
      }
    });
    void exited.then((code) => rejectStart(new Error(`apiserver exited (${code}) before serving:\n${logs.join('\n')}`)));
  });
}
