/**
 * The Kubernetes API semantics clients rely on, checked over real HTTP
 * against an in-process API store: concurrency, naming, deletion,
 * selectors, subresources, errors as Status objects, and watch.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { silentLogger } from '../../common/logger.ts';
import { apiServerOptions } from '../../controlplane/options.ts';
import { startApiServer, type RunningApiServer } from '../../controlplane/apiserver.ts';
import { repoRoot, tempDir } from './helpers/apiserver-process.ts';
import { openWatch } from './helpers/watch-reader.ts';

const work = tempDir('kplane-api-');
let server: RunningApiServer;
let base: string;

beforeAll(async () => {
  const options = { ...apiServerOptions({ listen: ['127.0.0.1:0'], 'data-dir': `${work.path}/data`, 'lb-pool': '192.0.2.0/30' }), watchCacheCapacity: 50 };
  server = await startApiServer(options, silentLogger());
  base = `http://${server.addresses[0]}`;
});
afterAll(async () => {
  await server?.close();
  work.remove();
});

async function call(method: string, path: string, body?: unknown, contentType = 'application/json') {
  const response = await request(`${base}${path}`, {
    method: method as 'GET',
    headers: { 'content-type': contentType },
    ...(body !== undefined ? { body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.body.text();
  return { status: response.statusCode, body: (text ? JSON.parse(text) : undefined) as Record<string, any> };
}

const cm = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data: { a: '1' } });

describe('writes', () => {
  test('a stale resourceVersion on update is a 409 Conflict and the object is unchanged', async () => {
    const created = (await call('POST', '/api/v1/namespaces/default/configmaps', cm('occ'))).body;
    const first = await call('PUT', '/api/v1/namespaces/default/configmaps/occ', { ...created, data: { a: '2' } });
    expect(first.status).toBe(200);
    const stale = await call('PUT', '/api/v1/namespaces/default/configmaps/occ', { ...created, data: { a: '3' } });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ kind: 'Status', reason: 'Conflict', code: 409 });
    expect(stale.body.message).toMatch(/the object has been modified/);
    expect((await call('GET', '/api/v1/namespaces/default/configmaps/occ')).body.data).toEqual({ a: '2' });
  });

  test('creating an existing name is 409 AlreadyExists; generateName makes a fresh one', async () => {
    await call('POST', '/api/v1/namespaces/default/configmaps', cm('dup'));
    const again = await call('POST', '/api/v1/namespaces/default/configmaps', cm('dup'));
    expect(again.body).toMatchObject({ reason: 'AlreadyExists', code: 409, message: 'configmaps "dup" already exists' });
    const generated = await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { generateName: 'gen-' } });
    expect(generated.status).toBe(201);
    expect(generated.body.metadata.name).toMatch(/^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(generated.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(generated.body.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test('an object in a missing namespace is 404', async () => {
    const response = await call('POST', '/api/v1/namespaces/nowhere/configmaps', cm('x'));
    expect(response.body).toMatchObject({ reason: 'NotFound', code: 404, message: 'namespaces "nowhere" not found' });
  });

  test('a delete with finalizers marks the object and removing the last finalizer deletes it', async () => {
    await call('POST', '/api/v1/namespaces/default/configmaps', cm('fin', { finalizers: ['example.com/hold'] }));
    const deleting = await call('DELETE', '/api/v1/namespaces/default/configmaps/fin');
    expect(deleting.status).toBe(200);
    expect(deleting.body.metadata.deletionTimestamp).toBeDefined();
    expect((await call('GET', '/api/v1/namespaces/default/configmaps/fin')).status).toBe(200);
    const added = await call('PATCH', '/api/v1/namespaces/default/configmaps/fin', { metadata: { finalizers: ['example.com/hold', 'example.com/more'] } }, 'application/merge-patch+json');
    expect(added.status).toBe(422);
    await call('PATCH', '/api/v1/namespaces/default/configmaps/fin', { metadata: { finalizers: null } }, 'application/merge-patch+json');
    expect((await call('GET', '/api/v1/namespaces/default/configmaps/fin')).status).toBe(404);
  });

  test('generation counts spec changes only, and status is written only through /status', async () => {
    const svc = (await call('POST', '/api/v1/namespaces/default/services', { metadata: { name: 'gen' }, spec: { ports: [{ port: 80 }] }, status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } })).body;
    expect(svc.metadata.generation).toBe(1);
    expect(svc.status).toEqual({ loadBalancer: {} });
    const labelled = (await call('PATCH', '/api/v1/namespaces/default/services/gen', { metadata: { labels: { a: 'b' } } }, 'application/merge-patch+json')).body;
    expect(labelled.metadata.generation).toBe(1);
    const respecd = (await call('PATCH', '/api/v1/namespaces/default/services/gen', { spec: { ports: [{ port: 81 }] } }, 'application/merge-patch+json')).body;
    expect(respecd.metadata.generation).toBe(2);
    const statusOnly = (await call('PATCH', '/api/v1/namespaces/default/services/gen/status', { spec: { ports: [{ port: 99 }] }, status: { loadBalancer: { ingress: [{ ip: '5.6.7.8' }] } } }, 'application/merge-patch+json')).body;
    expect(statusOnly.status.loadBalancer.ingress).toEqual([{ ip: '5.6.7.8' }]);
    expect(statusOnly.spec.ports[0].port).toBe(81);
  });

  test('dryRun=All validates and answers without storing', async () => {
    const response = await call('POST', '/api/v1/namespaces/default/configmaps?dryRun=All', cm('dry'));
    expect(response.status).toBe(201);
    expect((await call('GET', '/api/v1/namespaces/default/configmaps/dry')).status).toBe(404);
  });

  test('a protobuf body from kubectl 1.32 creates the object', async () => {
    const body = readFileSync(`${repoRoot}/test/fixtures/protobuf/configmap.bin`);
    const response = await call('POST', '/api/v1/namespaces/default/configmaps', body, 'application/vnd.kubernetes.protobuf');
    expect(response.status).toBe(201);
    expect(response.body.kind).toBe('ConfigMap');
  });
});

describe('errors', () => {
  test.each([
    { name: 'malformed JSON', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: '{"metadata":', type: 'application/json', code: 400, reason: 'BadRequest' },
    { name: 'malformed YAML', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: 'metadata: [unclosed', type: 'application/yaml', code: 400, reason: 'BadRequest' },
    { name: 'an unknown media type', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: 'x', type: 'text/plain', code: 415, reason: 'UnsupportedMediaType' },
    { name: 'server-side apply', method: 'PATCH', path: '/api/v1/namespaces/default/configmaps/occ', body: '{}', type: 'application/apply-patch+yaml', code: 415, reason: 'UnsupportedMediaType' },
    { name: 'an oversized body', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: JSON.stringify({ metadata: { name: 'big' }, data: { a: 'x'.repeat(4 * 1024 * 1024) } }), type: 'application/json', code: 413, reason: 'RequestEntityTooLarge' },
    { name: 'an unknown resource', method: 'GET', path: '/api/v1/widgets', body: undefined, type: 'application/json', code: 404, reason: 'NotFound' },
    { name: 'a bad label selector', method: 'GET', path: '/api/v1/pods?labelSelector=a%20in%20(b', body: undefined, type: 'application/json', code: 400, reason: 'BadRequest' },
    { name: 'an unsupported field selector', method: 'GET', path: '/api/v1/pods?fieldSelector=spec.color%3Dred', body: undefined, type: 'application/json', code: 400, reason: 'BadRequest' },
    { name: 'an invalid Service', method: 'POST', path: '/api/v1/namespaces/default/services', body: JSON.stringify({ metadata: { name: 'Bad_Name' }, spec: { ports: [{ port: 0 }] } }), type: 'application/json', code: 422, reason: 'Invalid' },
  ])('answers $name with a $code Status', async ({ method, path, body, type, code, reason }) => {
    const response = await call(method, path, body, type);
    expect(response.status).toBe(code);
    expect(response.body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason });
    expect(typeof response.body.message).toBe('string');
  });

  test('an invalid Service lists every problem as a cause with its field', async () => {
    const response = await call('POST', '/api/v1/namespaces/default/services', { metadata: { name: 'bad' }, spec: { ports: [{ port: 0 }, { port: 80, protocol: 'ICMP' }] } });
    const fields = response.body.details.causes.map((cause: { field: string }) => cause.field);
    expect(fields).toEqual(expect.arrayContaining(['spec.ports[0].port', 'spec.ports[1].protocol']));
  });
});

describe('selectors', () => {
  test('label selectors support equality, sets and existence', async () => {
    for (const [name, labels] of [['s1', { tier: 'web', env: 'prod' }], ['s2', { tier: 'db', env: 'prod' }], ['s3', { tier: 'web' }]] as const) {
      await call('POST', '/api/v1/namespaces/default/configmaps', cm(name, { labels }));
    }
    const names = async (selector: string) =>
      (await call('GET', `/api/v1/namespaces/default/configmaps?labelSelector=${encodeURIComponent(selector)}`)).body.items.map((item: any) => item.metadata.name).sort();
    expect(await names('tier=web')).toEqual(['s1', 's3']);
    expect(await names('tier in (web,db),env')).toEqual(['s1', 's2']);
    expect(await names('tier,!env')).toEqual(['s3']);
    expect(await names('env!=prod,tier')).toEqual(['s3']);
  });

  test('field selectors filter pods by node and events by involved object', async () => {
    for (const [name, nodeName] of [['p1', 'n1'], ['p2', 'n2']]) {
      await call('POST', '/api/v1/namespaces/default/pods', { metadata: { name }, spec: { nodeName, containers: [{ name: 'c', image: 'x' }] } });
    }
    const pods = await call('GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dn2');
    expect(pods.body.items.map((item: any) => item.metadata.name)).toEqual(['p2']);
    await call('POST', '/api/v1/namespaces/default/events', { metadata: { name: 'e1' }, involvedObject: { kind: 'Pod', name: 'p1', namespace: 'default' }, reason: 'Test', message: 'hi' });
    const events = await call('GET', '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dp1%2CinvolvedObject.kind%3DPod');
    expect(events.body.items.map((item: any) => item.metadata.name)).toEqual(['e1']);
  });
});

describe('watch', () => {
  test('streams ADDED, MODIFIED and DELETED from a resourceVersion, and DELETED when an object leaves the selection', async () => {
    const list = await call('GET', '/api/v1/namespaces/default/configmaps');
    const watch = await openWatch(`${base}/api/v1/namespaces/default/configmaps?watch=true&labelSelector=w%3Dyes&resourceVersion=${list.body.metadata.resourceVersion}`);
    expect(watch.status).toBe(200);
    await call('POST', '/api/v1/namespaces/default/configmaps', cm('w1', { labels: { w: 'yes' } }));
    expect(await watch.next()).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'w1' } } });
    await call('PATCH', '/api/v1/namespaces/default/configmaps/w1', { data: { a: '2' } }, 'application/merge-patch+json');
    expect(await watch.next()).toMatchObject({ type: 'MODIFIED', object: { data: { a: '2' } } });
    await call('PATCH', '/api/v1/namespaces/default/configmaps/w1', { metadata: { labels: { w: 'no' } } }, 'application/merge-patch+json');
    expect(await watch.next()).toMatchObject({ type: 'DELETED', object: { metadata: { name: 'w1' } } });
    watch.close();
  });

  test('sendInitialEvents ends the initial state with the initial-events-end bookmark', async () => {
    const watch = await openWatch(`${base}/api/v1/namespaces?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`);
    const seen: string[] = [];
    for (;;) {
      const event = await watch.next();
      if (event.type === 'BOOKMARK') {
        expect(event.object.metadata.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
        break;
      }
      expect(event.type).toBe('ADDED');
      seen.push(event.object.metadata.name);
    }
    expect(seen).toEqual(expect.arrayContaining(['default', 'kube-system', 'kube-public']));
    watch.close();
  });

  test('a watch from a compacted resourceVersion gets a 410 Expired ERROR event', async () => {
    for (let i = 0; i < 60; i++) await call('POST', '/api/v1/namespaces/default/configmaps', cm(`churn-${i}`));
    const watch = await openWatch(`${base}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=2`);
    const event = await watch.next();
    expect(event).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    watch.close();
  });

  test('timeoutSeconds ends the stream', async () => {
    const response = await request(`${base}/api/v1/namespaces?watch=true&timeoutSeconds=1`);
    const text = await response.body.text();
    expect(response.statusCode).toBe(200);
    expect(text.trim().split('\n').length).toBeGreaterThanOrEqual(3);
  });

  test('a Table watch sends rows, with column definitions only in the first event', async () => {
    const watch = await openWatch(`${base}/api/v1/namespaces?watch=true`, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
    expect(watch.contentType).toMatch(/as=Table/);
    const first = await watch.next();
    const second = await watch.next();
    expect(first.object.kind).toBe('Table');
    expect(first.object.columnDefinitions.map((column: { name: string }) => column.name)).toEqual(['Name', 'Status', 'Age']);
    expect(second.object.columnDefinitions).toEqual([]);
    expect(second.object.rows).toHaveLength(1);
    watch.close();
  });
});
