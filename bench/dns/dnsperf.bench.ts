/**
 * kplane dns side by side with knotd, in one run on one machine:
 *
 * 1. An API store gets SERVICES ClusterIP services and HEADLESS headless
 *    ones (3 endpoints each), created through the API.
 * 2. `kplane dns` watches it; knotd serves the same records from a zone file
 *    written from the same objects (through kplane's own answer builder).
 * 3. dnsperf sends the same query file to each in turn, ROUNDS times
 *    alternating: cluster service names (A), their AAAA (no data), headless
 *    names (3 records) and missing names (NXDOMAIN).
 * 4. Memory of kplane dns at that size, and how long a change made through
 *    the API takes to show in answers (create → answer, delete → NXDOMAIN),
 *    asked from 16 client sockets at once so every worker is seen.
 *
 *   node --disable-warning=ExperimentalWarning bench/dns/dnsperf.bench.ts
 *
 * Knobs (env): SERVICES (10000), HEADLESS (100), DURATION seconds per run (10),
 * ROUNDS (2), CLIENTS dnsperf sockets (8), OUTSTANDING queries (500),
 * WORKERS kplane serving threads, a list (2,1), KNOT_WORKERS (2), CHANGES (20).
 * Prints a table and writes bench/dns/results.json.
 */
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { EndpointSlice, Service } from '../../controlplane/api/types.ts';
import { createHttpClient, type HttpApiClient } from '../../controlplane/client/http-client.ts';
import { refs } from '../../controlplane/client/types.ts';
import { answer } from '../../dns/answer.ts';
import { Records, slimService, slimSlice } from '../../dns/records.ts';
import { RRType, zoneLine } from '../../dns/rr.ts';
import { startApiServerProcess, tempDir } from '../../test/integration/helpers/apiserver-process.ts';
import { eventually, startDnsProcess } from '../../test/unit/dns/dns-process.ts';
import { makeService } from '../../test/unit/dns/fixtures.ts';
import { queryBytes, udpExchange } from '../../test/unit/dns/wire-client.ts';
import { freePort, namespace, percentile, populate, random, rssMiB, visibility, zone } from './cluster.ts';

const knob = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const services = knob('SERVICES', 10_000);
const headless = knob('HEADLESS', 100);
const duration = knob('DURATION', 10);
const rounds = knob('ROUNDS', 2);
const clients = knob('CLIENTS', 8);
const outstanding = knob('OUTSTANDING', 500);
/** Serving-thread counts to run kplane dns with, each a separate server in the same run; the first is the headline. */
const workerCounts = (process.env['WORKERS'] ?? '2,1').split(',').map(Number);
const knotWorkers = knob('KNOT_WORKERS', 2);
const changes = knob('CHANGES', 20);

/** The zone knotd serves: every name's A records as kplane would answer them, plus SOA, NS and glue. */
async function zoneFile(client: HttpApiClient): Promise<string> {
  const view = new Records();
  view.setNamespace(namespace, true);
  const listed = (await client.list<Service>({ ...refs.services, namespace })).items;
  for (const service of listed) {
    const slim = slimService(service);
    if (typeof slim !== 'string') view.setService(`${slim.namespace}/${slim.name}`, slim);
  }
  for (const slice of (await client.list<EndpointSlice>({ ...refs.endpointslices, namespace })).items) {
    const slim = slimSlice(slice);
    if (slim) view.setSlice(slim, slim);
  }
  view.synced = true;
  view.serial = 1;
  const options = { zone, ttl: 5, pods: 'disabled' as const, nameservers: ['127.0.0.1'] };
  const lines = [`$ORIGIN ${zone}.`, '$TTL 5'];
  for (const [name, type] of [[zone, RRType.SOA], [zone, RRType.NS]] as const) {
    const outcome = answer(view, { name, type }, options);
    if (outcome.kind === 'response') lines.push(...[...outcome.response.answer, ...outcome.response.additional].map(zoneLine));
  }
  for (const service of listed) {
    const outcome = answer(view, { name: `${service.metadata.name}.${namespace}.svc.${zone}`, type: RRType.A }, options);
    if (outcome.kind === 'response') lines.push(...outcome.response.answer.map(zoneLine));
  }
  return `${lines.join('\n')}\n`;
}

