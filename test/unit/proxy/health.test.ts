import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { silentLogger } from '../../../common/logger.ts';
import { closeServer, ProxyHealth, proxyHealthResponse, ServiceHealthServers, serviceHealthResponse, startHealthzServer } from '../../../proxy/health.ts';
import { ProxyMetrics } from '../../../proxy/metrics.ts';

describe('ProxyHealth', () => {
  test.each([
    { name: 'nothing queued: healthy', steps: [] as string[], elapsed: 0, healthy: true },
    { name: 'a change queued recently: still healthy', steps: ['queued'], elapsed: 59_999, healthy: true },
    { name: 'a change waiting past the timeout: unhealthy', steps: ['queued'], elapsed: 60_000, healthy: false },
    { name: 'a sync applied it: healthy again', steps: ['queued', 'updated'], elapsed: 120_000, healthy: true },
  ])('$name', ({ steps, elapsed, healthy }) => {
    let now = 0;
    const health = new ProxyHealth({ healthTimeoutMs: 60_000, now: () => now });
    for (const step of steps) (step === 'queued' ? health.queued() : health.updated());
    now += elapsed;
    expect(health.status().healthy).toBe(healthy);
  });

  test('/healthz answers with the node eligibility; /livez ignores it', () => {
    const health = new ProxyHealth({ healthTimeoutMs: 60_000, now: () => Date.parse('2026-01-01T00:00:10Z') });
    health.updated();
    health.setNodeEligible(false);
    const healthz = proxyHealthResponse(health, '/healthz');
    expect(healthz.code).toBe(503);
    expect(JSON.parse(healthz.body)).toEqual({
      lastUpdated: '2026-01-01T00:00:10.000Z',
      currentTime: '2026-01-01T00:00:10.000Z',
      nodeEligible: false,
      healthy: true,
      status: { IPv4: { healthy: true, lastUpdated: '2026-01-01T00:00:10.000Z' } },
    });
    const livez = proxyHealthResponse(health, '/livez');
    expect(livez.code).toBe(200);
    expect(JSON.parse(livez.body)).not.toHaveProperty('nodeEligible');
  });
});

describe('serviceHealthResponse', () => {
  test.each([
    { name: 'local endpoints and a healthy proxy: 200', local: 2, healthy: true, code: 200 },
    { name: 'no local endpoints: 503', local: 0, healthy: true, code: 503 },
    { name: 'an unhealthy proxy: 503', local: 1, healthy: false, code: 503 },
  ])('$name', ({ local, healthy, code }) => {
    const answer = serviceHealthResponse('ns1/web', local, healthy);
    expect(answer.code).toBe(code);
    expect(answer.headers).toEqual({ 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff', 'X-Load-Balancing-Endpoint-Weight': String(local) });
    // kube-proxy's body, tab-indented, byte for byte.
    expect(answer.body).toBe(`{\n\t"service": {\n\t\t"namespace": "ns1",\n\t\t"name": "web"\n\t},\n\t"localEndpoints": ${local},\n\t"serviceProxyHealthy": ${healthy}\n}`);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('servers on real sockets', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  test('/healthz and /livez answer JSON and are counted; other paths are 404', async () => {
    const metrics = new ProxyMetrics();
    const health = new ProxyHealth({ healthTimeoutMs: 60_000 });
    const server = await startHealthzServer(health, { host: '127.0.0.1', port: 0 }, metrics);
    cleanups.push(() => closeServer(server));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const healthz = await fetch(`${base}/healthz`);
    expect(healthz.status).toBe(200);
    expect(healthz.headers.get('content-type')).toBe('application/json');
    expect(await healthz.json()).toMatchObject({ nodeEligible: true, healthy: true });
    expect((await fetch(`${base}/livez`)).status).toBe(200);
    expect((await fetch(`${base}/other`)).status).toBe(404);
    expect((await metrics.healthzTotal.get()).values).toEqual([{ value: 1, labels: { code: '200' } }]);
  });

  test('health check node port servers open, answer from the latest counts, and close', async () => {
    const port = await freePort();
    let healthy = true;
    const servers = new ServiceHealthServers({ addresses: ['127.0.0.1'], proxyHealthy: () => healthy, logger: silentLogger() });
    cleanups.push(() => servers.close());
    await servers.sync(new Map([['ns1/web', port]]), new Map([['ns1/web', 1]]));
    const url = `http://127.0.0.1:${port}/any/path`;
    let reply = await fetch(url);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('x-load-balancing-endpoint-weight')).toBe('1');
    expect(await reply.json()).toEqual({ service: { namespace: 'ns1', name: 'web' }, localEndpoints: 1, serviceProxyHealthy: true });
    await servers.sync(new Map([['ns1/web', port]]), new Map());
    expect((await fetch(url)).status).toBe(503);
    healthy = false;
    await servers.sync(new Map([['ns1/web', port]]), new Map([['ns1/web', 3]]));
    reply = await fetch(url);
    expect(reply.status).toBe(503);
    expect(await reply.json()).toMatchObject({ localEndpoints: 3, serviceProxyHealthy: false });
    await servers.sync(new Map(), new Map());
    expect(servers.ports).toEqual([]);
    await expect(fetch(url)).rejects.toThrow();
  });

  test('a port held by someone else is reported, not fatal', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => blocker.close(() => resolve())));
    const port = (blocker.address() as AddressInfo).port;
    const servers = new ServiceHealthServers({ addresses: ['127.0.0.1'], proxyHealthy: () => true, logger: silentLogger() });
    cleanups.push(() => servers.close());
    await servers.sync(new Map([['ns1/web', port]]), new Map());
    expect(servers.ports).toEqual([]);
  });
});
