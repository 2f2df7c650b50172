/**
 * What both ingress benchmarks share: wrk runs with a JSON summary, nginx
 * instances from a config text, child processes on the project's Node, and
 * table printing. Everything listens on 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';

export const benchDir = import.meta.dirname;
export const repoRoot = resolve(benchDir, '../..');

export const knob = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  /** Non-2xx/3xx responses plus socket errors and timeouts. */
  errors: number;
  non2xx: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface WrkOptions {
  url: string;
  host: string;
  connections: number;
  threads: number;
  seconds: number;
}

/** Runs wrk with report.lua, which prints one JSON line that this parses. */
export async function wrk(options: WrkOptions): Promise<WrkResult> {
  const { stdout } = await execa('wrk', [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    '--timeout', '5s',
    '-H', `Host: ${options.host}`,
    '-s', join(benchDir, 'report.lua'),
    options.url,
  ]);
  const line = stdout.split('\n').find((text) => text.startsWith('WRKJSON '));
  if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
  const raw = JSON.parse(line.slice('WRKJSON '.length)) as {
    requests: number;
    duration_us: number;
    errors: { connect: number; read: number; write: number; status: number; timeout: number };
    latency_us: { p50: number; p99: number; max: number };
  };
  const seconds = raw.duration_us / 1e6;
  const e = raw.errors;
  return {
    requests: raw.requests,
    seconds,
    rps: raw.requests / seconds,
    errors: e.connect + e.read + e.write + e.status + e.timeout,
    non2xx: e.status,
    p50Ms: raw.latency_us.p50 / 1000,
    p99Ms: raw.latency_us.p99 / 1000,
    maxMs: raw.latency_us.max / 1000,
  };
}

/** Waits until the process listens on every port; fails with its output if it exits first. */
export async function waitReady(running: Running, ports: readonly number[], timeoutMs = 15_000): Promise<void> {
  for (const port of ports) await waitForPort(port, timeoutMs, running);
}

/** CPU seconds used so far by a process and its children (utime + stime of each, from /proc). */
export function cpuSeconds(pid: number): number {
  const ticks = (id: number): number => {
    try {
      const fields = readFileSync(`/proc/${id}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      const children = readFileSync(`/proc/${id}/task/${id}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      return Number(fields[11]) + Number(fields[12]) + children.reduce((sum, child) => sum + ticks(child), 0);
    } catch {
      return 0;
    }
  };
  // Linux reports in clock ticks of 1/100 s (USER_HZ).
  return ticks(pid) / 100;
}

export interface Measured extends WrkResult {
  /** CPU the proxy process spent per request: steadier than req/s on a shared machine. */
  cpuMicrosPerRequest: number;
}

export async function measureCpu(target: Running, load: () => Promise<WrkResult>): Promise<Measured> {
  const pid = target.child.pid ?? 0;
  const before = cpuSeconds(pid);
  const result = await load();
  return { ...result, cpuMicrosPerRequest: ((cpuSeconds(pid) - before) / result.requests) * 1e6 };
}

export async function waitForPort(port: number, timeoutMs = 15_000, running?: Running): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (running && (running.child.exitCode !== null || running.child.signalCode !== null)) throw new Error(`exited before listening on ${port}:\n${running.output.join('')}`);
    const open = await new Promise<boolean>((resolveOpen) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolveOpen(true);
      });
      socket.once('error', () => resolveOpen(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/**
 * Ports for the servers of one run, counted up from BENCH_PORT_BASE (default
 * 28100, below Linux's ephemeral range, so the many outgoing connections of a
 * load test cannot take a port between choosing it and nginx binding it).
 * Each is checked by binding it first.
 */
let nextBenchPort = knob('BENCH_PORT_BASE', 28100);

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  for (let attempts = 0; attempts < 200; attempts++) {
    const port = nextBenchPort++;
    const free = await new Promise<boolean>((resolveFree) => {
      const server = createServer();
      server.once('error', () => resolveFree(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port found from BENCH_PORT_BASE');
}

export interface Running {
  child: ChildProcess;
  output: string[];
  stop(): Promise<void>;
}

export function run(command: string, args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  return {
    child,
    output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** A Node script on the same Node that runs this benchmark (the project's pinned Node 24). */
export function runNode(script: string, args: string[], env: Record<string, string> = {}): Running {
  return run(process.execPath, ['--disable-warning=ExperimentalWarning', script, ...args], env);
}

export interface Nginx extends Running {
  dir: string;
}

/** Starts nginx in the foreground from a config body (the http{} block's content and worker count). */
export function startNginx(name: string, workers: number, httpBlock: string): Nginx {
  const dir = mkdtempSync(join(tmpdir(), `kplane-bench-${name}-`));
  mkdirSync(join(dir, 'logs'));
  const user = process.getuid?.() === 0 ? 'user root root;\n' : '';
  const conf = `${user}worker_processes ${workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${httpBlock}
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const running = run('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')]);
  return {
    ...running,
    dir,
    async stop() {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The upstream both proxies talk to: nginx answering a fixed 200 on each
 * port, so the backend costs little next to the proxy being measured.
 */
export function startBackend(ports: readonly number[]): Nginx {
  const servers = ports
    .map((port) => `  server { listen 127.0.0.1:${port}; keepalive_requests 1000000; keepalive_timeout 120s; location / { default_type text/plain; return 200 "hello from ${port}\\n"; } }`)
    .join('\n');
  return startNginx('backend', 1, servers);
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [line(cells[0] ?? []), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
