/**
 * One reverse proxy per process, for proxies.bench.ts:
 *
 *   node candidates.ts NAME PORT BACKEND_PORT...
 *
 * Each forwards every request to the backend ports in turn (round-robin),
 * passes headers through and adds X-Forwarded-For, so they differ only in
 * how they move bytes. `kplane` is the real thing: IngressProxy and its
 * listeners, with a route table built from an Ingress like any other.
 *
 * `node:http+llhttp` is a floor, not a design candidate: a bare keep-alive
 * client on the llhttp binding Node's own http client uses (`_http_common`,
 * undocumented), with no timeouts, retries, request bodies or HEAD handling.
 * It shows what any Node proxy pays before doing anything useful.
 */
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import httpProxy from 'http-proxy';
import { Pool, type Dispatcher } from 'undici';
import { silentLogger } from '../../common/logger.ts';
import type { EndpointSlice, Ingress, Service } from '../../controlplane/api/types.ts';
import { IngressMetrics } from '../../ingress/metrics.ts';
import { IngressProxy } from '../../ingress/proxy.ts';
import { buildRouteTable } from '../../ingress/routes.ts';
import { selfSignedCertificate } from '../../ingress/self-signed.ts';
import { startListeners } from '../../ingress/server.ts';
import { certificateFromPem, SniContexts } from '../../ingress/tls.ts';

const [name = '', portText = '', ...backendTexts] = process.argv.slice(2);
const port = Number(portText);
const backends = backendTexts.map(Number);
let turn = 0;
const nextPort = () => backends[turn++ % backends.length] as number;

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

function forwardedHeaders(req: IncomingMessage): string[] {
  const headers: string[] = [];
  for (let index = 0; index < req.rawHeaders.length; index += 2) {
    const key = req.rawHeaders[index] as string;
    if (!hopByHop.has(key.toLowerCase())) headers.push(key, req.rawHeaders[index + 1] as string);
  }
  headers.push('x-forwarded-for', req.socket.remoteAddress ?? '');
  return headers;
}

function fail(res: ServerResponse): void {
  if (!res.headersSent) res.writeHead(502);
  res.end();
}

function httpProxyServer(agent: Agent | undefined) {
  const proxy = httpProxy.createProxyServer(agent ? { agent, xfwd: true } : { xfwd: true });
  proxy.on('error', (_error, _req, res) => fail(res as ServerResponse));
  return createServer((req, res) => proxy.web(req, res, { target: `http://127.0.0.1:${nextPort()}` }));
}

function nodeAgentServer() {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  return createServer((req, res) => {
    const upstream = request({ host: '127.0.0.1', port: nextPort(), method: req.method, path: req.url, headers: forwardedHeaders(req), agent }, (response) => {
      const headers: Record<string, string | string[]> = {};
      for (const [key, value] of Object.entries(response.headers)) if (value !== undefined && !hopByHop.has(key)) headers[key] = value;
      res.writeHead(response.statusCode ?? 502, headers);
      response.pipe(res);
    });
    upstream.on('error', () => fail(res));
    req.pipe(upstream);
  });
}

/** The design kplane uses, reduced to the transport: undici Pool.dispatch with a handler writing straight to the response. */
function undiciServer() {
  const pools = new Map(backends.map((backend) => [backend, new Pool(`http://127.0.0.1:${backend}`, { pipelining: 1, keepAliveTimeout: 60_000 })]));
  return createServer((req, res) => {
    const backend = nextPort();
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    const handler: Dispatcher.DispatchHandler = {
      // Its presence tells undici this handler speaks the controller-based API.
      onRequestStart() {},
      onResponseStart(_controller, statusCode, headers) {
        const out: Record<string, string | string[]> = {};
        for (const [key, value] of Object.entries(headers)) if (value !== undefined && !hopByHop.has(key)) out[key] = value;
        res.writeHead(statusCode, out);
      },
      onResponseData(controller, chunk) {
        if (!res.write(chunk)) {
          controller.pause();
          res.once('drain', () => controller.resume());
        }
      },
      onResponseEnd() {
        res.end();
      },
      onResponseError() {
        fail(res);
      },
    };
    pools.get(backend)?.dispatch({ path: req.url ?? '/', method: req.method as Dispatcher.HttpMethod, headers: forwardedHeaders(req), body: hasBody ? req : null }, handler);
  });
}

