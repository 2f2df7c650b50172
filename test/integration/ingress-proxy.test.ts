/**
 * The data plane on real sockets, without the API: IngressProxy and its
 * listeners, fed route tables built from objects, in front of backends on
 * 127.0.0.1. (The API store rejects loopback endpoint addresses, as
 * kube-apiserver does; here the table is built directly, so endpoints can be
 * loopback ports.) ingress-controller.test.ts covers the same process driven
 * through the API.
 */
import { connect as http2Connect } from 'node:http2';
import { createConnection } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { silentLogger } from '../../common/logger.ts';
import type { EndpointSlice, Ingress, Service } from '../../controlplane/api/types.ts';
import { IngressMetrics } from '../../ingress/metrics.ts';
import { IngressProxy } from '../../ingress/proxy.ts';
import { buildRouteTable, type RouteTable } from '../../ingress/routes.ts';
import { selfSignedCertificate } from '../../ingress/self-signed.ts';
import { startListeners, type Listeners } from '../../ingress/server.ts';
import { certificateFromPem, SniContexts } from '../../ingress/tls.ts';
import { makeIngress, makeService, makeSlice, prefix } from '../unit/ingress/builders.ts';
import { closedPort, eventually, get, raw, startBackend, webSocketExchange, type Backend } from './ingress-backends.ts';

interface Running {
  proxy: IngressProxy;
  metrics: IngressMetrics;
  listeners: Listeners;
  http: number;
  https: number;
}

const now = Date.now();
const generated = selfSignedCertificate({ commonName: 'test', dnsNames: ['ingress.local'], notBefore: new Date(now - 3600_000), notAfter: new Date(now + 86400_000) });
const fallback = certificateFromPem('self-signed', generated.cert, generated.key);

async function startProxy(timeouts: { header?: number; request?: number; idle?: number } = {}): Promise<Running> {
  const metrics = new IngressMetrics();
  let httpsPort = 443;
  const proxy = new IngressProxy({ logger: silentLogger(), metrics, httpsPort: () => httpsPort });
  const sni = new SniContexts({ hosts: new Map(), defaultCertificate: fallback, problems: [] });
  const listeners = await startListeners(
    {
      httpListen: { host: '127.0.0.1', port: 0 },
      httpsListen: { host: '127.0.0.1', port: 0 },
      clientHeaderTimeoutMs: timeouts.header ?? 60_000,
      clientRequestTimeoutMs: timeouts.request ?? 300_000,
      clientIdleTimeoutMs: timeouts.idle ?? 75_000,
    },
    { proxy, sni, metrics, logger: silentLogger() },
  );
  httpsPort = listeners.https.port;
  return { proxy, metrics, listeners, http: listeners.http.port, https: listeners.https.port };
}

/** A Service `name` on port 80 whose ready endpoints are the given backends (one slice each), plus not-ready ones. */
function serviceOf(name: string, ready: readonly { port: number }[], notReady: readonly { port: number }[] = []): { service: Service; slices: EndpointSlice[] } {
  return {
    service: makeService(name),
    slices: [
      ...ready.map((backend) => makeSlice(name, `${name}-${backend.port}`, 'http', backend.port, ['127.0.0.1'])),
      ...notReady.map((backend) => makeSlice(name, `${name}-${backend.port}`, 'http', backend.port, [{ address: '127.0.0.1', ready: false }])),
    ],
  };
}

function table(ingresses: Ingress[], services: { service: Service; slices: EndpointSlice[] }[]): RouteTable {
  return buildRouteTable({ ingresses, services: services.map((entry) => entry.service), endpointSlices: services.flatMap((entry) => entry.slices) }).table;
}

const site = (annotations: Record<string, string> = {}) =>
  makeIngress('site', { annotations, rules: [{ host: 'a.test', paths: [prefix('/', 'web')] }, { paths: [prefix('/ws', 'web')] }] });

async function metricValue(metrics: IngressMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((candidate) => candidate.name === name);
  const value = metric?.values.find((candidate) => Object.entries(labels).every(([key, wanted]) => String(candidate.labels[key]) === wanted));
  return Number(value?.value ?? 0);
}

