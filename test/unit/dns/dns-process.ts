/**
 * Runs the real `bin/kplane dns` as a child process for the integration
 * tests, on loopback with ports picked by the system, and resolves once it
 * logs where it serves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { kplaneBin } from '../../integration/helpers/apiserver-process.ts';

export interface DnsProcess {
  port: number;
  health: string;
  ready: string;
  metrics: string;
  child: ChildProcess;
  logs: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startDnsProcess(args: string[]): Promise<DnsProcess> {
  const child = spawn(
    kplaneBin,
    ['dns', '--listen', '127.0.0.1:0', '--health-listen', '127.0.0.1:0', '--ready-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0', ...args],
    { env: { ...process.env, KPLANE_LOG_FORMAT: 'json', KPLANE_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => logs.push(line));
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; dns?: string; health?: string; ready?: string; metrics?: string };
        if (entry.msg === 'DNS serving' && entry.dns) {
          resolve({ port: Number(entry.dns.split(':').pop()), health: entry.health ?? '', ready: entry.ready ?? '', metrics: entry.metrics ?? '', child, logs, stop });
        }
      } catch {
        // not a JSON log line
      }
    });
    void exited.then((code) => reject(new Error(`kplane dns exited (${code}) before serving:\n${logs.join('\n')}`)));
  });
}

/** Polls `check` until it returns a value (not undefined), failing after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
