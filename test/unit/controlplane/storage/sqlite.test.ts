import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { Compacted, type StorageEvent, type TxnOp, type WriteResult } from '../../../../controlplane/storage/backend.ts';
import { openSqliteBackend, prefixRange, StorageClosedError, StorageLockedError, type SqliteBackend } from '../../../../controlplane/storage/sqlite.ts';

const dirs: string[] = [];
const backends: SqliteBackend[] = [];

afterEach(async () => {
  for (const backend of backends.splice(0)) await backend.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function databasePath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kplane-sqlite-test-'));
  dirs.push(dir);
  return join(dir, 'kplane.db');
}

function open(path = databasePath(), now?: () => number): SqliteBackend {
  const backend = openSqliteBackend(path, now ? { now } : {});
  backends.push(backend);
  return backend;
}

async function reopen(backend: SqliteBackend, path: string): Promise<SqliteBackend> {
  await backend.close();
  return open(path);
}

const put = (key: string, text = key): TxnOp => ({ op: 'create', key, value: (revision) => JSON.stringify({ text, revision }) });
const update = (key: string, expectModRevision?: number): TxnOp => ({ op: 'update', key, ...(expectModRevision === undefined ? {} : { expectModRevision }), value: (revision) => JSON.stringify({ revision }) });
const remove = (key: string, expectModRevision?: number): TxnOp => ({ op: 'delete', key, ...(expectModRevision === undefined ? {} : { expectModRevision }) });

/** Collects a watch's callbacks; each inner array is one delivery. */
function recorder() {
  const batches: StorageEvent[][] = [];
  return {
    batches,
    onEvents: (events: StorageEvent[]) => batches.push(events),
    revisions: () => batches.flat().map((event) => event.revision),
  };
}

describe('prefixRange', () => {
  test.each([
    { name: 'an empty prefix has no end', prefix: '', end: undefined },
    { name: 'a registry prefix ends at its last character plus one', prefix: '/registry/pods/', end: '/registry/pods0' },
    { name: 'LIKE wildcards are plain characters', prefix: 'a%_', end: 'a%`' },
    { name: 'a maximal last code point carries into the one before', prefix: 'a\u{10FFFF}', end: 'b' },
    { name: 'the bound skips the surrogate block', prefix: 'x\uD7FF', end: 'x\uE000' },
    { name: 'only maximal code points have no end', prefix: '\u{10FFFF}', end: undefined },
  ])('$name', ({ prefix, end }) => {
    expect(prefixRange(prefix)).toEqual({ start: prefix, end });
  });
});

describe('txn compare-and-swap', () => {
  // Every case starts from "/k/live" written at revision 1 and "/k/gone" created at 2 and deleted at 3.
  test.each<{ name: string; op: TxnOp; expected: WriteResult; storedAfter: 'written' | 'unchanged' | 'absent' }>([
    { name: 'create of an absent key succeeds', op: put('/k/new'), expected: { ok: true, revision: 4 }, storedAfter: 'written' },
    { name: 'create of a deleted key succeeds', op: put('/k/gone'), expected: { ok: true, revision: 4 }, storedAfter: 'written' },
    { name: 'create of a live key fails with exists and the current value', op: put('/k/live'), expected: { ok: false, reason: 'exists', current: expect.objectContaining({ key: '/k/live', modRevision: 1 }) }, storedAfter: 'unchanged' },
    { name: 'update with the current mod revision succeeds', op: update('/k/live', 1), expected: { ok: true, revision: 4 }, storedAfter: 'written' },
    { name: 'update with a stale mod revision fails with conflict and the current value', op: update('/k/live', 0), expected: { ok: false, reason: 'conflict', current: expect.objectContaining({ key: '/k/live', modRevision: 1 }) }, storedAfter: 'unchanged' },
    { name: 'update without a mod revision is unconditional', op: update('/k/live'), expected: { ok: true, revision: 4 }, storedAfter: 'written' },
    { name: 'update of an absent key fails with not-found', op: update('/k/gone'), expected: { ok: false, reason: 'not-found' }, storedAfter: 'absent' },
    { name: 'update of an absent key with a mod revision fails with not-found', op: update('/k/gone', 2), expected: { ok: false, reason: 'not-found' }, storedAfter: 'absent' },
    { name: 'delete with the current mod revision succeeds', op: remove('/k/live', 1), expected: { ok: true, revision: 4 }, storedAfter: 'absent' },
    { name: 'delete without a mod revision is unconditional', op: remove('/k/live'), expected: { ok: true, revision: 4 }, storedAfter: 'absent' },
    { name: 'delete with a stale mod revision fails with conflict and the current value', op: remove('/k/live', 7), expected: { ok: false, reason: 'conflict', current: expect.objectContaining({ key: '/k/live', modRevision: 1 }) }, storedAfter: 'unchanged' },
    { name: 'delete of an absent key fails with not-found', op: remove('/k/gone'), expected: { ok: false, reason: 'not-found' }, storedAfter: 'absent' },
  ])('$name', async ({ op, expected, storedAfter }) => {
    const backend = open();
    await backend.txn([put('/k/live')]);
    await backend.txn([put('/k/gone')]);
    await backend.txn([remove('/k/gone')]);
    const before = await backend.get(op.key);

    expect(await backend.txn([op])).toEqual([expected]);

    const after = await backend.get(op.key);
    if (storedAfter === 'written') expect(after).toMatchObject({ key: op.key, modRevision: 4, value: JSON.stringify(op.op === 'create' ? { text: op.key, revision: 4 } : { revision: 4 }) });
    if (storedAfter === 'unchanged') expect(after).toEqual(before);
    if (storedAfter === 'absent') expect(after).toBeUndefined();
    expect(backend.currentRevision()).toBe(expected.ok ? 4 : 3);
  });

  test('a failed op rolls back the earlier ops of its txn and marks them aborted', async () => {
    const backend = open();
    await backend.txn([put('/k/live')]);

    const results = await backend.txn([put('/k/a'), update('/k/live', 99), put('/k/b')]);

    expect(results).toEqual([
      { ok: false, reason: 'aborted' },
      { ok: false, reason: 'conflict', current: expect.objectContaining({ key: '/k/live' }) },
      { ok: false, reason: 'aborted' },
    ]);
    expect(await backend.get('/k/a')).toBeUndefined();
    expect(backend.currentRevision()).toBe(1);
  });

  test('ops in one txn see the earlier ops of the same txn', async () => {
    const backend = open();

    const results = await backend.txn([put('/k/a'), update('/k/a', 1), remove('/k/a', 2), put('/k/a', 'again')]);

    expect(results).toEqual([1, 2, 3, 4].map((revision) => ({ ok: true, revision })));
    expect(await backend.get('/k/a')).toEqual({ key: '/k/a', value: JSON.stringify({ text: 'again', revision: 4 }), createRevision: 4, modRevision: 4 });
  });
});

describe('group commit', () => {
  test('txns submitted in one tick keep their own all-or-nothing outcome and contiguous revisions', async () => {
    const backend = open();
    await backend.txn([put('/k/taken')]);

    const outcomes = await Promise.all([
      backend.txn([put('/k/a1'), put('/k/a2')]),
      backend.txn([put('/k/b1'), put('/k/taken')]),
      backend.txn([put('/k/c1')]),
    ]);

    expect(outcomes).toEqual([
      [{ ok: true, revision: 2 }, { ok: true, revision: 3 }],
      [{ ok: false, reason: 'aborted' }, { ok: false, reason: 'exists', current: expect.objectContaining({ key: '/k/taken' }) }],
      [{ ok: true, revision: 4 }],
    ]);
    const { items, revision } = await backend.list('/k/');
    expect(items.map((item) => item.key)).toEqual(['/k/a1', '/k/a2', '/k/c1', '/k/taken']);
    expect(revision).toBe(4);
  });

  test('a txn whose value function throws is rejected alone', async () => {
    const backend = open();
    const failing: TxnOp = { op: 'create', key: '/k/bad', value: () => { throw new Error('cannot serialise'); } };

    const [before, bad, after] = await Promise.allSettled([backend.txn([put('/k/before')]), backend.txn([put('/k/bad-sibling'), failing]), backend.txn([put('/k/after')])]);

    expect(before).toEqual({ status: 'fulfilled', value: [{ ok: true, revision: 1 }] });
    expect(bad).toMatchObject({ status: 'rejected', reason: { message: 'cannot serialise' } });
    expect(after).toEqual({ status: 'fulfilled', value: [{ ok: true, revision: 2 }] });
    expect(await backend.get('/k/bad-sibling')).toBeUndefined();
  });

  test('revisions strictly increase across txns, one per op, and failed txns consume none', async () => {
    const backend = open();
    const seen: number[] = [];
    for (let round = 0; round < 5; round++) {
      const outcomes = await Promise.all([backend.txn([put(`/k/${round}/a`), put(`/k/${round}/b`)]), backend.txn([put(`/k/${round}/a`)]), backend.txn([put(`/k/${round}/c`)])]);
      for (const result of outcomes.flat()) if (result.ok) seen.push(result.revision);
    }
    expect(seen).toEqual(Array.from({ length: 15 }, (_, index) => index + 1));
    expect(backend.currentRevision()).toBe(15);
  });
});

describe('watch', () => {
  test('replays history after the revision, then delivers live events, each txn in one callback', async () => {
    const backend = open();
    await backend.txn([put('/a/1')]);
    await backend.txn([put('/a/2'), put('/b/ignored'), put('/a/3')]);
    const watch = recorder();

    await backend.watch('/a/', 1, watch.onEvents);
    await backend.txn([update('/a/1'), remove('/a/2')]);

    expect(watch.batches.map((batch) => batch.map((event) => [event.type, event.key, event.revision]))).toEqual([
      [['put', '/a/2', 2], ['put', '/a/3', 4]],
      [['put', '/a/1', 5], ['delete', '/a/2', 6]],
    ]);
  });

  test('events carry the previous value and create revision', async () => {
    const backend = open();
    await backend.txn([put('/a/1')]);
    await backend.txn([update('/a/1')]);
    await backend.txn([remove('/a/1')]);
    const watch = recorder();

    await backend.watch('/a/', 0, watch.onEvents);

    expect(watch.batches.flat()).toEqual([
      { type: 'put', key: '/a/1', value: JSON.stringify({ text: '/a/1', revision: 1 }), revision: 1, createRevision: 1 },
      { type: 'put', key: '/a/1', value: JSON.stringify({ revision: 2 }), prevValue: JSON.stringify({ text: '/a/1', revision: 1 }), revision: 2, createRevision: 1 },
      { type: 'delete', key: '/a/1', value: JSON.stringify({ revision: 2 }), prevValue: JSON.stringify({ revision: 2 }), revision: 3, createRevision: 1 },
    ]);
  });

  test('a write committed between a list and the watch from its revision is replayed exactly once', async () => {
    const backend = open();
    await backend.txn([put('/a/1')]);
    const { revision } = await backend.list('/a/');
    await backend.txn([put('/a/2')]);
    const watch = recorder();

    await backend.watch('/a/', revision, watch.onEvents);
    await backend.txn([put('/a/3')]);

    expect(watch.revisions()).toEqual([2, 3]);
  });

  test('a write in flight while the watch is set up is delivered exactly once', async () => {
    const backend = open();
    await backend.txn([put('/a/1')]);
    const watch = recorder();

    const inFlight = backend.txn([put('/a/2')]);
    const handle = await backend.watch('/a/', backend.currentRevision(), watch.onEvents);
    await inFlight;
    await backend.txn([put('/a/3')]);
    handle.stop();

    expect(watch.revisions()).toEqual([2, 3]);
  });

  test('a watch started from inside another watcher’s callback gets each event once', async () => {
    const backend = open();
    const late = recorder();
    let started: Promise<unknown> | undefined;
    await backend.watch('/a/', 0, () => {
      started ??= backend.watch('/a/', 0, late.onEvents);
    });

    await Promise.all([backend.txn([put('/a/1')]), backend.txn([put('/a/2')])]);
    await started;
    await backend.txn([put('/a/3')]);

    expect(late.revisions()).toEqual([1, 2, 3]);
  });

  test('a watch from a revision not reached yet starts after it', async () => {
    const backend = open();
    const watch = recorder();

    await backend.watch('/a/', 2, watch.onEvents);
    for (const key of ['/a/1', '/a/2', '/a/3']) await backend.txn([put(key)]);

    expect(watch.revisions()).toEqual([3]);
  });

  test('prefix matching treats LIKE wildcards literally', async () => {
    const backend = open();
    await backend.txn([put('/a_%/1'), put('/aXY/1'), put('/a_%x'), put('/a_%/2')]);
    const watch = recorder();

    await backend.watch('/a_%/', 0, watch.onEvents);

    expect(watch.batches.flat().map((event) => event.key)).toEqual(['/a_%/1', '/a_%/2']);
    expect((await backend.list('/a_%/')).items.map((item) => item.key)).toEqual(['/a_%/1', '/a_%/2']);
  });

  test('stop ends delivery', async () => {
    const backend = open();
    const watch = recorder();
    const handle = await backend.watch('/a/', 0, watch.onEvents);
    await backend.txn([put('/a/1')]);

    handle.stop();
    await backend.txn([put('/a/2')]);

    expect(watch.revisions()).toEqual([1]);
  });

  test('a throwing watcher is stopped and its error surfaces without blocking others or the writer', async () => {
    const backend = open();
    const healthy = recorder();
    let calls = 0;
    await backend.watch('/a/', 0, () => {
      calls++;
      throw new Error('consumer bug');
    });
    await backend.watch('/a/', 0, healthy.onEvents);
    const surfaced: unknown[] = [];
    const originalNextTick = process.nextTick;
    const catchingNextTick = (callback: (...args: unknown[]) => void, ...args: unknown[]) =>
      originalNextTick(() => {
        try {
          callback(...args);
        } catch (error) {
          surfaced.push(error);
        }
      });
    const spy = vi.spyOn(process, 'nextTick').mockImplementation(catchingNextTick as typeof process.nextTick);
    try {
      expect(await backend.txn([put('/a/1')])).toEqual([{ ok: true, revision: 1 }]);
      await backend.txn([put('/a/2')]);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      spy.mockRestore();
    }

    expect(calls).toBe(1);
    expect(surfaced).toEqual([new Error('consumer bug')]);
    expect(healthy.revisions()).toEqual([1, 2]);
  });
});

describe('compaction', () => {
  test('a watch from below the compacted revision is rejected with Compacted', async () => {
    const backend = open();
    for (const key of ['/a/1', '/a/2', '/a/3', '/a/4']) await backend.txn([put(key)]);
    await backend.compact(2);
    const watch = recorder();

    await expect(backend.watch('/a/', 1, watch.onEvents)).rejects.toEqual(new Compacted(1, 2));
    await backend.watch('/a/', 2, watch.onEvents);

    expect(backend.compactedRevision()).toBe(2);
    expect(watch.revisions()).toEqual([3, 4]);
    expect((await backend.list('/a/')).items).toHaveLength(4);
  });

  test('compacting past the current revision is refused', async () => {
    const backend = open();
    await backend.txn([put('/a/1')]);

    await expect(backend.compact(2)).rejects.toThrow(RangeError);
    expect(backend.compactedRevision()).toBe(0);
  });

  // Revisions 1-4 are written at t=0s, 5-8 at t=60s, 9-10 at t=120s; compaction runs at t=180s.
  test.each([
    { name: 'age alone compacts through the newest event older than minAgeMs', minRevisions: 0, minAgeMs: 100_000, compacted: 8 },
    { name: 'the revision floor alone keeps the newest minRevisions', minRevisions: 5, minAgeMs: 0, compacted: 5 },
    { name: 'the stricter of both limits wins', minRevisions: 3, minAgeMs: 150_000, compacted: 4 },
    { name: 'nothing is compacted when every event is young', minRevisions: 0, minAgeMs: 3_600_000, compacted: 0 },
    { name: 'nothing is compacted when history is shorter than the floor', minRevisions: 20, minAgeMs: 0, compacted: 0 },
  ])('compactHistory: $name', async ({ minRevisions, minAgeMs, compacted }) => {
    let clock = 0;
    const backend = open(databasePath(), () => clock);
    for (const [at, count] of [[0, 4], [60_000, 4], [120_000, 2]] as const) {
      clock = at;
      for (let index = 0; index < count; index++) await backend.txn([put(`/a/${at}/${index}`)]);
    }
    clock = 180_000;

    expect(await backend.compactHistory({ minRevisions, minAgeMs })).toBe(compacted);
    expect(backend.compactedRevision()).toBe(compacted);
  });
});

describe('durability across reopen', () => {
  test('objects, the revision and the compacted revision survive close and reopen', async () => {
    const path = databasePath();
    let backend = open(path);
    await backend.txn([put('/a/1'), put('/a/2')]);
    await backend.txn([remove('/a/2')]);
    await backend.compact(3);

    backend = await reopen(backend, path);

    expect(backend.currentRevision()).toBe(3);
    expect(backend.compactedRevision()).toBe(3);
    expect(await backend.list('/a/')).toEqual({ items: [{ key: '/a/1', value: JSON.stringify({ text: '/a/1', revision: 1 }), createRevision: 1, modRevision: 1 }], revision: 3 });
    await expect(backend.watch('/a/', 2, () => {})).rejects.toBeInstanceOf(Compacted);
    expect(await backend.txn([put('/a/2')])).toEqual([{ ok: true, revision: 4 }]);
  });

  test('close commits txns already submitted, and later calls are refused', async () => {
    const path = databasePath();
    let backend = open(path);
    const submitted = backend.txn([put('/a/1')]);

    await backend.close();

    expect(await submitted).toEqual([{ ok: true, revision: 1 }]);
    await expect(backend.txn([put('/a/2')])).rejects.toBeInstanceOf(StorageClosedError);
    await expect(backend.get('/a/1')).rejects.toBeInstanceOf(StorageClosedError);
    backend = open(path);
    expect(await backend.get('/a/1')).toMatchObject({ modRevision: 1 });
  });

  test('a second backend on the same file is refused while the first is open', () => {
    const path = databasePath();
    open(path);

    expect(() => openSqliteBackend(path)).toThrow(StorageLockedError);
  });
});
