/**
 * Every metric the ingress controller exports, in one place (listed in
 * ingress/README.md). Only the sync loop and the socket edges update them.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export class IngressMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'host' | 'status'>;
  readonly upstreamResponseSeconds: Histogram;
  readonly upstreamRetries: Counter;
  readonly upstreamErrors: Counter<'kind'>;
  readonly configReloads: Counter;
  readonly syncSeconds: Histogram;
  readonly routes: Gauge;
  readonly certificates: Gauge;
  readonly statusUpdates: Counter<'result'>;
  /** Children per host and status, so the request path does not hash label sets on every request. */
  readonly #requestChildren = new Map<string, Counter.Internal>();

  constructor(registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.requests = new Counter({
      name: 'kplane_ingress_requests_total',
      help: 'Requests answered, by the host of the matched rule ("_" for host-less rules and for requests no rule matched) and HTTP status.',
      labelNames: ['host', 'status'],
      registers,
    });
    this.upstreamResponseSeconds = new Histogram({
      name: 'kplane_ingress_upstream_response_seconds',
      help: 'Time from sending a request upstream to receiving its response headers.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.upstreamRetries = new Counter({
      name: 'kplane_ingress_upstream_retries_total',
      help: 'Idempotent requests sent again to another endpoint after a connection failure.',
      registers,
    });
    this.upstreamErrors = new Counter({
      name: 'kplane_ingress_upstream_errors_total',
      help: 'Upstream failures by kind: connect, timeout, reset (the connection failed after the request was sent).',
      labelNames: ['kind'],
      registers,
    });
    this.configReloads = new Counter({
      name: 'kplane_ingress_config_reloads_total',
      help: 'Route tables and certificate sets built and swapped in.',
      registers,
    });
    this.syncSeconds = new Histogram({
      name: 'kplane_ingress_sync_duration_seconds',
      help: 'Time to build and swap in the route table, certificates and status.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.routes = new Gauge({ name: 'kplane_ingress_routes', help: 'Path rules and default backends in the current route table.', registers });
    this.certificates = new Gauge({ name: 'kplane_ingress_certificates', help: 'Host names served with a certificate from a Secret.', registers });
    this.statusUpdates = new Counter({
      name: 'kplane_ingress_status_updates_total',
      help: 'Writes of status.loadBalancer to owned Ingresses, by result.',
      labelNames: ['result'],
      registers,
    });
    collectDefaultMetrics({ register: registry });
  }

  countRequest(host: string, status: number): void {
    const key = `${host} ${status}`;
    let child = this.#requestChildren.get(key);
    if (!child) {
      child = this.requests.labels(host, String(status));
      this.#requestChildren.set(key, child);
    }
    child.inc();
  }
}
