import { readFileSync } from 'node:fs';
import { createHttpClient } from '../../../controlplane/client/http-client.ts';
import { refs } from '../../../controlplane/client/types.ts';
import { startApiServerProcess, tempDir } from '../../../test/integration/helpers/apiserver-process.ts';
import { eventually, startDnsProcess } from '../../../test/unit/dns/dns-process.ts';
import { makeNamespace, makeService } from '../../../test/unit/dns/fixtures.ts';
const dir = tempDir('kd-mem-');
const api = await startApiServerProcess(dir.path);
const client = createHttpClient({ server: api.url });
await client.create(refs.namespaces, makeNamespace('bench'));
let next = 0;
await Promise.all(Array.from({ length: 32 }, async () => { while (next < 10000) await client.create(refs.services, makeService('bench', `svc-${next++}`, { type: 'ClusterIP', ports: [{ name: 'http', port: 80 }] })); }));
const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
for (const w of [1, 2, 1, 2]) {
  const dns = await startDnsProcess(['--server', api.url, '--upstream', '127.0.0.1:9', '--workers', String(w)]);
  await eventually(async () => ((await fetch(`http://${dns.ready}/ready`)).status === 200 ? true : undefined), 60000);
  await new Promise((r) => setTimeout(r, 2000));
  console.log(`workers=${w} rss=${rss(dns.child.pid!).toFixed(0)} MiB`);
  await dns.stop();
}
const empty = await startDnsProcess(['--server', 'http://127.0.0.1:1', '--upstream', '127.0.0.1:9', '--workers', '1']);
await new Promise((r) => setTimeout(r, 2000));
console.log(`no api, workers=1 rss=${rss(empty.child.pid!).toFixed(0)} MiB`);
await empty.stop();
await client.close(); await api.stop(); dir.remove();
