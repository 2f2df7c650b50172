/**
 * `bin/kplane ingress` as a user runs it, against a real `bin/kplane
 * apiserver`, with every object created through the API.
 *
 * The API store refuses loopback endpoint addresses (as kube-apiserver
 * does), so the backends on 127.0.0.1 are published as FQDN EndpointSlices
 * whose address is the name "127.0.0.1": valid for the API, and connected to
 * as written by the proxy. Multi-endpoint behaviour on IP slices is covered
 * by ingress-proxy.test.ts and the network-namespace e2e suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { EndpointSlice, Event, Ingress, KubeObject, Secret } from '../../controlplane/api/types.ts';
import { createHttpClient, type HttpApiClient } from '../../controlplane/client/http-client.ts';
import { refs, type ResourceRef } from '../../controlplane/client/types.ts';
import { selfSignedCertificate } from '../../ingress/self-signed.ts';
import { backend, exact, makeClass, makeIngress, makeService, makeTlsSecret, prefix } from '../unit/ingress/builders.ts';
import { startApiServerProcess, tempDir, kplaneBin, type ApiServerProcess } from './helpers/apiserver-process.ts';
import { closedPort, eventually, get, getTls, handshake, raw, startBackend, webSocketExchange, type Backend } from './ingress-backends.ts';

interface IngressProcess {
  child: ChildProcess;
  logs: string[];
  http: number;
  https: number;
  health: number;
  metrics: number;
  stop(): Promise<number | null>;
}

const portOf = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));

function startIngressProcess(server: string, extraArgs: string[]): Promise<IngressProcess> {
  const child = spawn(kplaneBin, ['ingress', '--server', server, '--http-listen', '127.0.0.1:0', '--https-listen', '127.0.0.1:0', '--health-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0', ...extraArgs], {
    env: { ...process.env, KPLANE_LOG_FORMAT: 'json', KPLANE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => logs.push(line));
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; http?: string; https?: string; health?: string; metrics?: string };
        if (entry.msg === 'ingress serving' && entry.http && entry.https && entry.health && entry.metrics) {
          resolve({ child, logs, http: portOf(entry.http), https: portOf(entry.https), health: portOf(entry.health), metrics: portOf(entry.metrics), stop });
        }
      } catch {
        // not a JSON log line
      }
    });
    void exited.then((code) => reject(new Error(`kplane ingress exited (${code}) before serving:\n${logs.join('\n')}`)));
  });
}

/** A Service without selector whose endpoints are the given backends, each as an FQDN slice named after it. */
function fqdnSlice(service: string, target: { name: string; port: number }, ready = true): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: 'default', name: `${service}-${target.name}`, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'FQDN',
    ports: [{ name: 'http', port: target.port, protocol: 'TCP' }],
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready } }],
  };
}

const validity = { notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86400_000) };
const certA = selfSignedCertificate({ commonName: 'secure-a.test', dnsNames: ['secure-a.test'], ...validity });
const certB = selfSignedCertificate({ commonName: 'secure-b.test', dnsNames: ['secure-b.test'], ...validity });
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

