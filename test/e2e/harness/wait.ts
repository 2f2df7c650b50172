/**
 * Bounded waiting: every loop in the harness has a deadline and an attempt
 * cap, and says what it was waiting for when it gives up.
 */
import { HarnessError } from './netns.ts';

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Hard cap on attempts, whatever the deadline says. */
  maxAttempts?: number;
  /** Describes the condition in the timeout error. */
  what?: string;
  /** Checked before each attempt: a returned error ends the wait at once (e.g. the process exited). */
  giveUpIf?: () => Error | undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A sleep that does not keep the process alive (for upper bounds raced against real work). */
export const unrefSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * Calls `check` until it returns something other than undefined/false and
 * returns that value. Errors thrown by `check` count as "not yet"; the last
 * one is reported on timeout.
 */
export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 100;
  const maxAttempts = options.maxAttempts ?? Math.max(10, Math.ceil(timeoutMs / Math.max(1, intervalMs)) * 2);
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let lastValue: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const fatal = options.giveUpIf?.();
    if (fatal) throw fatal;
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      lastValue = value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() + intervalMs > deadline) break;
    await sleep(intervalMs);
  }
  const why = lastError instanceof Error ? `: ${lastError.message}` : lastValue === undefined ? '' : `: last value ${JSON.stringify(lastValue)}`;
  throw new HarnessError(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'a condition'}${why}`, { cause: lastError });
}

/** Resolves `promise`, or rejects after `ms` with a message naming `what`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new HarnessError(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
