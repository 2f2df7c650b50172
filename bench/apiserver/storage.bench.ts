/**
 * Micro benchmark of the embedded storage: durable (synchronous=FULL) txns per
 * second written one at a time and with many in flight (group commit), and
 * list latency over a realistic key count, from SQLite and from the watch cache.
 *
 *   node --disable-warning=ExperimentalWarning bench/apiserver/storage.bench.ts
 *
 * Knobs (env): BENCH_SEQUENTIAL_WRITES, BENCH_CONCURRENT_WRITES, BENCH_IN_FLIGHT,
 * BENCH_LIST_KEYS, BENCH_LIST_RUNS, BENCH_DIR (defaults to a temp dir).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TxnOp } from '../../controlplane/storage/backend.ts';
import { openSqliteBackend, type SqliteBackend } from '../../controlplane/storage/sqlite.ts';
import { WatchCache } from '../../controlplane/storage/watch-cache.ts';

const knob = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const sequentialWrites = knob('BENCH_SEQUENTIAL_WRITES', 1_000);
const concurrentWrites = knob('BENCH_CONCURRENT_WRITES', 20_000);
const inFlight = knob('BENCH_IN_FLIGHT', 64);
const listKeys = knob('BENCH_LIST_KEYS', 10_000);
const listRuns = knob('BENCH_LIST_RUNS', 30);

/** An object of about 1.5 KB once serialised, the size the reference figures use. */
function object(kind: string, namespace: string, name: string, revision: number): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind,
    metadata: { name, namespace, uid: '6f1c0d1e-3b7a-4c55-9d2e-8a1f00c0ffee', resourceVersion: String(revision), creationTimestamp: '2025-01-01T00:00:00Z', labels: { app: 'bench', tier: 'storage' } },
    data: { 'config.yaml': 'x'.repeat(1_220) },
  });
}

/** Creates of one kind under its own prefix, so the write phases do not change what the list phase lists. */
function creates(kind: string, resource: string) {
  return (index: number) => {
    const namespace = `ns-${index % 50}`;
    const name = `${resource}-${index}`;
    return { op: 'create' as const, key: `/registry/${resource}/${namespace}/${name}`, value: (revision: number) => object(kind, namespace, name, revision) };
  };
}
const createEvent = creates('Event', 'events');
const createConfigMap = creates('ConfigMap', 'configmaps');

async function txnsPerSecond(backend: SqliteBackend, create: (index: number) => TxnOp, first: number, count: number, concurrency: number): Promise<number> {
  let next = first;
  const end = first + count;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < end) {
        const [result] = await backend.txn([create(next++)]);
        if (!result?.ok) throw new Error(`bench write failed: ${JSON.stringify(result)}`);
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

function percentiles(samples: number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (fraction: number) => sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] as number;
  return { p50: at(0.5), p99: at(0.99) };
}

async function timeRuns(run: () => unknown): Promise<{ p50: number; p99: number }> {
  const samples: number[] = [];
  for (let index = 0; index < listRuns; index++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  return percentiles(samples);
}

const dir = process.env.BENCH_DIR ?? mkdtempSync(join(tmpdir(), 'kplane-storage-bench-'));
const backend = openSqliteBackend(join(dir, 'bench.db'));
try {
  const sequential = await txnsPerSecond(backend, createEvent, 0, sequentialWrites, 1);
  const grouped = await txnsPerSecond(backend, createEvent, sequentialWrites, concurrentWrites, inFlight);
  await txnsPerSecond(backend, createConfigMap, 0, listKeys, inFlight);
  const prefix = '/registry/configmaps/';
  const { items } = await backend.list(prefix);
  const bytes = items.reduce((sum, item) => sum + item.value.length, 0);

  const sqliteList = await timeRuns(() => backend.list(prefix));
  const cacheStarted = performance.now();
  const cache = await WatchCache.start(backend);
  const cacheStartMs = performance.now() - cacheStarted;
  const cachedObjects = cache.list('/registry/').items.length;
  const cacheList = await timeRuns(() => cache.list(prefix));
  cache.stop();

  const rows = [
    ['durable txns/s, 1 op, awaited one at a time', sequential.toFixed(0)],
    [`durable txns/s, 1 op, ${inFlight} in flight (group commit)`, grouped.toFixed(0)],
    ['group commit speed-up', `${(grouped / sequential).toFixed(1)}x`],
    [`sqlite list of ${items.length} keys (avg ${Math.round(bytes / items.length)} B), p50 / p99 ms`, `${sqliteList.p50.toFixed(1)} / ${sqliteList.p99.toFixed(1)}`],
    [`watch cache start (list + parse all ${cachedObjects} objects), ms`, cacheStartMs.toFixed(1)],
    [`watch cache list of ${items.length} keys, p50 / p99 ms`, `${cacheList.p50.toFixed(2)} / ${cacheList.p99.toFixed(2)}`],
  ];
  const width = Math.max(...rows.map(([label]) => (label as string).length));
  for (const [label, value] of rows) console.log(`${(label as string).padEnd(width)}  ${value}`);
} finally {
  await backend.close();
  if (!process.env.BENCH_DIR) rmSync(dir, { recursive: true, force: true });
}
