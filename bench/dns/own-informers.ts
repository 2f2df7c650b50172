/**
 * The design feed.bench.ts compares against: every serving thread runs its
 * own informers (its own list and watch of the API) instead of being fed
 * view batches by the primary. Same serving code otherwise.
 *
 *   node bench/dns/own-informers.ts SERVER_URL WORKERS
 *
 * Prints one JSON line when all threads listen ({"port"}) and one when all
 * have synced ({"synced": true}).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { silentLogger } from '../../common/logger.ts';
import { createHttpClient } from '../../controlplane/client/http-client.ts';
import { forwardDefaults } from '../../dns/forward.ts';
import { answerCacheCapacity, maxUdpSize, serve } from '../../dns/serve.ts';
import { watchCluster } from '../../dns/watch.ts';

interface Setup {
  server: string;
  port: number;
  reusePort: boolean;
}

if (isMainThread) {
  const [server = '', workersText = '2'] = process.argv.slice(2);
  const count = Number(workersText);
  let port = 0;
  let synced = 0;
  const start = (reusePort: boolean) =>
    new Promise<void>((resolve) => {
      const worker = new Worker(new URL(import.meta.url), { workerData: { server, port, reusePort } satisfies Setup });
      worker.on('message', (message: { port?: number; synced?: boolean }) => {
        if (message.port !== undefined) {
          port = message.port;
          resolve();
        }
        if (message.synced && ++synced === count) console.log(JSON.stringify({ synced: true }));
      });
    });
  await start(count > 1);
  for (let index = 1; index < count; index++) await start(true);
  console.log(JSON.stringify({ port }));
} else {
  const setup = workerData as Setup;
  const serving = await serve(
    {
      host: '127.0.0.1',
      port: setup.port,
      reusePort: setup.reusePort,
      answer: { zone: 'cluster.local', ttl: 5, pods: 'disabled', nameservers: [] },
      forward: { ...forwardDefaults, upstreams: [] },
      maxUdpSize,
      cacheCapacity: answerCacheCapacity,
      loopProbeName: 'never.asked',
    },
    { onLoop: () => undefined, onError: () => undefined },
  );
  parentPort?.postMessage({ port: serving.port });
  let announced = false;
  await watchCluster(
    createHttpClient({ server: setup.server }),
    {
      pods: 'disabled',
      logger: silentLogger(),
      report: () => undefined,
      onBatch: (batch) => {
        serving.apply(batch);
        if (batch.synced && !announced) {
          announced = true;
          parentPort?.postMessage({ synced: true });
        }
      },
    },
    new AbortController().signal,
  );
}
