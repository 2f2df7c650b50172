/**
 * A local, always-current copy of one resource, kept by list+watch: what
 * client-go's reflector, store and shared informer do together.
 *
 * - It lists, replaces the store, then watches from the list's
 *   resourceVersion with bookmarks; a watch that ends is resumed from the last
 *   resourceVersion seen (bookmarks advance it without changing objects).
 * - A 410 (the server no longer has history back to that resourceVersion)
 *   means events were missed: it relists and reconciles the store, emitting
 *   add/update/delete for every difference, so handlers see one consistent
 *   stream as if nothing had been missed.
 * - Failures are retried with capped exponential backoff and jitter; the
 *   store keeps serving its last state meanwhile.
 *
 * Handlers run synchronously, in event order, and get the stored objects
 * themselves: treat them as read-only.
 */
import { silentLogger, type Logger } from '../../common/logger.ts';
import type { KubeObject, Status, WatchEvent } from '../api/types.ts';
import { backoffDelay, defaultBackoff, sleep, type BackoffOptions } from './backoff.ts';
import { ApiStatusError, isStatus, type ApiClient, type ResourceRef } from './types.ts';
import { Indexer, type Indexers } from './indexer.ts';

export interface InformerHandlers<T> {
  add?(object: T): void;
  update?(old: T, object: T): void;
  delete?(object: T): void;
}

export interface InformerOptions<T = KubeObject> {
  labelSelector?: string;
  fieldSelector?: string;
  logger?: Logger;
  /**
   * How long the server holds each watch. By default a random 300–600 s per
   * watch, as client-go does, so clients that started together spread out
   * their reconnects.
   */
  watchTimeoutSeconds?: number;
  backoff?: Partial<BackoffOptions>;
  /** Secondary indexes, read with byIndex(). */
  indexers?: Indexers<T>;
}

/** The store key: "namespace/name", or "name" for cluster-scoped objects. */
export function storeKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function objectKey(object: KubeObject): string {
  return storeKey(object.metadata.namespace, object.metadata.name ?? '');
}

function isExpired(error: unknown): boolean {
  return error instanceof ApiStatusError && error.code === 410;
}

function watchErrorStatus(object: unknown): Status {
  if (isStatus(object)) return object;
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'InternalError', message: 'watch ERROR event without a Status', code: 500 };
}

export class Informer<T extends KubeObject> {
  readonly #client: ApiClient;
  readonly #ref: ResourceRef;
  readonly #options: InformerOptions<T>;
  readonly #backoff: BackoffOptions;
  readonly #logger: Logger;
  #store = new Map<string, T>();
  readonly #indexer: Indexer<T>;
  readonly #handlers = new Set<InformerHandlers<T>>();
  readonly #synced = Promise.withResolvers<void>();
  #hasSynced = false;
  #resourceVersion = '';
  #started = false;
  /** Consecutive attempts that made no progress; any watch event resets it. */
  #failures = 0;

  constructor(client: ApiClient, ref: ResourceRef, options: InformerOptions<T> = {}) {
    this.#client = client;
    this.#ref = ref;
    this.#options = options;
    this.#indexer = new Indexer(options.indexers ?? {});
    this.#backoff = { ...defaultBackoff, ...options.backoff };
    const resource = ref.group === '' ? ref.resource : `${ref.resource}.${ref.group}`;
    this.#logger = (options.logger ?? silentLogger()).child({ resource, ...(ref.namespace ? { namespace: ref.namespace } : {}) });
  }

  /** The resourceVersion of the last list, watch event or bookmark applied. */
  get lastSyncResourceVersion(): string {
    return this.#resourceVersion;
  }

  hasSynced(): boolean {
    return this.#hasSynced;
  }

