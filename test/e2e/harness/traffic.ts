/**
 * Sends TCP, UDP and HTTP(S) traffic from inside a namespace through one
 * long-lived net-client.ts process per namespace (started on first use,
 * stopped with the cluster). Every request has a timeout; failures come back
 * as values ({ error, code }), so tests can assert "this must not connect".
 */
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { assertOurNetns, HarnessError } from './netns.ts';
import { netClientScript, nodeBinary, nodeFlags } from './paths.ts';
import { withTimeout } from './wait.ts';

export interface Failure {
  error: string;
  /** ECONNREFUSED, ETIMEDOUT, ECONNRESET, EHOSTUNREACH, … */
  code: string;
}

export interface HttpRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  localAddress?: string;
  /** TLS: SNI name (defaults to the URL host) and a CA (PEM) to verify against; unverified without one. */
  servername?: string;
  ca?: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json?: unknown;
  cert?: { subject?: Record<string, string>; issuer?: Record<string, string>; subjectaltname?: string };
}

export interface TcpRequest {
  host: string;
  port: number;
  send?: string;
  timeoutMs?: number;
  localAddress?: string;
  localPort?: number;
  /** Stop reading after this many bytes instead of waiting for EOF. */
  readBytes?: number;
}

export interface TcpResponse {
  data: string;
  localAddress: string;
  localPort: number;
}

export interface UdpRequest {
  host: string;
  port: number;
  send: string;
  timeoutMs?: number;
  localPort?: number;
}

export interface UdpResponse {
  data: string;
  from: string;
}

export type Outcome<T> = T | Failure;

export function isFailure(value: unknown): value is Failure {
  return typeof value === 'object' && value !== null && 'error' in value && 'code' in value;
}

/** Unwraps an outcome, throwing a HarnessError with the failure's message. */
export function ok<T>(value: Outcome<T>, what = 'request'): T {
  if (isFailure(value)) throw new HarnessError(`${what} failed: ${value.code}: ${value.error}`);
  return value;
}

interface Pending {
  resolve: (value: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

export class TrafficClient {
  readonly netns: string;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #child: ResultPromise | undefined;
  #started: Promise<void> | undefined;
  #stderr = '';

  constructor(netns: string) {
    assertOurNetns(netns);
    this.netns = netns;
  }

  #start(): Promise<void> {
    this.#started ??= new Promise<void>((resolve, reject) => {
      const child = execa('ip', ['netns', 'exec', this.netns, nodeBinary, ...nodeFlags, netClientScript], {
        stdin: 'pipe',
        stdout: 'pipe',
        stderr: 'pipe',
        env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
        extendEnv: false,
        reject: false,
        buffer: false,
        cleanup: true,
      });
      this.#child = child;
      const timer = setTimeout(() => reject(new HarnessError(`traffic client in ${this.netns} did not start within 10 s: ${this.#stderr}`)), 10_000);
      child.stderr?.on('data', (chunk: Buffer) => {
        this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-4096);
      });
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        let message: Record<string, unknown>;
        try {
          message = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return;
        }
        const id = Number(message['id']);
        if (id === 0) {
          clearTimeout(timer);
          resolve();
          return;
        }
        const pending = this.#pending.get(id);
        if (!pending) return;
        this.#pending.delete(id);
        delete message['id'];
        pending.resolve(message);
      });
      void child.then(() => {
        clearTimeout(timer);
        const error = new HarnessError(`traffic client in ${this.netns} exited: ${this.#stderr.trim()}`);
        reject(error);
        for (const pending of this.#pending.values()) pending.reject(error);
        this.#pending.clear();
        this.#child = undefined;
        this.#started = undefined;
      });
    });
    return this.#started;
  }

  async #call(op: string, request: object, timeoutMs: number): Promise<Record<string, unknown>> {
    await this.#start();
    const child = this.#child;
    if (!child?.stdin) throw new HarnessError(`traffic client in ${this.netns} is not running`);
    const id = this.#nextId++;
    const reply = new Promise<Record<string, unknown>>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    child.stdin.write(JSON.stringify({ ...request, id, op }) + '\n');
    try {
      // The client enforces timeoutMs itself; this outer bound only catches a wedged client.
      return await withTimeout(reply, timeoutMs + 5_000, `${op} from ${this.netns}`);
    } finally {
      this.#pending.delete(id);
    }
  }

  async http(request: HttpRequest | string): Promise<Outcome<HttpResponse>> {
    const req = typeof request === 'string' ? { url: request } : request;
    return (await this.#call('http', req, req.timeoutMs ?? 5_000)) as unknown as Outcome<HttpResponse>;
  }

  async tcp(request: TcpRequest): Promise<Outcome<TcpResponse>> {
    return (await this.#call('tcp', request, request.timeoutMs ?? 5_000)) as unknown as Outcome<TcpResponse>;
  }

  async connect(host: string, port: number, timeoutMs = 3_000): Promise<Outcome<{ ok: true; ms: number; localAddress: string; localPort: number }>> {
    return (await this.#call('connect', { host, port, timeoutMs }, timeoutMs)) as unknown as Outcome<{ ok: true; ms: number; localAddress: string; localPort: number }>;
  }

  async udp(request: UdpRequest): Promise<Outcome<UdpResponse>> {
    return (await this.#call('udp', request, request.timeoutMs ?? 3_000)) as unknown as Outcome<UdpResponse>;
  }

  /** Closes stdin (the client exits), then kills it if it lingers. */
  async close(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 1_000);
    await child.catch(() => undefined);
    clearTimeout(timer);
  }
}
