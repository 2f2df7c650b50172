/**
 * Durability as a user sees it: acknowledged writes, resourceVersions and
 * watch positions survive `kill -9` of the API store.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { request } from 'undici';
import { startApiServerProcess, tempDir, type ApiServerProcess } from './helpers/apiserver-process.ts';
import { openWatch } from './helpers/watch-reader.ts';

async function call(server: ApiServerProcess, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) {
  const response = await request(`${server.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, any> };
}

describe('restarting the API store', () => {
  const work = tempDir('kplane-restart-');
  const dataDir = `${work.path}/data`;
  let server: ApiServerProcess | undefined;
  afterAll(async () => {
    await server?.stop();
    work.remove();
  });

  test('keeps every object and resourceVersion after kill -9, and a watch resumes from a revision seen before', async () => {
    server = await startApiServerProcess(dataDir, ['--service-cidr', '10.100.0.0/24']);
    const created = [];
    for (let i = 0; i < 20; i++) {
      const response = await call(server, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: `cm-${i}` }, data: { i: String(i) } });
      expect(response.status).toBe(201);
      created.push(response.body);
    }
    const service = await call(server, 'POST', '/api/v1/namespaces/default/services', { metadata: { name: 'web' }, spec: { ports: [{ port: 80 }], type: 'NodePort' } });
    expect(service.status).toBe(201);
    const before = await call(server, 'GET', '/api/v1/namespaces/default/configmaps');
    const listRevision = Number(before.body.metadata.resourceVersion);
    const changed = await call(server, 'PUT', '/api/v1/namespaces/default/configmaps/cm-3', { ...created[3], data: { i: 'changed' } });
    expect(changed.status).toBe(200);

    await server.stop('SIGKILL');
    server = await startApiServerProcess(dataDir, ['--service-cidr', '10.100.0.0/24']);

    const after = await call(server, 'GET', '/api/v1/namespaces/default/configmaps');
    expect(Number(after.body.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(changed.body.metadata.resourceVersion));
    const byName = new Map(after.body.items.map((item: any) => [item.metadata.name, item]));
    for (const original of created.filter((item) => item.metadata.name !== 'cm-3')) {
      expect(byName.get(original.metadata.name)).toMatchObject({ metadata: { uid: original.metadata.uid, resourceVersion: original.metadata.resourceVersion } });
    }
    expect(byName.get('cm-3')).toMatchObject({ data: { i: 'changed' }, metadata: { resourceVersion: changed.body.metadata.resourceVersion } });

    // A watch from the revision listed before the crash sees exactly the change made after it.
    const watch = await openWatch(`${server.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${listRevision}`);
    const event = await watch.next();
    expect(event).toMatchObject({ type: 'MODIFIED', object: { metadata: { name: 'cm-3', resourceVersion: changed.body.metadata.resourceVersion } } });
    const next = await call(server, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'after-restart' } });
    expect(Number(next.body.metadata.resourceVersion)).toBeGreaterThan(Number(changed.body.metadata.resourceVersion));
    expect(await watch.next()).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'after-restart' } } });
    watch.close();

    // Allocations survive too: the same NodePort is never handed out twice.
    const nodePort = service.body.spec.ports[0].nodePort;
    const clash = await call(server, 'POST', '/api/v1/namespaces/default/services', { metadata: { name: 'clash' }, spec: { type: 'NodePort', ports: [{ port: 80, nodePort }] } });
    expect(clash.status).toBe(422);
    expect(clash.body.message).toMatch(/provided port is already allocated/);
  });
});
