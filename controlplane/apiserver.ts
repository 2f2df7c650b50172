/**
 * Assembles the API store: embedded storage, watch cache, allocators,
 * registry, controllers and the HTTP listeners, and takes them down in the
 * reverse order.
 */
import { createServer, type Server } from 'node:http';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyServerFactoryHandler } from 'fastify';
import type { Logger } from '../common/logger.ts';
import { findResource, type ResourceInfo } from './api/resources.ts';
import type { Service } from './api/types.ts';
import { openSqliteBackend } from './storage/sqlite.ts';
import { WatchCache } from './storage/watch-cache.ts';
import { ServiceAllocator } from './allocators/service-allocator.ts';
import { Registry } from './registry/store.ts';
import { everything } from './registry/filter.ts';
import { createLocalClient } from './registry/local-client.ts';
import { createApp } from './http/app.ts';
import { bootstrap } from './bootstrap.ts';
import { LifecycleController } from './controllers/lifecycle.ts';
import { startEndpointsControllers } from './controllers/start.ts';
import type { ApiServerOptions, Listener } from './options.ts';

export interface RunningApiServer {
  /** Where each listener ended up (the real port when 0 was asked for). */
  addresses: string[];
  registry: Registry;
  close(): Promise<void>;
}

/** How often old history is compacted; watchers this far behind still resume without a relist. */
const compactionIntervalMs = 60_000;

function removeStaleSocket(path: string): void {
  try {
    if (statSync(path).isSocket()) rmSync(path);
  } catch {
    // absent: nothing to remove
  }
}

function listen(server: Server, listener: Listener): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'string' ? `unix:${address}` : `${address?.address}:${address?.port}`);
    };
    if (listener.kind === 'unix') {
      removeStaleSocket(listener.path);
      server.listen({ path: listener.path }, done);
    } else {
      server.listen({ host: listener.host, port: listener.port }, done);
    }
  });
}

export async function startApiServer(options: Readonly<ApiServerOptions>, logger: Logger): Promise<RunningApiServer> {
  mkdirSync(options.dataDir, { recursive: true });
  const backend = openSqliteBackend(join(options.dataDir, 'kplane.db'));
  const cache = await WatchCache.start(backend, options.watchCacheCapacity !== undefined ? { capacity: options.watchCacheCapacity, minRetentionMs: 0 } : {});
  const allocator = new ServiceAllocator({
    serviceCidr: options.serviceCidr,
    nodePortRange: options.nodePortRange,
    ...(options.lbPool !== undefined ? { loadBalancerPool: options.lbPool } : {}),
  });
  const services = findResource('', 'v1', 'services') as ResourceInfo;
  const registry = new Registry({ backend, cache, allocator, now: () => new Date() });
  allocator.rebuild(registry.list(services, undefined, everything).items as Service[]);
  await bootstrap(registry, options.serviceCidr);

  const controllersAbort = new AbortController();
  const lifecycle = new LifecycleController(registry, logger.child({ controller: 'lifecycle' }));
  lifecycle.start();
  const endpoints = startEndpointsControllers(createLocalClient(registry), logger.child({ controller: 'endpoints' }), controllersAbort.signal);
  const compaction = setInterval(() => {
    backend.compactHistory().catch((error: unknown) => logger.warn({ err: error }, 'history compaction failed'));
  }, compactionIntervalMs);

  let handler: FastifyServerFactoryHandler | undefined;
  const app = createApp({ registry, now: () => new Date(), bookmarkIntervalMs: 60_000, maxRevisionWaitMs: 3_000 }, logger, (h) => {
    handler = h;
    return createServer(h);
  });
  await app.ready();
  const servers = options.listen.map(() => {
    const server = createServer(handler as FastifyServerFactoryHandler);
    server.requestTimeout = 0;
    server.keepAliveTimeout = 75_000;
    return server;
  });
  const addresses = await Promise.all(servers.map((server, index) => listen(server, options.listen[index] as Listener)));
  logger.info({ addresses, dataDir: options.dataDir, revision: registry.revision }, 'API store serving');

  return {
    addresses,
    registry,
    async close() {
      for (const server of servers) {
        server.close();
        server.closeAllConnections();
      }
      clearInterval(compaction);
      controllersAbort.abort();
      await endpoints;
      lifecycle.stop();
      await app.close();
      cache.stop();
      await backend.close();
      logger.info('API store stopped');
    },
  };
}
