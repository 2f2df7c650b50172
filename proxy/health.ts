/**
 * kube-proxy's two health surfaces (pkg/proxy/healthcheck):
 *
 * - The proxy's own /healthz and /livez (default 0.0.0.0:10256). The proxy
 *   is healthy unless a change has waited longer than the health timeout
 *   (2 × sync period) without a sync applying it; /healthz is also 503 while
 *   the node is being deleted, so load balancers stop sending traffic here.
 * - One server per healthCheckNodePort of a LoadBalancer service with
 *   externalTrafficPolicy Local: 200 when this node has a local endpoint and
 *   the proxy is healthy, else 503, so the cloud load balancer only picks
 *   nodes that can serve without a second hop. The body and headers match
 *   kube-proxy's byte for byte.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../common/logger.ts';
import type { ProxyMetrics } from './metrics.ts';

export type Clock = () => number;

/** Tracks queued and applied updates; answers "is the proxy keeping up?". */
export class ProxyHealth {
  readonly #timeoutMs: number;
  readonly #now: Clock;
  #lastUpdated: number | undefined;
  /** When the oldest change not yet applied was queued. */
  #oldestPending: number | undefined;
  #nodeEligible = true;

  constructor(options: { healthTimeoutMs: number; now?: Clock }) {
    this.#timeoutMs = options.healthTimeoutMs;
    this.#now = options.now ?? Date.now;
  }

  /** A change arrived that a sync has yet to apply. */
  queued(): void {
    this.#oldestPending ??= this.#now();
  }

  /** A sync applied everything queued so far. */
  updated(): void {
    this.#lastUpdated = this.#now();
    this.#oldestPending = undefined;
  }

  /** False while this node is being deleted or drained by the cluster autoscaler. */
  setNodeEligible(eligible: boolean): void {
    this.#nodeEligible = eligible;
  }

  get nodeEligible(): boolean {
    return this.#nodeEligible;
  }

  status(): { healthy: boolean; lastUpdated: number | undefined; now: number } {
    const now = this.#now();
    const healthy = this.#oldestPending === undefined || now - this.#oldestPending < this.#timeoutMs;
    return { healthy, lastUpdated: this.#lastUpdated, now };
  }
}

function iso(ms: number | undefined): string {
  return ms === undefined ? '' : new Date(ms).toISOString();
}

/** The /healthz and /livez answer: status code and JSON body. */
export function proxyHealthResponse(health: ProxyHealth, path: '/healthz' | '/livez'): { code: number; body: string } {
  const { healthy, lastUpdated, now } = health.status();
  const nodeEligible = health.nodeEligible;
  const ok = path === '/healthz' ? healthy && nodeEligible : healthy;
  // As kube-proxy: a healthy proxy reports lastUpdated as now, for clients of the older meaning ("last sync").
  const body: Record<string, unknown> = { lastUpdated: iso(ok ? now : lastUpdated), currentTime: iso(now) };
  if (path === '/healthz') body['nodeEligible'] = nodeEligible;
  body['healthy'] = healthy;
  body['status'] = { IPv4: { healthy, lastUpdated: iso(lastUpdated) } };
  return { code: ok ? 200 : 503, body: JSON.stringify(body) };
}

/** kube-proxy's healthCheckNodePort answer for one service. */
export function serviceHealthResponse(service: string, localEndpoints: number, proxyHealthy: boolean): { code: number; headers: Record<string, string>; body: string } {
  const [namespace = '', name = ''] = service.split('/');
  return {
    code: localEndpoints > 0 && proxyHealthy ? 200 : 503,
    headers: { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff', 'X-Load-Balancing-Endpoint-Weight': String(localEndpoints) },
    body: JSON.stringify({ service: { namespace, name }, localEndpoints, serviceProxyHealthy: proxyHealthy }, null, '\t'),
  };
}

export function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Serves /healthz and /livez; anything else is 404. */
export async function startHealthzServer(health: ProxyHealth, bind: { host: string; port: number }, metrics: ProxyMetrics): Promise<Server> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/healthz' && path !== '/livez') {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    const { code, body } = proxyHealthResponse(health, path);
    (path === '/healthz' ? metrics.healthzTotal : metrics.livezTotal).inc({ code: String(code) });
    response.writeHead(code, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' }).end(body);
  });
  await listen(server, bind.host, bind.port);
  return server;
}

/**
 * The healthCheckNodePort servers. `sync` opens and closes listeners to
 * match the services that need one; answers read the latest local endpoint
 * counts, so an endpoint change needs no listener change.
 */
export class ServiceHealthServers {
  readonly #addresses: readonly string[];
  readonly #proxyHealthy: () => boolean;
  readonly #logger: Logger;
  readonly #servers = new Map<string, { port: number; server: Server }>();
  #localEndpoints: ReadonlyMap<string, number> = new Map();

  /** `addresses`: where NodePorts are served (the --nodeport-addresses matches, or 0.0.0.0). */
  constructor(options: { addresses: readonly string[]; proxyHealthy: () => boolean; logger: Logger }) {
    this.#addresses = options.addresses;
    this.#proxyHealthy = options.proxyHealthy;
    this.#logger = options.logger;
  }

  /** `ports`: healthCheckNodePort by service ("ns/name"); `localEndpoints`: local ready endpoints by service. */
  async sync(ports: ReadonlyMap<string, number>, localEndpoints: ReadonlyMap<string, number>): Promise<void> {
    this.#localEndpoints = localEndpoints;
    for (const [service, entry] of this.#servers) {
      if (ports.get(service) === entry.port) continue;
      this.#servers.delete(service);
      await closeServer(entry.server);
    }
    for (const [service, port] of ports) {
      if (this.#servers.has(service)) continue;
      const server = createServer((_request, response) => {
        const answer = serviceHealthResponse(service, this.#localEndpoints.get(service) ?? 0, this.#proxyHealthy());
        response.writeHead(answer.code, answer.headers).end(answer.body);
      });
      try {
        for (const address of this.#addresses) await listenExtra(server, address, port);
        this.#servers.set(service, { port, server });
      } catch (error) {
        // Another process holds the port: the service still works, only its health check does not.
        this.#logger.error({ service, port, err: error }, 'cannot serve healthCheckNodePort');
        await closeServer(server);
      }
    }
  }

  get ports(): number[] {
    return [...this.#servers.values()].map((entry) => entry.port);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#servers.values()].map((entry) => closeServer(entry.server)));
    this.#servers.clear();
  }
}

/**
 * One handler on several addresses: the first address binds `server`
 * itself, each further one a sibling server that forwards its requests.
 */
async function listenExtra(server: Server, host: string, port: number): Promise<void> {
  if (!server.listening) {
    await listen(server, host, port);
    return;
  }
  const sibling = createServer((request, response) => server.emit('request', request, response));
  await listen(sibling, host, port);
  server.once('close', () => void closeServer(sibling));
}
