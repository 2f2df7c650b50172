/**
 * The traffic listeners: plain HTTP/1.1, and TLS with HTTP/2 and HTTP/1.1
 * chosen by ALPN, both handing requests and upgrades to the proxy.
 *
 * Slow clients are bounded by Node's own timers: --client-header-timeout
 * (headersTimeout, answered 408), --client-request-timeout (the whole
 * request, body included) and --client-idle-timeout (keep-alive idle, and
 * HTTP/2 sessions without an open stream). Malformed requests get 400, oversized
 * headers 431, from the parser before they reach the proxy.
 *
 * close() drains: it stops accepting, closes idle keep-alive connections as
 * they become idle, sends HTTP/2 GOAWAY, and after the grace period
 * destroys what is left, upgraded connections included.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../common/logger.ts';
import type { IngressMetrics } from './metrics.ts';
import type { IngressOptions, ListenAddress } from './options.ts';
import { statusText, type IngressProxy } from './proxy.ts';
import type { SniContexts } from './tls.ts';

export interface Listeners {
  http: AddressInfo;
  https: AddressInfo;
  close(graceMs: number): Promise<void>;
}

export interface ListenerDeps {
  proxy: IngressProxy;
  sni: SniContexts;
  metrics: IngressMetrics;
  logger: Logger;
}

type ListenerOptions = Pick<IngressOptions, 'httpListen' | 'httpsListen' | 'clientHeaderTimeoutMs' | 'clientRequestTimeoutMs' | 'clientIdleTimeoutMs'>;

/** Node's http1 server fields, which an HTTP/2 server with allowHTTP1 also reads for its HTTP/1.1 connections. */
interface Http1Timeouts {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  connectionsCheckingInterval: number;
  closeIdleConnections(): void;
}

/**
 * Node checks headers and request timeouts on a timer (30 s by default),
 * which would let a slow client hold a connection up to 30 s past its limit.
 */
function checkingInterval(options: ListenerOptions): number {
  return Math.max(100, Math.min(1000, options.clientHeaderTimeoutMs / 2));
}

function onClientError(metrics: IngressMetrics) {
  return (error: Error & { code?: string }, socket: Duplex) => {
    // A response already on its way cannot be followed by an error page (Node's default handler checks the same).
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight) {
      socket.destroy();
      return;
    }
    const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    metrics.countRequest('_', status);
    socket.end(`HTTP/1.1 ${status} ${statusText(status)}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };
}

function listen(server: Server | Http2SecureServer, address: ListenAddress): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startListeners(options: ListenerOptions, deps: ListenerDeps): Promise<Listeners> {
  const { proxy, sni, metrics } = deps;
  const upgraded = new Set<Duplex>();
  const sessions = new Set<ServerHttp2Session>();
  const track = (socket: Duplex) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
  };

  const http = createServer(
    {
      headersTimeout: options.clientHeaderTimeoutMs,
      requestTimeout: options.clientRequestTimeoutMs,
      keepAliveTimeout: options.clientIdleTimeoutMs,
      connectionsCheckingInterval: checkingInterval(options),
    },
    (req, res) => proxy.handleRequest(req, res, false),
  );
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    track(socket);
    proxy.handleUpgrade(req, socket, head, false);
  });
  http.on('clientError', onClientError(metrics));

  const defaultCertificate = sni.plan.defaultCertificate;
  const https = createSecureServer(
    {
      allowHTTP1: true,
      cert: defaultCertificate.cert,
      key: defaultCertificate.key,
      SNICallback: sni.SNICallback,
      minVersion: 'TLSv1.2',
      http1Options: { keepAliveTimeout: options.clientIdleTimeoutMs },
    },
    (req, res) => proxy.handleRequest(req, res, true),
  );
  const http1 = https as unknown as Http1Timeouts;
  http1.headersTimeout = options.clientHeaderTimeoutMs;
  http1.requestTimeout = options.clientRequestTimeoutMs;
  http1.keepAliveTimeout = options.clientIdleTimeoutMs;
  http1.connectionsCheckingInterval = checkingInterval(options);
  // The HTTP/2 server has no closeAllConnections; its TLS sockets are tracked to end them after the grace.
  const tlsSockets = new Set<Socket>();
  https.on('secureConnection', (socket: Socket) => {
    tlsSockets.add(socket);
    socket.once('close', () => tlsSockets.delete(socket));
  });
  https.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    track(socket);
    proxy.handleUpgrade(req, socket, head, true);
  });
  https.on('clientError', onClientError(metrics));
  https.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    let streams = 0;
    session.on('stream', (stream: Duplex) => {
      streams += 1;
      stream.once('close', () => (streams -= 1));
    });
    // Idle means no open stream: one waiting on a slow backend is for proxy-read-timeout to judge.
    session.setTimeout(options.clientIdleTimeoutMs, () => {
      if (streams === 0) session.close();
    });
  });
  // Failed handshakes (scanners, clients that reject the certificate) are routine; the socket is already gone.
  https.on('tlsClientError', (_error: Error, socket: Socket) => socket.destroy());
  sni.onDefaultChange((certificate) => https.setSecureContext({ cert: certificate.cert, key: certificate.key, minVersion: 'TLSv1.2' }));

  let httpAddress: AddressInfo;
  let httpsAddress: AddressInfo;
  try {
    httpAddress = await listen(http, options.httpListen);
    httpsAddress = await listen(https, options.httpsListen);
  } catch (error) {
    http.close();
    https.close();
    throw error;
  }

  return {
    http: httpAddress,
    https: httpsAddress,
    async close(graceMs: number) {
      const closed = Promise.all([new Promise((resolve) => http.close(resolve)), new Promise((resolve) => https.close(resolve))]);
      for (const session of sessions) session.close();
      let done = false;
      void closed.then(() => (done = true));
      const deadline = performance.now() + graceMs;
      // Connections finishing their last response become idle; close them as they do, until the grace runs out.
      while (!done && performance.now() < deadline) {
        http.closeIdleConnections();
        http1.closeIdleConnections();
        await sleep(50);
      }
      http.closeAllConnections();
      for (const socket of tlsSockets) socket.destroy();
      for (const session of sessions) session.destroy();
      for (const socket of upgraded) socket.destroy();
      await closed;
    },
  };
}
