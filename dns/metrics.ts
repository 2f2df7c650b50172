/**
 * The DNS server's metrics, named as CoreDNS names them so its dashboards
 * work (plugin/metrics, plugin/cache, plugin/forward):
 *
 *   coredns_dns_requests_total{server,zone,proto,family,type}
 *   coredns_dns_responses_total{server,zone,rcode,plugin}
 *   coredns_dns_request_duration_seconds{server,zone,type}      histogram
 *   coredns_cache_hits_total{server,zones,type}                   type: success | denial
 *   coredns_cache_misses_total{server,zones}                      zones: the cluster zone (built answers) or "." (forwarded)
 *   coredns_forward_request_duration_seconds{to,rcode}           histogram
 *   coredns_forward_max_concurrent_rejects_total
 *   coredns_panics_total
 *   kplane_dns_forward_loop_detected                              1 once a forwarding loop has disabled forwarding
 *
 * Queries are counted in plain numbers (QueryStats) where they are served,
 * in each worker; a Prometheus client's labelled counters cost more per
 * query than the rest of the hot path. A scrape collects a snapshot from
 * every worker, sums them and renders them through prom-client.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { rcodeName, RRType, typeName } from './rr.ts';

/** CoreDNS's buckets: 0.25 ms doubling 16 times. */
const buckets = Array.from({ length: 16 }, (_, index) => 0.00025 * 2 ** index);

const countedTypes = new Set<number>([RRType.A, RRType.AAAA, RRType.CNAME, RRType.MX, RRType.NS, RRType.PTR, RRType.SOA, RRType.SRV, RRType.TXT, RRType.AXFR, RRType.IXFR, RRType.ANY, 43, 46, 47, 48, 50, 64, 65]);
const extraTypeNames = new Map<number, string>([[43, 'DS'], [46, 'RRSIG'], [47, 'NSEC'], [48, 'DNSKEY'], [50, 'NSEC3'], [64, 'SVCB'], [65, 'HTTPS']]);

/** The type label: common types by name, everything else "other" (keeps the label set small). */
export function typeLabel(type: number): string {
  if (!countedTypes.has(type)) return 'other';
  return extraTypeNames.get(type) ?? typeName(type);
}

interface HistogramData {
  counts: number[];
  sum: number;
  count: number;
}

function observe<K>(map: Map<K, HistogramData>, key: K, seconds: number): void {
  let data = map.get(key);
  if (!data) map.set(key, (data = { counts: new Array<number>(buckets.length).fill(0), sum: 0, count: 0 }));
  let index = 0;
  while (index < buckets.length && seconds > (buckets[index] as number)) index += 1;
  if (index < buckets.length) data.counts[index] = (data.counts[index] as number) + 1;
  data.sum += seconds;
  data.count += 1;
}

function add(map: Map<string, number>, key: string, value = 1): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

/** A plain, cloneable copy of QueryStats (what workers post to the primary). */
export interface StatsSnapshot {
  requests: [string, number][];
  responses: [string, number][];
  durations: [string, HistogramData][];
  cacheHits: [string, number][];
  cacheMisses: [string, number][];
  forwards: [string, HistogramData][];
  forwardRejects: number;
  panics: number;
  loopDetected: boolean;
}

const plugins = ['', 'kubernetes', 'forward'] as const;
export type Plugin = (typeof plugins)[number];

/**
 * Counters where queries are served. The per-query ones are keyed by
 * numbers (type, rcode) and get their label strings only in snapshot().
 */
