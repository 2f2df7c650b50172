/**
 * Real sockets for the ingress integration tests: backends on 127.0.0.1
 * that say who they are and what they received, a minimal WebSocket echo,
 * and clients that show exactly what came back (status, headers, body, the
 * server certificate).
 */
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createConnection, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';

export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Backend {
  name: string;
  port: number;
  /** Requests received, in order. */
  seen: Seen[];
  /** TCP connections accepted so far. */
  connections: number;
  /** Requests the client side abandoned before the backend answered. */
  aborted: number;
  close(): Promise<void>;
}

/**
 * A backend answering JSON `{ backend, method, url, headers, body }`, with
 * behaviours chosen by path: `/slow/<ms>` answers late, `/hang` never does,
 * `/cut` sends headers and part of a body then drops the connection,
 * `/big/<bytes>` sends that many bytes with a Content-Length. An Upgrade to
 * `websocket` is answered as a WebSocket echo. The e2e suite also runs it
 * as a pod, listening on 0.0.0.0.
 */
export async function startBackend(name: string, listen: { host: string; port: number } = { host: '127.0.0.1', port: 0 }): Promise<Backend> {
  const seen: Seen[] = [];
  const state = { connections: 0, aborted: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const answer = () => {
        const text = JSON.stringify({ backend: name, method: req.method, url: req.url, headers: req.headers, body });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      const path = req.url ?? '/';
      if (path === '/hang') {
        res.once('close', () => (state.aborted += 1));
        return;
      }
      if (path.startsWith('/slow/')) {
        const timer = setTimeout(answer, Number(path.slice('/slow/'.length)));
        res.once('close', () => {
          if (!res.writableEnded) {
            clearTimeout(timer);
            state.aborted += 1;
          }
        });
        return;
      }
      if (path === '/cut') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
        res.write('only part of it');
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      if (path.startsWith('/big/')) {
        const size = Number(path.slice('/big/'.length));
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
        res.end(Buffer.alloc(size, 'x'));
        return;
      }
      answer();
    });
  });
  server.on('connection', () => (state.connections += 1));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => webSocketEcho(name, req, socket));
  await new Promise<void>((resolve) => server.listen(listen.port, listen.host, resolve));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    seen,
    get connections() {
      return state.connections;
    },
    get aborted() {
      return state.aborted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * RFC 6455, just enough to echo: the handshake, then each (masked, short)
 * client frame is sent back unmasked with the backend's name prefixed to text.
 */
function webSocketEcho(name: string, req: IncomingMessage, socket: Duplex): void {
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  let pending = Buffer.alloc(0);
  socket.on('data', (data: Buffer) => {
    pending = Buffer.concat([pending, data]);
    while (pending.length >= 6) {
      const opcode = (pending[0] ?? 0) & 0x0f;
      const length = (pending[1] ?? 0) & 0x7f;
      if (length > 125 || pending.length < 6 + length) return;
      const mask = pending.subarray(2, 6);
      const payload = Buffer.from(pending.subarray(6, 6 + length).map((byte, index) => byte ^ (mask[index % 4] ?? 0)));
      pending = pending.subarray(6 + length);
      if (opcode === 0x8) {
        socket.end(Buffer.from([0x88, 0]));
        return;
      }
      const reply = opcode === 0x1 ? Buffer.from(`${name}: ${payload.toString()}`) : payload;
      socket.write(Buffer.concat([Buffer.from([0x80 | opcode, reply.length]), reply]));
    }
  });
  socket.on('error', () => socket.destroy());
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The backend's JSON answer, when the body is one. */
  json?: { backend: string; method: string; url: string; headers: IncomingHttpHeaders; body: string };
}

export interface RequestOptions {
  host?: string;
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked in pieces, without Content-Length. */
  chunked?: boolean;
}

function collect(res: IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('error', reject);
    res.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      let json: Reply['json'];
      try {
        json = JSON.parse(body) as Reply['json'];
      } catch {
        json = undefined;
      }
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ...(json ? { json } : {}) });
    });
  });
}

/** One plain HTTP/1.1 request on its own connection. */
export function get(port: number, path: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = { ...(options.host === undefined ? {} : { host: options.host }), ...options.headers };
    const req = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers, agent: false }, (res) => collect(res).then(resolve, reject));
    req.on('error', reject);
    if (options.chunked && options.body !== undefined) {
      const body = Buffer.from(options.body);
      for (let offset = 0; offset < body.length; offset += 1024) req.write(body.subarray(offset, offset + 1024));
      req.end();
    } else {
      req.end(options.body);
    }
  });
}

/** One HTTPS request with SNI `servername`, trusting any certificate; returns the reply and the certificate served. */
export function getTls(port: number, servername: string, path: string, options: RequestOptions = {}): Promise<Reply & { certificate: PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', servername, rejectUnauthorized: false, agent: false, headers: { host: options.host ?? servername, ...options.headers } },
      (res) => {
        const certificate = (res.socket as Socket & { getPeerCertificate(): PeerCertificate }).getPeerCertificate();
        collect(res).then((reply) => resolve({ ...reply, certificate }), reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The certificate a TLS handshake with this SNI name (or none) gets, and the protocol ALPN chose. */
export function handshake(port: number, servername: string | undefined, alpn: string[] = ['http/1.1']): Promise<{ certificate: PeerCertificate; protocol: string | false }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ...(servername ? { servername } : {}), rejectUnauthorized: false, ALPNProtocols: alpn }, () => {
      resolve({ certificate: socket.getPeerCertificate(), protocol: socket.alpnProtocol ?? false });
      socket.end();
    });
    socket.on('error', reject);
  });
}

/** Writes raw bytes and returns everything the server sends until it closes. */
export function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = createConnection(port, '127.0.0.1');
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString()));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString()));
    socket.on('error', reject);
    socket.write(text);
  });
}

/** Opens a WebSocket, sends each message, and resolves with the replies in order. */
export function webSocketExchange(url: string, messages: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const replies: string[] = [];
    socket.addEventListener('open', () => {
      for (const message of messages) socket.send(message);
    });
    socket.addEventListener('message', (event) => {
      replies.push(String(event.data));
      if (replies.length === messages.length) {
        socket.close();
        resolve(replies);
      }
    });
    socket.addEventListener('error', () => reject(new Error(`WebSocket to ${url} failed`)));
  });
}

/** Polls until `check` stops throwing, for at most `timeoutMs`; rethrows its last failure. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
