/**
 * How should each serving thread get its view of the cluster? Two designs,
 * measured in one run against the same API store of SERVICES services:
 *
 * - primary: the shipped one (dns/workers.ts). The primary runs one set of
 *   informers and posts slim view batches to every worker.
 * - informers: every worker runs its own informers (own-informers.ts).
 *
 * For each: time from start until every worker has synced, memory (RSS)
 * once synced, the API watches it holds, and how long a created or deleted
 * service takes to show in answers from every worker.
 *
 *   node --disable-warning=ExperimentalWarning bench/dns/feed.bench.ts
 *
 * Knobs (env): SERVICES (10000), WORKERS (2), CHANGES (10). Writes bench/dns/feed-results.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createHttpClient } from '../../controlplane/client/http-client.ts';
import { refs } from '../../controlplane/client/types.ts';
import { kplaneBin, startApiServerProcess, tempDir } from '../../test/integration/helpers/apiserver-process.ts';
import { makeService } from '../../test/unit/dns/fixtures.ts';
import { namespace, percentile, populate, rssMiB, visibility, zone } from './cluster.ts';

const knob = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const services = knob('SERVICES', 10_000);
const workers = knob('WORKERS', 2);
const changes = knob('CHANGES', 10);

interface Started {
  child: ChildProcess;
  port: number;
  syncedAfterMs: number;
}

/** Starts a server and waits for its port and for every worker to have synced, from its log lines. */
function start(command: string, args: string[], isPort: (entry: Record<string, unknown>) => number | undefined, isSynced: (entry: Record<string, unknown>) => boolean): Promise<Started> {
  const started = performance.now();
  const child = spawn(command, args, { env: { ...process.env, KPLANE_LOG_FORMAT: 'json', KPLANE_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let port: number | undefined;
    let syncedAfterMs: number | undefined;
    const onLine = (line: string) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      port ??= isPort(entry);
      if (syncedAfterMs === undefined && isSynced(entry)) syncedAfterMs = performance.now() - started;
      if (port !== undefined && syncedAfterMs !== undefined) resolve({ child, port, syncedAfterMs });
    };
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', onLine);
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', onLine);
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

async function main(): Promise<void> {
  const dir = tempDir('kplane-dns-feed-');
  const api = await startApiServerProcess(join(dir.path, 'api'));
  const client = createHttpClient({ server: api.url });
  try {
    await populate(client, services, 0);
    const designs = {
      primary: () =>
        start(
          kplaneBin,
          ['dns', '--server', api.url, '--listen', '127.0.0.1:0', '--health-listen', '127.0.0.1:0', '--ready-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0', '--upstream', '127.0.0.1:9', '--workers', String(workers)],
          (entry) => (entry['msg'] === 'DNS serving' ? Number(String(entry['dns']).split(':').pop()) : undefined),
          // The primary logs the sync once its batch is posted; workers apply it next.
          (entry) => entry['msg'] === 'cluster view synced',
        ),
      informers: () =>
        start(
          process.execPath,
          ['--disable-warning=ExperimentalWarning', join(import.meta.dirname, 'own-informers.ts'), api.url, String(workers)],
          (entry) => (typeof entry['port'] === 'number' ? entry['port'] : undefined),
          (entry) => entry['synced'] === true,
        ),
    };
    const results: Record<string, unknown> = {};
    for (const [design, launch] of Object.entries(designs)) {
      const server = await launch();
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const rss = rssMiB(server.child.pid as number);
      const created: number[] = [];
      const deleted: number[] = [];
      for (let index = 0; index < changes; index++) {
        const name = `${design}-${index}`;
        const fqdn = `${name}.${namespace}.svc.${zone}`;
        created.push(await visibility(server.port, fqdn, 16, () => client.create(refs.services, makeService(namespace, name, { type: 'ClusterIP', ports: [{ name: 'http', port: 80 }] })), (_rcode, answers) => answers > 0));
        deleted.push(await visibility(server.port, fqdn, 16, () => client.delete({ ...refs.services, namespace }, name), (rcode) => rcode === 3));
      }
      await stop(server.child);
      results[design] = {
        syncSeconds: server.syncedAfterMs / 1000,
        rssMiB: rss,
        watches: design === 'primary' ? 3 : 3 * workers,
        createMs: { p50: percentile(created, 50), max: Math.max(...created) },
        deleteMs: { p50: percentile(deleted, 50), max: Math.max(...deleted) },
      };
      console.log(design.padEnd(10), JSON.stringify(results[design]));
    }
    writeFileSync(join(import.meta.dirname, 'feed-results.json'), `${JSON.stringify({ date: new Date().toISOString(), knobs: { services, workers, changes }, results }, null, 2)}\n`);
  } finally {
    await client.close();
    await api.stop();
    dir.remove();
  }
}

await main();
