/**
 * When syncs run: kube-proxy's BoundedFrequencyRunner plus its retry.
 *
 * - A change asks for a sync; it starts at once unless the last one started
 *   less than `minIntervalMs` ago, in which case it waits for that moment,
 *   so a burst of changes is applied by one sync.
 * - With nothing changing, a sync still runs every `periodMs` (the periodic
 *   sync checks the canary and refreshes the top-level chains).
 * - A failed sync is retried after a capped, jittered backoff; the kernel
 *   keeps the last good rules meanwhile.
 * - At most one sync runs at a time; asks that arrive during one are folded
 *   into one follow-up.
 */
import { backoffDelay, type BackoffOptions } from '../controlplane/client/backoff.ts';

export type SyncReason = 'change' | 'periodic' | 'retry';

/** Runs one sync; resolves true when the rules were applied. It must not throw. */
export type SyncFunction = (reason: SyncReason) => Promise<boolean>;

export interface SyncLoopOptions {
  readonly minIntervalMs: number;
  readonly periodMs: number;
  readonly retry: BackoffOptions;
  /** For tests: the jitter source. */
  readonly random?: () => number;
}

export class SyncLoop {
  readonly #sync: SyncFunction;
  readonly #options: SyncLoopOptions;
  #timer: NodeJS.Timeout | undefined;
  #due: { at: number; reason: SyncReason } | undefined;
  #running: Promise<void> | undefined;
  #changedWhileRunning = false;
  #lastStart = Number.NEGATIVE_INFINITY;
  #failures = 0;
  #stopped = true;

  constructor(sync: SyncFunction, options: SyncLoopOptions) {
    this.#sync = sync;
    this.#options = options;
  }

  /** Starts with an immediate sync. */
  start(): void {
    this.#stopped = false;
    this.#schedule(Date.now(), 'change');
  }

  /** Something changed: sync soon, within the minimum interval. */
  request(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#changedWhileRunning = true;
      return;
    }
    this.#schedule(Math.max(Date.now(), this.#lastStart + this.#options.minIntervalMs), 'change');
  }

  /** Consecutive failed syncs (0 after a success). */
  get failures(): number {
    return this.#failures;
  }

  /** Cancels what is scheduled and waits for a running sync to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#clear();
    await this.#running;
  }

  #clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#due = undefined;
  }

  /** Keeps the earliest due time: a later ask never postpones an earlier one. */
  #schedule(at: number, reason: SyncReason): void {
    if (this.#stopped || (this.#due && this.#due.at <= at)) return;
    this.#clear();
    this.#due = { at, reason };
    this.#timer = setTimeout(() => this.#fire(reason), Math.max(0, at - Date.now()));
  }

  #fire(reason: SyncReason): void {
    this.#timer = undefined;
    this.#due = undefined;
    this.#lastStart = Date.now();
    this.#changedWhileRunning = false;
    this.#running = this.#sync(reason).then((ok) => this.#finished(ok));
  }

  #finished(ok: boolean): void {
    this.#running = undefined;
    if (this.#stopped) return;
    if (ok) {
      this.#failures = 0;
      this.#schedule(this.#lastStart + this.#options.periodMs, 'periodic');
    } else {
      this.#failures += 1;
      this.#schedule(Date.now() + backoffDelay(this.#failures, this.#options.retry, this.#options.random), 'retry');
    }
    if (this.#changedWhileRunning) this.#schedule(Math.max(Date.now(), this.#lastStart + this.#options.minIntervalMs), 'change');
  }
}
