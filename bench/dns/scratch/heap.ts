import { AnswerCache } from '../../../dns/answer-cache.ts';
import { Forwarder, forwardDefaults } from '../../../dns/forward.ts';
import { QueryHandler } from '../../../dns/handler.ts';
import { QueryStats } from '../../../dns/metrics.ts';
import { Records, slimService } from '../../../dns/records.ts';
import { makeService } from '../../../test/unit/dns/fixtures.ts';
import { queryBytes } from '../../../test/unit/dns/wire-client.ts';
import { readFileSync } from 'node:fs';
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1024;
const mb = () => { (globalThis as any).gc(); const m = process.memoryUsage(); return `heapUsed ${(m.heapUsed / 2 ** 20).toFixed(1)} MiB, external ${(m.external/2**20).toFixed(1)}, arrayBuffers ${(m.arrayBuffers/2**20).toFixed(1)}, rss ${rss().toFixed(0)}`; };
console.log('start', mb());
const view = new Records();
view.setNamespace('bench', true);
for (let i = 0; i < 10000; i++) { const s = slimService(makeService('bench', `svc-${i}`, { clusterIP: `10.96.${i >> 8}.${i & 255}`, ports: [{ name: 'http', port: 80 }] })); if (typeof s !== 'string') view.setService(`bench/svc-${i}`, s); }
view.synced = true;
console.log('view', mb());
const cache = new AnswerCache(100000);
const h = new QueryHandler(view, { answer: { zone: 'cluster.local', ttl: 5, pods: 'disabled', nameservers: [] }, maxUdpSize: 1232, loopProbeName: 'x', onLoop() {} }, cache, new Forwarder({ ...forwardDefaults, upstreams: [] }), new QueryStats('cluster.local.'));
const t = performance.now();
for (let i = 0; i < 10000; i++) { h.handle(queryBytes({ name: `svc-${i}.bench.svc.cluster.local`, type: 1 }), 'udp', 1); h.handle(queryBytes({ name: `svc-${i}.bench.svc.cluster.local`, type: 28 }), 'udp', 1); }
console.log('miss µs', ((performance.now() - t) / 20000 * 1000).toFixed(1));
console.log('20k cached', mb(), 'entries', cache.size);
