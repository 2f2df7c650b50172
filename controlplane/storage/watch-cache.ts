/**
 * The in-memory view every read and watch of the API store is served from,
 * like kube-apiserver's watch cache: one backend watch feeds the current
 * objects (parsed once, shared read-only by every reader) and a window of
 * recent events that client watches replay from. Fan-out to clients stays
 * off the backend, and 410 Expired has one source: a watch from a revision
 * older than the window.
 */
import { KplaneError } from '../../common/errors.ts';
import type { KubeObject } from '../api/types.ts';
import { Compacted, deliverToWatcher, type Backend, type StorageEvent, type WatchHandle } from './backend.ts';

export interface CachedObject {
  key: string;
  /** Shared with every reader and with the event history: never mutate it. */
  object: KubeObject;
  modRevision: number;
}

export interface CacheEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  key: string;
  /** For DELETED: the last stored object with resourceVersion set to the delete's revision. */
  object: KubeObject;
  /** The object before this event; absent for ADDED. */
  prevObject?: KubeObject;
  revision: number;
}

export interface WatchCacheOptions {
  /** Keys the cache holds; defaults to "/registry/". */
  prefix?: string;
  /** Events always kept, whatever their age. */
  capacity?: number;
  /** Events younger than minRetentionMs are kept beyond capacity, up to this many. */
  maxCapacity?: number;
  /** How long an event stays replayable when a burst overflows capacity. */
  minRetentionMs?: number;
  /** Clock for event ages; defaults to Date.now. */
  now?: () => number;
}

/** The cache was stopped: no more watches, and pending waits are rejected. */
export class WatchCacheStoppedError extends KplaneError {
  constructor() {
    super('KPLANE_WATCH_CACHE_STOPPED', 'watch cache is stopped');
  }
}

const defaultCapacity = 10_000;
// kube-apiserver lets its event window grow to 100 Ki entries to stay fresh under bursts.
const defaultMaxCapacity = 100 * 1024;
// kube-apiserver compacts etcd every 5 minutes; a client that far behind still resumes here.
const defaultMinRetentionMs = 5 * 60_000;

function settingsFrom(options: WatchCacheOptions): Required<WatchCacheOptions> {
  const capacity = options.capacity ?? defaultCapacity;
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`watch cache capacity must be a positive integer, got ${capacity}`);
  return {
    prefix: options.prefix ?? '/registry/',
    capacity,
    maxCapacity: Math.max(capacity, options.maxCapacity ?? defaultMaxCapacity),
    minRetentionMs: options.minRetentionMs ?? defaultMinRetentionMs,
    now: options.now ?? Date.now,
  };
}

interface HistoryEntry {
  event: CacheEvent;
  receivedAtMs: number;
}

interface CacheWatcher {
  prefix: string;
  /** A watch may start from a revision the cache has not reached yet. */
  afterRevision: number;
  onEvents: (events: CacheEvent[]) => void;
}

