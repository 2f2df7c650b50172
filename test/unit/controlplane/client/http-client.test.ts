import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { describe, expect, onTestFinished, test } from 'vitest';
import type { KubeObject, Status, WatchEvent } from '../../../../controlplane/api/types.ts';
import { createHttpClient, parseServerAddress, resourcePath, type Connection, type HttpApiClient } from '../../../../controlplane/client/http-client.ts';
import { ApiStatusError, refs, type ApiClient, type ResourceRef } from '../../../../controlplane/client/types.ts';
import { replyJson, startServer, WatchStream, type RecordedRequest } from './fake-api-server.ts';

const testdata = join(import.meta.dirname, 'testdata');

function client(connection: Connection): HttpApiClient {
  const created = createHttpClient(connection);
  onTestFinished(() => created.close());
  return created;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kplane-client-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const notFound: Status = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: 'services "web" not found',
  reason: 'NotFound',
  details: { name: 'web', kind: 'services' },
  code: 404,
};

const web: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' } };

describe('resourcePath', () => {
  test.each<{ name: string; ref: ResourceRef; object?: string; subresource?: 'status'; path: string }>([
    { name: 'core collection in all namespaces', ref: refs.services, path: '/api/v1/services' },
    { name: 'core collection in one namespace', ref: { ...refs.services, namespace: 'shop' }, path: '/api/v1/namespaces/shop/services' },
    { name: 'empty namespace means all namespaces', ref: { ...refs.pods, namespace: '' }, path: '/api/v1/pods' },
    { name: 'core namespaced object', ref: { ...refs.services, namespace: 'shop' }, object: 'web', path: '/api/v1/namespaces/shop/services/web' },
    { name: 'core cluster-scoped object', ref: refs.nodes, object: 'node-1', path: '/api/v1/nodes/node-1' },
    { name: 'a namespace itself', ref: refs.namespaces, object: 'shop', path: '/api/v1/namespaces/shop' },
    { name: 'group namespaced collection', ref: { ...refs.endpointslices, namespace: 'shop' }, path: '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices' },
    { name: 'group cluster-scoped object', ref: refs.ingressclasses, object: 'kplane', path: '/apis/networking.k8s.io/v1/ingressclasses/kplane' },
    { name: 'status subresource', ref: { ...refs.services, namespace: 'shop' }, object: 'web', subresource: 'status', path: '/api/v1/namespaces/shop/services/web/status' },
    { name: 'group status subresource', ref: { ...refs.ingresses, namespace: 'shop' }, object: 'site', subresource: 'status', path: '/apis/networking.k8s.io/v1/namespaces/shop/ingresses/site/status' },
    { name: 'names are escaped', ref: { ...refs.configmaps, namespace: 'a b' }, object: 'x/y', path: '/api/v1/namespaces/a%20b/configmaps/x%2Fy' },
  ])('$name → $path', ({ ref, object, subresource, path }) => {
    expect(resourcePath(ref, object, subresource)).toBe(path);
  });
});

describe('parseServerAddress', () => {
  test.each([
    { server: 'http://127.0.0.1:6443', kind: 'tcp' },
    { server: 'https://api.example:443/k8s/clusters/c-1', kind: 'tcp' },
    { server: 'unix:/run/kplane/api.sock', kind: 'unix' },
  ])('accepts $server', ({ server, kind }) => {
    expect(parseServerAddress(server).kind).toBe(kind);
  });

  test.each(['127.0.0.1:6443', 'ftp://host', 'unix:', 'http://host:1/?x=1'])('rejects %s naming the accepted forms', (server) => {
    expect(() => parseServerAddress(server)).toThrow(/expected http:\/\/host:port, https:\/\/host:port or unix:\/path\/to.sock/);
  });
});

