/**
 * The API store benchmark of issue 2, end to end: a real `bin/kplane
 * apiserver` child process on a temporary data directory, driven over
 * loopback HTTP (undici, keep-alive) the way clients drive it.
 *
 * 1. Durable writes: ConfigMap creates (~1 KB of data) awaited one at a time,
 *    then with IN_FLIGHT in flight. Writes/s and per-request p50/p99.
 * 2. List latency at 10,000 Services: creates SERVICES ClusterIP Services
 *    (with selectors, so the store's EndpointSlice/Endpoints controllers add
 *    their objects as kube-controller-manager would), times that, waits for
 *    the controllers to settle, then lists /api/v1/services LIST_RUNS times
 *    as JSON and as Table. The apiserver's RSS is read from /proc.
 * 3. Watch fan-out: WATCHERS watch streams on one namespace's configmaps from
 *    a listed resourceVersion, then WATCH_WRITES single creates spaced
 *    WATCH_SPACING_MS apart; for each write, the time from just before the
 *    request to each watcher receiving its event, and a check that every
 *    watcher got every event exactly once.
 *
 *   node --disable-warning=ExperimentalWarning bench/apiserver/run.ts
 *
 * Knobs (env, defaults in brackets): BENCH_SEQUENTIAL_WRITES [1000],
 * BENCH_CONCURRENT_WRITES [5000], BENCH_IN_FLIGHT [64], BENCH_SERVICES
 * [10000], BENCH_SERVICE_IN_FLIGHT [32], BENCH_LIST_RUNS [20], BENCH_WATCHERS
 * [100], BENCH_WATCH_WRITES [200], BENCH_WATCH_SPACING_MS [20],
 * BENCH_RESULTS [bench/results/apiserver.json], BENCH_UPDATE_README (1 to
 * rewrite the results table in bench/apiserver/README.md).
 * Prints a table and writes the JSON results file.
 */
import { mkdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { startApiServerProcess, tempDir, type ApiServerProcess } from '../../test/integration/helpers/apiserver-process.ts';

const knob = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got "${process.env[name]}"`);
  return value;
};
const knobs = {
  sequentialWrites: knob('BENCH_SEQUENTIAL_WRITES', 1_000),
  concurrentWrites: knob('BENCH_CONCURRENT_WRITES', 5_000),
  inFlight: knob('BENCH_IN_FLIGHT', 64),
  services: knob('BENCH_SERVICES', 10_000),
  serviceInFlight: knob('BENCH_SERVICE_IN_FLIGHT', 32),
  listRuns: knob('BENCH_LIST_RUNS', 20),
  watchers: knob('BENCH_WATCHERS', 100),
  watchWrites: knob('BENCH_WATCH_WRITES', 200),
  watchSpacingMs: knob('BENCH_WATCH_SPACING_MS', 20),
  configMapDataBytes: 1_024,
  warmupWrites: 200,
};
const benchDir = import.meta.dirname;
const resultsPath = resolve(process.env['BENCH_RESULTS'] ?? join(benchDir, '../results/apiserver.json'));
const readmePath = join(benchDir, 'README.md');

const tableAccept = 'application/json;as=Table;v=v1;g=meta.k8s.io';

interface Latency {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function latency(samples: readonly number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  // Nearest rank: the smallest sample at or above the fraction of all samples.
  const at = (fraction: number) => sorted[Math.max(0, Math.ceil(fraction * sorted.length) - 1)] ?? Number.NaN;
  return { p50Ms: round(at(0.5), 2), p99Ms: round(at(0.99), 2), maxMs: round(sorted.at(-1) ?? Number.NaN, 2) };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** One HTTP exchange, body read to the end; throws on an unexpected status. */
async function exchange(pool: Pool, method: 'GET' | 'POST', path: string, options: { body?: unknown; accept?: string; expect: number }): Promise<Buffer> {
  const response = await pool.request({
    method,
    path,
    headers: { accept: options.accept ?? 'application/json', ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const bytes = Buffer.from(await response.body.arrayBuffer());
  if (response.statusCode !== options.expect) throw new Error(`${method} ${path}: ${response.statusCode} ${bytes.toString('utf8').slice(0, 500)}`);
  return bytes;
}

/** Runs count timed jobs with at most inFlight at once; returns the wall time and each job's latency. */
async function timed(count: number, inFlight: number, job: (index: number) => Promise<unknown>): Promise<{ seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(inFlight, count)) }, async () => {
      while (next < count) {
        const index = next++;
        const jobStarted = performance.now();
        await job(index);
        latencies.push(performance.now() - jobStarted);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies };
}

function configMap(namespace: string, name: string): object {
  // Two keys of 512 characters: about 1 KB of data, as the issue asks.
  const half = knobs.configMapDataBytes / 2;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { namespace, name, labels: { app: 'bench', tier: 'config' } },
    data: { 'settings.yaml': `name: ${name}\n`.padEnd(half, '#'), 'notes.txt': 'n'.repeat(half) },
  };
}

function service(namespace: string, name: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace, name, labels: { app: name } },
    spec: { type: 'ClusterIP', selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
  };
}

async function createNamespace(pool: Pool, name: string): Promise<void> {
  await exchange(pool, 'POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, expect: 201 });
}

function rssMiB(pid: number): { rssMiB: number; peakRssMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { rssMiB: round(kib('VmRSS') / 1024, 1), peakRssMiB: round(kib('VmHWM') / 1024, 1) };
}

/** The store's current revision, from the resourceVersion of a small list. */
async function currentRevision(pool: Pool): Promise<number> {
  const body = JSON.parse((await exchange(pool, 'GET', '/api/v1/namespaces', { expect: 200 })).toString('utf8')) as { metadata: { resourceVersion: string } };
  return Number(body.metadata.resourceVersion);
}

/** Waits until the revision has not moved for quietMs: the controllers have caught up with the creates. */
async function settled(pool: Pool, quietMs = 1_000, timeoutMs = 120_000): Promise<number> {
  const started = performance.now();
  let revision = await currentRevision(pool);
  let stableSince = performance.now();
  while (performance.now() - stableSince < quietMs) {
    if (performance.now() - started > timeoutMs) throw new Error(`the store kept writing for ${timeoutMs} ms after the creates`);
    await sleep(100);
    const now = await currentRevision(pool);
    if (now !== revision) {
      revision = now;
      stableSince = performance.now();
    }
  }
  return (stableSince - started) / 1000;
}

async function countItems(pool: Pool, path: string): Promise<number> {
  return (JSON.parse((await exchange(pool, 'GET', path, { expect: 200 })).toString('utf8')) as { items: unknown[] }).items.length;
}

/**
 * One reader that GETs a single small object every 5 ms until stopped: how
 * long an unrelated read waits while the store is busy (the event loop is
 * shared by HTTP, commits, watch fan-out and the in-process controllers).
 */
function startProbe(pool: Pool, path: string): { stop: () => void; result: Promise<{ reads: number } & Latency> } {
  const reads: number[] = [];
  let running = true;
  const result = (async () => {
    while (running) {
      const started = performance.now();
      await exchange(pool, 'GET', path, { expect: 200 });
      reads.push(performance.now() - started);
      await sleep(5);
    }
    return { reads: reads.length, ...latency(reads) };
  })();
  return {
    stop: () => {
      running = false;
    },
    result,
  };
}

// ---------------------------------------------------------------- phases

async function durableWrites(pool: Pool) {
  const namespace = 'bench-writes';
  await createNamespace(pool, namespace);
  await createNamespace(pool, 'bench-warmup');
  await timed(knobs.warmupWrites, 16, (index) => exchange(pool, 'POST', '/api/v1/namespaces/bench-warmup/configmaps', { body: configMap('bench-warmup', `warm-${index}`), expect: 201 }));

  const path = `/api/v1/namespaces/${namespace}/configmaps`;
  const run = async (prefix: string, count: number, inFlight: number) => {
    const { seconds, latencies } = await timed(count, inFlight, (index) => exchange(pool, 'POST', path, { body: configMap(namespace, `${prefix}-${index}`), expect: 201 }));
    return { writes: count, inFlight, seconds: round(seconds, 2), writesPerSecond: Math.round(count / seconds), ...latency(latencies) };
  };
  const sequential = await run('seq', knobs.sequentialWrites, 1);
  const probe = startProbe(pool, `${path}/seq-0`);
  const concurrent = await run('par', knobs.concurrentWrites, knobs.inFlight).finally(probe.stop);
  return { sequential, concurrent, getDuringConcurrentWrites: await probe.result, requestBytes: JSON.stringify(configMap(namespace, 'par-0')).length };
}

async function listAtScale(pool: Pool, pid: number) {
  const namespace = 'bench-services';
  await createNamespace(pool, namespace);
  const path = `/api/v1/namespaces/${namespace}/services`;
  const probe = startProbe(pool, '/api/v1/namespaces/default/services/kubernetes');
  const created = await timed(knobs.services, knobs.serviceInFlight, (index) => exchange(pool, 'POST', path, { body: service(namespace, `svc-${index}`), expect: 201 }));
  const settleSeconds = await settled(pool).finally(probe.stop);
  const getDuringCreatesAndControllers = await probe.result;
  const memory = rssMiB(pid);
  const endpointSlices = await countItems(pool, `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`);
  const endpoints = await countItems(pool, `/api/v1/namespaces/${namespace}/endpoints`);

  const listRuns = async (accept: string) => {
    const latencies: number[] = [];
    let bytes = 0;
    for (let run = 0; run < knobs.listRuns; run++) {
      const started = performance.now();
      const body = await exchange(pool, 'GET', '/api/v1/services', { accept, expect: 200 });
      latencies.push(performance.now() - started);
      bytes = body.length;
      if (run === 0) {
        const parsed = JSON.parse(body.toString('utf8')) as { items?: unknown[]; rows?: unknown[] };
        const count = (parsed.items ?? parsed.rows ?? []).length;
        if (count < knobs.services) throw new Error(`GET /api/v1/services (${accept}) returned ${count} items, expected at least ${knobs.services}`);
      }
    }
    return { runs: knobs.listRuns, responseBytes: bytes, ...latency(latencies) };
  };
  const listedServices = await countItems(pool, '/api/v1/services');
  const json = await listRuns('application/json');
  const table = await listRuns(tableAccept);
  return {
    create: {
      services: knobs.services,
      inFlight: knobs.serviceInFlight,
      seconds: round(created.seconds, 2),
      createsPerSecond: Math.round(knobs.services / created.seconds),
      ...latency(created.latencies),
      controllersSettledSecondsAfter: round(settleSeconds, 2),
      endpointSlices,
      endpoints,
    },
    getDuringCreatesAndControllers,
    listedServices,
    json,
    table,
    memoryAfterServices: memory,
    memoryAfterLists: rssMiB(pid),
  };
}

interface WatcherState {
  /** Arrival time of each bench object's event, by name. */
  arrivals: Map<string, number>;
  duplicates: number;
  unexpected: string[];
  ended: boolean;
}

async function watchFanOut(url: string, pool: Pool) {
  const namespace = 'bench-watch';
  await createNamespace(pool, namespace);
  await exchange(pool, 'POST', `/api/v1/namespaces/${namespace}/configmaps`, { body: configMap(namespace, 'before-watch'), expect: 201 });
  const listed = JSON.parse((await exchange(pool, 'GET', `/api/v1/namespaces/${namespace}/configmaps`, { expect: 200 })).toString('utf8')) as { metadata: { resourceVersion: string } };
  const fromRevision = listed.metadata.resourceVersion;

  // One connection per watch stream, as separate clients would have.
  const watchPool = new Pool(url, { connections: knobs.watchers, bodyTimeout: 0, headersTimeout: 10_000 });
  const abort = new AbortController();
  const watchers: WatcherState[] = [];
  const readers: Promise<void>[] = [];
  const openStarted = performance.now();
  await Promise.all(
    Array.from({ length: knobs.watchers }, async () => {
      const state: WatcherState = { arrivals: new Map(), duplicates: 0, unexpected: [], ended: false };
      watchers.push(state);
      const response = await watchPool.request({
        method: 'GET',
        path: `/api/v1/namespaces/${namespace}/configmaps?watch=true&resourceVersion=${fromRevision}&timeoutSeconds=600`,
        headers: { accept: 'application/json' },
        signal: abort.signal,
      });
      if (response.statusCode !== 200) throw new Error(`watch: ${response.statusCode} ${await response.body.text()}`);
      readers.push(
        (async () => {
          let buffer = '';
          try {
            for await (const chunk of response.body) {
              // The arrival time is taken before parsing, so it is when this client got the bytes.
              const at = performance.now();
              buffer += (chunk as Buffer).toString('utf8');
              let newline: number;
              while ((newline = buffer.indexOf('\n')) >= 0) {
                const line = buffer.slice(0, newline);
                buffer = buffer.slice(newline + 1);
                const event = JSON.parse(line) as { type: string; object: { metadata?: { name?: string } } };
                const name = event.object.metadata?.name ?? '';
                if (event.type !== 'ADDED' || !name.startsWith('fan-')) state.unexpected.push(`${event.type} ${name}`);
                else if (state.arrivals.has(name)) state.duplicates++;
                else state.arrivals.set(name, at);
              }
            }
          } catch (error) {
            if (!abort.signal.aborted) throw error;
          } finally {
            state.ended = true;
          }
        })(),
      );
    }),
  );
  const openSeconds = (performance.now() - openStarted) / 1000;

  const sentAt = new Map<string, number>();
  const acks: number[] = [];
  const path = `/api/v1/namespaces/${namespace}/configmaps`;
  const writesStarted = performance.now();
  for (let index = 0; index < knobs.watchWrites; index++) {
    const due = writesStarted + index * knobs.watchSpacingMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const name = `fan-${index}`;
    const started = performance.now();
    sentAt.set(name, started);
    await exchange(pool, 'POST', path, { body: configMap(namespace, name), expect: 201 });
    acks.push(performance.now() - started);
  }
  // Every watcher should now get the last events within moments; give stragglers a bounded wait.
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline && watchers.some((watcher) => watcher.arrivals.size < knobs.watchWrites && !watcher.ended)) await sleep(20);
  const endedEarly = watchers.filter((watcher) => watcher.ended).length;
  abort.abort();
  await Promise.allSettled(readers);
  await watchPool.destroy();

  const deliveries: number[] = [];
  const lastWatcherPerWrite: number[] = [];
  for (const [name, sent] of sentAt) {
    let last = 0;
    for (const watcher of watchers) {
      const arrived = watcher.arrivals.get(name);
      if (arrived === undefined) continue;
      deliveries.push(arrived - sent);
      last = Math.max(last, arrived - sent);
    }
    lastWatcherPerWrite.push(last);
  }
  const expected = knobs.watchers * knobs.watchWrites;
  const received = watchers.reduce((sum, watcher) => sum + watcher.arrivals.size, 0);
  const duplicates = watchers.reduce((sum, watcher) => sum + watcher.duplicates, 0);
  const unexpected = watchers.flatMap((watcher) => watcher.unexpected);
  return {
    watchers: knobs.watchers,
    writes: knobs.watchWrites,
    spacingMs: knobs.watchSpacingMs,
    openSeconds: round(openSeconds, 2),
    deliveriesExpected: expected,
    deliveriesReceived: received,
    missing: expected - received,
    duplicates,
    unexpectedEvents: unexpected.length,
    unexpectedSample: unexpected.slice(0, 5),
    streamsEndedEarly: endedEarly,
    exactlyOnce: received === expected && duplicates === 0 && unexpected.length === 0,
    delivery: latency(deliveries),
    lastWatcherPerWrite: latency(lastWatcherPerWrite),
    writeAck: latency(acks),
  };
}

// ---------------------------------------------------------------- report

type Results = Awaited<ReturnType<typeof run>>;

const filesystemTypes: Record<number, string> = { 0xef53: 'ext4', 0x01021994: 'tmpfs', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x794c7630: 'overlayfs' };

function machine(dataDir: string) {
  const fsType = statfsSync(dataDir).type;
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    node: process.version,
    kernel: release(),
    loadAverage1m: round(loadavg()[0] ?? 0, 2),
    dataDirFilesystem: filesystemTypes[fsType] ?? `0x${fsType.toString(16)}`,
  };
}

async function run() {
  const dir = tempDir('kplane-apiserver-bench-');
  let server: ApiServerProcess | undefined;
  let pool: Pool | undefined;
  try {
    server = await startApiServerProcess(dir.path);
    const pid = server.child.pid as number;
    pool = new Pool(server.url, { connections: Math.max(knobs.inFlight, knobs.serviceInFlight) + 2, keepAliveTimeout: 60_000 });
    const machineInfo = machine(dir.path);
    const memoryAtStart = rssMiB(pid);
    const log = (message: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${message}`);
    log(`apiserver pid ${pid} at ${server.url}, data in ${dir.path}`);
    log('durable writes');
    const writes = await durableWrites(pool);
    log(`${knobs.services} services and lists`);
    const list = await listAtScale(pool, pid);
    log(`watch fan-out to ${knobs.watchers} watchers`);
    const watch = await watchFanOut(server.url, pool);
    return { date: new Date().toISOString(), machine: machineInfo, knobs, writes, list, watch, memoryAtStart };
  } catch (error) {
    if (server) console.error(`apiserver log (last 20 lines):\n${server.logs.slice(-20).join('\n')}`);
    throw error;
  } finally {
    await pool?.close();
    await server?.stop();
    dir.remove();
  }
}