interface RevisionWaiter {
  revision: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class WatchCache {
  /**
   * Lists everything under the prefix and follows the backend from that
   * revision, so the cache misses no write made after the list. The
   * backend's durable history before the list (up to capacity) primes the
   * event window, so a client watching from a revision it saw before a
   * restart resumes instead of relisting.
   */
  static async start(backend: Backend, options: WatchCacheOptions = {}): Promise<WatchCache> {
    const settings = settingsFrom(options);
    const listed = await backend.list(settings.prefix);
    const replayFrom = Math.max(backend.compactedRevision(), listed.revision - settings.capacity, 0);
    const cache = new WatchCache(settings, listed.revision, replayFrom);
    for (const item of listed.items) {
      cache.insert({ key: item.key, object: JSON.parse(item.value) as KubeObject, modRevision: item.modRevision });
    }
    cache.backendWatch = await backend.watch(settings.prefix, replayFrom, (events) => cache.apply(events));
    return cache;
  }

  private readonly settings: Required<WatchCacheOptions>;
  private readonly objects = new Map<string, CachedObject>();
  /** The keys of `objects` in order, so a prefix list is a binary search plus a walk. */
  private readonly sortedKeys: string[] = [];
  /** Oldest first; entries before historyHead are evicted and waiting to be trimmed off. */
  private history: (HistoryEntry | undefined)[] = [];
  private historyHead = 0;
  /** Every event after this revision is in the history. */
  private historyStart: number;
  private appliedRevision: number;
  private readonly watchers = new Set<CacheWatcher>();
  private waiters: RevisionWaiter[] = [];
  private backendWatch: WatchHandle | undefined;
  private stopped = false;

  private constructor(settings: Required<WatchCacheOptions>, revision: number, historyStart: number) {
    this.settings = settings;
    this.historyStart = historyStart;
    this.appliedRevision = revision;
  }

  /** The latest revision applied: every event up to it has been delivered, so it is a valid BOOKMARK. */
  get revision(): number {
    return this.appliedRevision;
  }

  /** The oldest revision a watch may start after; older ones throw Compacted. */
  get oldestWatchableRevision(): number {
    return this.historyStart;
  }

  get(key: string): CachedObject | undefined {
    return this.objects.get(key);
  }

  list(prefix: string): { items: CachedObject[]; revision: number } {
    const items: CachedObject[] = [];
    for (let index = lowerBound(this.sortedKeys, prefix); index < this.sortedKeys.length; index++) {
      const key = this.sortedKeys[index] as string;
      if (!key.startsWith(prefix)) break;
      items.push(this.objects.get(key) as CachedObject);
    }
    return { items, revision: this.appliedRevision };
  }

  /**
   * Replays the buffered events after afterRevision under prefix (in one
   * callback, before returning), then delivers each later batch as it is
   * applied, one callback per backend txn. Callbacks run synchronously, so
   * a consumer must buffer rather than block. Throws Compacted when the
   * window no longer reaches back to afterRevision.
   */
  watch(prefix: string, afterRevision: number, onEvents: (events: CacheEvent[]) => void): { stop(): void } {
    if (this.stopped) throw new WatchCacheStoppedError();
    if (afterRevision < this.historyStart) throw new Compacted(afterRevision, this.historyStart);
    const replay: CacheEvent[] = [];
    for (let index = this.firstEntryAfter(afterRevision); index < this.history.length; index++) {
      const { event } = this.history[index] as HistoryEntry;
      if (event.key.startsWith(prefix)) replay.push(event);
    }
    if (replay.length > 0 && !deliverToWatcher(onEvents, replay)) return { stop: () => {} };
    const watcher: CacheWatcher = { prefix, afterRevision, onEvents };
    this.watchers.add(watcher);
    return { stop: () => this.watchers.delete(watcher) };
  }

  /** Resolves once the cache has applied revision; rejects if signal aborts or the cache stops first. */
  waitForRevision(revision: number, signal?: AbortSignal): Promise<void> {
    if (revision <= this.appliedRevision) return Promise.resolve();
    if (this.stopped) return Promise.reject(new WatchCacheStoppedError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiters = this.waiters.filter((waiter) => waiter !== entry);
        reject(signal?.reason);
      };
      const entry: RevisionWaiter = {
        revision,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(entry);
    });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.backendWatch?.stop();
    this.watchers.clear();
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(new WatchCacheStoppedError());
  }

  private apply(storageEvents: StorageEvent[]): void {
    const receivedAtMs = this.settings.now();
    // Events at or before the listed revision are history from before this cache started: already in the state.
    for (const storageEvent of storageEvents) {
      if (storageEvent.revision <= this.appliedRevision) this.history.push({ event: historicalEvent(storageEvent), receivedAtMs });
    }
    const fresh = storageEvents.filter((storageEvent) => storageEvent.revision > this.appliedRevision);
    if (fresh.length === 0) return;
    const events = fresh.map((storageEvent) => this.applyOne(storageEvent));
    for (const event of events) this.history.push({ event, receivedAtMs });
    this.evictHistory(receivedAtMs);
    this.appliedRevision = (events.at(-1) as CacheEvent).revision;

    for (const watcher of [...this.watchers]) {
      if (!this.watchers.has(watcher)) continue;
      const matching = events.filter((event) => event.revision > watcher.afterRevision && event.key.startsWith(watcher.prefix));
      if (matching.length > 0 && !deliverToWatcher(watcher.onEvents, matching)) this.watchers.delete(watcher);
    }
    this.resolveWaiters();
  }

