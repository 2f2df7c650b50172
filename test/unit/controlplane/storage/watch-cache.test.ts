import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { KubeObject } from '../../../../controlplane/api/types.ts';
import { Compacted, type TxnOp } from '../../../../controlplane/storage/backend.ts';
import { openSqliteBackend, type SqliteBackend } from '../../../../controlplane/storage/sqlite.ts';
import { WatchCache, WatchCacheStoppedError, type CacheEvent, type WatchCacheOptions } from '../../../../controlplane/storage/watch-cache.ts';

const dirs: string[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function openBackend(): SqliteBackend {
  const dir = mkdtempSync(join(tmpdir(), 'kplane-watch-cache-test-'));
  dirs.push(dir);
  const backend = openSqliteBackend(join(dir, 'kplane.db'));
  cleanups.push(() => backend.close());
  return backend;
}

async function startCache(backend: SqliteBackend, options?: WatchCacheOptions): Promise<WatchCache> {
  const cache = await WatchCache.start(backend, options);
  cleanups.push(() => cache.stop());
  return cache;
}

/** A ConfigMap the way the API layer stores it: resourceVersion embedded at the assigned revision. */
function configMap(name: string, data: Record<string, string> = {}) {
  return (revision: number) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', resourceVersion: String(revision) }, data });
}

const key = (name: string, namespace = 'default') => `/registry/configmaps/${namespace}/${name}`;
const create = (name: string, namespace = 'default'): TxnOp => ({ op: 'create', key: key(name, namespace), value: configMap(name) });
const update = (name: string, data: Record<string, string>): TxnOp => ({ op: 'update', key: key(name), value: configMap(name, data) });
const remove = (name: string): TxnOp => ({ op: 'delete', key: key(name) });

function recorder() {
  const batches: CacheEvent[][] = [];
  return {
    batches,
    onEvents: (events: CacheEvent[]) => batches.push(events),
    revisions: () => batches.flat().map((event) => event.revision),
  };
}

describe('reads', () => {
  test('start loads every object under /registry/ at the backend revision', async () => {
    const backend = openBackend();
    await backend.txn([create('b'), create('a')]);
    await backend.txn([{ op: 'create', key: '/outside/x', value: () => '{}' }]);

    const cache = await startCache(backend);

    expect(cache.revision).toBe(3);
    expect(cache.get(key('a'))).toEqual({ key: key('a'), object: JSON.parse(configMap('a')(2)), modRevision: 2 });
    expect(cache.get('/outside/x')).toBeUndefined();
  });

  test.each([
    { name: 'one namespace excludes namespaces that share its name as a prefix', prefix: '/registry/configmaps/default/', expected: [key('a'), key('b'), key('c')] },
    { name: 'all namespaces come in key order, as etcd lists them', prefix: '/registry/configmaps/', expected: [key('a', 'default-2'), key('z', 'default-2'), key('a'), key('b'), key('c')] },
    { name: 'a prefix nothing has is empty', prefix: '/registry/secrets/', expected: [] },
  ])('list: $name', async ({ prefix, expected }) => {
    const backend = openBackend();
    const cache = await startCache(backend);
    await backend.txn([create('c'), create('z', 'default-2'), create('a'), create('a', 'default-2')]);
    await backend.txn([create('b')]);

    const listed = cache.list(prefix);

    expect(listed.items.map((item) => item.key)).toEqual(expected);
    expect(listed.revision).toBe(5);
  });

  test('list reflects deletes and updates', async () => {
    const backend = openBackend();
    const cache = await startCache(backend);
    await backend.txn([create('a'), create('b'), create('c')]);

    await backend.txn([remove('b'), update('c', { k: 'v' })]);

    expect(cache.list('/registry/configmaps/').items.map((item) => [item.object.metadata.name, item.modRevision])).toEqual([['a', 1], ['c', 5]]);
  });
});

describe('watch', () => {
  test('a list at R followed by a watch from R misses nothing and repeats nothing', async () => {
    const backend = openBackend();
    const cache = await startCache(backend);
    await Promise.all(['a', 'b', 'c'].map((name) => backend.txn([create(name)])));
    const watch = recorder();

    const { revision } = cache.list('/registry/configmaps/');
    const racing = Promise.all(['d', 'e'].map((name) => backend.txn([create(name)])));
    cache.watch('/registry/configmaps/', revision, watch.onEvents);
    await racing;
    await backend.txn([update('a', { x: '1' }), remove('b')]);

    expect(watch.revisions()).toEqual([4, 5, 6, 7]);
  });

  test('events are typed by what the cache held, and a DELETED object carries the delete revision', async () => {
    const backend = openBackend();
    const cache = await startCache(backend);
    const watch = recorder();
    cache.watch('/registry/configmaps/', 0, watch.onEvents);

    await backend.txn([create('a')]);
    await backend.txn([update('a', { k: 'v' })]);
    await backend.txn([remove('a')]);

    const stored = (revision: number, data = {}) => JSON.parse(configMap('a', data)(revision)) as KubeObject;
    expect(watch.batches.flat()).toEqual([
      { type: 'ADDED', key: key('a'), object: stored(1), revision: 1 },
      { type: 'MODIFIED', key: key('a'), object: stored(2, { k: 'v' }), prevObject: stored(1), revision: 2 },
      { type: 'DELETED', key: key('a'), object: { ...stored(2, { k: 'v' }), metadata: { ...stored(2).metadata, resourceVersion: '3' } }, prevObject: stored(2, { k: 'v' }), revision: 3 },
    ]);
  });

  test('the events of one txn arrive in one callback, filtered by prefix', async () => {
    const backend = openBackend();
    const cache = await startCache(backend);
    const watch = recorder();
    cache.watch('/registry/configmaps/default/', 0, watch.onEvents);

    await backend.txn([create('a'), create('x', 'other'), create('b')]);
    await backend.txn([create('y', 'other')]);

    expect(watch.batches.map((batch) => batch.map((event) => event.key))).toEqual([[key('a'), key('b')]]);
  });

  test('a replay arrives in one callback before live batches', async () => {
    const backend = openBackend();
    const cache = await startCache(backend);
    await backend.txn([create('a')]);
    await backend.txn([create('b')]);
    const watch = recorder();

    cache.watch('/registry/configmaps/', 0, watch.onEvents);
    await backend.txn([create('c')]);

    expect(watch.batches.map((batch) => batch.map((event) => event.revision))).toEqual([[1, 2], [3]]);
  });

  test('a watch from a revision the cache has not reached starts after it', async () => {
    const backend = openBackend();
    const cache = await startCache(backend);
    const watch = recorder();

    cache.watch('/registry/configmaps/', 2, watch.onEvents);
    for (const name of ['a', 'b', 'c']) await backend.txn([create(name)]);

    expect(watch.revisions()).toEqual([3]);
  });

  test('stop ends delivery to that watcher only', async () => {
    const backend = openBackend();
    const cache = await startCache(backend);
    const stopped = recorder();
    const kept = recorder();
    const handle = cache.watch('/registry/', 0, stopped.onEvents);
    cache.watch('/registry/', 0, kept.onEvents);
    await backend.txn([create('a')]);

    handle.stop();
    await backend.txn([create('b')]);

    expect(stopped.revisions()).toEqual([1]);
    expect(kept.revisions()).toEqual([1, 2]);
  });
});

describe('history window', () => {
  test('a cache started over existing history replays it to a watch from an earlier revision', async () => {
    const backend = openBackend();
    await backend.txn([create('a')]);
    await backend.txn([create('b')]);
    await backend.txn([update('a', { k: 'v' })]);
    await backend.txn([remove('b')]);
    const cache = await startCache(backend);
    const watch = recorder();

    cache.watch('/registry/', 1, watch.onEvents);

    expect(watch.batches.flat().map((event) => [event.type, event.object.metadata.name, event.revision])).toEqual([
      ['ADDED', 'b', 2],
      ['MODIFIED', 'a', 3],
      ['DELETED', 'b', 4],
    ]);
    expect(watch.batches.flat()[1]?.prevObject?.metadata.resourceVersion).toBe('1');
    expect(watch.batches.flat()[2]?.object.metadata.resourceVersion).toBe('4');
    expect(cache.get(key('b'))).toBeUndefined();
  });

  test('a watch from before the backend\'s compacted history is Compacted', async () => {
    const backend = openBackend();
    await backend.txn([create('a')]);
    await backend.txn([create('b')]);
    await backend.txn([create('c')]);
    await backend.compact(2);
    const cache = await startCache(backend);

    expect(() => cache.watch('/registry/', 1, () => {})).toThrow(new Compacted(1, 2));
    const watch = recorder();
    cache.watch('/registry/', 2, watch.onEvents);
    expect(watch.revisions()).toEqual([3]);
  });

  test('history loaded at start is bounded by capacity', async () => {
    const backend = openBackend();
    for (const name of ['a', 'b', 'c', 'd', 'e']) await backend.txn([create(name)]);
    const cache = await startCache(backend, { capacity: 2 });

    expect(cache.oldestWatchableRevision).toBe(3);
    expect(() => cache.watch('/registry/', 2, () => {})).toThrow(new Compacted(2, 3));
  });

  test('events pushed out of a full buffer make older watches Compacted', async () => {
    const backend = openBackend();
    const cache = await startCache(backend, { capacity: 3, minRetentionMs: 0 });
    for (const name of ['a', 'b', 'c', 'd', 'e']) await backend.txn([create(name)]);
    const watch = recorder();

    expect(() => cache.watch('/registry/', 1, () => {})).toThrow(new Compacted(1, 2));
    cache.watch('/registry/', 2, watch.onEvents);

    expect(cache.oldestWatchableRevision).toBe(2);
    expect(watch.revisions()).toEqual([3, 4, 5]);
  });

  test.each([
    { name: 'young events are kept beyond capacity', ageMs: 0, maxCapacity: 10, oldestWatchable: 0 },
    { name: 'young events are still bounded by maxCapacity', ageMs: 0, maxCapacity: 4, oldestWatchable: 2 },
    { name: 'events older than the retention are evicted down to capacity', ageMs: 61_000, maxCapacity: 10, oldestWatchable: 4 },
  ])('$name', async ({ ageMs, maxCapacity, oldestWatchable }) => {
    let clock = 0;
    const backend = openBackend();
    const cache = await startCache(backend, { capacity: 2, maxCapacity, minRetentionMs: 60_000, now: () => clock });
    for (const name of ['a', 'b', 'c', 'd', 'e']) await backend.txn([create(name)]);

    clock += ageMs;
    await backend.txn([create('f')]);

    expect(cache.oldestWatchableRevision).toBe(oldestWatchable);
    const watch = recorder();
    cache.watch('/registry/', oldestWatchable, watch.onEvents);
    expect(watch.revisions()).toEqual([1, 2, 3, 4, 5, 6].filter((revision) => revision > oldestWatchable));
  });
});

describe('waitForRevision', () => {
  test('resolves at once for an applied revision', async () => {
    const backend = openBackend();
    await backend.txn([create('a')]);
    const cache = await startCache(backend);

    await expect(cache.waitForRevision(1)).resolves.toBeUndefined();
  });

  test('resolves once the revision is applied, and not before', async () => {
    const backend = openBackend();
    const cache = await startCache(backend);
    const order: string[] = [];

    const waited = cache.waitForRevision(2).then(() => order.push(`resolved at ${cache.revision}`));
    await backend.txn([create('a')]);
    order.push('wrote 1');
    await backend.txn([create('b')]);
    await waited;

    expect(order).toEqual(['wrote 1', 'resolved at 2']);
  });

  test('rejects with the abort reason when its signal aborts first', async () => {
    const backend = openBackend();
    const cache = await startCache(backend);
    const controller = new AbortController();

    const waited = cache.waitForRevision(5, controller.signal);
    controller.abort(new Error('too large resource version'));

    await expect(waited).rejects.toThrow('too large resource version');
  });

  test('rejects when the cache stops first, and the stopped cache refuses watches', async () => {
    const backend = openBackend();
    const cache = await startCache(backend);

    const waited = cache.waitForRevision(5);
    cache.stop();

    await expect(waited).rejects.toBeInstanceOf(WatchCacheStoppedError);
    expect(() => cache.watch('/registry/', 0, () => {})).toThrow(WatchCacheStoppedError);
  });
});

test('a capacity that is not a positive integer is refused', async () => {
  const backend = openBackend();

  await expect(WatchCache.start(backend, { capacity: 0 })).rejects.toThrow(RangeError);
});
