/**
 * Micro benchmarks of the hot functions, no sockets: a query answered from
 * the answer cache (the steady state), a cache miss (answer built and
 * encoded with dns2), the qname parser, and applying the first view batch
 * of SERVICES services.
 *
 *   node --disable-warning=ExperimentalWarning bench/dns/handler.bench.ts
 *
 * Knobs (env): SERVICES (10000), ITERATIONS (1000000).
 */
import { AnswerCache } from '../../dns/answer-cache.ts';
import { Forwarder, forwardDefaults } from '../../dns/forward.ts';
import { QueryHandler } from '../../dns/handler.ts';
import { QueryStats } from '../../dns/stats.ts';
import { parseName } from '../../dns/parse.ts';
import { applyBatch, Records, slimService, type SlimService, type ViewChange } from '../../dns/records.ts';
import { RRType } from '../../dns/rr.ts';
import { makeService } from '../../test/unit/dns/fixtures.ts';
import { queryBytes } from '../../test/unit/dns/wire-client.ts';

const knob = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const services = knob('SERVICES', 10_000);
const iterations = knob('ITERATIONS', 1_000_000);

/** Runs `run` count times after as many warm-up calls (at most 10,000), unless warming up would spoil what is measured. */
function time(label: string, count: number, unit: 'ns' | 'µs' | 'ms', run: (index: number) => void, warmUp = true): void {
  if (warmUp) for (let index = 0; index < Math.min(count, 10_000); index++) run(index);
  const started = performance.now();
  for (let index = 0; index < count; index++) run(index);
  const each = (performance.now() - started) / count;
  const value = unit === 'ns' ? each * 1e6 : unit === 'µs' ? each * 1e3 : each;
  console.log(`${label.padEnd(52)}${value.toFixed(unit === 'ms' ? 1 : 2).padStart(10)} ${unit}`);
}

const changes: ViewChange[] = [{ kind: 'namespace', name: 'bench', present: true }];
for (let index = 0; index < services; index++) {
  const slim = slimService(makeService('bench', `svc-${index}`, { clusterIP: `10.96.${index >> 8}.${index & 255}`, ports: [{ name: 'http', port: 80 }] })) as SlimService;
  changes.push({ kind: 'service', key: `bench/svc-${index}`, service: slim });
}
let view = new Records();
time(`apply the first batch of ${services} services`, 5, 'ms', () => {
  view = new Records();
  applyBatch(view, { changes, serial: 1, synced: true });
});

const handler = new QueryHandler(
  view,
  { answer: { zone: 'cluster.local', ttl: 5, pods: 'disabled', nameservers: [] }, maxUdpSize: 1232, loopProbeName: 'never.asked', onLoop: () => undefined },
  new AnswerCache(200_000),
  new Forwarder({ ...forwardDefaults, upstreams: [] }),
  new QueryStats('cluster.local.'),
);
const hit = queryBytes({ name: 'svc-1.bench.svc.cluster.local', type: RRType.A, edns: {} });
time('cached answer: read, look up, copy and patch', iterations, 'ns', () => handler.handle(hit, 'udp', 1));
const misses = Array.from({ length: services }, (_, index) => queryBytes({ name: `svc-${index}.bench.svc.cluster.local`, type: RRType.AAAA }));
time('cache miss: build the answer and encode it with dns2', services, 'µs', (index) => handler.handle(misses[index] as Buffer, 'udp', 1), false);
time('parseName', iterations, 'ns', (index) => parseName(`_http._tcp.svc-${index & 1023}.bench.svc.cluster.local`, 'cluster.local'));