const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
const pp = (latency: Latency) => `${ms(latency.p50Ms)} / ${ms(latency.p99Ms)}`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

function rows(results: Results): [string, string][] {
  const { writes, list, watch, machine: host } = results;
  return [
    ['durable creates/s, awaited one at a time', `${writes.sequential.writesPerSecond}`],
    ['  latency p50 / p99 ms', pp(writes.sequential)],
    [`durable creates/s, ${writes.concurrent.inFlight} in flight`, `${writes.concurrent.writesPerSecond}`],
    ['  latency p50 / p99 ms', pp(writes.concurrent)],
    ['  one GET meanwhile, p50 / p99 / max ms', `${pp(writes.getDuringConcurrentWrites)} / ${ms(writes.getDuringConcurrentWrites.maxMs)}`],
    [`create ${list.create.services} Services (${list.create.inFlight} in flight), s`, `${list.create.seconds} (${list.create.createsPerSecond}/s)`],
    ['  latency p50 / p99 ms', pp(list.create)],
    ['  controllers settled after, s', `${list.create.controllersSettledSecondsAfter} (${list.create.endpointSlices} slices, ${list.create.endpoints} endpoints)`],
    ['  one GET meanwhile, p50 / p99 / max ms', `${pp(list.getDuringCreatesAndControllers)} / ${ms(list.getDuringCreatesAndControllers.maxMs)}`],
    [`list ${list.listedServices} Services as JSON, p50 / p99 ms`, `${pp(list.json)} (${kib(list.json.responseBytes)})`],
    [`list ${list.listedServices} Services as Table, p50 / p99 ms`, `${pp(list.table)} (${kib(list.table.responseBytes)})`],
    ['apiserver RSS at start / after Services / after lists, MiB', `${results.memoryAtStart.rssMiB} / ${list.memoryAfterServices.rssMiB} / ${list.memoryAfterLists.rssMiB}`],
    [`write → ${watch.watchers} watchers, p50 / p99 ms (all deliveries)`, pp(watch.delivery)],
    ['  write → last watcher, p50 / p99 ms (per write)', pp(watch.lastWatcherPerWrite)],
    ['  write acknowledged, p50 / p99 ms', pp(watch.writeAck)],
    [`  every watcher got all ${watch.writes} events exactly once`, `${watch.exactlyOnce ? 'yes' : 'NO'} (${watch.deliveriesReceived}/${watch.deliveriesExpected}, ${watch.duplicates} dup, ${watch.unexpectedEvents} other)`],
    ['machine', `${host.cpuModel}, ${host.cores} cores, ${host.node}, load ${host.loadAverage1m}, data on ${host.dataDirFilesystem}`],
  ];
}

function textTable(lines: [string, string][]): string {
  const width = Math.max(...lines.map(([label]) => label.length));
  return lines.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}

function markdownTable(results: Results): string {
  const body = rows(results).map(([label, value]) => `| ${label.startsWith('  ') ? `&nbsp;&nbsp;${label.trim()}` : label} | ${value} |`);
  return [`Run of ${results.date.slice(0, 10)}:`, '', '| measure | result |', '| --- | --- |', ...body].join('\n');
}

function updateReadme(results: Results): void {
  const text = readFileSync(readmePath, 'utf8');
  const start = '<!-- results:start -->';
  const end = '<!-- results:end -->';
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${readmePath} has no ${start} … ${end} section`);
  writeFileSync(readmePath, `${text.slice(0, from + start.length)}\n${markdownTable(results)}\n${text.slice(to)}`);
}

const results = await run();
mkdirSync(dirname(resultsPath), { recursive: true });
writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
console.log(textTable(rows(results)));
console.log(`\nresults: ${resultsPath}`);
if (process.env['BENCH_UPDATE_README'] === '1') updateReadme(results);
if (!results.watch.exactlyOnce) process.exitCode = 1;
