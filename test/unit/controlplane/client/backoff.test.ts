import { describe, expect, test } from 'vitest';
import { backoffDelay, defaultBackoff, sleep } from '../../../../controlplane/client/backoff.ts';

describe('backoffDelay', () => {
  const options = { initialMs: 100, maxMs: 1000 };
  test.each([
    { failures: 1, random: 0, delay: 50 },
    { failures: 1, random: 0.999, delay: 99.95 },
    { failures: 2, random: 0, delay: 100 },
    { failures: 3, random: 0.5, delay: 300 },
    { failures: 4, random: 0, delay: 400 },
    { failures: 5, random: 0, delay: 500 },
    { failures: 5, random: 0.999, delay: 999.5 },
    { failures: 60, random: 0.5, delay: 750 },
    { failures: 5000, random: 0, delay: 500 },
  ])('failure $failures with random $random → $delay ms (doubling from 100 ms, capped at 1 s, jittered in the upper half)', ({ failures, random, delay }) => {
    expect(backoffDelay(failures, options, () => random)).toBeCloseTo(delay, 6);
  });

  test('defaults follow client-go: 800 ms doubling to 30 s', () => {
    expect(defaultBackoff).toEqual({ initialMs: 800, maxMs: 30_000 });
    expect(backoffDelay(100, defaultBackoff, () => 0.999)).toBeLessThanOrEqual(30_000);
  });
});

describe('sleep', () => {
  test('resolves early, without rejecting, when the signal aborts', async () => {
    const controller = new AbortController();
    const sleeping = sleep(3_600_000, controller.signal);
    controller.abort();
    await expect(sleeping).resolves.toBeUndefined();
  });
});