describe('ingress data plane', () => {
  const backends: Backend[] = [];
  let running: Running;
  let a: Backend;
  let b: Backend;
  let c: Backend;

  beforeAll(async () => {
    for (const name of ['a', 'b', 'c']) backends.push(await startBackend(name));
    [a, b, c] = backends as [Backend, Backend, Backend];
    running = await startProxy();
  });
  afterAll(async () => {
    await running?.listeners.close(1000);
    await running?.proxy.upstreams.destroy();
    await Promise.all(backends.map((backend) => backend.close()));
  });
  afterEach(() => {
    for (const backend of backends) backend.seen.length = 0;
  });

  test('round-robin spreads requests evenly over ready endpoints and never to a not-ready one', async () => {
    const notReady = await startBackend('not-ready');
    try {
      running.proxy.setTable(table([site()], [serviceOf('web', [a, b, c], [notReady])]));
      const answers: string[] = [];
      for (let index = 0; index < 30; index++) answers.push((await get(running.http, '/', { host: 'a.test' })).json?.backend ?? 'none');
      const counts = Object.fromEntries(['a', 'b', 'c', 'not-ready'].map((name) => [name, answers.filter((answer) => answer === name).length]));
      expect(counts).toEqual({ a: 10, b: 10, c: 10, 'not-ready': 0 });
      expect(notReady.seen).toEqual([]);
    } finally {
      await notReady.close();
    }
  });

  test('requests pass through with method, path, query, body and Host unchanged, forwarded headers set, hop-by-hop stripped', async () => {
    running.proxy.setTable(table([site()], [serviceOf('web', [a])]));
    const reply = await get(running.http, '/some/path?x=1&y=%20z', {
      host: 'A.test:8080',
      method: 'POST',
      body: 'hello body',
      headers: { 'x-custom': 'kept', 'x-forwarded-for': '6.6.6.6', 'keep-alive': 'timeout=1', connection: 'keep-alive, x-hop', 'x-hop': 'dropped', te: 'trailers' },
    });
    expect(reply.status).toBe(200);
    const seen = a.seen[0];
    expect(seen).toMatchObject({ method: 'POST', url: '/some/path?x=1&y=%20z', body: 'hello body' });
    expect(seen?.headers).toMatchObject({
      host: 'A.test:8080',
      'x-custom': 'kept',
      'x-forwarded-for': '127.0.0.1',
      'x-real-ip': '127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'A.test:8080',
      'x-forwarded-port': String(running.http),
      'content-length': '10',
    });
    expect(Object.keys(seen?.headers ?? {})).not.toEqual(expect.arrayContaining(['keep-alive', 'x-hop', 'te']));
  });

  test("the backend's Content-Length is kept, a Server header is added, and big bodies stream through whole", async () => {
    running.proxy.setTable(table([site()], [serviceOf('web', [a])]));
    const reply = await get(running.http, '/big/3000000', { host: 'a.test' });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-length']).toBe('3000000');
    expect(reply.headers['transfer-encoding']).toBeUndefined();
    expect(reply.headers['server']).toBe('kplane');
    expect(reply.body.length).toBe(3_000_000);
  });

  test('upstream connections are kept alive and reused across requests', async () => {
    const solo = await startBackend('solo');
    try {
      running.proxy.setTable(table([site()], [serviceOf('web', [solo])]));
      for (let index = 0; index < 20; index++) expect((await get(running.http, '/', { host: 'a.test' })).status).toBe(200);
      expect(solo.connections).toBe(1);
    } finally {
      await solo.close();
    }
  });

  test('an idempotent request goes to another endpoint when a connection is refused; the dead one costs no error', async () => {
    const dead = { port: await closedPort() };
    running.proxy.setTable(table([site()], [serviceOf('web', [a, dead, b])]));
    const before = await metricValue(running.metrics, 'kplane_ingress_upstream_retries_total');
    const statuses: number[] = [];
    for (let index = 0; index < 12; index++) statuses.push((await get(running.http, '/', { host: 'a.test' })).status);
    expect(statuses).toEqual(Array(12).fill(200));
    expect(await metricValue(running.metrics, 'kplane_ingress_upstream_retries_total')).toBeGreaterThan(before);
  });

  test('a request with a body is not retried: 502 when its endpoint refuses', async () => {
    running.proxy.setTable(table([site()], [serviceOf('web', [{ port: await closedPort() }])]));
    expect((await get(running.http, '/', { host: 'a.test', method: 'POST', body: 'x' })).status).toBe(502);
  });

  test('502 when no endpoint can be reached, after at most three tries', async () => {
    running.proxy.setTable(table([site()], [serviceOf('web', [{ port: await closedPort() }, { port: await closedPort() }, { port: await closedPort() }, { port: await closedPort() }])]));
    const before = await metricValue(running.metrics, 'kplane_ingress_upstream_errors_total', { kind: 'connect' });
    expect((await get(running.http, '/', { host: 'a.test' })).status).toBe(502);
    expect((await metricValue(running.metrics, 'kplane_ingress_upstream_errors_total', { kind: 'connect' })) - before).toBe(3);
  });

  test('503 without ready endpoints', async () => {
    running.proxy.setTable(table([site()], [serviceOf('web', [], [a])]));
    expect((await get(running.http, '/', { host: 'a.test' })).status).toBe(503);
  });

  test('504 when the backend does not answer within proxy-read-timeout, and the backend sees the request abandoned', async () => {
    running.proxy.setTable(table([site({ 'kplane.io/proxy-read-timeout': '0.3' })], [serviceOf('web', [a])]));
    const abortedBefore = a.aborted;
    expect((await get(running.http, '/hang', { host: 'a.test' })).status).toBe(504);
    await eventually(() => expect(a.aborted).toBe(abortedBefore + 1));
  });

  test('a backend that fails mid-body cuts the response short instead of hanging', async () => {
    running.proxy.setTable(table([site()], [serviceOf('web', [a])]));
    await expect(get(running.http, '/cut', { host: 'a.test' })).rejects.toThrow();
  });

  test('a client that goes away aborts its upstream request', async () => {
    running.proxy.setTable(table([site()], [serviceOf('web', [a])]));
    const abortedBefore = a.aborted;
    const socket = createConnection(running.http, '127.0.0.1');
    socket.write('GET /slow/60000 HTTP/1.1\r\nHost: a.test\r\n\r\n');
    await eventually(() => expect(a.seen.some((seen) => seen.url === '/slow/60000')).toBe(true));
    socket.destroy();
    await eventually(() => expect(a.aborted).toBe(abortedBefore + 1));
  });

  test('413 past proxy-body-size, by Content-Length and by a chunked body; a body within the limit passes whole', async () => {
    running.proxy.setTable(table([site({ 'nginx.ingress.kubernetes.io/proxy-body-size': '4k' })], [serviceOf('web', [a])]));
    expect((await get(running.http, '/', { host: 'a.test', method: 'POST', body: 'x'.repeat(5000) })).status).toBe(413);
    expect((await get(running.http, '/', { host: 'a.test', method: 'POST', body: 'x'.repeat(5000), chunked: true })).status).toBe(413);
    const fits = await get(running.http, '/', { host: 'a.test', method: 'POST', body: 'y'.repeat(4000), chunked: true });
    expect(fits.status).toBe(200);
    expect(fits.json?.body).toBe('y'.repeat(4000));
  });

  test('400 for malformed requests, 404 for unknown hosts', async () => {
    running.proxy.setTable(table([site()], [serviceOf('web', [a])]));
    expect(await raw(running.http, 'GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await raw(running.http, 'GET / HTTP/1.1\r\nHost: bad host\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await raw(running.http, 'GET / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect((await get(running.http, '/', { host: 'nobody.test' })).status).toBe(404);
  });

  test('cookie affinity pins a client to one endpoint and re-pins when that endpoint leaves', async () => {
    const sticky = site({ 'nginx.ingress.kubernetes.io/affinity': 'cookie', 'nginx.ingress.kubernetes.io/session-cookie-name': 'route' });
    running.proxy.setTable(table([sticky], [serviceOf('web', [a, b, c])]));
    const first = await get(running.http, '/', { host: 'a.test' });
    const cookie = String(first.headers['set-cookie']?.[0] ?? '');
    expect(cookie).toMatch(/^route=[0-9a-f]{16}; Path=\/; HttpOnly$/);
    const pair = cookie.split(';')[0] ?? '';
    const pinned = first.json?.backend;
    for (let index = 0; index < 6; index++) {
      const again = await get(running.http, '/', { host: 'a.test', headers: { cookie: `other=1; ${pair}` } });
      expect(again.json?.backend).toBe(pinned);
      expect(again.headers['set-cookie']).toBeUndefined();
    }
    const remaining = [a, b, c].filter((backend) => backend.name !== pinned);
    running.proxy.setTable(table([sticky], [serviceOf('web', remaining)]));
    const moved = await get(running.http, '/', { host: 'a.test', headers: { cookie: pair } });
    expect(remaining.map((backend) => backend.name)).toContain(moved.json?.backend);
    expect(String(moved.headers['set-cookie']?.[0])).toMatch(/^route=/);
  });

  test('a table swap does not touch requests in flight; the next requests follow the new table', async () => {
    running.proxy.setTable(table([site()], [serviceOf('web', [a])]));
    const inFlight = get(running.http, '/slow/300', { host: 'a.test' });
    await eventually(() => expect(a.seen.some((seen) => seen.url === '/slow/300')).toBe(true));
    running.proxy.setTable(table([site()], [serviceOf('web', [b])]));
    const after = await get(running.http, '/', { host: 'a.test' });
    expect(after.json?.backend).toBe('b');
    const finished = await inFlight;
    expect(finished.status).toBe(200);
    expect(finished.json?.backend).toBe('a');
  });

  test('WebSocket upgrades pass through both ways', async () => {
    running.proxy.setTable(table([site()], [serviceOf('web', [a])]));
    expect(await webSocketExchange(`ws://127.0.0.1:${running.http}/ws`, ['one', 'two'])).toEqual(['a: one', 'a: two']);
    expect(a.seen).toEqual([]);
  });

  test('an Upgrade the backend declines is relayed, and a route without endpoints answers 503', async () => {
    running.proxy.setTable(table([site()], [serviceOf('web', [a])]));
    expect(await raw(running.http, 'GET /ws HTTP/1.1\r\nHost: x.test\r\nConnection: Upgrade\r\nUpgrade: something-else\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    running.proxy.setTable(table([site()], [serviceOf('web', [])]));
    expect(await raw(running.http, 'GET /ws HTTP/1.1\r\nHost: x.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')).toMatch(/^HTTP\/1\.1 503 /);
  });

  test('HTTPS speaks HTTP/2 by ALPN, with X-Forwarded-Proto https', async () => {
    running.proxy.setTable(table([site()], [serviceOf('web', [a])]));
    const session = http2Connect(`https://127.0.0.1:${running.https}`, { servername: 'a.test', rejectUnauthorized: false });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':path': '/h2?q=1', ':authority': 'a.test', cookie: 'x=1' });
        stream.end();
        const chunks: Buffer[] = [];
        stream.on('response', (headers) => expect(headers[':status']).toBe(200));
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => resolve(Buffer.concat(chunks).toString()));
        stream.on('error', reject);
      });
      const answer = JSON.parse(body) as { url: string; headers: Record<string, string> };
      expect(answer.url).toBe('/h2?q=1');
      expect(answer.headers).toMatchObject({ host: 'a.test', 'x-forwarded-proto': 'https', cookie: 'x=1' });
    } finally {
      session.close();
    }
  });

  test('HTTP/2 requests past proxy-body-size get 413 as well', async () => {
    running.proxy.setTable(table([site({ 'kplane.io/proxy-body-size': '1k' })], [serviceOf('web', [a])]));
    const session = http2Connect(`https://127.0.0.1:${running.https}`, { servername: 'a.test', rejectUnauthorized: false });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': '/', ':authority': 'a.test', 'content-length': '2048' });
        stream.on('response', (headers) => resolve(Number(headers[':status'])));
        stream.on('error', reject);
        stream.end(Buffer.alloc(2048, 'x'));
      });
      expect(status).toBe(413);
    } finally {
      session.close();
    }
  });

  test('metrics count requests by host and status', async () => {
    running.proxy.setTable(table([site()], [serviceOf('web', [a])]));
    const before = await metricValue(running.metrics, 'kplane_ingress_requests_total', { host: 'a.test', status: '200' });
    await get(running.http, '/', { host: 'a.test' });
    await get(running.http, '/', { host: 'nobody.test' });
    expect(await metricValue(running.metrics, 'kplane_ingress_requests_total', { host: 'a.test', status: '200' })).toBe(before + 1);
    expect(await metricValue(running.metrics, 'kplane_ingress_requests_total', { host: '_', status: '404' })).toBeGreaterThan(0);
  });
});

