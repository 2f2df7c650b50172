/**
 * The proxy benchmark: `node bench/proxy/run.ts` (as root; `npm run bench:proxy`).
 *
 * On a one-node cluster built from network namespaces (the e2e harness:
 * the real kplane API store, a kubelet, three pod-app pods), for each size
 * it loads N selector-less ClusterIP services × E endpoints (EndpointSlices
 * written by the benchmark, addresses that do not exist) plus two probe
 * services whose one endpoint is a real pod, and measures with the real
 * `kplane proxy` running in the node's namespace:
 *
 * - full sync on an empty node (the proxy's first sync after the node's
 *   tables were emptied) and full sync over the rules already in place
 *   (the first sync after a proxy restart), from the proxy's own log line:
 *   total, kernel read, render and iptables-restore;
 * - change → active: the probe service's EndpointSlice is rewritten through
 *   the API to point at the other pod, and a pod keeps opening new
 *   connections to the ClusterIP until the other pod answers; p50/p99 over
 *   KPLANE_BENCH_PROXY_CHANGES changes spaced beyond --min-sync-period (1 s)
 *   so each is its own sync, plus the proxy's partial sync durations;
 * - first-connection latency (connect() to SYN-ACK, new connection each)
 *   from a pod to the probe ClusterIPs (sorted first and last in
 *   KPLANE-SERVICES) and to the pod IP directly, the peer; plus the pod IP
 *   before any kplane rule existed.
 *
 * Knobs (env): KPLANE_BENCH_PROXY_SIZES (default 1000,5000; 10000 takes
 * about 5 more minutes), KPLANE_BENCH_PROXY_ENDPOINTS (10),
 * KPLANE_BENCH_PROXY_CHANGES (50), KPLANE_BENCH_PROXY_CONNECTS (300).
 * Prints a table with ratios and writes bench/results/proxy.json.
 *
 * Safety: everything runs in namespaces named kpt<6 hex>-…, created and
 * removed by the harness (also on failure, SIGINT/SIGTERM and exit; dead
 * runs are swept at start). The root namespace is snapshotted before and
 * compared after.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import type { EndpointSlice, Service } from '../../controlplane/api/types.ts';
import { ApiStatusError, inNamespace, refs, type ApiClient } from '../../controlplane/client/types.ts';
import { createCluster, type AgentHandle, type Cluster, type NodeHandle, type PodHandle } from '../../test/e2e/harness/cluster.ts';
import { assertOurNetns, execIn, netnsSupport, run } from '../../test/e2e/harness/netns.ts';
import { kplaneBin, nodeBinary, nodeFlags, repoRoot } from '../../test/e2e/harness/paths.ts';
import { diffSnapshots, snapshotRootNetwork } from '../../test/e2e/harness/root-snapshot.ts';
import { sleep, waitFor } from '../../test/e2e/harness/wait.ts';
import { BENCH_NAMESPACE, makeBenchService, makeBenchSlice, makeWorkload, SERVICE_PORT, TARGET_PORT } from './workload.ts';

function knob(name: string, fallback: string): string {
  return process.env[name] ?? fallback;
}

const sizes = knob('KPLANE_BENCH_PROXY_SIZES', '1000,5000')
  .split(',')
  .map((value) => Number(value.trim()))
  .filter((value) => Number.isInteger(value) && value > 0)
  .sort((a, b) => a - b);
const endpointsPerService = Number(knob('KPLANE_BENCH_PROXY_ENDPOINTS', '10'));
const changes = Number(knob('KPLANE_BENCH_PROXY_CHANGES', '50'));
const connects = Number(knob('KPLANE_BENCH_PROXY_CONNECTS', '300'));
/** kplane proxy's default --min-sync-period: changes closer than this share a sync. */
const MIN_SYNC_PERIOD_MS = 1_000;
const SYNC_TIMEOUT_MS = 30 * 60_000;
const probeScript = join(repoRoot, 'bench/proxy/probe.ts');
const resultsFile = join(repoRoot, 'bench/results/proxy.json');

interface SyncLog {
  full: boolean;
  durationSeconds: number;
  readSeconds: number;
  renderSeconds: number;
  restoreSeconds: number;
  natRules: number;
  natRulesWritten: number;
  natCommits: number;
  filterRules: number;
  servicePorts: number;
}

interface Percentiles {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
  return { n: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) ?? Number.NaN };
}

