/**
 * A keyed work queue with client-go's guarantees (util/workqueue): a key is
 * queued at most once however often it is added, never handed to two workers
 * at once, and a key added while being processed is processed again after
 * `done`. Failing keys are retried with per-key exponential backoff until
 * `forget`.
 */

export interface WorkQueueOptions {
  /** Delay before the first retry of a failing key; doubles with each failure. */
  baseDelayMs?: number;
  /** Upper bound of the retry delay. */
  maxDelayMs?: number;
}

export class WorkQueue<K = string> {
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #queue: K[] = [];
  /** Keys waiting to be processed: queued, or re-added while processing. */
  readonly #dirty = new Set<K>();
  readonly #processing = new Set<K>();
  readonly #failures = new Map<K, number>();
  readonly #delayed = new Map<K, { timer: NodeJS.Timeout; due: number }>();
  readonly #waiters: ((key: K | undefined) => void)[] = [];
  #shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.#baseDelayMs = options.baseDelayMs ?? 50;
    this.#maxDelayMs = options.maxDelayMs ?? 30_000;
  }

  /** Keys ready to be handed out. */
  get length(): number {
    return this.#queue.length;
  }

  add(key: K): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#enqueue(key);
  }

  /** Adds the key once `delayMs` has passed; of several pending delays for one key, the earliest wins. */
  addAfter(key: K, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const due = Date.now() + delayMs;
    const pending = this.#delayed.get(key);
    if (pending && pending.due <= due) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.#delayed.set(key, { timer, due });
  }

  /** Re-adds a key that failed, after base·2^(failures so far), capped. */
  addRateLimited(key: K): void {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    this.addAfter(key, this.backoff(failures));
  }

  /** The delay of the retry after `failures` earlier failures. */
  backoff(failures: number): number {
    return Math.min(this.#baseDelayMs * 2 ** failures, this.#maxDelayMs);
  }

  /** How many times the key was re-added with addRateLimited since it last succeeded. */
  numRequeues(key: K): number {
    return this.#failures.get(key) ?? 0;
  }

  /** The key succeeded: its next failure starts again from the base delay. */
  forget(key: K): void {
    this.#failures.delete(key);
  }

  /** The next key to process, once there is one; undefined after shutdown. Call `done` when finished with it. */
  get(): Promise<K | undefined> {
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#startProcessing(key);
      return Promise.resolve(key);
    }
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  done(key: K): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) this.#enqueue(key);
  }

  /** Drops queued and delayed keys and wakes every waiting worker with undefined; keys being processed finish. */
  shutdown(): void {
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    this.#queue.length = 0;
    this.#dirty.clear();
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }

  #startProcessing(key: K): void {
    this.#dirty.delete(key);
    this.#processing.add(key);
  }

  #enqueue(key: K): void {
    const waiter = this.#waiters.shift();
    if (!waiter) {
      this.#queue.push(key);
      return;
    }
    this.#startProcessing(key);
    waiter(key);
  }
}