interface ParserBinding {
  new (): { initialize(type: number, resource: object): void; execute(data: Buffer): unknown; [callback: number]: unknown };
  RESPONSE: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
}

async function llhttpServer() {
  const { HTTPParser } = (await import('node:_http_common' as string)) as { HTTPParser: ParserBinding };
  interface Connection {
    socket: Socket;
    res: ServerResponse | undefined;
  }
  const idle = new Map<number, Connection[]>(backends.map((backend) => [backend, []]));
  const open = (backend: number): Connection => {
    const socket = connect(backend, '127.0.0.1');
    socket.setNoDelay(true);
    const connection: Connection = { socket, res: undefined };
    const parser = new HTTPParser();
    parser.initialize(HTTPParser.RESPONSE, {});
    parser[HTTPParser.kOnHeaders] = () => undefined;
    parser[HTTPParser.kOnHeadersComplete] = (_major: number, _minor: number, headers: string[], _method: unknown, _url: unknown, status: number) => {
      const out: string[] = [];
      for (let index = 0; index < headers.length; index += 2) if (!hopByHop.has((headers[index] as string).toLowerCase())) out.push(headers[index] as string, headers[index + 1] as string);
      connection.res?.writeHead(status, out);
    };
    parser[HTTPParser.kOnBody] = (chunk: Buffer) => connection.res?.write(chunk);
    parser[HTTPParser.kOnMessageComplete] = () => {
      connection.res?.end();
      connection.res = undefined;
      idle.get(backend)?.push(connection);
    };
    socket.on('data', (data: Buffer) => parser.execute(data));
    socket.on('error', () => connection.res && fail(connection.res));
    return connection;
  };
  return createServer((req, res) => {
    const backend = nextPort();
    const connection = idle.get(backend)?.pop() ?? open(backend);
    connection.res = res;
    const headers = forwardedHeaders(req);
    let head = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let index = 0; index < headers.length; index += 2) head += `${headers[index]}: ${headers[index + 1]}\r\n`;
    connection.socket.write(`${head}\r\n`, 'latin1');
  });
}

async function kplane(): Promise<void> {
  const ingress: Ingress = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { namespace: 'bench', name: 'bench', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { rules: [{ host: 'bench.local', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'echo', port: { number: 80 } } } }] } }] },
  };
  const service: Service = { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'bench', name: 'echo' }, spec: { ports: [{ name: 'http', port: 80 }] } };
  const slices: EndpointSlice[] = backends.map((backend) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: 'bench', name: `echo-${backend}`, labels: { 'kubernetes.io/service-name': 'echo' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: backend, protocol: 'TCP' }],
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
  }));
  const metrics = new IngressMetrics();
  const proxy = new IngressProxy({ logger: silentLogger(), metrics, httpsPort: () => 443 });
  proxy.setTable(buildRouteTable({ ingresses: [ingress], services: [service], endpointSlices: slices }).table);
  const generated = selfSignedCertificate({ commonName: 'bench', dnsNames: ['bench.local'], notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86400_000) });
  const fallback = certificateFromPem('self-signed', generated.cert, generated.key);
  const sni = new SniContexts({ hosts: new Map(), defaultCertificate: fallback, problems: [] });
  await startListeners(
    { httpListen: { host: '127.0.0.1', port }, httpsListen: { host: '127.0.0.1', port: 0 }, clientHeaderTimeoutMs: 60_000, clientRequestTimeoutMs: 300_000, clientIdleTimeoutMs: 75_000 },
    { proxy, sni, metrics, logger: silentLogger() },
  );
}

const servers: Record<string, () => ReturnType<typeof createServer>> = {
  'http-proxy': () => httpProxyServer(undefined),
  'http-proxy+agent': () => httpProxyServer(new Agent({ keepAlive: true, maxSockets: 256 })),
  'node:http+agent': nodeAgentServer,
  'node:http+undici': undiciServer,
};

if (name === 'kplane') {
  await kplane();
} else if (name === 'node:http+llhttp') {
  (await llhttpServer()).listen(port, '127.0.0.1');
} else {
  const make = servers[name];
  if (!make) throw new Error(`unknown candidate "${name}"`);
  make().listen(port, '127.0.0.1');
}
process.on('SIGTERM', () => process.exit(0));
