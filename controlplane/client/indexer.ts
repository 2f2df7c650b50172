/**
 * Secondary indexes over an informer's store, as client-go's Indexer keeps
 * them: each index maps a value (say "namespace/service-name") to the keys
 * of the objects that produce it, so a controller finds "the slices of this
 * Service" without scanning every slice in the cluster.
 */

/** The values an object is filed under in one index (often exactly one). */
export type IndexFunc<T> = (object: T) => string[];

export type Indexers<T> = Record<string, IndexFunc<T>>;

export class Indexer<T> {
  readonly #funcs: Indexers<T>;
  readonly #indexes = new Map<string, Map<string, Set<string>>>();

  constructor(funcs: Indexers<T>) {
    this.#funcs = funcs;
    for (const name of Object.keys(funcs)) this.#indexes.set(name, new Map());
  }

  /** Files an object under its values, replacing what `previous` (the same key's old version) was filed under. */
  update(key: string, object: T, previous?: T): void {
    if (previous !== undefined) this.remove(key, previous);
    for (const [name, func] of Object.entries(this.#funcs)) {
      const index = this.#indexes.get(name) as Map<string, Set<string>>;
      for (const value of func(object)) {
        let keys = index.get(value);
        if (!keys) index.set(value, (keys = new Set()));
        keys.add(key);
      }
    }
  }

  remove(key: string, object: T): void {
    for (const [name, func] of Object.entries(this.#funcs)) {
      const index = this.#indexes.get(name) as Map<string, Set<string>>;
      for (const value of func(object)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }

  clear(): void {
    for (const index of this.#indexes.values()) index.clear();
  }

  /** The keys filed under value in the named index; throws for an index that was never declared. */
  keys(name: string, value: string): ReadonlySet<string> {
    const index = this.#indexes.get(name);
    if (!index) throw new Error(`no index named "${name}"`);
    return index.get(value) ?? new Set();
  }
}

/** The index almost every controller wants: objects by namespace. */
export const byNamespace = <T extends { metadata: { namespace?: string } }>(object: T): string[] => [object.metadata.namespace ?? ''];
