/**
 * The generic REST semantics of the API store, for every kind: create, get,
 * list, update (optimistic concurrency), patch, delete (finalizers, graceful
 * pod deletion), the status subresource, and watch with selectors. Reads and
 * watches are served by the watch cache; writes go to the backend and return
 * once the cache has caught up, so a client reads its own writes.
 */
import type { Backend, TxnOp, WriteResult } from '../storage/backend.ts';
import { Compacted } from '../storage/backend.ts';
import type { CacheEvent, WatchCache } from '../storage/watch-cache.ts';
import { apiVersionOf, storageKey, storageListPrefix, type ResourceInfo } from '../api/resources.ts';
import type { KubeObject, Namespace, Service, StatusCause } from '../api/types.ts';
import { ApiError, errors } from '../api/status.ts';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from '../api/patch.ts';
import { strategicSchemaFor } from '../api/merge-keys.ts';
import type { PatchType } from '../client/types.ts';
import { applyDefaults } from './defaults.ts';
import { invalidMessage, validateObject } from './validation.ts';
import { generateName, prepareForCreate, prepareForUpdate, timestamp } from './object-meta.ts';
import type { ServiceAllocator } from '../allocators/service-allocator.ts';
import type { ObjectFilter } from './filter.ts';

export interface WriteOptions {
  dryRun?: boolean;
  subresource?: 'status';
}

export interface DeleteOptions {
  dryRun?: boolean;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface WatchRequest {
  namespace?: string;
  /** Events after this revision; undefined = start with the current state as ADDED events. */
  afterRevision?: number;
  filter: ObjectFilter;
}

export interface RegistryEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  revision: number;
}

export interface RegistryDeps {
  backend: Backend;
  cache: WatchCache;
  allocator: ServiceAllocator;
  now: () => Date;
}

/** How many times a patch is re-applied to a fresh copy when a concurrent write wins the race. */
const patchConflictRetries = 5;
/** Namespaces the cluster itself relies on; kube-apiserver refuses to delete them. */
const protectedNamespaces = new Set(['default', 'kube-system', 'kube-public']);

function clone<T>(value: T): T {
  return structuredClone(value);
}

export class Registry {
  readonly #backend: Backend;
  readonly #cache: WatchCache;
  readonly #allocator: ServiceAllocator;
  readonly #now: () => Date;

  constructor(deps: RegistryDeps) {
    this.#backend = deps.backend;
    this.#cache = deps.cache;
    this.#allocator = deps.allocator;
    this.#now = deps.now;
  }

  get revision(): number {
    return this.#cache.revision;
  }

  /** Resolves once reads reflect `revision`; rejects with a 504-style Status after timeoutMs. */
  async waitForRevision(revision: number, timeoutMs: number): Promise<void> {
    try {
      await this.#cache.waitForRevision(revision, AbortSignal.timeout(timeoutMs));
    } catch {
      throw errors.timeout(`Too large resource version: ${revision}, current: ${this.#cache.revision}`);
    }
  }

  get(info: ResourceInfo, namespace: string | undefined, name: string): KubeObject {
    const entry = this.#cache.get(storageKey(info, namespace, name));
    if (!entry) throw errors.notFound(info, name);
    return entry.object;
  }

  list(info: ResourceInfo, namespace: string | undefined, filter: ObjectFilter): { items: KubeObject[]; revision: number } {
    const { items, revision } = this.#cache.list(storageListPrefix(info, namespace));
    return { items: items.map((entry) => entry.object).filter((object) => filter.matches(object)), revision };
  }

