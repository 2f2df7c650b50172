/**
 * The operator endpoints, apart from the traffic listeners: `/healthz`
 * (200 once the caches are synced and the listeners are up, 503 before and
 * while stopping) and Prometheus `/metrics`. --health-listen and
 * --metrics-listen may name the same address; one server then answers both.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ListenAddress } from './options.ts';

export interface OpsEndpoints {
  healthy?: () => boolean;
  registry?: Registry;
}

export interface OpsServer {
  address: AddressInfo;
  close(): Promise<void>;
}

export async function startOpsServer(listen: ListenAddress, endpoints: OpsEndpoints): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/healthz' && endpoints.healthy) {
      const ok = endpoints.healthy();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(ok ? 'ok\n' : 'not ready\n');
      return;
    }
    if (path === '/metrics' && endpoints.registry) {
      const registry = endpoints.registry;
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${(error as Error).message}\n`),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
