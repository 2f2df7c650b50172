/**
 * The request path: route lookup, then straight to an endpoint over a
 * kept-alive undici pool, streaming both ways with backpressure.
 *
 * - Each request reads the route table once, at arrival: a table swapped in
 *   meanwhile (new Ingress, endpoint churn) applies to the next request and
 *   never to one in flight.
 * - An idempotent request without a body that fails before any response
 *   (connection refused or reset, connect timeout) goes to another ready
 *   endpoint of the current table, up to three tries in all, as
 *   ingress-nginx's proxy_next_upstream does.
 * - Failures answer with a status, never a hang: 502 when no endpoint could
 *   be reached, 504 when one did not answer within proxy-read-timeout, 503
 *   without ready endpoints, 413 past proxy-body-size. Once response headers
 *   are out, a failure can only cut the response short, so it does.
 * - A client that goes away aborts its upstream request, so sockets and
 *   buffers are released (the leak http-proxy has on Node ≥ 15.5).
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { Readable, type Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { KplaneError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { clientAddress, cookieValue, requestTarget, responseHeaders, upstreamHeaders, type RequestTarget } from './forwarding.ts';
import type { IngressMetrics } from './metrics.ts';
import { emptyRouteTable, matchRoute, rewritePath, type Endpoint, type Route, type RouteTable } from './routes.ts';
import { proxyUpgrade } from './upgrade.ts';
import { Upstreams } from './upstream.ts';

export type ClientRequest = IncomingMessage | Http2ServerRequest;

/** The calls the proxy makes on a response, which HTTP/1.1 and HTTP/2 compatibility responses both have. */
export interface ClientResponse {
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  writeHead(status: number, headers: OutgoingHttpHeaders): unknown;
  write(chunk: Buffer): boolean;
  end(): unknown;
  end(body: string): unknown;
  destroy(): unknown;
  once(event: 'close' | 'drain', listener: () => void): unknown;
}

export const serverName = 'kplane';

const idempotent = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
const maxTries = 3;
/** Errors that mean the request never reached a backend, or reached it on a connection it had closed. */
const retryable = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);
const timeouts = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT']);

/** A request body longer than its route's proxy-body-size; answered 413. */
export class BodyTooLargeError extends KplaneError {
  constructor(maxBytes: number) {
    super('KPLANE_INGRESS_BODY_TOO_LARGE', `request body exceeds ${maxBytes} bytes`);
  }
}

export interface ProxyOptions {
  logger: Logger;
  metrics: IngressMetrics;
  /** Where HTTPS redirects point; 443 is left out of the URL. */
  httpsPort(): number;
}

/** What the proxy knows about a request once routed, shared by the plain and upgrade paths. */
export interface RoutedRequest {
  route: Route;
  target: RequestTarget;
  /** Path and query to send upstream, after rewrite-target. */
  upstreamPath: string;
}

export type RouteDecision =
  | { kind: 'routed'; request: RoutedRequest }
  | { kind: 'answer'; status: number; host: string; headers?: Record<string, string> };

/**
 * After a 413 the rest of the body stays unread, so an HTTP/1.1 connection
 * cannot carry another request. HTTP/2 resets just the stream, and forbids
 * the Connection header.
 */
function closeAfter(req: ClientRequest): Record<string, string> {
  return 'stream' in req ? {} : { connection: 'close' };
}

function errorCode(error: unknown): string {
  return (error as { code?: unknown })?.code === undefined ? '' : String((error as { code: unknown }).code);
}

async function* limitBody(body: AsyncIterable<Buffer>, maxBytes: number): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.length;
    if (seen > maxBytes) throw new BodyTooLargeError(maxBytes);
    yield chunk;
  }
}

export class IngressProxy {
  readonly upstreams = new Upstreams();
  readonly #options: ProxyOptions;
  #table: RouteTable = emptyRouteTable;

  constructor(options: ProxyOptions) {
    this.#options = options;
  }

  get table(): RouteTable {
    return this.#table;
  }

  /** Swaps the route table in one assignment; requests already routed keep the old one. */
  setTable(table: RouteTable): void {
    this.#table = table;
    this.upstreams.retain(table);
  }

