/**
 * The ApiClient contract served in process by the registry, so the store's
 * own controllers use the same informer and client code as the agents do
 * over HTTP, without a socket in between.
 */
import { apiVersionOf, findResource, type ResourceInfo } from '../api/resources.ts';
import type { KubeList, KubeObject, Status, WatchEvent } from '../api/types.ts';
import { ApiError, errors } from '../api/status.ts';
import { ApiStatusError, type ApiClient, type ListOptions, type PatchType, type ResourceRef, type WatchOptions } from '../client/types.ts';
import { objectFilter } from './filter.ts';
import type { Registry } from './store.ts';

function resourceInfo(ref: ResourceRef): ResourceInfo {
  const info = findResource(ref.group, ref.version, ref.resource);
  if (!info) throw errors.pathNotFound(`${ref.group}/${ref.version}/${ref.resource}`);
  return info;
}

// Callers get the same error type as from the HTTP client.
async function translated<T>(call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiError) throw new ApiStatusError(error.status);
    throw error;
  }
}

export function createLocalClient(registry: Registry): ApiClient {
  const namespaceOf = (ref: ResourceRef, object?: KubeObject) => ref.namespace ?? object?.metadata.namespace;
  return {
    list<T extends KubeObject>(ref: ResourceRef, options: ListOptions = {}) {
      return translated(() => {
        const info = resourceInfo(ref);
        const { items, revision } = registry.list(info, ref.namespace, objectFilter(info, options.labelSelector, options.fieldSelector));
        return { apiVersion: apiVersionOf(info), kind: `${info.kind}List`, metadata: { resourceVersion: String(revision) }, items: items as T[] } satisfies KubeList<T>;
      });
    },
    watch<T extends KubeObject>(ref: ResourceRef, options: WatchOptions, onEvent: (event: WatchEvent<T | Status>) => void) {
      return translated(
        () =>
          new Promise<void>((resolve) => {
            const info = resourceInfo(ref);
            const filter = objectFilter(info, options.labelSelector, options.fieldSelector);
            const afterRevision = options.resourceVersion && options.resourceVersion !== '0' ? Number(options.resourceVersion) : undefined;
            let handle: ReturnType<Registry['watch']>;
            try {
              handle = registry.watch(info, { filter, afterRevision, ...(ref.namespace !== undefined ? { namespace: ref.namespace } : {}) }, (events) => {
                for (const event of events) onEvent({ type: event.type, object: event.object as T });
              });
            } catch (error) {
              if (!(error instanceof ApiError)) throw error;
              onEvent({ type: 'ERROR', object: error.status });
              resolve();
              return;
            }
            for (const event of handle.initial) onEvent({ type: event.type, object: event.object as T });
            const finish = () => {
              clearTimeout(timer);
              handle.stop();
              resolve();
            };
            const timer = setTimeout(finish, (options.timeoutSeconds ?? 1800) * 1000);
            options.signal?.addEventListener('abort', finish, { once: true });
          }),
      );
    },
    get<T extends KubeObject>(ref: ResourceRef, name: string) {
      return translated(() => registry.get(resourceInfo(ref), ref.namespace, name) as T);
    },
    create<T extends KubeObject>(ref: ResourceRef, object: T) {
      return translated(async () => (await registry.create(resourceInfo(ref), namespaceOf(ref, object), object)) as T);
    },
    update<T extends KubeObject>(ref: ResourceRef, object: T) {
      return translated(async () => (await registry.update(resourceInfo(ref), namespaceOf(ref, object), object.metadata.name as string, object)) as T);
    },
    updateStatus<T extends KubeObject>(ref: ResourceRef, object: T) {
      return translated(async () => (await registry.update(resourceInfo(ref), namespaceOf(ref, object), object.metadata.name as string, object, { subresource: 'status' })) as T);
    },
    patch<T extends KubeObject>(ref: ResourceRef, name: string, type: PatchType, patch: unknown, options: { subresource?: 'status' } = {}) {
      return translated(async () => (await registry.patch(resourceInfo(ref), ref.namespace, name, type, patch, options)) as T);
    },
    delete(ref: ResourceRef, name: string) {
      return translated(async () => {
        await registry.delete(resourceInfo(ref), ref.namespace, name);
      });
    },
  };
}