function queryFile(): string {
  const next = random(42);
  const pick = (count: number) => Math.floor(next() * count);
  const lines: string[] = [];
  for (let index = 0; index < 20_000; index++) {
    const roll = next();
    if (roll < 0.8) lines.push(`svc-${pick(services)}.${namespace}.svc.${zone} A`);
    else if (roll < 0.9) lines.push(`svc-${pick(services)}.${namespace}.svc.${zone} AAAA`);
    else if (roll < 0.95) lines.push(`hdl-${pick(headless)}.${namespace}.svc.${zone} A`);
    else lines.push(`nope-${pick(services)}.${namespace}.svc.${zone} A`);
  }
  return `${lines.join('\n')}\n`;
}

interface PerfResult {
  qps: number;
  sent: number;
  lost: number;
  latencyMs: number;
}

async function dnsperf(port: number, file: string): Promise<PerfResult> {
  const { stdout } = await promisify(execFile)('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-l', String(duration), '-c', String(clients), '-q', String(outstanding)], {
    maxBuffer: 1 << 24,
  });
  const number = (label: string) => Number(new RegExp(`${label}:\\s+([\\d.]+)`).exec(stdout)?.[1] ?? NaN);
  return { qps: number('Queries per second'), sent: number('Queries sent'), lost: number('Queries lost'), latencyMs: number('Average Latency \\(s\\)') * 1000 };
}

