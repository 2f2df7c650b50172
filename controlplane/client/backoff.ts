/**
 * Capped exponential backoff with jitter: how long a client waits before its
 * next attempt after `failures` consecutive failures, so that a broken server
 * sees a slowing trickle of retries instead of a tight loop, and many clients
 * that failed together do not come back in step.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface BackoffOptions {
  /** The first retry waits between half of this and all of it. */
  initialMs: number;
  /** No wait is longer than this. */
  maxMs: number;
}

/** client-go's reflector defaults (800 ms doubling to 30 s). */
export const defaultBackoff: BackoffOptions = { initialMs: 800, maxMs: 30_000 };

/** `failures` counts from 1; `random` is in [0, 1). The result lies in [ceiling/2, ceiling]. */
export function backoffDelay(failures: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, failures - 1));
  return ceiling / 2 + (random() * ceiling) / 2;
}

/** Waits ms, or less if the signal aborts first; never rejects. */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch {
    // Aborted: the caller checks its signal next.
  }
}