describe('requests', () => {
  const shop = { ...refs.services, namespace: 'shop' };
  test.each<{ name: string; call: (api: ApiClient) => Promise<unknown>; method: string; path: string; query?: Record<string, string>; contentType?: string; body?: unknown }>([
    { name: 'list with selectors', call: (api) => api.list(shop, { labelSelector: 'app=web,tier in (a,b)', fieldSelector: 'metadata.name=web' }), method: 'GET', path: '/api/v1/namespaces/shop/services', query: { labelSelector: 'app=web,tier in (a,b)', fieldSelector: 'metadata.name=web' } },
    { name: 'list from any resourceVersion', call: (api) => api.list(refs.nodes, { resourceVersion: '0' }), method: 'GET', path: '/api/v1/nodes', query: { resourceVersion: '0' } },
    { name: 'get', call: (api) => api.get(shop, 'web'), method: 'GET', path: '/api/v1/namespaces/shop/services/web' },
    { name: 'create in the ref namespace', call: (api) => api.create(shop, web), method: 'POST', path: '/api/v1/namespaces/shop/services', contentType: 'application/json', body: web },
    { name: 'create falls back to the object namespace', call: (api) => api.create(refs.services, web), method: 'POST', path: '/api/v1/namespaces/shop/services', contentType: 'application/json', body: web },
    { name: 'update', call: (api) => api.update(refs.services, web), method: 'PUT', path: '/api/v1/namespaces/shop/services/web', contentType: 'application/json', body: web },
    { name: 'updateStatus', call: (api) => api.updateStatus(refs.services, web), method: 'PUT', path: '/api/v1/namespaces/shop/services/web/status', contentType: 'application/json', body: web },
    { name: 'merge patch', call: (api) => api.patch(shop, 'web', 'merge', { metadata: { labels: { a: 'b' } } }), method: 'PATCH', path: '/api/v1/namespaces/shop/services/web', contentType: 'application/merge-patch+json', body: { metadata: { labels: { a: 'b' } } } },
    { name: 'strategic patch of status', call: (api) => api.patch(shop, 'web', 'strategic', { status: {} }, { subresource: 'status' }), method: 'PATCH', path: '/api/v1/namespaces/shop/services/web/status', contentType: 'application/strategic-merge-patch+json', body: { status: {} } },
    { name: 'json patch', call: (api) => api.patch(refs.nodes, 'node-1', 'json', [{ op: 'add', path: '/spec/unschedulable', value: true }]), method: 'PATCH', path: '/api/v1/nodes/node-1', contentType: 'application/json-patch+json', body: [{ op: 'add', path: '/spec/unschedulable', value: true }] },
    { name: 'delete', call: (api) => api.delete(shop, 'web'), method: 'DELETE', path: '/api/v1/namespaces/shop/services/web' },
  ])('$name → $method $path', async ({ call, method, path, query = {}, contentType, body }) => {
    const server = await startServer((_request, response) => replyJson(response, 200, web));
    await call(client({ server: server.server }));
    const [request] = server.requests as [RecordedRequest];
    expect({ method: request.method, path: request.path, query: Object.fromEntries(request.query), contentType: request.headers['content-type'] }).toEqual({ method, path, query, contentType });
    expect(request.headers['accept']).toBe('application/json');
    if (body !== undefined) expect(JSON.parse(request.body)).toEqual(body);
  });

  test('keeps the path prefix of the server address', async () => {
    const server = await startServer((_request, response) => replyJson(response, 200, web));
    await client({ server: `${server.server}/k8s/clusters/c-1/` }).get(refs.nodes, 'node-1');
    expect(server.requests[0]?.path).toBe('/k8s/clusters/c-1/api/v1/nodes/node-1');
  });

  test('sends the bearer token and user agent on every request', async () => {
    const server = await startServer((_request, response) => replyJson(response, 200, web));
    const api = client({ server: server.server, token: 'secret-token', userAgent: 'kplane-dns/test' });
    await api.get(refs.nodes, 'a');
    await api.get(refs.nodes, 'b');
    expect(server.requests.map((request) => [request.headers['authorization'], request.headers['user-agent']])).toEqual([
      ['Bearer secret-token', 'kplane-dns/test'],
      ['Bearer secret-token', 'kplane-dns/test'],
    ]);
  });

  test('keeps connections alive between requests', async () => {
    const server = await startServer((_request, response) => replyJson(response, 200, web));
    const api = client({ server: server.server });
    for (const name of ['a', 'b', 'c', 'd']) await api.get(refs.nodes, name);
    expect(server.connections).toBeLessThan(server.requests.length);
  });

  test('reads the bearer token from tokenFile, which wins over token', async () => {
    const tokenFile = join(tempDir(), 'token');
    writeFileSync(tokenFile, 'projected-token\n');
    const server = await startServer((_request, response) => replyJson(response, 200, web));
    await client({ server: server.server, token: 'static', tokenFile }).get(refs.nodes, 'a');
    expect(server.requests[0]?.headers['authorization']).toBe('Bearer projected-token');
  });
});

