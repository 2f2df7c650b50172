/**
 * The whole controller against nginx, side by side in one run:
 *
 * - `bin/kplane apiserver` holds an IngressClass, a Service with two
 *   endpoints, a TLS Secret and an Ingress (host bench.local, Prefix /);
 *   `bin/kplane ingress` serves it.
 * - nginx (one worker, as kplane runs one process) is configured the same:
 *   that host and path, the same certificate, HTTP/2 offered by ALPN, an
 *   upstream of the same two endpoints with keep-alive, and the headers
 *   ingress-nginx sets (Host, X-Forwarded-*, X-Real-IP). Neither logs requests.
 * - Both proxy to the same backend (nginx answering a fixed 200 on two ports).
 * - wrk drives HTTP and HTTPS keep-alive load at each, alternating rounds;
 *   the best round of each counts. CPU per request comes from /proc.
 * - Then endpoint churn: while wrk runs against kplane, backend "pods" start,
 *   join the Service, are made not ready, leave it and stop, one per period.
 *   Every request must still succeed.
 *
 *   node --disable-warning=ExperimentalWarning bench/ingress/controller.bench.ts
 *
 * Knobs (env): BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (3), BENCH_ROUNDS (3),
 * BENCH_CONNECTIONS (50), BENCH_THREADS (1), BENCH_CHURN_SECONDS (20),
 * BENCH_CHURN_PERIOD_MS (1000), BENCH_PORT_BASE (28100),
 * BENCH_OUT (bench/ingress/controller.json).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EndpointSlice } from '../../controlplane/api/types.ts';
import { createHttpClient } from '../../controlplane/client/http-client.ts';
import { refs } from '../../controlplane/client/types.ts';
import { selfSignedCertificate } from '../../ingress/self-signed.ts';
import { startApiServerProcess } from '../../test/integration/helpers/apiserver-process.ts';
import { makeClass, makeIngress, makeService, makeTlsSecret, prefix } from '../../test/unit/ingress/builders.ts';
import { benchDir, freePort, knob, measureCpu, repoRoot, run, startBackend, startNginx, table, tempDir, waitReady, wrk, type Measured, type Running } from './harness.ts';

const seconds = knob('BENCH_SECONDS', 10);
const warmupSeconds = knob('BENCH_WARMUP_SECONDS', 3);
const rounds = knob('BENCH_ROUNDS', 3);
const connections = knob('BENCH_CONNECTIONS', 50);
const threads = knob('BENCH_THREADS', 1);
const churnSeconds = knob('BENCH_CHURN_SECONDS', 20);
const churnPeriodMs = knob('BENCH_CHURN_PERIOD_MS', 1000);
const out = process.env['BENCH_OUT'] ?? join(benchDir, 'controller.json');
const host = 'bench.local';

async function measure(target: Running, url: string): Promise<Measured> {
  return measureCpu(target, () => wrk({ url, host, connections, threads, seconds }));
}

const work = tempDir('kplane-bench-ingress-');
const cleanups: (() => Promise<unknown>)[] = [];
try {
  const certificate = selfSignedCertificate({ commonName: host, dnsNames: [host], notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86400_000) });
  writeFileSync(join(work.path, 'tls.crt'), certificate.cert);
  writeFileSync(join(work.path, 'tls.key'), certificate.key);

  const backendPorts = [await freePort(), await freePort()];
  const backend = startBackend(backendPorts);
  cleanups.push(() => backend.stop());
  await waitReady(backend, backendPorts);

  const api = await startApiServerProcess(join(work.path, 'data'));
  cleanups.push(() => api.stop());
  const client = createHttpClient({ server: api.url });
  cleanups.push(() => client.close());
  // The store refuses loopback IPs as endpoints (as kube-apiserver does); an FQDN slice may name 127.0.0.1.
  const slice = (name: string, port: number, ready = true): EndpointSlice => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: 'default', name, labels: { 'kubernetes.io/service-name': 'echo' } },
    addressType: 'FQDN',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready } }],
  });
  const slices = { ...refs.endpointslices, namespace: 'default' };
  await client.create(refs.ingressclasses, makeClass('kplane', 'kplane.io/ingress-controller'));
  await client.create(refs.services, makeService('echo'));
  for (const port of backendPorts) await client.create(slices, slice(`echo-${port}`, port));
  await client.create(refs.secrets, makeTlsSecret('bench-tls', certificate.cert, certificate.key));
  await client.create(
    refs.ingresses,
    makeIngress('bench', {
      className: 'kplane',
      annotations: { 'kplane.io/ssl-redirect': 'false' },
      tls: [{ hosts: [host], secretName: 'bench-tls' }],
      rules: [{ host, paths: [prefix('/', 'echo')] }],
    }),
  );

  const kplanePorts = { http: await freePort(), https: await freePort() };
  const kplane = run(join(repoRoot, 'bin/kplane'), ['ingress', '--server', api.url, '--http-listen', `127.0.0.1:${kplanePorts.http}`, '--https-listen', `127.0.0.1:${kplanePorts.https}`], { KPLANE_LOG_LEVEL: 'warn', KPLANE_LOG_FORMAT: 'json' });
  cleanups.push(() => kplane.stop());
  await waitReady(kplane, [kplanePorts.http, kplanePorts.https]);

  const nginxPorts = { http: await freePort(), https: await freePort() };
  const nginx = startNginx(
    'proxy',
    1,
    `  upstream echo { ${backendPorts.map((port) => `server 127.0.0.1:${port};`).join(' ')} keepalive 64; keepalive_timeout 60s; }
  server {
    listen 127.0.0.1:${nginxPorts.http};
    listen 127.0.0.1:${nginxPorts.https} ssl http2;
    server_name ${host};
    ssl_certificate ${work.path}/tls.crt;
    ssl_certificate_key ${work.path}/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    client_max_body_size 1m;
    location / {
      proxy_pass http://echo;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_connect_timeout 5s;
      proxy_read_timeout 60s;
      proxy_next_upstream error timeout;
    }
  }`,
  );
  cleanups.push(() => nginx.stop());
  await waitReady(nginx, [nginxPorts.http, nginxPorts.https]);

  const targets = [
    { name: 'nginx', process: nginx as Running, http: `http://127.0.0.1:${nginxPorts.http}/`, https: `https://127.0.0.1:${nginxPorts.https}/` },
    { name: 'kplane', process: kplane, http: `http://127.0.0.1:${kplanePorts.http}/`, https: `https://127.0.0.1:${kplanePorts.https}/` },
  ];
  // kplane learns its routes through a watch; wait until it serves them.
  for (let attempt = 0; attempt < 100; attempt++) {
    const probe = await wrk({ url: targets[1]?.http ?? '', host, connections: 1, threads: 1, seconds: 1 });
    if (probe.requests > 0 && probe.errors === 0) break;
    await sleep(100);
  }

  const best = new Map<string, Measured>();
  for (let round = 0; round < rounds; round++) {
    for (const scheme of ['http', 'https'] as const) {
      for (const target of targets) {
        const url = target[scheme];
        await wrk({ url, host, connections, threads, seconds: warmupSeconds });
        const result = await measure(target.process, url);
        const key = `${target.name} ${scheme}`;
        const previous = best.get(key);
        if (!previous || result.rps > previous.rps) best.set(key, result);
        process.stderr.write(`round ${round + 1} ${key}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(2)} ms, ${result.cpuMicrosPerRequest.toFixed(1)} µs CPU/req, errors ${result.errors}\n`);
      }
    }
  }

  // Churn: traffic moves to "pods" (an nginx each, on its own port). Each period a new pod joins, and
  // the oldest leaves the way a terminating pod does: not ready first, then out of the slice, then stopped.
  const pods: { port: number; server: Running }[] = [];
  const addPod = async () => {
    const port = await freePort();
    const server = startBackend([port]);
    await waitReady(server, [port]);
    await client.create(slices, slice(`pod-${port}`, port));
    pods.push({ port, server });
  };
  for (let index = 0; index < 2; index++) await addPod();
  for (const port of backendPorts) await client.delete(slices, `echo-${port}`);
  let changes = 0;
  const churnResult = wrk({ url: targets[1]?.http ?? '', host, connections, threads, seconds: churnSeconds });
  const churnUntil = Date.now() + (churnSeconds - 2) * 1000;
  while (Date.now() < churnUntil) {
    await addPod();
    await sleep(churnPeriodMs / 2);
    const leaving = pods.shift() as { port: number; server: Running };
    await client.update(slices, { ...(await client.get<EndpointSlice>(slices, `pod-${leaving.port}`)), endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: false } }] });
    await sleep(churnPeriodMs / 2);
    await client.delete(slices, `pod-${leaving.port}`);
    await leaving.server.stop();
    changes += 3;
  }
  const churn = await churnResult;
  for (const pod of pods) await pod.server.stop();

  const rows: (string | number)[][] = [];
  for (const scheme of ['http', 'https'] as const) {
    const theirs = best.get(`nginx ${scheme}`) as Measured;
    const ours = best.get(`kplane ${scheme}`) as Measured;
    for (const [name, result] of [['nginx', theirs], ['kplane', ours]] as const) {
      rows.push([
        `${name} ${scheme.toUpperCase()}`,
        result.rps.toFixed(0),
        result.p50Ms.toFixed(2),
        result.p99Ms.toFixed(2),
        result.cpuMicrosPerRequest.toFixed(1),
        result.errors,
        name === 'kplane' ? `${((ours.rps / theirs.rps) * 100).toFixed(0)} %` : '',
        name === 'kplane' ? `${(ours.p99Ms / theirs.p99Ms).toFixed(2)}×` : '',
      ]);
    }
  }
  process.stdout.write(`\nwrk -t${threads} -c${connections} -d${seconds}s keep-alive, best of ${rounds} rounds, one worker each, Node ${process.version}, ${(await import('node:os')).cpus().length} CPUs\n\n`);
  process.stdout.write(table(['proxy', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'errors', 'req/s vs nginx', 'p99 vs nginx'], rows) + '\n');
  process.stdout.write(`\nendpoint churn (kplane HTTP, ${churnSeconds}s, ${changes} endpoint changes): ${churn.requests} requests, ${churn.errors} errors (${churn.non2xx} non-2xx)\n`);
  writeFileSync(
    out,
    JSON.stringify({ node: process.version, seconds, rounds, connections, threads, results: Object.fromEntries(best), churn: { ...churn, churnSeconds, periodMs: churnPeriodMs, changes } }, null, 2) + '\n',
  );
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  work.remove();
}
