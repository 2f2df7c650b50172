/**
 * A traffic client that lives inside one namespace (a pod, a node or an
 * external client) for the length of a test: a standalone Node 24 script
 * (built-ins only) that reads one JSON request per stdin line and writes one
 * JSON result per stdout line, so a test can send hundreds of requests from
 * a namespace without starting a process for each. Every operation has its
 * own timeout; the script exits when stdin closes.
 *
 * Requests ({ id, op, ... }):
 *   http    { url, method?, headers?, body?, timeoutMs?, localAddress?, servername?, ca? }
 *           -> { status, headers, body, json? }   (https: the server certificate in `cert`; verified
 *              only when `ca` (PEM) is given, SNI from `servername` or the URL host)
 *   tcp     { host, port, send?, timeoutMs?, localAddress?, localPort?, readBytes? }
 *           -> { data, localAddress, localPort }  (writes `send`, half-closes, reads until EOF/readBytes)
 *   connect { host, port, timeoutMs? } -> { ok: true, ms }
 *   udp     { host, port, send, timeoutMs?, localPort? } -> { data, from }
 * Failures come back as { error, code } with the same id.
 */
import { createSocket } from 'node:dgram';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import type { TLSSocket } from 'node:tls';

interface Request {
  id: number;
  op: 'http' | 'tcp' | 'connect' | 'udp';
  [field: string]: unknown;
}

type Result = Record<string, unknown>;

const str = (value: unknown, fallback = ''): string => (typeof value === 'string' ? value : fallback);
const num = (value: unknown, fallback: number): number => (typeof value === 'number' && Number.isFinite(value) ? value : fallback);

class OpError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

function http(req: Request): Promise<Result> {
  const url = new URL(str(req['url']));
  const timeoutMs = num(req['timeoutMs'], 5_000);
  const isHttps = url.protocol === 'https:';
  const body = typeof req['body'] === 'string' ? req['body'] : undefined;
  const headers = { ...(req['headers'] as Record<string, string> | undefined) };
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const options = {
      method: str(req['method'], 'GET'),
      headers,
      agent: false as const,
      localAddress: typeof req['localAddress'] === 'string' ? req['localAddress'] : undefined,
      timeout: timeoutMs,
      ...(isHttps
        ? {
            servername: str(req['servername'], url.hostname),
            ca: typeof req['ca'] === 'string' ? req['ca'] : undefined,
            rejectUnauthorized: typeof req['ca'] === 'string',
          }
        : {}),
    };
    const make = isHttps ? httpsRequest : httpRequest;
    const timer = setTimeout(() => {
      outgoing.destroy(new OpError('ETIMEDOUT', `no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const outgoing = make(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        const result: Result = { status: res.statusCode, headers: res.headers as IncomingHttpHeaders, body: text };
        try {
          result['json'] = JSON.parse(text);
        } catch {
          // not JSON
        }
        if (isHttps) {
          const cert = (res.socket as TLSSocket).getPeerCertificate?.();
          if (cert && Object.keys(cert).length > 0) result['cert'] = { subject: cert.subject, issuer: cert.issuer, subjectaltname: cert.subjectaltname };
        }
        resolve(result);
      });
    });
    outgoing.on('timeout', () => outgoing.destroy(new OpError('ETIMEDOUT', `no answer within ${timeoutMs} ms`)));
    outgoing.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    outgoing.end(body);
  });
}

function tcp(req: Request): Promise<Result> {
  const timeoutMs = num(req['timeoutMs'], 5_000);
  const readBytes = num(req['readBytes'], Infinity);
  const send = str(req['send']);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const socket = connect({
      host: str(req['host']),
      port: num(req['port'], 0),
      localAddress: typeof req['localAddress'] === 'string' ? req['localAddress'] : undefined,
      localPort: typeof req['localPort'] === 'number' ? req['localPort'] : undefined,
    });
    const timer = setTimeout(() => socket.destroy(new OpError('ETIMEDOUT', `no EOF within ${timeoutMs} ms (read ${size} bytes)`)), timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks).toString('utf8'), localAddress: socket.localAddress, localPort: socket.localPort });
      socket.destroy();
    };
    socket.on('connect', () => {
      socket.end(send);
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= readBytes) finish();
    });
    socket.on('end', finish);
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function connectOnly(req: Request): Promise<Result> {
  const timeoutMs = num(req['timeoutMs'], 3_000);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect({ host: str(req['host']), port: num(req['port'], 0) });
    const timer = setTimeout(() => socket.destroy(new OpError('ETIMEDOUT', `no connection within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => {
      clearTimeout(timer);
      resolve({ ok: true, ms: Math.round(performance.now() - started), localAddress: socket.localAddress, localPort: socket.localPort });
      socket.destroy();
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function udp(req: Request): Promise<Result> {
  const timeoutMs = num(req['timeoutMs'], 3_000);
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new OpError('ETIMEDOUT', `no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', (error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    });
    socket.on('message', (message, remote) => {
      clearTimeout(timer);
      socket.close();
      resolve({ data: message.toString('utf8'), from: `${remote.address}:${remote.port}` });
    });
    const send = () => socket.send(str(req['send']), num(req['port'], 0), str(req['host']));
    if (typeof req['localPort'] === 'number') socket.bind(req['localPort'], send);
    else send();
  });
}

const ops: Record<Request['op'], (req: Request) => Promise<Result>> = { http, tcp, connect: connectOnly, udp };

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let req: Request;
  try {
    req = JSON.parse(line) as Request;
  } catch {
    process.stdout.write(JSON.stringify({ id: -1, error: 'bad request line', code: 'EBADREQ' }) + '\n');
    return;
  }
  const op = ops[req.op];
  const done = (result: Result) => process.stdout.write(JSON.stringify({ id: req.id, ...result }) + '\n');
  if (!op) return done({ error: `unknown op "${String(req.op)}"`, code: 'EBADREQ' });
  op(req).then(done, (error: unknown) => {
    const err = error as NodeJS.ErrnoException;
    done({ error: err?.message ?? String(error), code: err?.code ?? 'ERROR' });
  });
});
lines.on('close', () => setTimeout(() => process.exit(0), 50));
process.stdout.write(JSON.stringify({ id: 0, ready: true }) + '\n');