describe('kplane ingress against the kplane API store', () => {
  const work = tempDir('kplane-ingress-');
  const backends: Backend[] = [];
  let api: ApiServerProcess;
  let client: HttpApiClient;
  let ingress: IngressProcess;
  let webA: Backend;
  let webB: Backend;
  let apiBackend: Backend;
  let wild: Backend;
  let fallback: Backend;

  const create = <T extends KubeObject>(ref: ResourceRef, object: T) => client.create(ref, object);
  const backendOf = async (host: string, path: string) => (await get(ingress.http, path, { host })).json?.backend ?? 'none';
  const statusOf = async (name: string) => (await client.get<Ingress>({ ...refs.ingresses, namespace: 'default' }, name)).status?.loadBalancer?.ingress;

  beforeAll(async () => {
    for (const name of ['web-a', 'web-b', 'api', 'wild', 'fallback']) backends.push(await startBackend(name));
    [webA, webB, apiBackend, wild, fallback] = backends as [Backend, Backend, Backend, Backend, Backend];
    api = await startApiServerProcess(`${work.path}/data`);
    client = createHttpClient({ server: api.url });
    await create(refs.ingressclasses, makeClass('kplane', 'kplane.io/ingress-controller'));
    await create(refs.ingressclasses, makeClass('other', 'example.com/other-controller'));
    ingress = await startIngressProcess(api.url, ['--publish-address', '10.11.12.13']);

    const dead = { name: 'dead', port: await closedPort() };
    for (const name of ['web', 'api', 'wild', 'fallback', 'dead', 'empty']) await create(refs.services, makeService(name));
    for (const slice of [fqdnSlice('web', webA), fqdnSlice('web', webB), fqdnSlice('api', apiBackend), fqdnSlice('wild', wild), fqdnSlice('fallback', fallback), fqdnSlice('dead', dead)]) {
      await create(refs.endpointslices, slice);
    }
    for (const secret of [makeTlsSecret('cert-a', certA.cert, certA.key), makeTlsSecret('cert-b', certB.cert, certB.key), makeTlsSecret('broken', certA.cert, certB.key)]) {
      await create(refs.secrets, secret);
    }
    const ingresses: Ingress[] = [
      makeIngress('site', {
        className: 'kplane',
        tls: [
          { hosts: ['secure-a.test'], secretName: 'cert-a' },
          { hosts: ['secure-b.test'], secretName: 'cert-b' },
        ],
        rules: [
          { host: 'www.test', paths: [prefix('/', 'web'), prefix('/api', 'api'), exact('/exact', 'api')] },
          { host: '*.wild.test', paths: [prefix('/', 'wild')] },
          { host: 'secure-a.test', paths: [prefix('/', 'web')] },
          { host: 'secure-b.test', paths: [prefix('/', 'api')] },
          { paths: [prefix('/ws', 'web')] },
        ],
      }),
      makeIngress('limits', {
        className: 'kplane',
        annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '1k', 'kplane.io/proxy-read-timeout': '0.5' },
        rules: [{ host: 'limits.test', paths: [prefix('/', 'web'), prefix('/dead', 'dead'), prefix('/empty', 'empty')] }],
      }),
      makeIngress('legacy', { annotations: { 'kubernetes.io/ingress.class': 'kplane' }, rules: [{ host: 'legacy.test', paths: [prefix('/', 'api')] }] }),
      makeIngress('broken-tls', { className: 'kplane', tls: [{ hosts: ['broken.test'], secretName: 'broken' }], rules: [{ host: 'broken.test', paths: [prefix('/', 'web')] }] }),
      makeIngress('others', { className: 'other', rules: [{ host: 'other.test', paths: [prefix('/', 'web')] }] }),
    ];
    for (const object of ingresses) await create(refs.ingresses, object);
    await eventually(async () => expect(await backendOf('limits.test', '/')).toMatch(/^web-/));
  });

  afterAll(async () => {
    await ingress?.stop();
    await client?.close();
    await api?.stop();
    await Promise.all(backends.map((item) => item.close()));
    work.remove();
  });

  test('routes by host and path, across path types', async () => {
    expect(await backendOf('www.test', '/')).toMatch(/^web-/);
    expect(await backendOf('www.test', '/api/v1')).toBe('api');
    expect(await backendOf('www.test', '/apiary')).toMatch(/^web-/);
    expect(await backendOf('www.test', '/exact')).toBe('api');
    expect(await backendOf('legacy.test', '/')).toBe('api');
  });

  test('a wildcard host matches one label only', async () => {
    expect(await backendOf('x.wild.test', '/')).toBe('wild');
    expect((await get(ingress.http, '/', { host: 'y.x.wild.test' })).status).toBe(404);
    expect((await get(ingress.http, '/', { host: 'wild.test' })).status).toBe(404);
  });

  test('an Ingress of another class is ignored: 404 for its host and no status', async () => {
    expect((await get(ingress.http, '/', { host: 'other.test' })).status).toBe(404);
    await eventually(async () => expect(await statusOf('site')).toEqual([{ ip: '10.11.12.13' }]));
    expect(await statusOf('others')).toBeUndefined();
  });

  test('status.loadBalancer is published for every owned Ingress', async () => {
    for (const name of ['site', 'limits', 'legacy', 'broken-tls']) await eventually(async () => expect(await statusOf(name)).toEqual([{ ip: '10.11.12.13' }]));
  });

  test('round-robin over the ready endpoints; an endpoint made not ready gets nothing', async () => {
    const spread = async () => {
      const seen = new Set<string>();
      for (let index = 0; index < 10; index++) seen.add(await backendOf('www.test', '/'));
      return [...seen].sort();
    };
    expect(await spread()).toEqual(['web-a', 'web-b']);
    await client.update({ ...refs.endpointslices, namespace: 'default' }, { ...(await client.get<EndpointSlice>({ ...refs.endpointslices, namespace: 'default' }, 'web-web-b')), endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: false } }] });
    await eventually(async () => expect(await spread()).toEqual(['web-a']));
    await client.update({ ...refs.endpointslices, namespace: 'default' }, { ...(await client.get<EndpointSlice>({ ...refs.endpointslices, namespace: 'default' }, 'web-web-b')), endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }] });
    await eventually(async () => expect(await spread()).toEqual(['web-a', 'web-b']));
  });

  test('503 without endpoints, 502 when the endpoint refuses, 504 past proxy-read-timeout, 413 past proxy-body-size, 400 when malformed', async () => {
    expect((await get(ingress.http, '/empty', { host: 'limits.test' })).status).toBe(503);
    expect((await get(ingress.http, '/dead', { host: 'limits.test' })).status).toBe(502);
    expect((await get(ingress.http, '/hang', { host: 'limits.test' })).status).toBe(504);
    expect((await get(ingress.http, '/', { host: 'limits.test', method: 'POST', body: 'x'.repeat(2000) })).status).toBe(413);
    expect((await get(ingress.http, '/', { host: 'limits.test', method: 'POST', body: 'x'.repeat(500) })).status).toBe(200);
    expect(await raw(ingress.http, 'NOT HTTP AT ALL\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
  });

  test('TLS picks the certificate by SNI; unknown names get the generated default', async () => {
    const a = await getTls(ingress.https, 'secure-a.test', '/');
    expect(a.certificate.subject.CN).toBe('secure-a.test');
    expect(a.json?.backend).toMatch(/^web-/);
    expect(a.json?.headers['x-forwarded-proto']).toBe('https');
    const b = await getTls(ingress.https, 'secure-b.test', '/');
    expect(b.certificate.subject.CN).toBe('secure-b.test');
    expect(b.json?.backend).toBe('api');
    expect((await handshake(ingress.https, 'unknown.test')).certificate.subject.CN).toBe('kplane Ingress Controller Fake Certificate');
    expect((await handshake(ingress.https, undefined)).certificate.subject.CN).toBe('kplane Ingress Controller Fake Certificate');
  });

  test('HTTPS offers HTTP/2 and HTTP/1.1 by ALPN', async () => {
    expect((await handshake(ingress.https, 'secure-a.test', ['h2', 'http/1.1'])).protocol).toBe('h2');
    expect((await handshake(ingress.https, 'secure-a.test', ['http/1.1'])).protocol).toBe('http/1.1');
  });

  test('plain HTTP to a TLS host is redirected with 308 to the same URL on HTTPS', async () => {
    const reply = await get(ingress.http, '/path?q=1', { host: 'secure-a.test' });
    expect(reply.status).toBe(308);
    expect(reply.headers['location']).toBe(`https://secure-a.test:${ingress.https}/path?q=1`);
  });

  test('a broken Secret only affects its host, which falls back to the default certificate, and an Event says why', async () => {
    expect((await handshake(ingress.https, 'broken.test')).certificate.subject.CN).toBe('kplane Ingress Controller Fake Certificate');
    expect((await getTls(ingress.https, 'broken.test', '/')).json?.backend).toMatch(/^web-/);
    expect((await handshake(ingress.https, 'secure-a.test')).certificate.subject.CN).toBe('secure-a.test');
    await eventually(async () => {
      const events = await client.list<Event>({ ...refs.events, namespace: 'default' });
      const event = events.items.find((item) => item.involvedObject.name === 'broken-tls' && item.reason === 'InvalidCertificate');
      expect(event).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Ingress' }, source: { component: 'kplane-ingress' } });
      expect(event?.message).toContain('secret default/broken');
    });
  });

  test('a rotated certificate is served on the next handshake', async () => {
    const rotated = selfSignedCertificate({ commonName: 'secure-a.test', dnsNames: ['secure-a.test'], ...validity });
    const current = await client.get<Secret>({ ...refs.secrets, namespace: 'default' }, 'cert-a');
    await client.update({ ...refs.secrets, namespace: 'default' }, { ...current, data: makeTlsSecret('cert-a', rotated.cert, rotated.key).data });
    await eventually(async () => expect((await handshake(ingress.https, 'secure-a.test')).certificate.fingerprint256).toBe(fingerprint(rotated.cert)));
  });

  test('WebSocket echo through the ingress', async () => {
    const replies = await webSocketExchange(`ws://127.0.0.1:${ingress.http}/ws`, ['ping', 'pong']);
    expect(replies).toHaveLength(2);
    expect(replies.every((reply) => /^web-[ab]: (ping|pong)$/.test(reply))).toBe(true);
  });

  test('unmatched requests get 404 until a defaultBackend catches them', async () => {
    expect((await get(ingress.http, '/', { host: 'nowhere.test' })).status).toBe(404);
    await create(refs.ingresses, makeIngress('default-backend', { className: 'kplane', defaultBackend: backend('fallback', 80) }));
    await eventually(async () => expect(await backendOf('nowhere.test', '/anything')).toBe('fallback'));
    expect(await backendOf('www.test', '/api')).toBe('api');
  });

  test('/healthz answers ok and /metrics counts requests and reloads', async () => {
    const health = await get(ingress.health, '/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toBe('ok\n');
    const metrics = (await get(ingress.metrics, '/metrics')).body;
    expect(metrics).toMatch(/^kplane_ingress_requests_total\{host="www\.test",status="200"\} \d+$/m);
    expect(metrics).toMatch(/^kplane_ingress_config_reloads_total \d+$/m);
    expect(metrics).toMatch(/^kplane_ingress_upstream_response_seconds_count \d+$/m);
    expect(metrics).toMatch(/^kplane_ingress_status_updates_total\{result="success"\} \d+$/m);
  });

  test('SIGTERM stops it cleanly', async () => {
    expect(await ingress.stop()).toBe(0);
  });
});

describe('kplane ingress command line', () => {
  test('bad flags exit non-zero with one line naming each', async () => {
    const child = spawn(kplaneBin, ['ingress', '--server', 'ftp://x', '--http-listen', 'nowhere'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('--server');
    expect(stderr).toContain('--http-listen');
  });
});
