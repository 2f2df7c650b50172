/**
 * Finishes the deletions the API only starts: a pod deleted with a grace
 * period is removed when the grace period ends (if its kubelet has not
 * confirmed sooner), and a terminating namespace is emptied and then removed,
 * as kube-controller-manager's namespace controller does.
 */
import { findResource, resources, type ResourceInfo } from '../api/resources.ts';
import type { KubeObject } from '../api/types.ts';
import type { Logger } from '../../common/logger.ts';
import { everything } from '../registry/filter.ts';
import type { Registry, RegistryEvent } from '../registry/store.ts';

const namespaces = findResource('', 'v1', 'namespaces') as ResourceInfo;
const pods = findResource('', 'v1', 'pods') as ResourceInfo;
const namespacedResources = resources.filter((info) => info.namespaced);
/** A namespace whose contents have finalizers is retried at this pace until they are gone. */
const namespaceRetryMs = 1000;

export class LifecycleController {
  readonly #registry: Registry;
  readonly #logger: Logger;
  readonly #podTimers = new Map<string, NodeJS.Timeout>();
  readonly #emptying = new Set<string>();
  readonly #stops: (() => void)[] = [];
  #stopped = false;

  constructor(registry: Registry, logger: Logger) {
    this.#registry = registry;
    this.#logger = logger;
  }

  start(): void {
    this.#follow(pods, (object, deleted) => this.#onPod(object, deleted));
    this.#follow(namespaces, (object, deleted) => this.#onNamespace(object, deleted));
  }

  stop(): void {
    this.#stopped = true;
    for (const stop of this.#stops) stop();
    for (const timer of this.#podTimers.values()) clearTimeout(timer);
    this.#podTimers.clear();
  }

  #follow(info: ResourceInfo, onObject: (object: KubeObject, deleted: boolean) => void): void {
    const handle = this.#registry.watch(info, { filter: everything }, (events: RegistryEvent[]) => {
      for (const event of events) onObject(event.object, event.type === 'DELETED');
    });
    for (const event of handle.initial) onObject(event.object, false);
    this.#stops.push(handle.stop);
  }

  #onPod(pod: KubeObject, deleted = false): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const deletionTimestamp = pod.metadata.deletionTimestamp;
    if (deleted || !deletionTimestamp || (pod.metadata.finalizers?.length ?? 0) > 0) {
      clearTimeout(this.#podTimers.get(key));
      this.#podTimers.delete(key);
      return;
    }
    if (this.#podTimers.has(key)) return;
    const delay = Math.max(0, Date.parse(deletionTimestamp) - Date.now());
    this.#podTimers.set(
      key,
      setTimeout(() => {
        this.#podTimers.delete(key);
        this.#registry.remove(pods, pod.metadata.namespace, pod.metadata.name as string).catch((error: unknown) => {
          this.#logger.warn({ err: error, pod: key }, 'could not finish a graceful pod deletion');
        });
      }, delay),
    );
  }

  #onNamespace(namespace: KubeObject, deleted = false): void {
    const name = namespace.metadata.name as string;
    if (deleted || !namespace.metadata.deletionTimestamp || this.#emptying.has(name)) return;
    this.#emptying.add(name);
    void this.#empty(name).finally(() => this.#emptying.delete(name));
  }

  async #empty(namespace: string): Promise<void> {
    while (!this.#stopped) {
      let remaining = 0;
      for (const info of namespacedResources) {
        const { items } = this.#registry.list(info, namespace, everything);
        remaining += items.length;
        for (const item of items) {
          if (item.metadata.deletionTimestamp && (item.metadata.finalizers?.length ?? 0) > 0) continue;
          await this.#registry.delete(info, namespace, item.metadata.name as string, { gracePeriodSeconds: 0 }).catch(() => {});
          if (info === pods) await this.#registry.remove(info, namespace, item.metadata.name as string).catch(() => {});
        }
      }
      if (remaining === 0) {
        await this.#registry.remove(namespaces, undefined, namespace);
        this.#logger.info({ namespace }, 'namespace deleted');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, namespaceRetryMs));
    }
  }
}
