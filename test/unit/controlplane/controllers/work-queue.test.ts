import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { WorkQueue } from '../../../../controlplane/controllers/work-queue.ts';

/** Whether a pending get() has resolved, without waiting for it. */
async function settled<T>(promise: Promise<T>): Promise<{ done: boolean; value?: T }> {
  const pending = Symbol('pending');
  const value = await Promise.race([promise, Promise.resolve(pending)]);
  return value === pending ? { done: false } : { done: true, value: value as T };
}

describe('WorkQueue: adding and getting', () => {
  test('a key added several times while queued is handed out once', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    queue.add('b');
    queue.add('a');
    expect(queue.length).toBe(2);
    expect(await queue.get()).toBe('a');
    expect(await queue.get()).toBe('b');
    expect(queue.length).toBe(0);
  });

  test('a key re-added while it is processed is handed out again only after done', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    expect(await queue.get()).toBe('a');
    queue.add('a');
    queue.add('a');
    expect(queue.length).toBe(0);
    queue.done('a');
    expect(queue.length).toBe(1);
    expect(await queue.get()).toBe('a');
    queue.done('a');
    expect(queue.length).toBe(0);
  });

  test('two workers never hold the same key at once', async () => {
    const queue = new WorkQueue();
    const first = queue.get();
    const second = queue.get();
    queue.add('a');
    expect(await first).toBe('a');
    queue.add('a');
    expect((await settled(second)).done).toBe(false);
    queue.add('b');
    expect(await settled(second)).toEqual({ done: true, value: 'b' });
    queue.done('a');
    expect(await queue.get()).toBe('a');
  });

  test('shutdown wakes waiting workers with undefined and drops queued keys', async () => {
    const queue = new WorkQueue();
    const waiting = queue.get();
    queue.shutdown();
    expect(await waiting).toBeUndefined();
    queue.add('a');
    expect(queue.length).toBe(0);
    expect(await queue.get()).toBeUndefined();
  });
});

describe('WorkQueue: rate-limited retries', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test.each([
    { name: 'the first retry waits the base delay', failures: 0, expected: 50 },
    { name: 'each failure doubles the delay', failures: 3, expected: 400 },
    { name: 'the delay is capped', failures: 20, expected: 30_000 },
  ])('$name', ({ failures, expected }) => {
    expect(new WorkQueue().backoff(failures)).toBe(expected);
  });

  test('a failing key comes back after a growing delay and forget starts over', () => {
    const queue = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 1000 });
    const comesBackAfter = () => {
      queue.addRateLimited('a');
      let waited = 0;
      while (queue.length === 0 && waited < 10_000) {
        vi.advanceTimersByTime(1);
        waited++;
      }
      void queue.get();
      queue.done('a');
      return waited;
    };
    expect([comesBackAfter(), comesBackAfter(), comesBackAfter()]).toEqual([10, 20, 40]);
    expect(queue.numRequeues('a')).toBe(3);
    queue.forget('a');
    expect(queue.numRequeues('a')).toBe(0);
    expect(comesBackAfter()).toBe(10);
  });

  test('of two delayed adds of one key the earlier wins and the key comes once', () => {
    const queue = new WorkQueue();
    queue.addAfter('a', 100);
    queue.addAfter('a', 500);
    vi.advanceTimersByTime(100);
    expect(queue.length).toBe(1);
    void queue.get();
    queue.done('a');
    vi.advanceTimersByTime(1000);
    expect(queue.length).toBe(0);
  });

  test('shutdown cancels delayed adds', () => {
    const queue = new WorkQueue();
    queue.addRateLimited('a');
    queue.shutdown();
    vi.advanceTimersByTime(1000);
    expect(queue.length).toBe(0);
  });
});