describe('slow and idle clients', () => {
  let backend: Backend;
  let running: Running;
  beforeAll(async () => {
    backend = await startBackend('slow-clients');
    running = await startProxy({ header: 300, request: 600, idle: 300 });
    running.proxy.setTable(table([site()], [serviceOf('web', [backend])]));
  });
  afterAll(async () => {
    await running?.listeners.close(500);
    await running?.proxy.upstreams.destroy();
    await backend?.close();
  });

  test('a client that does not finish its headers in time gets 408', async () => {
    expect(await raw(running.http, 'GET / HTTP/1.1\r\nHost: a.test\r\n')).toMatch(/^HTTP\/1\.1 408 /);
  });

  test('a client that does not finish its body in time gets 408; the backend never sees a whole request', async () => {
    const seenBefore = backend.seen.length;
    expect(await raw(running.http, 'POST /slow/1 HTTP/1.1\r\nHost: a.test\r\nContent-Length: 10\r\n\r\nabc')).toMatch(/^HTTP\/1\.1 408 /);
    expect(backend.seen.length).toBe(seenBefore);
  });

  test('an HTTP/2 session without open streams is closed after --client-idle-timeout', async () => {
    const session = http2Connect(`https://127.0.0.1:${running.https}`, { servername: 'a.test', rejectUnauthorized: false });
    const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
    const status = await new Promise<number>((resolve, reject) => {
      const stream = session.request({ ':path': '/', ':authority': 'a.test' });
      stream.on('response', (headers) => resolve(Number(headers[':status'])));
      stream.on('error', reject);
      stream.resume();
      stream.end();
    });
    expect(status).toBe(200);
    await closed;
    expect(session.closed || session.destroyed).toBe(true);
  });

  test('an idle keep-alive connection is closed after --client-idle-timeout', async () => {
    const socket = createConnection(running.http, '127.0.0.1');
    const closed = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
    });
    socket.write('GET / HTTP/1.1\r\nHost: a.test\r\n\r\n');
    expect(await closed).toMatch(/^HTTP\/1\.1 200 /);
  });
});
