/**
 * Which way to move bytes: http-proxy (as the product owner named it, and
 * with the keep-alive agent it needs), node:http with a keep-alive Agent,
 * node:http with an undici Pool, and kplane's own proxy built on the last
 * one. Same backend (nginx, two ports), same wrk load, one candidate at a
 * time, in one run.
 *
 *   node --disable-warning=ExperimentalWarning bench/ingress/proxies.bench.ts
 *
 * Knobs (env): BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (3),
 * BENCH_CONNECTIONS (50), BENCH_THREADS (1), BENCH_ROUNDS (2; the best round counts),
 * BENCH_OUT (bench/ingress/proxies.json).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchDir, freePort, knob, measureCpu, runNode, startBackend, table, waitReady, wrk, type Measured } from './harness.ts';

const seconds = knob('BENCH_SECONDS', 10);
const warmupSeconds = knob('BENCH_WARMUP_SECONDS', 3);
const connections = knob('BENCH_CONNECTIONS', 50);
const threads = knob('BENCH_THREADS', 1);
const rounds = knob('BENCH_ROUNDS', 2);
const out = process.env['BENCH_OUT'] ?? join(benchDir, 'proxies.json');

const candidates = ['http-proxy', 'http-proxy+agent', 'node:http+agent', 'node:http+undici', 'kplane', 'node:http+llhttp'];
const baseline = 'http-proxy+agent';

const backendPorts = [await freePort(), await freePort()];
const backend = startBackend(backendPorts);
try {
  await waitReady(backend, backendPorts);
  const direct = await wrk({ url: `http://127.0.0.1:${backendPorts[0]}/`, host: 'bench.local', connections, threads, seconds });
  const results = new Map<string, Measured>();
  for (let round = 0; round < rounds; round++) {
    for (const name of candidates) {
      const port = await freePort();
      const proxy = runNode(join(benchDir, 'candidates.ts'), [name, String(port), ...backendPorts.map(String)]);
      try {
        await waitReady(proxy, [port]);
        await wrk({ url: `http://127.0.0.1:${port}/`, host: 'bench.local', connections, threads, seconds: warmupSeconds });
        const result = await measureCpu(proxy, () => wrk({ url: `http://127.0.0.1:${port}/`, host: 'bench.local', connections, threads, seconds }));
        const best = results.get(name);
        if (!best || result.rps > best.rps) results.set(name, result);
        process.stderr.write(`round ${round + 1} ${name}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(2)} ms, ${result.cpuMicrosPerRequest.toFixed(1)} µs CPU/req, errors ${result.errors}\n`);
      } finally {
        await proxy.stop();
      }
    }
  }
  const base = results.get(baseline);
  const rows = candidates.map((name) => {
    const result = results.get(name) as Measured;
    return [name, result.rps.toFixed(0), result.p50Ms.toFixed(2), result.p99Ms.toFixed(2), result.cpuMicrosPerRequest.toFixed(1), result.errors, base ? `${(result.rps / base.rps).toFixed(2)}×` : '-'];
  });
  rows.unshift(['(backend direct)', direct.rps.toFixed(0), direct.p50Ms.toFixed(2), direct.p99Ms.toFixed(2), '-', direct.errors, '-']);
  process.stdout.write(`\nwrk -t${threads} -c${connections} -d${seconds}s, best of ${rounds} rounds, Node ${process.version}\n\n`);
  process.stdout.write(table(['proxy', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'errors', `req/s vs ${baseline}`], rows) + '\n');
  writeFileSync(out, JSON.stringify({ node: process.version, seconds, connections, threads, rounds, direct, results: Object.fromEntries(results) }, null, 2) + '\n');
} finally {
  await backend.stop();
}
