/**
 * What the serving threads count per query, in plain numbers: a
 * Prometheus client's labelled counters cost more per query than the rest
 * of the hot path, and this module must not pull prom-client into every
 * worker. metrics.ts renders the summed snapshots. The metrics, named as
 * CoreDNS names them so its dashboards work (plugin/metrics, plugin/cache,
 * plugin/forward):
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
 */
import { rcodeName, RRType, typeName } from './rr.ts';

/** CoreDNS's buckets: 0.25 ms doubling 16 times. */
export const buckets = Array.from({ length: 16 }, (_, index) => 0.00025 * 2 ** index);

const countedTypes = new Set<number>([RRType.A, RRType.AAAA, RRType.CNAME, RRType.MX, RRType.NS, RRType.PTR, RRType.SOA, RRType.SRV, RRType.TXT, RRType.AXFR, RRType.IXFR, RRType.ANY, 43, 46, 47, 48, 50, 64, 65]);
const extraTypeNames = new Map<number, string>([[43, 'DS'], [46, 'RRSIG'], [47, 'NSEC'], [48, 'DNSKEY'], [50, 'NSEC3'], [64, 'SVCB'], [65, 'HTTPS']]);

/** The type label: common types by name, everything else "other" (keeps the label set small). */
export function typeLabel(type: number): string {
  if (!countedTypes.has(type)) return 'other';
  return extraTypeNames.get(type) ?? typeName(type);
}

export interface HistogramData {
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

