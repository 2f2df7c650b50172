import { pino } from 'pino';
import { describe, expect, onTestFinished, test, vi } from 'vitest';
import type { KubeObject, Status } from '../../../../controlplane/api/types.ts';
import { createHttpClient } from '../../../../controlplane/client/http-client.ts';
import { Informer, type InformerOptions } from '../../../../controlplane/client/informer.ts';
import { refs } from '../../../../controlplane/client/types.ts';
import { replyJson, service, serviceList, startFakeApi, startServer, WatchStream } from './fake-api-server.ts';

type Seen = [string, string, string?];

/** Polls until the assertion holds; the generous limit only bounds a broken run, it asserts no timing. */
const eventually = (assertion: () => void) => vi.waitFor(assertion, { timeout: 20_000, interval: 5 });

function logCapture() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** Starts an informer on `server` and stops it (then its client) when the test finishes. */
function startInformer(server: string, options: InformerOptions = {}) {
  const client = createHttpClient({ server });
  const informer = new Informer<KubeObject>(client, refs.services, { backoff: { initialMs: 1, maxMs: 4 }, ...options });
  const seen: Seen[] = [];
  const name = (object: KubeObject) => `${object.metadata.name}@${object.metadata.resourceVersion}`;
  informer.on({
    add: (object) => seen.push(['add', name(object)]),
    update: (old, object) => seen.push(['update', name(object), name(old)]),
    delete: (object) => seen.push(['delete', name(object)]),
  });
  const controller = new AbortController();
  const done = informer.start(controller.signal);
  onTestFinished(async () => {
    controller.abort();
    await done;
    await client.close();
  });
  return { informer, seen, controller, done };
}

const expired: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Expired', message: 'too old resource version: 10 (40)', code: 410 };

function names(objects: KubeObject[]): string[] {
  return objects.map((object) => `${object.metadata.namespace}/${object.metadata.name}@${object.metadata.resourceVersion}`).sort();
}

