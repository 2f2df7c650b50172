/**
 * The /metrics registry: the counters of every serving thread (stats.ts),
 * summed at scrape time and rendered under CoreDNS's metric names (listed in
 * stats.ts and README.md), plus prom-client's process metrics.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { buckets, type HistogramData, type StatsSnapshot } from './stats.ts';

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** A metric whose values come from the latest snapshot, in prom-client's collector shape. */
class SnapshotMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator = 'sum' as const;
  readonly #values: (snapshot: StatsSnapshot) => MetricValue[];
  readonly #snapshot: () => Promise<StatsSnapshot>;

  constructor(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', snapshot: () => Promise<StatsSnapshot>, values: (snapshot: StatsSnapshot) => MetricValue[]) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.#snapshot = snapshot;
    this.#values = values;
  }

  async get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.#values(await this.#snapshot()) };
  }
}

function histogramValues(name: string, entries: [string, HistogramData][], labels: (key: string) => Record<string, string>): MetricValue[] {
  const values: MetricValue[] = [];
  for (const [key, data] of entries) {
    const base = labels(key);
    let cumulative = 0;
    buckets.forEach((bound, index) => {
      cumulative += data.counts[index] as number;
      values.push({ labels: { ...base, le: bound }, value: cumulative, metricName: `${name}_bucket` });
    });
    values.push({ labels: { ...base, le: '+Inf' }, value: data.count, metricName: `${name}_bucket` });
    values.push({ labels: base, value: data.sum, metricName: `${name}_sum` });
    values.push({ labels: base, value: data.count, metricName: `${name}_count` });
  }
  return values;
}

/**
 * The registry /metrics serves. `collect` gathers a snapshot from every
 * worker; one scrape asks once, however many metrics read it.
 */
export function createDnsRegistry(server: string, collect: () => Promise<StatsSnapshot>): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let pending: Promise<StatsSnapshot> | undefined;
  const snapshot = () => {
    pending ??= collect().finally(() => setImmediate(() => (pending = undefined)));
    return pending;
  };
  const common = { server, zone: '.' };
  const split = (key: string) => key.split('|');
  const metrics = [
    new SnapshotMetric('coredns_dns_requests_total', 'Counter of DNS requests made per zone, protocol and family.', 'counter', snapshot, (s) =>
      s.requests.map(([key, value]) => {
        const [proto = '', family = '', type = ''] = split(key);
        return { labels: { ...common, proto, family, type }, value };
      }),
    ),
    new SnapshotMetric('coredns_dns_responses_total', 'Counter of response status codes.', 'counter', snapshot, (s) =>
      s.responses.map(([key, value]) => {
        const [rcode = '', plugin = ''] = split(key);
        return { labels: { ...common, rcode, plugin }, value };
      }),
    ),
    new SnapshotMetric('coredns_dns_request_duration_seconds', 'Histogram of the time (in seconds) each request took.', 'histogram', snapshot, (s) =>
      histogramValues('coredns_dns_request_duration_seconds', s.durations, (type) => ({ ...common, type })),
    ),
    new SnapshotMetric('coredns_cache_hits_total', 'The count of cache hits.', 'counter', snapshot, (s) =>
      s.cacheHits.map(([key, value]) => {
        const [zones = '', type = ''] = split(key);
        return { labels: { server, zones, type }, value };
      }),
    ),
    new SnapshotMetric('coredns_cache_misses_total', 'The count of cache misses.', 'counter', snapshot, (s) =>
      s.cacheMisses.map(([zones, value]) => ({ labels: { server, zones }, value })),
    ),
    new SnapshotMetric('coredns_forward_request_duration_seconds', 'Histogram of the time each request took.', 'histogram', snapshot, (s) =>
      histogramValues('coredns_forward_request_duration_seconds', s.forwards, (key) => {
        const [to = '', rcode = ''] = split(key);
        return { to, rcode };
      }),
    ),
    new SnapshotMetric('coredns_forward_max_concurrent_rejects_total', 'Counter of the number of queries rejected because the concurrent queries were at maximum.', 'counter', snapshot, (s) => [
      { labels: {}, value: s.forwardRejects },
    ]),
    new SnapshotMetric('coredns_panics_total', 'A metrics that counts the number of panics.', 'counter', snapshot, (s) => [{ labels: {}, value: s.panics }]),
    new SnapshotMetric('kplane_dns_forward_loop_detected', '1 once a forwarding loop was detected and forwarding disabled.', 'gauge', snapshot, (s) => [
      { labels: {}, value: s.loopDetected ? 1 : 0 },
    ]),
  ];
  for (const metric of metrics) registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
  return registry;
}
