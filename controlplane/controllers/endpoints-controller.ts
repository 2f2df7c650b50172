/**
 * The API store's endpoints controllers in one loop, keyed by Service
 * (`namespace/name`): the EndpointSlice controller, the legacy Endpoints
 * controller and EndpointSlice mirroring all compute from the same informer
 * state, so one sync per Service keeps them consistent. The decisions live in
 * the pure models; this file only reads informers, writes through the
 * ApiClient and retries.
 */
import { KplaneError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { Endpoints, EndpointSlice, KubeObject, Pod, Service } from '../api/types.ts';
import { ApiStatusError, inNamespace, refs, type ApiClient } from '../client/types.ts';
import { desiredEndpoints, endpointsUpdate, isControllerManagedEndpoints } from './endpoints-model.ts';
import { desiredEndpointSlices, endpointSliceControllerName, hasSelector, labelManagedBy, labelServiceName, reconcileSlices, selectorMatches, type SliceChanges } from './endpointslice-model.ts';
import { mirroredSlices, mirroringControllerName } from './mirroring-model.ts';
import { WorkQueue, type WorkQueueOptions } from './work-queue.ts';

export interface InformerHandlers<T> {
  add(object: T): void;
  update(oldObject: T, newObject: T): void;
  delete(object: T): void;
}

/** The part of controlplane/client/informer.ts this controller uses. */
export interface InformerView<T> {
  list(): T[];
  getByName(namespace: string, name: string): T | undefined;
  /** Objects filed under value in one of the indexes below (endpointsControllerIndexers). */
  byIndex(name: string, value: string): T[];
  /** Returns a function that removes the handlers. */
  on(handlers: InformerHandlers<T>): () => void;
  /** Resolves once the first list is stored, or early when the signal aborts. */
  waitForSync(signal?: AbortSignal): Promise<unknown>;
}

/**
 * The informer indexes this controller reads: a sync looks up one
 * Service's slices and one namespace's pods, and a pod event looks up its
 * namespace's Services, without scanning the whole cluster each time.
 */
export const endpointsControllerIndexers = {
  services: { namespace: (service: Service) => [service.metadata.namespace ?? ''] },
  pods: { namespace: (pod: Pod) => [pod.metadata.namespace ?? ''] },
  endpointSlices: {
    service: (slice: EndpointSlice) => {
      const name = slice.metadata.labels?.[labelServiceName];
      return name === undefined ? [] : [`${slice.metadata.namespace ?? ''}/${name}`];
    },
  },
  endpoints: {},
} as const;

export interface EndpointsControllerOptions {
  client: ApiClient;
  logger: Logger;
  informers: {
    services: InformerView<Service>;
    pods: InformerView<Pod>;
    endpointSlices: InformerView<EndpointSlice>;
    endpoints: InformerView<Endpoints>;
  };
  /** Services synced in parallel; one Service is never synced twice at once. */
  workers?: number;
  queue?: WorkQueueOptions;
  /** Failed syncs of one Service retried before it is dropped until its next change (upstream: 15). */
  maxRetries?: number;
}

/** The slice cache has not caught up with this controller's own writes yet; acting now would duplicate slices. */
class StaleCacheError extends KplaneError {
  constructor(key: string) {
    super('KPLANE_ENDPOINTSLICE_CACHE_STALE', `EndpointSlice cache is behind this controller's writes for ${key}`);
  }
}

function keyOf(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`;
}

function splitKey(key: string): [namespace: string, name: string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

function isStatus(error: unknown, code: number): boolean {
  return error instanceof ApiStatusError && error.code === code;
}

/** 409 (Conflict, AlreadyExists) and a stale cache are expected races: the retry sees fresher state. */
function isRace(error: unknown): boolean {
  return error instanceof StaleCacheError || isStatus(error, 409);
}

function isNamespaceTerminating(error: unknown): boolean {
  return error instanceof ApiStatusError && (error.status.details?.causes ?? []).some((cause) => cause.reason === 'NamespaceTerminating');
}

/**
 * Runs every write even when an earlier one fails, so one bad object doesn't
 * starve the rest, then throws the first failure that is not a race (those
 * are logged louder), or the first race.
 */
async function attemptAll(writes: (() => Promise<void>)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const write of writes) {
    try {
      await write();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw errors.find((error) => !isRace(error)) ?? errors[0];
}

function olderThan(cached: string | undefined, expected: string): boolean {
  if (cached === undefined) return true;
  if (/^\d+$/.test(cached) && /^\d+$/.test(expected)) return BigInt(cached) < BigInt(expected);
  return cached !== expected;
}

/**
 * The resourceVersion each slice this controller wrote should have in the
 * cache (null: deleted), per Service, like upstream's EndpointSliceTracker.
 * Slices are created with generateName, so syncing against a cache that
 * doesn't show a fresh create yet would create a second slice.
 */
class SliceExpectations {
  readonly #byService = new Map<string, Map<string, string | null>>();

  expect(key: string, name: string, resourceVersion: string | null): void {
    const expected = this.#byService.get(key) ?? new Map<string, string | null>();
    expected.set(name, resourceVersion);
    this.#byService.set(key, expected);
  }

  /** Drops expectations the cache now meets; true while any is unmet. */
  isStale(key: string, cached: EndpointSlice[]): boolean {
    const expected = this.#byService.get(key);
    if (!expected) return false;
    const byName = new Map(cached.map((slice) => [slice.metadata.name, slice]));
    let stale = false;
    for (const [name, resourceVersion] of expected) {
      const slice = byName.get(name);
      const met = resourceVersion === null ? !slice : slice !== undefined && !olderThan(slice.metadata.resourceVersion, resourceVersion);
      if (met) expected.delete(name);
      else stale = true;
    }
    if (expected.size === 0) this.#byService.delete(key);
    return stale;
  }

  /** A slice is gone: whatever was expected of it, there is nothing left to wait for. */
  observeDeleted(key: string, name: string): void {
    this.#byService.get(key)?.delete(name);
  }

  forget(key: string): void {
    this.#byService.delete(key);
  }
}

export class EndpointsController {
  readonly #client: ApiClient;
  readonly #logger: Logger;
  readonly #services: InformerView<Service>;
  readonly #pods: InformerView<Pod>;
  readonly #slices: InformerView<EndpointSlice>;
  readonly #endpoints: InformerView<Endpoints>;
  readonly #workers: number;
  readonly #maxRetries: number;
  readonly #queue: WorkQueue<string>;
  readonly #expectations = new SliceExpectations();

  constructor(options: EndpointsControllerOptions) {
    this.#client = options.client;
    this.#logger = options.logger;
    this.#services = options.informers.services;
    this.#pods = options.informers.pods;
    this.#slices = options.informers.endpointSlices;
    this.#endpoints = options.informers.endpoints;
    this.#workers = options.workers ?? 1;
    this.#maxRetries = options.maxRetries ?? 15;
    this.#queue = new WorkQueue<string>(options.queue);
  }

  /** Waits for the informers to sync, then syncs every Service until the signal aborts; resolves once workers stop. */
  async run(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const unsubscribe = this.#subscribe();
    const stop = () => this.#queue.shutdown();
    signal.addEventListener('abort', stop, { once: true });
    try {
      await Promise.all([this.#services, this.#pods, this.#slices, this.#endpoints].map((informer) => informer.waitForSync(signal)));
      if (signal.aborted) return;
      this.#enqueueAll();
      this.#logger.info({ workers: this.#workers }, 'endpoints controller started');
      await Promise.all(Array.from({ length: this.#workers }, () => this.#work()));
    } finally {
      signal.removeEventListener('abort', stop);
      unsubscribe();
      this.#queue.shutdown();
    }
  }

  #enqueue(key: string): void {
    this.#queue.add(key);
  }

  /** Every Service, plus the owners of Endpoints and slices whose Service may have gone while no one watched. */
  #enqueueAll(): void {
    for (const service of this.#services.list()) this.#enqueue(keyOf(service));
    for (const endpoints of this.#endpoints.list()) {
      if (isControllerManagedEndpoints(endpoints)) this.#enqueue(keyOf(endpoints));
    }
    for (const slice of this.#slices.list()) this.#enqueueForSlice(slice);
  }

  #enqueueForPod(...pods: Pod[]): void {
    const namespaces = new Set(pods.map((pod) => pod.metadata.namespace ?? ''));
    for (const service of [...namespaces].flatMap((namespace) => this.#services.byIndex('namespace', namespace))) {
      if (!hasSelector(service)) continue;
      const selector = service.spec.selector ?? {};
      if (pods.some((pod) => pod.metadata.namespace === service.metadata.namespace && selectorMatches(selector, pod.metadata.labels))) this.#enqueue(keyOf(service));
    }
  }

  #enqueueForSlice(slice: EndpointSlice): void {
    const serviceName = slice.metadata.labels?.[labelServiceName];
    if (serviceName) this.#enqueue(`${slice.metadata.namespace ?? ''}/${serviceName}`);
  }

  #subscribe(): () => void {
    const enqueueObject = (object: KubeObject) => this.#enqueue(keyOf(object));
    const unsubscribers = [
      this.#services.on({ add: enqueueObject, update: (_old, service) => enqueueObject(service), delete: enqueueObject }),
      this.#endpoints.on({ add: enqueueObject, update: (_old, endpoints) => enqueueObject(endpoints), delete: enqueueObject }),
      this.#pods.on({
        add: (pod) => this.#enqueueForPod(pod),
        // Old labels too: a pod that stops matching must leave the service's endpoints.
        update: (oldPod, pod) => this.#enqueueForPod(oldPod, pod),
        delete: (pod) => this.#enqueueForPod(pod),
      }),
      this.#slices.on({
        add: (slice) => this.#enqueueForSlice(slice),
        update: (oldSlice, slice) => {
          this.#enqueueForSlice(oldSlice);
          this.#enqueueForSlice(slice);
        },
        delete: (slice) => {
          const serviceName = slice.metadata.labels?.[labelServiceName];
          if (serviceName) this.#expectations.observeDeleted(`${slice.metadata.namespace ?? ''}/${serviceName}`, slice.metadata.name ?? '');
          this.#enqueueForSlice(slice);
        },
      }),
    ];
    return () => {
      for (const unsubscribe of unsubscribers) unsubscribe();
    };
  }

  async #work(): Promise<void> {
    for (;;) {
      const key = await this.#queue.get();
      if (key === undefined) return;
      try {
        await this.#sync(key);
        this.#queue.forget(key);
      } catch (error) {
        this.#retry(key, error);
      } finally {
        this.#queue.done(key);
      }
      // A sync that wrote nothing never awaits I/O; yield so a long queue cannot starve the API store's requests.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  #retry(key: string, error: unknown): void {
    const attempt = this.#queue.numRequeues(key);
    if (attempt >= this.#maxRetries) {
      this.#logger.info({ service: key, err: error, attempts: attempt }, 'giving up syncing endpoints until the service changes again');
      this.#queue.forget(key);
      return;
    }
    const delayMs = this.#queue.backoff(attempt);
    if (isRace(error)) this.#logger.debug({ service: key, err: error, delayMs }, 'endpoints sync raced another write, retrying');
    else this.#logger.info({ service: key, err: error, delayMs }, 'endpoints sync failed, retrying');
    this.#queue.addRateLimited(key);
  }

  async #sync(key: string): Promise<void> {
    const [namespace, name] = splitKey(key);
    const service = this.#services.getByName(namespace, name);
    const endpoints = this.#endpoints.getByName(namespace, name);
    const slices = this.#slices.byIndex('service', key);
    if (this.#expectations.isStale(key, slices)) throw new StaleCacheError(key);

    if (!service) {
      const managedBy = new Set([endpointSliceControllerName, mirroringControllerName]);
      const orphans = slices.filter((slice) => managedBy.has(slice.metadata.labels?.[labelManagedBy] ?? ''));
      const writes = this.#sliceWrites(key, namespace, { create: [], update: [], delete: orphans });
      // Hand-written Endpoints of a selectorless Service are the user's to delete.
      if (endpoints && isControllerManagedEndpoints(endpoints)) writes.push(() => this.#deleteEndpoints(namespace, name));
      await attemptAll(writes);
      this.#expectations.forget(key);
      return;
    }

    const pods = this.#pods.byIndex('namespace', namespace);
    const own = reconcileSlices(service, desiredEndpointSlices(service, pods), slices);
    const mirrored = mirroredSlices(service, endpoints, slices);
    const writes = this.#sliceWrites(key, namespace, {
      create: [...own.create, ...mirrored.create],
      update: [...own.update, ...mirrored.update],
      delete: [...own.delete, ...mirrored.delete],
    });
    writes.push(() => this.#syncEndpoints(service, endpoints, pods));
    await attemptAll(writes);
  }

  #sliceWrites(key: string, namespace: string, changes: SliceChanges): (() => Promise<void>)[] {
    const ref = inNamespace(refs.endpointslices, namespace);
    const creates = changes.create.map((slice) => async () => {
      try {
        const created = await this.#client.create(ref, slice);
        this.#expectations.expect(key, created.metadata.name ?? '', created.metadata.resourceVersion ?? '');
        this.#logger.debug({ service: key, slice: created.metadata.name, endpoints: slice.endpoints.length }, 'created EndpointSlice');
      } catch (error) {
        // Creates keep failing in a namespace being deleted; its slices go with it.
        if (!isNamespaceTerminating(error)) throw error;
      }
    });
    const updates = changes.update.map((slice) => async () => {
      const updated = await this.#client.update(ref, slice);
      this.#expectations.expect(key, updated.metadata.name ?? '', updated.metadata.resourceVersion ?? '');
      this.#logger.debug({ service: key, slice: slice.metadata.name, endpoints: slice.endpoints.length }, 'updated EndpointSlice');
    });
    const deletes = changes.delete.map((slice) => async () => {
      const name = slice.metadata.name ?? '';
      try {
        await this.#client.delete(ref, name);
      } catch (error) {
        if (!isStatus(error, 404)) throw error;
      }
      this.#expectations.expect(key, name, null);
      this.#logger.debug({ service: key, slice: name }, 'deleted EndpointSlice');
    });
    return [...creates, ...updates, ...deletes];
  }

  async #syncEndpoints(service: Service, existing: Endpoints | undefined, pods: Pod[]): Promise<void> {
    const desired = desiredEndpoints(service, pods);
    // Selectorless services' Endpoints are written by hand: left alone.
    if (!desired) return;
    const namespace = service.metadata.namespace ?? '';
    const ref = inNamespace(refs.endpoints, namespace);
    if (!existing) {
      try {
        await this.#client.create(ref, desired);
      } catch (error) {
        if (isNamespaceTerminating(error)) return;
        throw error;
      }
      this.#logger.debug({ service: keyOf(service) }, 'created Endpoints');
      return;
    }
    const next = endpointsUpdate(existing, desired);
    if (!next) return;
    await this.#client.update(ref, next);
    this.#logger.debug({ service: keyOf(service) }, 'updated Endpoints');
  }

  async #deleteEndpoints(namespace: string, name: string): Promise<void> {
    try {
      await this.#client.delete(inNamespace(refs.endpoints, namespace), name);
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
    this.#logger.debug({ service: `${namespace}/${name}` }, 'deleted Endpoints');
  }
}