  async create(info: ResourceInfo, namespace: string | undefined, body: KubeObject, options: WriteOptions = {}): Promise<KubeObject> {
    const object = this.#checkIdentity(info, namespace, clone(body));
    const meta = object.metadata;
    if (!meta.name && meta.generateName) meta.name = generateName(meta.generateName);
    if (info.namespaced) this.#requireActiveNamespace(info, meta.namespace as string, meta.name ?? '');
    prepareForCreate(object, this.#now());
    if (info.hasStatus) this.#resetStatusOnCreate(info, object);
    applyDefaults(info.kind, object);
    this.#validate(info, object);

    const key = storageKey(info, meta.namespace, meta.name as string);
    // Checked before allocating, so an existing name never looks like an allocation clash.
    if (this.#cache.get(key)) throw errors.alreadyExists(info, meta.name as string);
    const release = this.#allocateIfService(info, object);
    try {
      if (options.dryRun) return object;
      const result = await this.#write(info, meta.name as string, [{ op: 'create', key, value: (revision) => serialize(object, revision) }]);
      object.metadata.resourceVersion = String(result.revision);
      return object;
    } catch (error) {
      release();
      throw error;
    } finally {
      if (options.dryRun) release();
    }
  }

  async update(info: ResourceInfo, namespace: string | undefined, name: string, body: KubeObject, options: WriteOptions = {}): Promise<KubeObject> {
    const object = this.#checkIdentity(info, namespace, clone(body));
    if (object.metadata.name !== name) {
      throw errors.badRequest(`the name of the object (${object.metadata.name}) does not match the name on the URL (${name})`);
    }
    const key = storageKey(info, namespace, name);
    const current = this.#cache.get(key);
    if (!current) throw errors.notFound(info, name);
    const expected = object.metadata.resourceVersion;
    if (expected && expected !== current.object.metadata.resourceVersion) throw errors.conflict(info, name);
    return this.#replace(info, current.object, object, options, Number(current.object.metadata.resourceVersion));
  }

  async patch(info: ResourceInfo, namespace: string | undefined, name: string, type: PatchType, patch: unknown, options: WriteOptions = {}): Promise<KubeObject> {
    const key = storageKey(info, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const current = this.#cache.get(key);
      if (!current) throw errors.notFound(info, name);
      const patched = this.#applyPatch(info, current.object, type, patch);
      const precondition = patched.metadata?.resourceVersion;
      if (precondition && precondition !== current.object.metadata.resourceVersion) throw errors.conflict(info, name);
      if (patched.metadata?.name !== undefined && patched.metadata.name !== name) {
        throw errors.badRequest(`the name of the object (${String(patched.metadata.name)}) does not match the name on the URL (${name})`);
      }
      try {
        return await this.#replace(info, current.object, this.#checkIdentity(info, namespace, patched), options, Number(current.object.metadata.resourceVersion));
      } catch (error) {
        // A patch without a resourceVersion is applied to whatever is current, as kube-apiserver's GuaranteedUpdate does.
        const raced = error instanceof ApiError && error.status.reason === 'Conflict' && !precondition;
        if (!raced || attempt >= patchConflictRetries) throw error;
      }
    }
  }

  async delete(info: ResourceInfo, namespace: string | undefined, name: string, options: DeleteOptions = {}): Promise<KubeObject> {
    const key = storageKey(info, namespace, name);
    const current = this.#cache.get(key);
    if (!current) throw errors.notFound(info, name);
    const object = current.object;
    const { uid, resourceVersion } = options.preconditions ?? {};
    if (uid && uid !== object.metadata.uid) {
      throw errors.conflict(info, name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${object.metadata.uid}`);
    }
    if (resourceVersion && resourceVersion !== object.metadata.resourceVersion) {
      throw errors.conflict(info, name, `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${object.metadata.resourceVersion}`);
    }
    if (info.resource === 'namespaces' && protectedNamespaces.has(name)) {
      throw errors.forbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`);
    }
    const graceSeconds = this.#gracePeriod(info, object, options.gracePeriodSeconds);
    const hasFinalizers = (object.metadata.finalizers?.length ?? 0) > 0;
    if (object.metadata.deletionTimestamp) {
      // A second delete of a terminating pod with no grace left is the kubelet confirming it stopped.
      const finishesPod = info.resource === 'pods' && graceSeconds === 0 && !hasFinalizers;
      return finishesPod ? this.#remove(info, object, options) : object;
    }
    // Namespaces always pass through Terminating so their contents are removed first.
    if (!hasFinalizers && graceSeconds === 0 && info.resource !== 'namespaces') return this.#remove(info, object, options);
    const marked = clone(object);
    marked.metadata.deletionTimestamp = timestamp(new Date(this.#now().getTime() + graceSeconds * 1000));
    marked.metadata.deletionGracePeriodSeconds = graceSeconds;
    if (info.resource === 'namespaces') (marked as Namespace).status = { ...(marked as Namespace).status, phase: 'Terminating' };
    if (options.dryRun) return marked;
    const result = await this.#write(info, name, [{ op: 'update', key, expectModRevision: Number(object.metadata.resourceVersion), value: (revision) => serialize(marked, revision) }]);
    marked.metadata.resourceVersion = String(result.revision);
    return marked;
  }

  /**
   * Removes an object now, whatever its finalizers or grace period: how the
   * store's own controllers finish a graceful pod deletion or a namespace.
   */
  async remove(info: ResourceInfo, namespace: string | undefined, name: string): Promise<void> {
    const current = this.#cache.get(storageKey(info, namespace, name));
    if (current) await this.#remove(info, current.object, {});
  }

  /** Subscribes to changes; the callback gets each batch in revision order. Throws ApiError(410) for a compacted revision. */
  watch(info: ResourceInfo, request: WatchRequest, onEvents: (events: RegistryEvent[]) => void): { initial: RegistryEvent[]; revision: number; stop: () => void } {
    const prefix = storageListPrefix(info, request.namespace);
    const { filter } = request;
    let initial: RegistryEvent[] = [];
    let from = request.afterRevision;
    if (from === undefined) {
      const listed = this.#cache.list(prefix);
      from = listed.revision;
      initial = listed.items
        .filter((entry) => filter.matches(entry.object))
        .map((entry) => ({ type: 'ADDED', object: entry.object, revision: entry.modRevision }));
    }
    try {
      const handle = this.#cache.watch(prefix, from, (events) => {
        const visible = events.map((event) => filteredEvent(event, filter)).filter((event) => event !== undefined);
        if (visible.length > 0) onEvents(visible);
      });
      return { initial, revision: from, stop: () => handle.stop() };
    } catch (error) {
      if (error instanceof Compacted) throw errors.expired(error.message);
      throw error;
    }
  }

  async #replace(info: ResourceInfo, old: KubeObject, object: KubeObject, options: WriteOptions, expectModRevision: number): Promise<KubeObject> {
    const name = old.metadata.name as string;
    const next = this.#mergeSubresource(info, old, object, options.subresource);
    prepareForUpdate(next, old);
    if (old.metadata.deletionTimestamp) {
      const added = (next.metadata.finalizers ?? []).filter((f) => !(old.metadata.finalizers ?? []).includes(f));
      if (added.length > 0) {
        throw errors.invalid(info, name, `${info.kind} "${name}" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`, [
          { reason: 'FieldValueForbidden', message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`, field: 'metadata.finalizers' },
        ]);
      }
    }
    applyDefaults(info.kind, next, old);
    this.#validate(info, next, old);
    const release = options.subresource ? () => {} : this.#allocateIfService(info, next, old);
    try {
      if (options.dryRun) return next;
      const key = storageKey(info, next.metadata.namespace, name);
      // Removing the last finalizer from an object being deleted completes the deletion.
      if (old.metadata.deletionTimestamp && (next.metadata.finalizers?.length ?? 0) === 0 && info.resource !== 'namespaces') {
        const result = await this.#write(info, name, [{ op: 'delete', key, expectModRevision }]);
        this.#releaseIfService(info, old);
        next.metadata.resourceVersion = String(result.revision);
        return next;
      }
      const result = await this.#write(info, name, [{ op: 'update', key, expectModRevision, value: (revision) => serialize(next, revision) }]);
      next.metadata.resourceVersion = String(result.revision);
      return next;
    } catch (error) {
      release();
      throw error;
    } finally {
      if (options.dryRun) release();
    }
  }

  async #remove(info: ResourceInfo, object: KubeObject, options: DeleteOptions): Promise<KubeObject> {
    if (options.dryRun) return object;
    const name = object.metadata.name as string;
    const key = storageKey(info, object.metadata.namespace, name);
    const result = await this.#write(info, name, [{ op: 'delete', key, expectModRevision: Number(object.metadata.resourceVersion) }]);
    this.#releaseIfService(info, object);
    const deleted = clone(object);
    deleted.metadata.resourceVersion = String(result.revision);
    return deleted;
  }

  /** Commits one txn and waits until the watch cache has it, so the caller's next read sees its write. */
  async #write(info: ResourceInfo, name: string, ops: TxnOp[]): Promise<{ revision: number }> {
    const results = await this.#backend.txn(ops);
    // The op that failed carries the cause; its siblings only say they were aborted with it.
    const failed = results.find((result): result is Extract<WriteResult, { ok: false }> => !result.ok && result.reason !== 'aborted');
    if (failed) {
      if (failed.reason === 'exists') throw errors.alreadyExists(info, name);
      if (failed.reason === 'not-found') throw errors.notFound(info, name);
      throw errors.conflict(info, name);
    }
    const last = results[results.length - 1] as Extract<WriteResult, { ok: true }>;
    await this.#cache.waitForRevision(last.revision);
    return { revision: last.revision };
  }

  #checkIdentity(info: ResourceInfo, namespace: string | undefined, object: KubeObject): KubeObject {
    if (typeof object !== 'object' || object === null || Array.isArray(object)) throw errors.badRequest('the request body must be a JSON or YAML object');
    const apiVersion = apiVersionOf(info);
    if (object.kind !== undefined && object.kind !== info.kind) {
      throw errors.badRequest(`the kind of the object (${String(object.kind)}) does not match the resource (${info.kind})`);
    }
    if (object.apiVersion !== undefined && object.apiVersion !== apiVersion) {
      throw errors.badRequest(`the API version of the object (${String(object.apiVersion)}) does not match the resource (${apiVersion})`);
    }
    object.apiVersion = apiVersion;
    object.kind = info.kind;
    if (typeof object.metadata !== 'object' || object.metadata === null) object.metadata = {};
    if (info.namespaced) {
      const inBody = object.metadata.namespace;
      if (inBody && namespace && inBody !== namespace) {
        throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      object.metadata.namespace = namespace ?? inBody;
      if (!object.metadata.namespace) throw errors.badRequest('a namespace is required for namespaced resources');
    } else {
      delete object.metadata.namespace;
    }
    return object;
  }

  #requireActiveNamespace(info: ResourceInfo, namespace: string, name: string): void {
    const ns = this.#cache.get(`/registry/namespaces/${namespace}`);
    if (!ns) throw errors.namespaceNotFound(namespace);
    if (ns.object.metadata.deletionTimestamp) throw errors.namespaceTerminating(info, name, namespace);
  }

  #resetStatusOnCreate(info: ResourceInfo, object: KubeObject): void {
    // Status is written by controllers through /status; a client's status on create is ignored.
    // Services start with an empty loadBalancer status that the allocator may fill.
    if (info.resource === 'services') object.status = { loadBalancer: {} };
    else delete object.status;
  }

  #mergeSubresource(info: ResourceInfo, old: KubeObject, object: KubeObject, subresource: 'status' | undefined): KubeObject {
    if (!info.hasStatus) return object;
    if (subresource === 'status') {
      // A status write may change status only (and labels/annotations are kept from the stored object).
      const next = clone(old);
      next.status = object.status;
      next.metadata.resourceVersion = object.metadata.resourceVersion;
      return next;
    }
    const next = object;
    if (old.status === undefined) delete next.status;
    else next.status = clone(old.status);
    return next;
  }

  #applyPatch(info: ResourceInfo, current: KubeObject, type: PatchType, patch: unknown): KubeObject {
    try {
      if (type === 'json') return applyJsonPatch(current, patch) as KubeObject;
      if (type === 'merge') return applyMergePatch(current, patch) as KubeObject;
      return applyStrategicMergePatch(current, patch, strategicSchemaFor(apiVersionOf(info), info.kind)) as KubeObject;
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw errors.badRequest(error instanceof Error ? error.message : String(error));
    }
  }

  #validate(info: ResourceInfo, object: KubeObject, old?: KubeObject): void {
    const causes: StatusCause[] = validateObject(info, object, old);
    if (causes.length > 0) {
      const name = object.metadata.name ?? '';
      throw errors.invalid(info, name, invalidMessage(info.kind, name, causes), causes);
    }
  }

  #gracePeriod(info: ResourceInfo, object: KubeObject, requested: number | undefined): number {
    if (info.resource !== 'pods') return 0;
    const spec = object.spec as { nodeName?: string; terminationGracePeriodSeconds?: number } | undefined;
    const phase = (object.status as { phase?: string } | undefined)?.phase;
    // Only a pod bound to a node with an agent can finish a graceful deletion; others go at once.
    const nodeName = spec?.nodeName;
    if (!nodeName || phase === 'Succeeded' || phase === 'Failed') return 0;
    if (!this.#cache.get(`/registry/minions/${nodeName}`)) return 0;
    return Math.max(0, requested ?? spec?.terminationGracePeriodSeconds ?? 30);
  }

  #allocateIfService(info: ResourceInfo, object: KubeObject, old?: KubeObject): () => void {
    if (info.resource !== 'services') return () => {};
    const result = this.#allocator.allocate(object as Service, old as Service | undefined);
    if (!result.ok) {
      if (result.internal) throw errors.internal(result.internal);
      const name = object.metadata.name ?? '';
      throw errors.invalid(info, name, invalidMessage(info.kind, name, result.causes), result.causes);
    }
    Object.assign(object, result.service);
    return result.release;
  }

  #releaseIfService(info: ResourceInfo, object: KubeObject): void {
    if (info.resource === 'services') this.#allocator.releaseAll(object as Service);
  }
}

function serialize(object: KubeObject, revision: number): string {
  return JSON.stringify({ ...object, metadata: { ...object.metadata, resourceVersion: String(revision) } });
}

/** Maps a storage event through a selector: objects entering the selection are ADDED, leaving it DELETED. */
function filteredEvent(event: CacheEvent, filter: ObjectFilter): RegistryEvent | undefined {
  if (filter.everything) return { type: event.type, object: event.object, revision: event.revision };
  const now = event.type !== 'DELETED' && filter.matches(event.object);
  const before = event.prevObject !== undefined && filter.matches(event.prevObject);
  if (event.type === 'DELETED') return before || filter.matches(event.object) ? { type: 'DELETED', object: event.object, revision: event.revision } : undefined;
  if (now && before) return { type: 'MODIFIED', object: event.object, revision: event.revision };
  if (now) return { type: 'ADDED', object: event.object, revision: event.revision };
  if (before) return { type: 'DELETED', object: event.object, revision: event.revision };
  return undefined;
}