describe('errors', () => {
  test('a Status reply becomes an ApiStatusError carrying it', async () => {
    const server = await startServer((_request, response) => replyJson(response, 404, notFound));
    const error = await client({ server: server.server }).get(refs.services, 'web').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiStatusError);
    expect(error).toMatchObject({ code: 404, reason: 'NotFound', message: 'services "web" not found', status: notFound });
  });

  test.each([
    { name: 'plain text 502', code: 502, body: 'upstream connect error', reason: 'InternalError', message: 'the server responded with status 502: upstream connect error' },
    { name: 'empty 403', code: 403, body: '', reason: 'Forbidden', message: 'the server responded with status 403' },
    { name: 'JSON that is not a Status', code: 409, body: '{"error":"busy"}', reason: 'Conflict', message: 'the server responded with status 409: {"error":"busy"}' },
    { name: 'unknown 4xx', code: 418, body: '', reason: 'Unknown', message: 'the server responded with status 418' },
  ])('synthesizes a Status for a $name reply', async ({ code, body, reason, message }) => {
    const server = await startServer((_request, response) => {
      response.writeHead(code, { 'content-type': 'text/plain' });
      response.end(body);
    });
    const error = await client({ server: server.server }).delete(refs.services, 'web').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiStatusError);
    expect((error as ApiStatusError).status).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, message, code });
  });

  test('a 2xx reply that is not JSON is a decode error', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>');
    });
    await expect(client({ server: server.server }).get(refs.nodes, 'a')).rejects.toMatchObject({ code: 'KPLANE_API_DECODE' });
  });

  test('update without a name is refused before any request', async () => {
    const server = await startServer((_request, response) => replyJson(response, 200, web));
    await expect(client({ server: server.server }).update(refs.services, { apiVersion: 'v1', kind: 'Service', metadata: {} })).rejects.toMatchObject({ code: 'KPLANE_CLIENT_REQUEST' });
    expect(server.requests).toHaveLength(0);
  });
});

