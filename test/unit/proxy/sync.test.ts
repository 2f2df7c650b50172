import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { SyncLoop, type SyncReason } from '../../../proxy/sync.ts';

/** A sync function that records each call and succeeds unless told otherwise. */
function recorder() {
  const calls: { reason: SyncReason; at: number }[] = [];
  const outcomes: boolean[] = [];
  const sync = vi.fn(async (reason: SyncReason) => {
    calls.push({ reason, at: Date.now() });
    return outcomes.shift() ?? true;
  });
  return { calls, outcomes, sync };
}

const options = { minIntervalMs: 1000, periodMs: 30_000, retry: { initialMs: 1000, maxMs: 30_000 }, random: () => 1 };

describe('SyncLoop', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('syncs at start, then once per period when nothing changes', async () => {
    const { calls, sync } = recorder();
    const loop = new SyncLoop(sync, options);
    loop.start();
    await vi.advanceTimersByTimeAsync(65_000);
    await loop.stop();
    expect(calls).toEqual([
      { reason: 'change', at: 0 },
      { reason: 'periodic', at: 30_000 },
      { reason: 'periodic', at: 60_000 },
    ]);
  });

  test('a burst of changes within the minimum interval is applied by one sync', async () => {
    const { calls, sync } = recorder();
    const loop = new SyncLoop(sync, options);
    loop.start();
    await vi.advanceTimersByTimeAsync(100);
    for (let i = 0; i < 50; i++) {
      loop.request();
      await vi.advanceTimersByTimeAsync(10);
    }
    await vi.advanceTimersByTimeAsync(5_000);
    await loop.stop();
    expect(calls).toEqual([
      { reason: 'change', at: 0 },
      { reason: 'change', at: 1000 },
    ]);
  });

  test('a change long after the last sync is applied at once', async () => {
    const { calls, sync } = recorder();
    const loop = new SyncLoop(sync, options);
    loop.start();
    await vi.advanceTimersByTimeAsync(5_000);
    loop.request();
    await vi.advanceTimersByTimeAsync(0);
    await loop.stop();
    expect(calls.map((call) => call.at)).toEqual([0, 5_000]);
  });

  test('a change during a running sync gets one follow-up sync', async () => {
    let finish: (ok: boolean) => void = () => {};
    const reasons: SyncReason[] = [];
    const loop = new SyncLoop(
      (reason) => {
        reasons.push(reason);
        return new Promise<boolean>((resolve) => (finish = resolve));
      },
      options,
    );
    loop.start();
    await vi.advanceTimersByTimeAsync(0);
    loop.request();
    loop.request();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(reasons).toEqual(['change']);
    finish(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(reasons).toEqual(['change', 'change']);
    finish(true);
    await loop.stop();
  });

  test('a failed sync is retried with growing backoff until one succeeds', async () => {
    const { calls, outcomes, sync } = recorder();
    outcomes.push(false, false, false, true);
    const loop = new SyncLoop(sync, options);
    loop.start();
    await vi.advanceTimersByTimeAsync(8_000);
    expect(loop.failures).toBe(0);
    await loop.stop();
    // random() = 1 takes the top of each backoff window: 1 s, 2 s, 4 s.
    expect(calls).toEqual([
      { reason: 'change', at: 0 },
      { reason: 'retry', at: 1_000 },
      { reason: 'retry', at: 3_000 },
      { reason: 'retry', at: 7_000 },
    ]);
  });

  test('stop cancels what is scheduled', async () => {
    const { calls, sync } = recorder();
    const loop = new SyncLoop(sync, options);
    loop.start();
    await vi.advanceTimersByTimeAsync(0);
    await loop.stop();
    loop.request();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(calls).toHaveLength(1);
  });
});