  private applyOne(storageEvent: StorageEvent): CacheEvent {
    const { key, revision } = storageEvent;
    const previous = this.objects.get(key);
    if (storageEvent.type === 'delete') {
      const last = previous?.object ?? (JSON.parse(storageEvent.value) as KubeObject);
      if (previous) this.remove(key);
      const object = { ...last, metadata: { ...last.metadata, resourceVersion: String(revision) } };
      return { type: 'DELETED', key, object, prevObject: last, revision };
    }
    const object = JSON.parse(storageEvent.value) as KubeObject;
    if (previous) {
      this.objects.set(key, { key, object, modRevision: revision });
      return { type: 'MODIFIED', key, object, prevObject: previous.object, revision };
    }
    this.insert({ key, object, modRevision: revision });
    return { type: 'ADDED', key, object, revision };
  }

  private insert(entry: CachedObject): void {
    this.objects.set(entry.key, entry);
    this.sortedKeys.splice(lowerBound(this.sortedKeys, entry.key), 0, entry.key);
  }

  private remove(key: string): void {
    this.objects.delete(key);
    this.sortedKeys.splice(lowerBound(this.sortedKeys, key), 1);
  }

  private evictHistory(nowMs: number): void {
    const { capacity, maxCapacity, minRetentionMs } = this.settings;
    const oldestKeptMs = nowMs - minRetentionMs;
    while (this.history.length - this.historyHead > capacity) {
      const oldest = this.history[this.historyHead] as HistoryEntry;
      const overMax = this.history.length - this.historyHead > maxCapacity;
      if (!overMax && oldest.receivedAtMs > oldestKeptMs) break;
      this.history[this.historyHead] = undefined;
      this.historyHead++;
      this.historyStart = oldest.event.revision;
    }
    // Trim the evicted slots in one copy once they are half the array, so eviction stays O(1) amortised.
    if (this.historyHead > 1024 && this.historyHead * 2 >= this.history.length) {
      this.history = this.history.slice(this.historyHead);
      this.historyHead = 0;
    }
  }

  /** Index of the first history entry with a revision above revision (binary search; revisions increase). */
  private firstEntryAfter(revision: number): number {
    let low = this.historyHead;
    let high = this.history.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.history[middle] as HistoryEntry).event.revision <= revision) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private resolveWaiters(): void {
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((waiter) => waiter.revision <= this.appliedRevision);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => waiter.revision > this.appliedRevision);
    for (const waiter of ready) waiter.resolve();
  }
}

/** A past storage event as watchers would have seen it, rebuilt from the stored values alone. */
function historicalEvent(storageEvent: StorageEvent): CacheEvent {
  const { key, revision } = storageEvent;
  const value = JSON.parse(storageEvent.value) as KubeObject;
  const prevObject = storageEvent.prevValue === undefined ? undefined : (JSON.parse(storageEvent.prevValue) as KubeObject);
  if (storageEvent.type === 'delete') {
    return { type: 'DELETED', key, object: { ...value, metadata: { ...value.metadata, resourceVersion: String(revision) } }, prevObject: value, revision };
  }
  if (storageEvent.createRevision === revision || prevObject === undefined) return { type: 'ADDED', key, object: value, revision };
  return { type: 'MODIFIED', key, object: value, prevObject, revision };
}

/** First index whose key is >= target in an ascending array. */
function lowerBound(sorted: readonly string[], target: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as string) < target) low = middle + 1;
    else high = middle;
  }
  return low;
}