  /** Routes a request, or says what to answer instead: 400, 404, a 308 to HTTPS, 503. */
  decide(url: string, authority: string | undefined, secure: boolean): RouteDecision {
    const target = requestTarget(url, authority);
    if (!target) return { kind: 'answer', status: 400, host: '_' };
    const route = matchRoute(this.#table, target.host, target.path);
    if (!route) return { kind: 'answer', status: 404, host: '_' };
    const host = route.host || '_';
    if (!secure && route.httpsRedirect) {
      const port = this.#options.httpsPort();
      const location = `https://${target.host}${port === 443 ? '' : `:${port}`}${target.path}${target.query}`;
      return { kind: 'answer', status: 308, host, headers: { location } };
    }
    if (route.backend.endpoints.length === 0) return { kind: 'answer', status: 503, host };
    return { kind: 'routed', request: { route, target, upstreamPath: rewritePath(route, target.path) + target.query } };
  }

  /** The endpoint for a request: the one its affinity cookie names when still ready, else the next in turn. */
  chooseEndpoint(route: Route, cookieHeader: string | undefined): Endpoint | undefined {
    const affinity = route.settings.affinity;
    if (affinity) {
      const id = cookieValue(cookieHeader, affinity.cookieName);
      const pinned = id === undefined ? undefined : route.backend.endpoints.find((endpoint) => endpoint.id === id);
      if (pinned) return pinned;
    }
    return this.upstreams.pick(route.backend);
  }

  handleRequest(req: ClientRequest, res: ClientResponse, secure: boolean): void {
    const authority = req.headers[':authority'] ?? req.headers.host;
    const decision = this.decide(req.url ?? '', typeof authority === 'string' ? authority : undefined, secure);
    if (decision.kind === 'answer') {
      this.answer(res, decision.status, decision.host, decision.headers);
      return;
    }
    const { route } = decision.request;
    const maxBytes = route.settings.maxBodyBytes;
    const length = req.headers['content-length'];
    if (length !== undefined && Number(length) > maxBytes) {
      this.answer(res, 413, route.host || '_', closeAfter(req));
      return;
    }
    const endpoint = this.chooseEndpoint(route, req.headers.cookie);
    if (!endpoint) {
      this.answer(res, 503, route.host || '_');
      return;
    }
    new Exchange(this, this.#options, req, res, secure, decision.request, endpoint).send();
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, secure: boolean): void {
    proxyUpgrade(this, this.#options, req, socket, head, secure);
  }

  /** A response the proxy makes itself: a short text body naming the status. */
  answer(res: ClientResponse, status: number, host: string, headers: Record<string, string> = {}): void {
    this.#options.metrics.countRequest(host, status);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = status === 308 ? '' : `${statusText(status)}\n`;
    res.writeHead(status, { ...headers, server: serverName, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
}

export function statusText(status: number): string {
  const texts: Record<number, string> = {
    308: 'Permanent Redirect',
    400: 'Bad Request',
    404: 'Not Found',
    408: 'Request Timeout',
    413: 'Content Too Large',
    431: 'Request Header Fields Too Large',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
    504: 'Gateway Timeout',
  };
  return texts[status] ?? 'Error';
}

/** One request's trip upstream, through retries; the undici dispatch handler. */
class Exchange implements Dispatcher.DispatchHandler {
  readonly #proxy: IngressProxy;
  readonly #options: ProxyOptions;
  readonly #req: ClientRequest;
  readonly #res: ClientResponse;
  readonly #secure: boolean;
  readonly #routed: RoutedRequest;
  #endpoint: Endpoint;
  #tried: Set<string> | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #sentAt = 0;
  #started = false;
  #clientGone = false;
  #awaitingDrain = false;
  readonly #hasBody: boolean;

  constructor(proxy: IngressProxy, options: ProxyOptions, req: ClientRequest, res: ClientResponse, secure: boolean, routed: RoutedRequest, endpoint: Endpoint) {
    this.#proxy = proxy;
    this.#options = options;
    this.#req = req;
    this.#res = res;
    this.#secure = secure;
    this.#routed = routed;
    this.#endpoint = endpoint;
    const headers = req.headers;
    this.#hasBody =
      'stream' in req ? !req.stream.endAfterHeaders : (headers['content-length'] !== undefined && headers['content-length'] !== '0') || headers['transfer-encoding'] !== undefined;
    res.once('close', () => {
      if (res.writableEnded) return;
      this.#clientGone = true;
      this.#controller?.abort(new Error('client closed the connection'));
    });
  }

  send(): void {
    const req = this.#req;
    const { route, target, upstreamPath } = this.#routed;
    const settings = route.settings;
    const socket = req.socket;
    const headers = upstreamHeaders(req.rawHeaders, target.authority, {
      clientAddress: clientAddress(socket.remoteAddress),
      proto: this.#secure ? 'https' : 'http',
      port: socket.localPort ?? 0,
    });
    let body: Dispatcher.DispatchOptions['body'] = null;
    if (this.#hasBody) body = req.headers['content-length'] === undefined && Number.isFinite(settings.maxBodyBytes) ? Readable.from(limitBody(req, settings.maxBodyBytes), { objectMode: false }) : req;
    this.#sentAt = performance.now();
    this.#proxy.upstreams.pool(this.#endpoint, settings.connectTimeoutMs).dispatch(
      {
        origin: this.#endpoint.origin,
        path: upstreamPath,
        method: req.method as Dispatcher.HttpMethod,
        headers,
        body,
        headersTimeout: settings.readTimeoutMs,
        bodyTimeout: settings.readTimeoutMs,
      },
      this,
    );
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#clientGone) controller.abort(new Error('client closed the connection'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.#started = true;
    const res = this.#res;
    const { route } = this.#routed;
    this.#options.metrics.upstreamResponseSeconds.observe((performance.now() - this.#sentAt) / 1000);
    this.#options.metrics.countRequest(route.host || '_', statusCode);
    res.writeHead(statusCode, responseHeaders(headers, serverName, this.#affinityCookie()));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#res.write(chunk) || this.#awaitingDrain) return;
    // undici may deliver what it already parsed after a pause; one drain listener is enough.
    controller.pause();
    this.#awaitingDrain = true;
    this.#res.once('drain', () => {
      this.#awaitingDrain = false;
      controller.resume();
    });
  }

  onResponseEnd(): void {
    this.#res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#clientGone) return;
    const res = this.#res;
    const { route } = this.#routed;
    const code = errorCode(error);
    if (this.#started) {
      // Headers are out: the only honest signal left is a response cut short.
      this.#options.metrics.upstreamErrors.inc({ kind: 'reset' });
      res.destroy();
      return;
    }
    if (error instanceof BodyTooLargeError) {
      this.#proxy.answer(res, 413, route.host || '_', closeAfter(this.#req));
      return;
    }
    const timedOut = timeouts.has(code);
    this.#options.metrics.upstreamErrors.inc({ kind: timedOut ? 'timeout' : 'connect' });
    if (retryable.has(code) && !this.#hasBody && idempotent.has(this.#req.method ?? '') && this.#retry()) return;
    this.#options.logger.debug({ err: error, endpoint: this.#endpoint.origin, route: `${route.namespace}/${route.ingress}` }, 'upstream failed');
    this.#proxy.answer(res, timedOut ? 504 : 502, route.host || '_');
  }

  /** Sends the request to the next endpoint of the backend as the current table has it; false when none is left. */
  #retry(): boolean {
    const tried = (this.#tried ??= new Set());
    tried.add(this.#endpoint.origin);
    if (tried.size >= maxTries) return false;
    const { route } = this.#routed;
    const backend = this.#proxy.table.backends.get(route.backend.key) ?? route.backend;
    const next = this.#proxy.upstreams.pick(backend, tried);
    if (!next) return false;
    this.#options.metrics.upstreamRetries.inc();
    this.#endpoint = next;
    this.#controller = undefined;
    this.send();
    return true;
  }

  /** The affinity cookie to set: when the route is sticky and the client's cookie does not name this endpoint. */
  #affinityCookie(): string | undefined {
    const { route } = this.#routed;
    const affinity = route.settings.affinity;
    if (!affinity || cookieValue(this.#req.headers.cookie, affinity.cookieName) === this.#endpoint.id) return undefined;
    const path = affinity.path ?? (route.match === 'exact' || route.match === 'prefix' ? route.path : '/');
    const maxAge = affinity.maxAgeSeconds === undefined ? '' : `; Max-Age=${affinity.maxAgeSeconds}`;
    return `${affinity.cookieName}=${this.#endpoint.id}; Path=${path}${maxAge}; HttpOnly`;
  }
}
