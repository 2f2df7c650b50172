/**
 * The HTTP side: /health (CoreDNS's health plugin: 200 "OK" while the
 * process runs), /ready (the ready plugin: 200 "OK" once the cluster view
 * has synced, 503 naming what is not ready before), and /metrics. Each path
 * has its own listen address, as in a Kubernetes deployment's probes;
 * paths given the same address share one server.
 */
import http from 'node:http';
import type { HostPort } from './options.ts';

export interface Route {
  path: string;
  listen: HostPort;
  respond(): Promise<{ status: number; body: string; contentType?: string }>;
}

export interface HttpEndpoints {
  /** Where each path is served, in the order given ("127.0.0.1:8080"). */
  addresses: string[];
  close(): Promise<void>;
}

function addressText(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export async function startHttpEndpoints(routes: readonly Route[]): Promise<HttpEndpoints> {
  const groups = new Map<string, Route[]>();
  for (const route of routes) {
    const key = addressText(route.listen.host, route.listen.port);
    // Port 0 means "any free port": such routes never share.
    const groupKey = route.listen.port === 0 ? `${key}#${route.path}` : key;
    groups.set(groupKey, [...(groups.get(groupKey) ?? []), route]);
  }
  const servers: http.Server[] = [];
  const addressOf = new Map<Route, string>();
  try {
    for (const group of groups.values()) {
      const server = http.createServer((request, response) => {
        const route = group.find((candidate) => candidate.path === new URL(request.url ?? '/', 'http://localhost').pathname);
        if (!route || (request.method !== 'GET' && request.method !== 'HEAD')) {
          response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
          return;
        }
        route.respond().then(
          ({ status, body, contentType }) => response.writeHead(status, { 'content-type': contentType ?? 'text/plain; charset=utf-8' }).end(body),
          (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${(error as Error).message}\n`),
        );
      });
      servers.push(server);
      const listen = (group[0] as Route).listen;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(listen.port, listen.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const port = (server.address() as { port: number }).port;
      for (const route of group) addressOf.set(route, addressText(listen.host, port));
    }
  } catch (error) {
    for (const server of servers) server.close();
    throw error;
  }
  return {
    addresses: routes.map((route) => addressOf.get(route) as string),
    async close() {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
}