describe('Informer', () => {
  test('keeps its indexes in step with the list and every watch event', async () => {
    const api = await startFakeApi(() => serviceList('10', [service('shop', 'a', '5'), service('shop', 'b', '7'), service('bank', 'c', '8')]));
    const { informer } = startInformer(api.server, { indexers: { namespace: (object) => [object.metadata.namespace ?? ''] } });
    const watch = await api.nextWatch();
    expect(names(informer.byIndex('namespace', 'shop'))).toEqual(['shop/a@5', 'shop/b@7']);
    watch.send('DELETED', service('shop', 'a', '11'));
    watch.send('ADDED', service('shop', 'd', '12'));
    watch.send('MODIFIED', service('shop', 'b', '13'));
    await eventually(() => expect(informer.lastSyncResourceVersion).toBe('13'));
    expect(names(informer.byIndex('namespace', 'shop'))).toEqual(['shop/b@13', 'shop/d@12']);
    expect(names(informer.byIndex('namespace', 'bank'))).toEqual(['bank/c@8']);
    expect(informer.byIndex('namespace', 'nowhere')).toEqual([]);
  });

  test('lists, marks synced, then watches from the list resourceVersion with bookmarks', async () => {
    const api = await startFakeApi(() => serviceList('10', [service('shop', 'a', '5'), service('shop', 'b', '7')]));
    const { informer, seen } = startInformer(api.server, { watchTimeoutSeconds: 450, labelSelector: 'app=web', fieldSelector: 'metadata.namespace=shop' });
    expect(await informer.waitForSync()).toBe(true);
    expect(informer.hasSynced()).toBe(true);
    expect(seen).toEqual([
      ['add', 'a@5'],
      ['add', 'b@7'],
    ]);
    // List items arrive without kind/apiVersion; the informer restores them from the list.
    expect(informer.getByName('shop', 'a')).toMatchObject({ kind: 'Service', apiVersion: 'v1' });
    const watch = await api.nextWatch();
    expect(Object.fromEntries(watch.query)).toEqual({ watch: 'true', resourceVersion: '10', allowWatchBookmarks: 'true', timeoutSeconds: '450', labelSelector: 'app=web', fieldSelector: 'metadata.namespace=shop' });
    expect(Object.fromEntries(api.lists()[0]?.query ?? [])).toEqual({ labelSelector: 'app=web', fieldSelector: 'metadata.namespace=shop' });
  });

  test('applies watch events to the store and handlers', async () => {
    const api = await startFakeApi(() => serviceList('10', [service('shop', 'a', '5'), service('shop', 'b', '7')]));
    const { informer, seen } = startInformer(api.server);
    const watch = await api.nextWatch();
    watch.send('ADDED', service('shop', 'c', '11'));
    watch.send('MODIFIED', service('shop', 'a', '12'));
    watch.send('MODIFIED', service('shop', 'a', '12'));
    watch.send('DELETED', service('shop', 'b', '13'));
    watch.send('DELETED', service('shop', 'never-seen', '14'));
    watch.send('ADDED', service('', 'cluster-wide', '15'));
    await eventually(() => expect(informer.lastSyncResourceVersion).toBe('15'));
    expect(seen.slice(2)).toEqual([
      ['add', 'c@11'],
      ['update', 'a@12', 'a@5'],
      ['delete', 'b@13'],
      ['add', 'cluster-wide@15'],
    ]);
    expect(names(informer.list())).toEqual(['/cluster-wide@15', 'shop/a@12', 'shop/c@11']);
    expect(informer.get('shop/c')?.metadata.name).toBe('c');
    expect(informer.get('cluster-wide')?.metadata.name).toBe('cluster-wide');
    expect(informer.getByName('shop', 'b')).toBeUndefined();
  });

  test('re-watches from the last resourceVersion seen when a stream ends, without relisting', async () => {
    const api = await startFakeApi(() => serviceList('10', [service('shop', 'a', '5')]));
    const { informer, seen } = startInformer(api.server);
    const first = await api.nextWatch();
    first.send('MODIFIED', service('shop', 'a', '11'));
    first.end();
    const second = await api.nextWatch();
    expect(second.query.get('resourceVersion')).toBe('11');
    second.send('ADDED', service('shop', 'b', '12'));
    await eventually(() => expect(informer.lastSyncResourceVersion).toBe('12'));
    expect(api.lists()).toHaveLength(1);
    expect(seen).toEqual([
      ['add', 'a@5'],
      ['update', 'a@11', 'a@5'],
      ['add', 'b@12'],
    ]);
  });

  test('a bookmark advances the resourceVersion without touching objects', async () => {
    const api = await startFakeApi(() => serviceList('10', [service('shop', 'a', '5')]));
    const { informer, seen } = startInformer(api.server);
    const first = await api.nextWatch();
    first.send('BOOKMARK', { kind: 'Service', apiVersion: 'v1', metadata: { resourceVersion: '20' } });
    first.end();
    const second = await api.nextWatch();
    expect(second.query.get('resourceVersion')).toBe('20');
    expect(informer.lastSyncResourceVersion).toBe('20');
    expect(seen).toEqual([['add', 'a@5']]);
    expect(informer.list()).toHaveLength(1);
  });

  test('an expired ERROR event relists and emits the differences, including deletes missed while away', async () => {
    const api = await startFakeApi(() => serviceList('10', [service('shop', 'a', '5'), service('shop', 'b', '7'), service('shop', 'same', '8')]));
    const { informer, seen } = startInformer(api.server);
    const first = await api.nextWatch();
    // While this client was not looking: a changed, b deleted, c created, and history compacted.
    api.listReply = () => serviceList('40', [service('shop', 'a', '30'), service('shop', 'same', '8'), service('shop', 'c', '31')]);
    first.send('ERROR', expired);
    const second = await api.nextWatch();
    expect(second.query.get('resourceVersion')).toBe('40');
    expect(api.lists()).toHaveLength(2);
    expect(seen.slice(3)).toEqual([
      ['update', 'a@30', 'a@5'],
      ['add', 'c@31'],
      ['delete', 'b@7'],
    ]);
    expect(names(informer.list())).toEqual(['shop/a@30', 'shop/c@31', 'shop/same@8']);
  });

  test('a 410 reply to the watch request relists too', async () => {
    let watches = 0;
    let lists = 0;
    const server = await startServer((request, response) => {
      if (request.query.get('watch') !== 'true') {
        lists += 1;
        replyJson(response, 200, lists === 1 ? serviceList('10', [service('shop', 'a', '5')]) : serviceList('40', []));
      } else if (++watches === 1) replyJson(response, 410, expired);
      else new WatchStream(request.query, response);
    });
    const { informer, seen } = startInformer(server.server);
    await eventually(() => expect(watches).toBe(2));
    expect(lists).toBe(2);
    expect(server.requests.at(-1)?.query.get('resourceVersion')).toBe('40');
    expect(informer.list()).toEqual([]);
    expect(seen).toEqual([
      ['add', 'a@5'],
      ['delete', 'a@5'],
    ]);
  });

  test('handlers added after sync get adds for existing objects; removed handlers get nothing more', async () => {
    const api = await startFakeApi(() => serviceList('10', [service('shop', 'a', '5'), service('shop', 'b', '7')]));
    const { informer } = startInformer(api.server);
    await informer.waitForSync();
    const late: string[] = [];
    const off = informer.on({ add: (object) => late.push(`add ${object.metadata.name}`), delete: (object) => late.push(`delete ${object.metadata.name}`) });
    expect(late.sort()).toEqual(['add a', 'add b']);
    const watch = await api.nextWatch();
    watch.send('DELETED', service('shop', 'a', '11'));
    await eventually(() => expect(informer.lastSyncResourceVersion).toBe('11'));
    off();
    watch.send('DELETED', service('shop', 'b', '12'));
    await eventually(() => expect(informer.lastSyncResourceVersion).toBe('12'));
    expect(late).toEqual(['add a', 'add b', 'delete a']);
  });

  test('a throwing handler is logged and neither stops the others nor the informer', async () => {
    const { logger, lines } = logCapture();
    const api = await startFakeApi(() => serviceList('10', []));
    const { informer, seen } = startInformer(api.server, { logger });
    informer.on({
      add: () => {
        throw new Error('handler bug');
      },
    });
    const watch = await api.nextWatch();
    watch.send('ADDED', service('shop', 'a', '11'));
    watch.send('ADDED', service('shop', 'b', '12'));
    await eventually(() => expect(informer.lastSyncResourceVersion).toBe('12'));
    expect(seen).toEqual([
      ['add', 'a@11'],
      ['add', 'b@12'],
    ]);
    const failures = lines.filter((line) => line['msg'] === 'informer handler failed');
    expect(failures.map((line) => [line['key'], line['event'], (line['err'] as { message: string }).message])).toEqual([
      ['shop/a', 'add', 'handler bug'],
      ['shop/b', 'add', 'handler bug'],
    ]);
  });

  test('retries a refused connection with bounded, growing backoff and keeps the store', async () => {
    const { logger, lines } = logCapture();
    const api = await startFakeApi(() => serviceList('10', [service('shop', 'a', '5')]));
    const backoff = { initialMs: 1, maxMs: 8 };
    const { informer, controller, done } = startInformer(api.server, { logger, backoff });
    await api.nextWatch();
    await api.close();
    const retries = () => lines.filter((line) => line['msg'] === 'watch failed; retrying');
    await eventually(() => expect(retries().length).toBeGreaterThanOrEqual(7));
    controller.abort();
    await done;

    // Each retry waited within its backoff window: [ceiling/2, ceiling], the ceiling doubling up to maxMs.
    for (const [index, line] of retries().entries()) {
      const failures = index + 1;
      const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (failures - 1));
      expect(line['failures']).toBe(failures);
      expect(line['retryInSeconds']).toBeGreaterThanOrEqual(ceiling / 2 / 1000);
      expect(line['retryInSeconds']).toBeLessThanOrEqual(ceiling / 1000);
    }
    expect(retries().some((line) => (line['err'] as { code?: string }).code === 'ECONNREFUSED')).toBe(true);
    expect(informer.hasSynced()).toBe(true);
    expect(names(informer.list())).toEqual(['shop/a@5']);
    expect(api.lists()).toHaveLength(1);
  });

  test('a watch that ends without events counts as a failure, so an empty-stream server is not hammered', async () => {
    const { logger, lines } = logCapture();
    const api = await startFakeApi(() => serviceList('10', []));
    startInformer(api.server, { logger });
    (await api.nextWatch()).end();
    (await api.nextWatch()).end();
    await api.nextWatch();
    expect(lines.filter((line) => line['msg'] === 'watch ended without events').map((line) => line['failures'])).toEqual([1, 2]);
  });

  test('abort ends the watch request and start resolves', async () => {
    const api = await startFakeApi(() => serviceList('10', []));
    const { controller, done } = startInformer(api.server);
    const watch = await api.nextWatch();
    controller.abort();
    await done;
    await watch.closed();
    expect(api.watches()).toHaveLength(1);
  });

  test('waitForSync resolves false when its signal aborts before the first list', async () => {
    const server = await startServer(() => {});
    const { informer } = startInformer(server.server);
    const controller = new AbortController();
    const waiting = informer.waitForSync(controller.signal);
    controller.abort();
    expect(await waiting).toBe(false);
    expect(informer.hasSynced()).toBe(false);
  });

  test('start may run only once', async () => {
    const api = await startFakeApi(() => serviceList('10', []));
    const { informer } = startInformer(api.server);
    await expect(informer.start(new AbortController().signal)).rejects.toThrow('only once');
  });
});
