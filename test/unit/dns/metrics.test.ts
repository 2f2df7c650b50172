import { describe, expect, test } from 'vitest';
import { createDnsRegistry } from '../../../dns/metrics.ts';
import { mergeSnapshots, QueryStats } from '../../../dns/stats.ts';
import { Rcode, RRType } from '../../../dns/rr.ts';

function sample(): QueryStats {
  const stats = new QueryStats('cluster.local.');
  stats.request('udp', 1, RRType.A);
  stats.request('tcp', 2, 99);
  stats.response(Rcode.NOERROR, 'kubernetes', RRType.A, 0.0001);
  stats.response(Rcode.NXDOMAIN, 'kubernetes', RRType.A, 0.003);
  stats.cache('answers', true, false);
  stats.cache('answers', false, false);
  stats.cache('forward', true, true);
  stats.forward('10.0.0.1:53', 'NOERROR', 0.02);
  return stats;
}

describe('metrics', () => {
  test('a snapshot labels per-query counts by name', () => {
    const snapshot = sample().snapshot();
    expect(snapshot.requests).toEqual([
      ['udp|1|A', 1],
      ['tcp|2|other', 1],
    ]);
    expect(snapshot.responses).toEqual([
      ['NOERROR|kubernetes', 1],
      ['NXDOMAIN|kubernetes', 1],
    ]);
    expect(snapshot.cacheHits).toEqual([
      ['cluster.local.|success', 1],
      ['cluster.local.|denial', 0],
      ['.|success', 0],
      ['.|denial', 1],
    ]);
  });

  test('snapshots from several workers add up', () => {
    const merged = mergeSnapshots([sample().snapshot(), sample().snapshot()]);
    expect(merged.requests).toContainEqual(['udp|1|A', 2]);
    expect(merged.durations).toEqual([['A', expect.objectContaining({ count: 4 })]]);
  });

  test('the registry renders CoreDNS metric names, histograms cumulative', async () => {
    const registry = createDnsRegistry('dns://127.0.0.1:53', async () => sample().snapshot());
    const text = await registry.metrics();
    expect(text).toContain('coredns_dns_requests_total{server="dns://127.0.0.1:53",zone=".",proto="udp",family="1",type="A"} 1');
    expect(text).toContain('coredns_dns_responses_total{server="dns://127.0.0.1:53",zone=".",rcode="NXDOMAIN",plugin="kubernetes"} 1');
    expect(text).toContain('coredns_dns_request_duration_seconds_bucket{server="dns://127.0.0.1:53",zone=".",type="A",le="0.00025"} 1');
    expect(text).toContain('coredns_dns_request_duration_seconds_bucket{server="dns://127.0.0.1:53",zone=".",type="A",le="+Inf"} 2');
    expect(text).toContain('coredns_cache_hits_total{server="dns://127.0.0.1:53",zones="cluster.local.",type="success"} 1');
    expect(text).toContain('coredns_cache_misses_total{server="dns://127.0.0.1:53",zones="cluster.local."} 1');
    expect(text).toContain('coredns_forward_request_duration_seconds_count{to="10.0.0.1:53",rcode="NOERROR"} 1');
    expect(text).toContain('process_resident_memory_bytes');
  });
});