function log(message: string): void {
  process.stderr.write(`[bench:proxy ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The "synced proxy rules" lines in a proxy's log file (every proxy run on a node appends to the same file). */
function syncLogs(agent: AgentHandle): SyncLog[] {
  let text = '';
  try {
    text = readFileSync(agent.logFile, 'utf8');
  } catch {
    return [];
  }
  const out: SyncLog[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"synced proxy rules"')) continue;
    try {
      out.push(JSON.parse(line) as SyncLog);
    } catch {
      // a partial last line
    }
  }
  return out;
}

/** Waits for the proxy's first sync after the `skip` lines earlier runs left in its log file. */
async function waitForFirstSync(agent: AgentHandle, skip: number, what: string): Promise<SyncLog> {
  return waitFor(
    () => {
      const syncs = syncLogs(agent);
      return syncs.length > skip ? (syncs[skip] as SyncLog) : undefined;
    },
    { timeoutMs: SYNC_TIMEOUT_MS, intervalMs: 200, what, giveUpIf: () => (agent.exit ? new Error(`the proxy exited: ${agent.log(2_000)}`) : undefined) },
  );
}

async function ensureNamespace(api: ApiClient, name: string): Promise<void> {
  try {
    await api.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  } catch (error) {
    if (!(error instanceof ApiStatusError && error.code === 409)) throw error;
  }
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

/** A long-lived `probe.ts watch` inside a pod's namespace. */
class Watcher {
  readonly #child: ResultPromise;
  readonly #waiting = new Map<number, (reply: { seenAt?: number; error?: string; attempts: number }) => void>();
  #ready: Promise<void>;
  #nextId = 1;

  constructor(pod: PodHandle) {
    assertOurNetns(pod.netns);
    this.#child = execa('ip', ['netns', 'exec', pod.netns, nodeBinary, ...nodeFlags, probeScript, 'watch'], { stdin: 'pipe', stdout: 'pipe', stderr: 'inherit', reject: false, timeout: 3 * 3_600_000 });
    let markReady: () => void = () => {};
    this.#ready = new Promise((resolve) => (markReady = resolve));
    const lines = createInterface({ input: this.#child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const reply = JSON.parse(line) as { ready?: boolean; id?: number; seenAt?: number; error?: string; attempts: number };
      if (reply.ready) return markReady();
      const resolve = this.#waiting.get(reply.id ?? -1);
      this.#waiting.delete(reply.id ?? -1);
      resolve?.(reply);
    });
  }

  /** Starts probing `url` until `expect` answers; resolves with the epoch ms it first did. */
  async watch(url: string, expect: string, deadlineMs = 60_000): Promise<{ seenAt?: number; error?: string; attempts: number }> {
    await this.#ready;
    const id = this.#nextId++;
    const reply = new Promise<{ seenAt?: number; error?: string; attempts: number }>((resolve) => this.#waiting.set(id, resolve));
    this.#child.stdin?.write(JSON.stringify({ id, url, expect, deadlineMs }) + '\n');
    return reply;
  }

  async close(): Promise<void> {
    this.#child.stdin?.end();
    this.#child.kill('SIGTERM');
    await this.#child;
  }
}

interface ConnectResult {
  samplesUs: number[];
  failures: number;
}

async function connectLatencies(pod: PodHandle, targets: readonly string[], count: number): Promise<Record<string, ConnectResult>> {
  const result = await execIn(pod.netns, [nodeBinary, ...nodeFlags, probeScript, 'connect', '--targets', targets.join(','), '--count', String(count)], { timeoutMs: 10 * 60_000 });
  if (result.exitCode !== 0) throw new Error(`probe connect failed: ${result.stderr || result.stdout}`);
  return (JSON.parse(result.stdout.trim()) as { targets: Record<string, ConnectResult> }).targets;
}

/**
 * Empties the node's tables between sizes. The node's namespace holds only
 * kplane's rules (the harness adds none), so flushing its tables with a
 * plain iptables-restore (no --noflush) is enough and takes a second where
 * `kplane proxy --cleanup` (one --noflush transaction naming every chain)
 * takes minutes at 10,000 services on iptables-nft 1.8.9. Anything else in
 * the tables falls back to `kplane proxy --cleanup`.
 */
async function resetNode(node: NodeHandle): Promise<void> {
  // Only what is not kplane's comes back (the whole save is tens of MB at 10,000 services).
  const saved = await execIn(node.netns, ['sh', '-c', 'iptables-save | grep -v -e "KPLANE-" -e "^#" || true'], { timeoutMs: 5 * 60_000 });
  if (saved.exitCode !== 0) throw new Error(`iptables-save failed: ${saved.stderr}`);
  const foreign = saved.stdout.split('\n').filter((line) => /^(-A|:)/.test(line) && !/^:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) ACCEPT/.test(line));
  if (foreign.length > 0) {
    const result = await execIn(node.netns, [kplaneBin, 'proxy', '--cleanup'], { timeoutMs: 30 * 60_000, env: { KPLANE_LOG_FORMAT: 'json', KPLANE_LOG_LEVEL: 'warn' } });
    if (result.exitCode !== 0) throw new Error(`kplane proxy --cleanup failed: ${result.stderr}`);
    return;
  }
  const tables = ['mangle', 'filter', 'nat'];
  const result = await execIn(node.netns, ['iptables-restore'], { timeoutMs: 5 * 60_000, input: tables.map((table) => `*${table}\nCOMMIT\n`).join('') });
  if (result.exitCode !== 0) throw new Error(`flushing the node's tables failed: ${result.stderr}`);
}

interface SizeResult {
  services: number;
  endpointsPerService: number;
  natRules: number;
  loadSeconds: number;
  fullSyncEmpty: SyncLog & { toFirstSyncSeconds: number };
  fullSyncRestart: SyncLog & { toFirstSyncSeconds: number };
  changeToActiveMs: Percentiles & { failures: number };
  partialSyncMs: Percentiles;
  partialSyncRestoreMs: Percentiles;
  connectUs: Record<string, Percentiles & { failures: number }>;
}

async function measureSize(cluster: Cluster, state: BenchState, services: number): Promise<SizeResult> {
  const { api } = cluster;
  const node = cluster.nodes[0] as NodeHandle;
  const loadStart = Date.now();
  const workload = makeWorkload(services, endpointsPerService);
  const fresh = workload.services.slice(state.loaded);
  const freshSlices = workload.slices.slice(state.loaded);
  log(`loading ${fresh.length} services and EndpointSlices (${services} in total)`);
  await pool(fresh, 16, (service) => api.create(inNamespace(refs.services, BENCH_NAMESPACE), service));
  await pool(freshSlices, 16, (slice) => api.create(inNamespace(refs.endpointslices, BENCH_NAMESPACE), slice));
  state.loaded = services;
  const loadSeconds = (Date.now() - loadStart) / 1000;

  log('emptying the node\'s tables');
  await resetNode(node);
  log('starting kplane proxy on an empty node');
  let started = Date.now();
  let proxy = cluster.startProxy(node);
  const first = await waitForFirstSync(proxy, state.syncLines, 'the first full sync');
  if (!first.full) throw new Error('the first sync was not a full one');
  const fullSyncEmpty = { ...first, toFirstSyncSeconds: (Date.now() - started) / 1000 };
  log(`full sync (empty node): ${fullSyncEmpty.durationSeconds.toFixed(2)} s`);
  await proxy.stop(10_000);
  state.syncLines = syncLogs(proxy).length;

  log('restarting kplane proxy over the rules in place');
  started = Date.now();
  proxy = cluster.startProxy(node);
  const restart = await waitForFirstSync(proxy, state.syncLines, 'the full sync after a restart');
  if (!restart.full) throw new Error('the first sync after a restart was not a full one');
  const fullSyncRestart = { ...restart, toFirstSyncSeconds: (Date.now() - started) / 1000 };
  log(`full sync (restart): ${fullSyncRestart.durationSeconds.toFixed(2)} s`);

  // Change → active.
  const probeUrl = `http://${state.probeIPs.last}:${SERVICE_PORT}/`;
  const ready = await state.watcher.watch(probeUrl, state.current.name, 120_000);
  if (ready.seenAt === undefined) throw new Error(`the probe service does not answer: ${ready.error}`);
  await sleep(MIN_SYNC_PERIOD_MS + 200);
  const syncsBefore = syncLogs(proxy).length;
  const latencies: number[] = [];
  let failures = 0;
  log(`${changes} endpoint changes through the API`);
  for (let i = 0; i < changes; i++) {
    const next = state.current === state.backendA ? state.backendB : state.backendA;
    const slice = makeBenchSlice('zz-probe', [next.ip], node.name);
    slice.metadata.resourceVersion = state.probeSlice.metadata.resourceVersion;
    const watching = state.watcher.watch(probeUrl, next.name, 30_000);
    // Gives the watcher's first request a head start, so it is already looping when the write lands.
    await sleep(5);
    const writtenAt = epochMs();
    state.probeSlice = await api.update(inNamespace(refs.endpointslices, BENCH_NAMESPACE), slice);
    const seen = await watching;
    state.current = next;
    if (seen.seenAt === undefined) failures += 1;
    else latencies.push(seen.seenAt - writtenAt);
    // Spaced beyond --min-sync-period so each change gets a sync of its own.
    await sleep(MIN_SYNC_PERIOD_MS + 100 + Math.floor(Math.random() * 200));
  }
  const partials = syncLogs(proxy)
    .slice(syncsBefore)
    .filter((sync) => !sync.full);

  log(`first-connection latency, ${connects} connections per target`);
  const podTarget = `${state.backendA.ip}:${TARGET_PORT}`;
  const targets = [`${state.probeIPs.first}:${SERVICE_PORT}`, `${state.probeIPs.last}:${SERVICE_PORT}`, podTarget];
  const connectResults = await connectLatencies(state.client, targets, connects);
  const connectUs: SizeResult['connectUs'] = {};
  const names: Record<string, string> = { [targets[0] as string]: 'clusterIP (first in KPLANE-SERVICES)', [targets[1] as string]: 'clusterIP (last in KPLANE-SERVICES)', [podTarget]: 'pod IP' };
  for (const [target, value] of Object.entries(connectResults)) connectUs[names[target] ?? target] = { ...percentiles(value.samplesUs), failures: value.failures };
  await proxy.stop(10_000);
  state.syncLines = syncLogs(proxy).length;

  return {
    services,
    endpointsPerService,
    natRules: fullSyncRestart.natRules,
    loadSeconds,
    fullSyncEmpty,
    fullSyncRestart,
    changeToActiveMs: { ...percentiles(latencies), failures },
    partialSyncMs: percentiles(partials.map((sync) => sync.durationSeconds * 1000)),
    partialSyncRestoreMs: percentiles(partials.map((sync) => sync.restoreSeconds * 1000)),
    connectUs,
  };
}

interface BenchState {
  loaded: number;
  /** "synced proxy rules" lines already in the node's proxy log from earlier runs. */
  syncLines: number;
  client: PodHandle;
  backendA: PodHandle;
  backendB: PodHandle;
  current: PodHandle;
  probeSlice: EndpointSlice;
  probeIPs: { first: string; last: string };
  watcher: Watcher;
}

const fmt = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

function table(rows: readonly (readonly string[])[]): string {
  const widths = (rows[0] ?? []).map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const support = await netnsSupport();
  if (!support.ok) {
    process.stderr.write(`bench:proxy needs root and iproute2: ${support.reason}\n`);
    process.exit(2);
  }
  if (sizes.length === 0) throw new Error('KPLANE_BENCH_PROXY_SIZES names no size');
  const iptables = (await run('iptables', ['-V'])).stdout.trim();
  const rootBefore = await snapshotRootNetwork();
  log(`sizes ${sizes.join(', ')} × ${endpointsPerService} endpoints; ${iptables}`);
  const cluster = await createCluster({ nodes: 1, podsPerNode: 3, clients: 0, agentLogLevel: 'info' });
  let watcher: Watcher | undefined;
  const results: SizeResult[] = [];
  let baseline: Percentiles & { failures: number };
  try {
    const { api } = cluster;
    const node = cluster.nodes[0] as NodeHandle;
    const [client, backendA, backendB] = [cluster.pod('web-1-1'), cluster.pod('web-1-2'), cluster.pod('web-1-3')];
    await ensureNamespace(api, BENCH_NAMESPACE);
    // Two probe services, sorted first and last among the benchmark's ports, each with one real endpoint.
    const probeIPs = { first: '10.96.255.1', last: '10.96.255.2' };
    await api.create(inNamespace(refs.services, BENCH_NAMESPACE), makeBenchService('aa-probe', probeIPs.first) as Service);
    await api.create(inNamespace(refs.services, BENCH_NAMESPACE), makeBenchService('zz-probe', probeIPs.last) as Service);
    await api.create(inNamespace(refs.endpointslices, BENCH_NAMESPACE), makeBenchSlice('aa-probe', [backendA.ip], node.name));
    const probeSlice = await api.create(inNamespace(refs.endpointslices, BENCH_NAMESPACE), makeBenchSlice('zz-probe', [backendA.ip], node.name));

    log('baseline: connections to the pod IP before any kplane rule exists');
    await resetNode(node);
    const base = (await connectLatencies(client, [`${backendA.ip}:${TARGET_PORT}`], connects))[`${backendA.ip}:${TARGET_PORT}`] as ConnectResult;
    baseline = { ...percentiles(base.samplesUs), failures: base.failures };

    watcher = new Watcher(client);
    const state: BenchState = { loaded: 0, syncLines: 0, client, backendA, backendB, current: backendA, probeSlice, probeIPs, watcher };
    for (const size of sizes) {
      log(`== ${size} services`);
      results.push(await measureSize(cluster, state, size));
    }
    await resetNode(node);
  } finally {
    await watcher?.close().catch(() => {});
    await cluster.destroy();
  }
  const rootChanges = diffSnapshots(rootBefore, await snapshotRootNetwork());

  const controlRows = [
    ['services', 'nat rules', 'full sync, empty node (s)', '  restore', 'full sync, restart (s)', '  restore', 'change→active p50/p99 (ms)', 'partial sync p50/p99 (ms)', 'vs 200 ms'],
    ...results.map((r) => [
      String(r.services),
      String(r.natRules),
      fmt(r.fullSyncEmpty.durationSeconds, 2),
      fmt(r.fullSyncEmpty.restoreSeconds, 2),
      fmt(r.fullSyncRestart.durationSeconds, 2),
      fmt(r.fullSyncRestart.restoreSeconds, 2),
      `${fmt(r.changeToActiveMs.p50)} / ${fmt(r.changeToActiveMs.p99)}`,
      `${fmt(r.partialSyncMs.p50)} / ${fmt(r.partialSyncMs.p99)}`,
      `${fmt(r.changeToActiveMs.p99 / 200, 2)}×`,
    ]),
  ];
  const dataRows = [
    ['services', 'pod IP p50/p99 (µs)', 'ClusterIP first p50/p99', 'ratio p50', 'ClusterIP last p50/p99', 'ratio p50', 'pod IP vs no rules'],
    ['0 (no rules)', `${fmt(baseline.p50)} / ${fmt(baseline.p99)}`, '-', '-', '-', '-', '1.00×'],
    ...results.map((r) => {
      const pod = r.connectUs['pod IP'] as Percentiles;
      const first = r.connectUs['clusterIP (first in KPLANE-SERVICES)'] as Percentiles;
      const last = r.connectUs['clusterIP (last in KPLANE-SERVICES)'] as Percentiles;
      return [
        String(r.services),
        `${fmt(pod.p50)} / ${fmt(pod.p99)}`,
        `${fmt(first.p50)} / ${fmt(first.p99)}`,
        `${fmt(first.p50 / pod.p50, 2)}×`,
        `${fmt(last.p50)} / ${fmt(last.p99)}`,
        `${fmt(last.p50 / pod.p50, 2)}×`,
        `${fmt(pod.p50 / baseline.p50, 2)}×`,
      ];
    }),
  ];
  process.stdout.write(`\nkplane proxy (iptables) — ${iptables}, ${cpus().length} CPUs, kernel ${release()}, ${endpointsPerService} endpoints per service\n\n`);
  process.stdout.write(`control plane (targets: full sync of 10,000 services < 5 s; a change active < 200 ms p99 at 10,000)\n${table(controlRows)}\n\n`);
  process.stdout.write(`data path: first-connection latency from a pod (connect() to SYN-ACK), ${connects} new connections per target\n${table(dataRows)}\n`);
  if (rootChanges.length > 0) process.stdout.write(`\nWARNING: the root network namespace changed during the run:\n${rootChanges.join('\n')}\n`);

  mkdirSync(join(repoRoot, 'bench/results'), { recursive: true });
  const report = {
    benchmark: 'proxy',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, kernel: release(), iptables },
    knobs: { sizes, endpointsPerService, changes, connects, minSyncPeriodMs: MIN_SYNC_PERIOD_MS },
    baselinePodConnectUs: baseline,
    results,
    rootNamespaceUnchanged: rootChanges.length === 0,
  };
  writeFileSync(resultsFile, JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(`\nwrote ${resultsFile}\n`);
}

await main();