export class QueryStats {
  /** ((proto × 2 + family − 1) << 16) | type → count; proto 0 is UDP, 1 TCP. */
  readonly #requests = new Map<number, number>();
  /** (plugin index << 16) | rcode → count. */
  readonly #responses = new Map<number, number>();
  readonly #durations = new Map<number, HistogramData>();
  /** Per cache (0: built answers, 1: forwarded): [hits success, hits denial, misses]. */
  readonly #caches = [
    [0, 0, 0],
    [0, 0, 0],
  ];
  readonly #zones: readonly [string, string];
  readonly #forwards = new Map<string, HistogramData>();
  forwardRejects = 0;
  panics = 0;
  loopDetected = false;

  request(proto: 'udp' | 'tcp', family: 1 | 2, type: number): void {
    const key = (((proto === 'udp' ? 0 : 2) + family - 1) << 16) | type;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
  }

  response(rcode: number, plugin: Plugin, type: number, seconds: number): void {
    const key = (plugins.indexOf(plugin) << 16) | rcode;
    this.#responses.set(key, (this.#responses.get(key) ?? 0) + 1);
    observe(this.#durations, type, seconds);
  }

  /** `zone` labels the answer cache's counts; the forward cache is zone ".". */
  constructor(zone: string) {
    this.#zones = [zone, '.'];
  }

  cache(which: 'answers' | 'forward', hit: boolean, denial: boolean): void {
    const counts = this.#caches[which === 'answers' ? 0 : 1] as number[];
    const slot = hit ? (denial ? 1 : 0) : 2;
    counts[slot] = (counts[slot] as number) + 1;
  }

  forward(to: string, rcode: string, seconds: number): void {
    observe(this.#forwards, `${to}|${rcode}`, seconds);
  }

  snapshot(): StatsSnapshot {
    const requests = new Map<string, number>();
    for (const [key, count] of this.#requests) {
      const slot = key >>> 16;
      add(requests, `${slot >= 2 ? 'tcp' : 'udp'}|${(slot % 2) + 1}|${typeLabel(key & 0xffff)}`, count);
    }
    const responses = new Map<string, number>();
    for (const [key, count] of this.#responses) add(responses, `${rcodeName(key & 0xffff)}|${plugins[key >>> 16]}`, count);
    const durations = new Map<string, HistogramData>();
    for (const [type, data] of this.#durations) mergeHistogram(durations, typeLabel(type), data);
    return {
      requests: [...requests],
      responses: [...responses],
      durations: [...durations],
      cacheHits: this.#zones.flatMap((zones, index) => {
        const [success = 0, denial = 0] = this.#caches[index] as number[];
        return [[`${zones}|success`, success] as [string, number], [`${zones}|denial`, denial] as [string, number]];
      }),
      cacheMisses: this.#zones.map((zones, index) => [zones, (this.#caches[index] as number[])[2] as number]),
      forwards: [...this.#forwards],
      forwardRejects: this.forwardRejects,
      panics: this.panics,
      loopDetected: this.loopDetected,
    };
  }
}

function mergeHistogram(map: Map<string, HistogramData>, key: string, data: HistogramData): void {
  const into = map.get(key);
  if (!into) {
    map.set(key, { counts: [...data.counts], sum: data.sum, count: data.count });
    return;
  }
  data.counts.forEach((count, index) => (into.counts[index] = (into.counts[index] as number) + count));
  into.sum += data.sum;
  into.count += data.count;
}

/** Sums snapshots from every worker into one. */
export function mergeSnapshots(snapshots: readonly StatsSnapshot[]): StatsSnapshot {
  const sum = (pick: (snapshot: StatsSnapshot) => [string, number][]) => {
    const map = new Map<string, number>();
    for (const snapshot of snapshots) for (const [key, value] of pick(snapshot)) add(map, key, value);
    return [...map];
  };
  const sumHistograms = (pick: (snapshot: StatsSnapshot) => [string, HistogramData][]) => {
    const map = new Map<string, HistogramData>();
    for (const snapshot of snapshots) for (const [key, data] of pick(snapshot)) mergeHistogram(map, key, data);
    return [...map];
  };
  return {
    requests: sum((snapshot) => snapshot.requests),
    responses: sum((snapshot) => snapshot.responses),
    durations: sumHistograms((snapshot) => snapshot.durations),
    cacheHits: sum((snapshot) => snapshot.cacheHits),
    cacheMisses: sum((snapshot) => snapshot.cacheMisses),
    forwards: sumHistograms((snapshot) => snapshot.forwards),
    forwardRejects: snapshots.reduce((total, snapshot) => total + snapshot.forwardRejects, 0),
    panics: snapshots.reduce((total, snapshot) => total + snapshot.panics, 0),
    loopDetected: snapshots.some((snapshot) => snapshot.loopDetected),
  };
}

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
