/**
 * Encoded answers per question, kept until something they were built from
 * changes. Building an answer records every key of the view it read
 * (service, namespace, pod IP, reverse IP); a change to the view returns the
 * keys it touched, and only the answers that read one of them are dropped.
 * So a busy cluster's endpoint churn leaves the answers of every other
 * service warm.
 */
import { depKey, type ClusterView, type ServiceRecord } from './records.ts';
import type { Encoded } from './packet.ts';

interface Entry {
  encoded: Encoded;
  deps: readonly string[];
}

/** A view that notes the dependency key of every read into `deps`. */
export function trackingView(view: ClusterView, deps: Set<string>): ClusterView {
  return {
    get synced() {
      return view.synced;
    },
    get serial() {
      return view.serial;
    },
    namespaceExists(namespace: string): boolean {
      deps.add(depKey.namespace(namespace));
      return view.namespaceExists(namespace);
    },
    service(namespace: string, name: string): ServiceRecord | undefined {
      deps.add(depKey.service(namespace, name));
      return view.service(namespace, name);
    },
    podHasIp(namespace: string, ip: string): boolean {
      deps.add(depKey.pod(namespace, ip));
      return view.podHasIp(namespace, ip);
    },
    reverse(ip: string): readonly string[] {
      deps.add(depKey.ip(ip));
      return view.reverse(ip);
    },
  };
}

export class AnswerCache {
  readonly #capacity: number;
  readonly #entries = new Map<string, Entry>();
  readonly #byDep = new Map<string, Set<string>>();

  /** Past `capacity` entries the oldest goes first: random names (ndots search paths, scans) cannot grow it without bound. */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): Encoded | undefined {
    return this.#entries.get(key)?.encoded;
  }

  set(key: string, encoded: Encoded, deps: Iterable<string>): void {
    this.#delete(key);
    if (this.#entries.size >= this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#delete(oldest.value);
    }
    const list = [...deps];
    this.#entries.set(key, { encoded, deps: list });
    for (const dep of list) {
      let keys = this.#byDep.get(dep);
      if (!keys) this.#byDep.set(dep, (keys = new Set()));
      keys.add(key);
    }
  }

  /** Drops every answer that read one of `deps`; returns how many. */
  invalidate(deps: Iterable<string>): number {
    let dropped = 0;
    for (const dep of deps) {
      const keys = this.#byDep.get(dep);
      if (!keys) continue;
      for (const key of [...keys]) {
        this.#delete(key);
        dropped += 1;
      }
    }
    return dropped;
  }

  clear(): void {
    this.#entries.clear();
    this.#byDep.clear();
  }

  #delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    for (const dep of entry.deps) {
      const keys = this.#byDep.get(dep);
      keys?.delete(key);
      if (keys?.size === 0) this.#byDep.delete(dep);
    }
  }
}