describe('watch', () => {
  function collect() {
    const events: WatchEvent<KubeObject | Status>[] = [];
    return { events, onEvent: (event: WatchEvent<KubeObject | Status>) => events.push(event) };
  }

  test('sends the watch parameters and selectors', async () => {
    const server = await startServer((_request, response) => response.end());
    await client({ server: server.server }).watch(
      { ...refs.pods, namespace: 'shop' },
      { resourceVersion: '42', allowWatchBookmarks: true, timeoutSeconds: 321, labelSelector: 'app=web', fieldSelector: 'spec.nodeName=n1' },
      () => {},
    );
    const [request] = server.requests as [RecordedRequest];
    expect(request.path).toBe('/api/v1/namespaces/shop/pods');
    expect(Object.fromEntries(request.query)).toEqual({ watch: 'true', resourceVersion: '42', allowWatchBookmarks: 'true', timeoutSeconds: '321', labelSelector: 'app=web', fieldSelector: 'spec.nodeName=n1' });
  });

  test('parses events split across chunks, several per chunk and split inside a UTF-8 character', async () => {
    const first = JSON.stringify({ type: 'ADDED', object: { ...web, metadata: { ...web.metadata, annotations: { note: 'café ☕' } } } });
    const second = JSON.stringify({ type: 'MODIFIED', object: web });
    const third = JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Service', apiVersion: 'v1', metadata: { resourceVersion: '9' } } });
    const bytes = Buffer.from(`${first}\n${second}\n${third}\n`);
    const coffee = bytes.indexOf(Buffer.from('☕'));
    const server = await startServer(async (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      // One chunk ends inside the 3-byte ☕; the next carries the rest of the first line, the second line and half the third.
      const cut = bytes.indexOf('\n', bytes.indexOf('\n') + 1) + 10;
      for (const chunk of [bytes.subarray(0, coffee + 1), bytes.subarray(coffee + 1, cut), bytes.subarray(cut)]) {
        await new Promise<void>((resolve) => response.write(chunk, () => resolve()));
      }
      response.end();
    });
    const { events, onEvent } = collect();
    await client({ server: server.server }).watch(refs.services, { resourceVersion: '1' }, onEvent);
    expect(events.map((event) => event.type)).toEqual(['ADDED', 'MODIFIED', 'BOOKMARK']);
    expect((events[0]?.object as KubeObject).metadata.annotations).toEqual({ note: 'café ☕' });
    expect(events[2]?.object.metadata.resourceVersion).toBe('9');
  });

  test('delivers a final event that lacks its newline', async () => {
    const server = await startServer((_request, response) => response.end(JSON.stringify({ type: 'DELETED', object: web })));
    const { events, onEvent } = collect();
    await client({ server: server.server }).watch(refs.services, { resourceVersion: '1' }, onEvent);
    expect(events.map((event) => event.type)).toEqual(['DELETED']);
  });

  test('passes an expired ERROR event through as an event', async () => {
    const expired: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Expired', message: 'too old resource version: 1 (50)', code: 410 };
    const server = await startServer((_request, response) => response.end(`${JSON.stringify({ type: 'ERROR', object: expired })}\n`));
    const { events, onEvent } = collect();
    await client({ server: server.server }).watch(refs.services, { resourceVersion: '1' }, onEvent);
    expect(events).toEqual([{ type: 'ERROR', object: expired }]);
  });

  test('rejects with the Status of a non-2xx reply', async () => {
    const gone: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Expired', message: 'too old', code: 410 };
    const server = await startServer((_request, response) => replyJson(response, 410, gone));
    await expect(client({ server: server.server }).watch(refs.services, { resourceVersion: '1' }, () => {})).rejects.toMatchObject({ code: 410, reason: 'Expired' });
  });

  test('rejects on a malformed line', async () => {
    const server = await startServer((_request, response) => response.end('{"type":"ADDED","object":\n'));
    await expect(client({ server: server.server }).watch(refs.services, { resourceVersion: '1' }, () => {})).rejects.toMatchObject({ code: 'KPLANE_API_DECODE' });
  });

  test('resolves when the signal aborts mid-stream, and at once if already aborted', async () => {
    let stream: WatchStream | undefined;
    const server = await startServer((request, response) => {
      stream = new WatchStream(request.query, response);
      stream.send('ADDED', web);
    });
    const api = client({ server: server.server });
    const controller = new AbortController();
    const { events } = collect();
    await api.watch(refs.services, { resourceVersion: '1', signal: controller.signal }, (event) => {
      events.push(event);
      controller.abort();
    });
    expect(events).toHaveLength(1);
    await stream?.closed();
    await api.watch(refs.services, { resourceVersion: '1', signal: controller.signal }, () => {});
    expect(server.requests).toHaveLength(1);
  });

  test('rejects when the connection drops mid-stream', async () => {
    const server = await startServer((request, response) => {
      new WatchStream(request.query, response).send('ADDED', web);
      response.socket?.destroy();
    });
    await expect(client({ server: server.server }).watch(refs.services, { resourceVersion: '1' }, () => {})).rejects.toThrow();
  });

  test('rejects when the server refuses the connection', async () => {
    const server = await startServer(() => {});
    await server.close();
    await expect(client({ server: server.server }).watch(refs.services, { resourceVersion: '1' }, () => {})).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('transports', () => {
  test('talks over a unix socket with Host: localhost', async () => {
    const socketPath = join(tempDir(), 'api.sock');
    const server = await startServer((_request, response) => replyJson(response, 200, web), socketPath);
    expect(server.server).toBe(`unix:${socketPath}`);
    expect(await client({ server: server.server }).get({ ...refs.services, namespace: 'shop' }, 'web')).toEqual(web);
    expect(server.requests[0]?.headers['host']).toBe('localhost');
  });

  async function startHttpsServer() {
    const subjects: unknown[] = [];
    const httpsServer = createHttpsServer(
      { key: readFileSync(join(testdata, 'server.key')), cert: readFileSync(join(testdata, 'server.crt')), ca: readFileSync(join(testdata, 'ca.crt')), requestCert: true, rejectUnauthorized: false },
      (request, response) => {
        const peer = (request.socket as TLSSocket).getPeerCertificate();
        subjects.push(peer.subject?.CN);
        replyJson(response, 200, web);
      },
    );
    onTestFinished(
      () =>
        new Promise<void>((resolve) => {
          httpsServer.closeAllConnections();
          httpsServer.close(() => resolve());
        }),
    );
    await new Promise<void>((resolve) => httpsServer.listen(0, '127.0.0.1', resolve));
    return { server: `https://127.0.0.1:${(httpsServer.address() as AddressInfo).port}`, subjects };
  }

  test('verifies the server against the CA and presents the client certificate', async () => {
    const { server, subjects } = await startHttpsServer();
    const api = client({ server, ca: readFileSync(join(testdata, 'ca.crt')), cert: readFileSync(join(testdata, 'client.crt')), key: readFileSync(join(testdata, 'client.key')) });
    expect(await api.get(refs.nodes, 'a')).toEqual(web);
    expect(subjects).toEqual(['kplane-agent']);
  });

  test('refuses a server whose certificate the CA did not sign', async () => {
    const { server, subjects } = await startHttpsServer();
    await expect(client({ server }).get(refs.nodes, 'a')).rejects.toThrow();
    expect(subjects).toEqual([]);
  });

  test('skips server verification only when told to', async () => {
    const { server } = await startHttpsServer();
    expect(await client({ server, insecureSkipTlsVerify: true }).get(refs.nodes, 'a')).toEqual(web);
  });
});
