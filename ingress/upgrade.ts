/**
 * WebSocket and other HTTP/1.1 Upgrade requests: routed like any request,
 * then a plain `http.request` to the endpoint carrying the Upgrade headers.
 * On 101 both sockets are piped into each other; any other answer is relayed
 * and the connection closed. Either side closing, failing, or staying idle
 * past proxy-read-timeout (as nginx does for WebSockets) destroys both, so
 * no half-open pair outlives its peer.
 */
import { request, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { clientAddress, upstreamHeaders } from './forwarding.ts';
import { serverName, statusText, type IngressProxy, type ProxyOptions } from './proxy.ts';

/** Headers that frame the relayed body; the relay is close-delimited instead. */
const framing = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

function head(status: number, message: string, rawHeaders: readonly string[]): string {
  let text = `HTTP/1.1 ${status} ${message}\r\n`;
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) text += `${rawHeaders[index]}: ${rawHeaders[index + 1]}\r\n`;
  return `${text}\r\n`;
}

function answerRaw(socket: Duplex, status: number, headers: Record<string, string> = {}): void {
  const body = status === 308 ? '' : `${statusText(status)}\n`;
  const raw = Object.entries({ ...headers, server: serverName, 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), connection: 'close' }).flat();
  socket.end(head(status, statusText(status), raw) + body);
}

export function proxyUpgrade(proxy: IngressProxy, options: ProxyOptions, req: IncomingMessage, socket: Duplex, clientHead: Buffer, secure: boolean): void {
  socket.on('error', () => socket.destroy());
  const decision = proxy.decide(req.url ?? '', req.headers.host, secure);
  if (decision.kind === 'answer') {
    options.metrics.countRequest(decision.host, decision.status);
    answerRaw(socket, decision.status, decision.headers);
    return;
  }
  const { route, target, upstreamPath } = decision.request;
  const hostLabel = route.host || '_';
  const endpoint = proxy.chooseEndpoint(route, req.headers.cookie);
  if (!endpoint) {
    options.metrics.countRequest(hostLabel, 503);
    answerRaw(socket, 503);
    return;
  }
  const headers = upstreamHeaders(
    req.rawHeaders,
    target.authority,
    { clientAddress: clientAddress(req.socket.remoteAddress), proto: secure ? 'https' : 'http', port: req.socket.localPort ?? 0 },
    req.headers.upgrade ?? '',
  );
  const { connectTimeoutMs, readTimeoutMs } = route.settings;
  const upstream = request({ host: endpoint.address, port: endpoint.port, method: req.method, path: upstreamPath, headers, agent: false, timeout: connectTimeoutMs });
  let answered = false;
  const fail = (status: number, kind: 'connect' | 'timeout') => {
    // After an answer the sockets belong to the relay, which has its own timeouts and error handling.
    if (answered) return;
    answered = true;
    upstream.destroy();
    options.metrics.upstreamErrors.inc({ kind });
    options.metrics.countRequest(hostLabel, status);
    answerRaw(socket, status);
  };
  upstream.on('timeout', () => fail(504, 'timeout'));
  upstream.on('error', () => fail(502, 'connect'));
  socket.once('close', () => upstream.destroy());

  upstream.on('upgrade', (response: IncomingMessage, upstreamSocket: Duplex, upstreamHead: Buffer) => {
    answered = true;
    options.metrics.countRequest(hostLabel, 101);
    const closeBoth = () => {
      socket.destroy();
      upstreamSocket.destroy();
    };
    upstreamSocket.on('error', closeBoth);
    socket.on('error', closeBoth);
    upstreamSocket.on('close', closeBoth);
    socket.on('close', closeBoth);
    for (const side of [socket, upstreamSocket]) {
      const timed = side as Duplex & { setTimeout?(ms: number, callback: () => void): void };
      timed.setTimeout?.(readTimeoutMs, closeBoth);
    }
    socket.write(head(101, response.statusMessage || 'Switching Protocols', response.rawHeaders));
    if (upstreamHead.length > 0) socket.write(upstreamHead);
    if (clientHead.length > 0) upstreamSocket.write(clientHead);
    socket.pipe(upstreamSocket).pipe(socket);
  });

  upstream.on('response', (response: IncomingMessage) => {
    // The backend declined the upgrade: relay its answer, then close, as the client expects no more on this connection.
    answered = true;
    options.metrics.countRequest(hostLabel, response.statusCode ?? 502);
    const raw: string[] = [];
    for (let index = 0; index + 1 < response.rawHeaders.length; index += 2) {
      const name = response.rawHeaders[index] as string;
      if (!framing.has(name.toLowerCase())) raw.push(name, response.rawHeaders[index + 1] as string);
    }
    raw.push('connection', 'close');
    socket.write(head(response.statusCode ?? 502, response.statusMessage ?? '', raw));
    response.pipe(socket);
    response.on('error', () => socket.destroy());
  });

  upstream.on('socket', (upstreamSocket) => {
    // The connect timeout covers connecting; after that the route's read timeout bounds the wait for 101.
    upstreamSocket.once('connect', () => upstream.setTimeout(readTimeoutMs));
  });
  upstream.end();
}