async function main(): Promise<void> {
  const dir = tempDir('kplane-dns-bench-');
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const api = await startApiServerProcess(join(dir.path, 'api'));
    stops.push(() => api.stop());
    const client = createHttpClient({ server: api.url });
    stops.push(() => client.close());
    const populateStarted = performance.now();
    await populate(client, services, headless);
    console.log(`created ${services} services and ${headless} headless services in ${((performance.now() - populateStarted) / 1000).toFixed(1)} s`);

    const queries = join(dir.path, 'queries.txt');
    writeFileSync(queries, queryFile());
    const zonePath = join(dir.path, `${zone}.zone`);
    writeFileSync(zonePath, await zoneFile(client));

    const knotPort = await freePort();
    writeFileSync(
      join(dir.path, 'knot.conf'),
      [
        'server:',
        `    listen: 127.0.0.1@${knotPort}`,
        `    rundir: ${dir.path}`,
        `    udp-workers: ${knotWorkers}`,
        '    tcp-workers: 1',
        '    background-workers: 1',
        'database:',
        `    storage: ${dir.path}`,
        'log:',
        '  - target: stderr',
        '    any: error',
        'zone:',
        `  - domain: ${zone}`,
        `    file: ${zonePath}`,
        '',
      ].join('\n'),
    );
    const knot = spawn('knotd', ['-c', join(dir.path, 'knot.conf')], { stdio: ['ignore', 'inherit', 'inherit'] });
    stops.push(async () => {
      knot.kill('SIGTERM');
      await new Promise((resolve) => knot.once('exit', resolve));
    });
    await eventually(async () => ((await udpExchange(knotPort, queryBytes({ name: zone, type: RRType.SOA }), 200)).length > 0 ? true : undefined), 20_000, 'knotd');

    const kplanes: { server: string; workers: number; port: number; pid: number; syncSeconds: number; rssSynced: number }[] = [];
    for (const workers of workerCounts) {
      const port = await freePort();
      const syncStarted = performance.now();
      const dns = await startDnsProcess(['--server', api.url, '--listen', `127.0.0.1:${port}`, '--upstream', '127.0.0.1:9', '--workers', String(workers)]);
      stops.push(() => dns.stop());
      await eventually(async () => ((await fetch(`http://${dns.ready}/ready`)).status === 200 ? true : undefined), 60_000, 'kplane dns /ready');
      const syncSeconds = (performance.now() - syncStarted) / 1000;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const pid = dns.child.pid as number;
      kplanes.push({ server: `kplane dns ×${workers}`, workers, port, pid, syncSeconds, rssSynced: rssMiB(pid) });
    }
    const headline = kplanes[0];
    if (!headline) throw new Error('WORKERS names no kplane dns to run');

    const runs: { server: string; round: number; result: PerfResult }[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const { server, port } of [{ server: 'knotd', port: knotPort }, ...kplanes]) {
        const result = await dnsperf(port, queries);
        runs.push({ server, round, result });
        console.log(`round ${round} ${server.padEnd(15)} ${result.qps.toFixed(0).padStart(8)} qps  lost ${result.lost}  avg ${result.latencyMs.toFixed(2)} ms`);
      }
    }

    const created: number[] = [];
    const deleted: number[] = [];
    for (let index = 0; index < changes; index++) {
      const name = `chg-${index}`;
      const fqdn = `${name}.${namespace}.svc.${zone}`;
      const service = makeService(namespace, name, { type: 'ClusterIP', ports: [{ name: 'http', port: 80 }] });
      created.push(await visibility(headline.port, fqdn, 16, () => client.create(refs.services, service), (_rcode, answers) => answers > 0));
      deleted.push(await visibility(headline.port, fqdn, 16, () => client.delete({ ...refs.services, namespace }, name), (rcode) => rcode === 3));
    }

    const best = (server: string) => Math.max(...runs.filter((run) => run.server === server).map((run) => run.result.qps));
    const lost = (server: string) => runs.filter((run) => run.server === server).reduce((sum, run) => sum + run.result.lost, 0);
    const summary = {
      date: new Date().toISOString(),
      machine: { cpus: availableParallelism() },
      knobs: { services, headless, duration, rounds, clients, outstanding, workerCounts, knotWorkers, changes },
      servers: [
        { server: 'knotd', bestQps: best('knotd'), ratio: 1, lost: lost('knotd') },
        ...kplanes.map((kplane) => ({
          server: kplane.server,
          bestQps: best(kplane.server),
          ratio: best(kplane.server) / best('knotd'),
          lost: lost(kplane.server),
          rssMiBSynced: kplane.rssSynced,
          rssMiBAfterLoad: rssMiB(kplane.pid),
          syncSeconds: kplane.syncSeconds,
        })),
      ],
      runs,
      coreDnsFormulaMB: (services + headless) / 1000 + 54,
      changeVisibilityMs: {
        server: headline.server,
        create: { p50: percentile(created, 50), p95: percentile(created, 95), max: Math.max(...created) },
        delete: { p50: percentile(deleted, 50), p95: percentile(deleted, 95), max: Math.max(...deleted) },
      },
    };
    writeFileSync(join(import.meta.dirname, 'results.json'), `${JSON.stringify(summary, null, 2)}\n`);
    const row = (cells: string[]) => console.log(cells.map((cell, index) => (index === 0 ? cell.padEnd(16) : cell.padStart(14))).join(''));
    console.log('');
    row(['server', 'best QPS', 'vs knotd', 'lost (all)', 'RSS synced', 'RSS loaded']);
    for (const server of summary.servers) {
      const memory = 'rssMiBSynced' in server ? [`${server.rssMiBSynced.toFixed(0)} MiB`, `${server.rssMiBAfterLoad.toFixed(0)} MiB`] : ['', ''];
      row([server.server, server.bestQps.toFixed(0), server.ratio.toFixed(2), String(server.lost), ...memory]);
    }
    console.log('');
    console.log(`${services + headless} services; CoreDNS's sizing formula (Pods+Services)/1000+54 gives ${summary.coreDnsFormulaMB.toFixed(0)} MB`);
    console.log(`first sync to /ready: ${kplanes.map((kplane) => `${kplane.server} ${kplane.syncSeconds.toFixed(1)} s`).join(', ')}`);
    const visible = summary.changeVisibilityMs;
    console.log(
      `change → every worker answers (${headline.server}, ${changes} each, ms): create p50 ${visible.create.p50.toFixed(1)} p95 ${visible.create.p95.toFixed(1)} max ${visible.create.max.toFixed(1)};` +
        ` delete → NXDOMAIN p50 ${visible.delete.p50.toFixed(1)} p95 ${visible.delete.p95.toFixed(1)} max ${visible.delete.max.toFixed(1)}`,
    );
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    dir.remove();
  }
}

await main();