  /** Resolves true once the first list is in the store, or false if the signal aborts first. */
  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.#hasSynced) return true;
    if (!signal) {
      await this.#synced.promise;
      return true;
    }
    if (signal.aborted) return false;
    const { promise: aborted, resolve } = Promise.withResolvers<boolean>();
    const onAbort = () => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await Promise.race([this.#synced.promise.then(() => true), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  list(): T[] {
    return [...this.#store.values()];
  }

  get(key: string): T | undefined {
    return this.#store.get(key);
  }

  getByName(namespace: string | undefined, name: string): T | undefined {
    return this.#store.get(storeKey(namespace, name));
  }

  /** The stored objects filed under value in the named index (see InformerOptions.indexers). */
  byIndex(name: string, value: string): T[] {
    return [...this.#indexer.keys(name, value)].map((key) => this.#store.get(key) as T);
  }

  /**
   * Registers handlers and returns their removal. Handlers registered after
   * the first sync get an add for every object already stored, so every
   * handler sees the same history regardless of when it joined.
   */
  on(handlers: InformerHandlers<T>): () => void {
    this.#handlers.add(handlers);
    if (this.#hasSynced) {
      for (const object of this.#store.values()) this.#deliver(handlers, 'add', object, (added) => added.add?.(object));
    }
    return () => {
      this.#handlers.delete(handlers);
    };
  }

  /** Runs until the signal aborts, then resolves. Call it once. */
  async start(signal: AbortSignal): Promise<void> {
    if (this.#started) throw new Error('Informer.start may be called only once');
    this.#started = true;
    let needsList = true;
    let delayMs = 0;
    while (!signal.aborted) {
      if (delayMs > 0) {
        await sleep(delayMs, signal);
        if (signal.aborted) break;
      }
      delayMs = 0;
      try {
        if (needsList) {
          await this.#relist(signal);
          needsList = false;
        }
        const events = await this.#watch(signal);
        // An empty stream is how a server that refuses to watch can look; resuming at once would spin.
        if (events === 0 && !signal.aborted) delayMs = this.#failed('debug', 'watch ended without events');
      } catch (error) {
        if (signal.aborted) break;
        if (isExpired(error)) {
          needsList = true;
          delayMs = this.#failed('info', 'resourceVersion expired; relisting', error);
        } else {
          delayMs = this.#failed('warn', needsList ? 'list failed; retrying' : 'watch failed; retrying', error);
        }
      }
    }
    this.#logger.debug('informer stopped');
  }

  /** Counts a failed attempt, logs it and returns how long to wait before the next one. */
  #failed(level: 'debug' | 'info' | 'warn', message: string, error?: unknown): number {
    this.#failures += 1;
    const delayMs = backoffDelay(this.#failures, this.#backoff);
    const fields = { failures: this.#failures, retryInSeconds: delayMs / 1000, resourceVersion: this.#resourceVersion };
    this.#logger[level](error === undefined ? fields : { ...fields, err: error }, message);
    return delayMs;
  }

  async #relist(signal: AbortSignal): Promise<void> {
    const list = await this.#client.list<T>(this.#ref, { labelSelector: this.#options.labelSelector, fieldSelector: this.#options.fieldSelector, signal });
    // List items usually omit kind and apiVersion; handlers (and Events about them) need them.
    const kind = list.kind.endsWith('List') ? list.kind.slice(0, -'List'.length) : undefined;
    const fresh = new Map<string, T>();
    for (const item of list.items) {
      const object = item.kind || !kind ? item : ({ ...item, kind, apiVersion: item.apiVersion || list.apiVersion } as T);
      fresh.set(objectKey(object), object);
    }
    const previous = this.#store;
    this.#store = fresh;
    this.#indexer.clear();
    for (const [key, object] of fresh) this.#indexer.update(key, object);
    this.#resourceVersion = list.metadata.resourceVersion;
    for (const [key, object] of fresh) {
      const old = previous.get(key);
      if (old === undefined) this.#emitAdd(object);
      else if (old.metadata.resourceVersion !== object.metadata.resourceVersion) this.#emitUpdate(old, object);
    }
    for (const [key, old] of previous) if (!fresh.has(key)) this.#emitDelete(old);
    this.#logger.info({ objects: fresh.size, resourceVersion: this.#resourceVersion }, 'listed');
    if (!this.#hasSynced) {
      this.#hasSynced = true;
      this.#synced.resolve();
    }
  }

  /** Returns how many events arrived; throws an ApiStatusError for an ERROR event. */
  async #watch(signal: AbortSignal): Promise<number> {
    const stop = new AbortController();
    let received = 0;
    let failure: ApiStatusError | undefined;
    const timeoutSeconds = this.#options.watchTimeoutSeconds ?? Math.floor(300 + Math.random() * 300);
    await this.#client.watch<T>(
      this.#ref,
      {
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
        labelSelector: this.#options.labelSelector,
        fieldSelector: this.#options.fieldSelector,
        signal: AbortSignal.any([signal, stop.signal]),
      },
      (event) => {
        if (failure) return;
        if (event.type === 'ERROR') {
          failure = new ApiStatusError(watchErrorStatus(event.object));
          stop.abort();
          return;
        }
        received += 1;
        this.#failures = 0;
        this.#apply(event as WatchEvent<T>);
      },
    );
    if (failure) throw failure;
    return received;
  }

  #apply(event: WatchEvent<T>): void {
    const object = event.object;
    const resourceVersion = object.metadata?.resourceVersion;
    if (!object.metadata?.name && event.type !== 'BOOKMARK') {
      // Failing here would re-watch from the same resourceVersion and meet the same event forever.
      this.#logger.warn({ type: event.type, resourceVersion }, 'skipped a watch event whose object has no name');
    } else if (event.type !== 'BOOKMARK') {
      const key = objectKey(object);
      const old = this.#store.get(key);
      if (event.type === 'DELETED') {
        // A delete of an object never seen would reach handlers without its add.
        if (old !== undefined) {
          this.#store.delete(key);
          this.#indexer.remove(key, old);
          this.#emitDelete(object);
        }
      } else if (old === undefined) {
        this.#store.set(key, object);
        this.#indexer.update(key, object);
        this.#emitAdd(object);
      } else if (old.metadata.resourceVersion !== resourceVersion) {
        this.#store.set(key, object);
        this.#indexer.update(key, object, old);
        this.#emitUpdate(old, object);
      }
    }
    if (resourceVersion) this.#resourceVersion = resourceVersion;
  }

  #emitAdd(object: T): void {
    this.#emit('add', object, (handlers) => handlers.add?.(object));
  }

  #emitUpdate(old: T, object: T): void {
    this.#emit('update', object, (handlers) => handlers.update?.(old, object));
  }

  #emitDelete(object: T): void {
    this.#emit('delete', object, (handlers) => handlers.delete?.(object));
  }

  #emit(event: keyof InformerHandlers<T>, object: T, invoke: (handlers: InformerHandlers<T>) => void): void {
    // A snapshot, so a handler registered from inside a handler gets its synthetic adds once, not this event too.
    for (const handlers of [...this.#handlers]) this.#deliver(handlers, event, object, invoke);
  }

  /** One handler's failure must not starve the others or stop the informer. */
  #deliver(handlers: InformerHandlers<T>, event: keyof InformerHandlers<T>, object: T, invoke: (handlers: InformerHandlers<T>) => void): void {
    try {
      invoke(handlers);
    } catch (error) {
      this.#logger.error({ err: error, event, key: objectKey(object) }, 'informer handler failed');
    }
  }
}
