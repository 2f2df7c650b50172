/**
 * Connections to endpoints: one undici Pool per endpoint (and connect
 * timeout), kept alive across requests and route-table swaps, and a
 * round-robin cursor per backend. Pools of endpoints that left the table
 * are closed gracefully: requests already on them finish first.
 */
import { Pool } from 'undici';
import type { Backend, Endpoint, RouteTable } from './routes.ts';

/**
 * Keep-alive as ingress-nginx's upstream defaults (60 s idle), shortened by
 * undici to whatever the backend announces in Keep-Alive: timeout=N (Node
 * servers say 5 s), so the proxy never reuses a socket the backend is closing.
 */
const poolOptions = {
  pipelining: 1,
  keepAliveTimeout: 60_000,
  keepAliveMaxTimeout: 600_000,
} as const;

export class Upstreams {
  readonly #pools = new Map<string, Pool>();
  readonly #cursors = new Map<string, number>();

  /** The next endpoint of the backend in turn, skipping `tried`; undefined when none is left. */
  pick(backend: Backend, tried?: ReadonlySet<string>): Endpoint | undefined {
    const endpoints = backend.endpoints;
    const count = endpoints.length;
    const start = this.#cursors.get(backend.key) ?? 0;
    for (let offset = 0; offset < count; offset++) {
      const index = (start + offset) % count;
      const endpoint = endpoints[index] as Endpoint;
      if (tried?.has(endpoint.origin)) continue;
      this.#cursors.set(backend.key, index + 1);
      return endpoint;
    }
    return undefined;
  }

  pool(endpoint: Endpoint, connectTimeoutMs: number): Pool {
    const key = `${endpoint.origin} ${connectTimeoutMs}`;
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = new Pool(endpoint.origin, { ...poolOptions, connect: { timeout: connectTimeoutMs } });
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /** Closes pools for endpoints the new table no longer has, and forgets cursors of backends it dropped. */
  retain(table: RouteTable): void {
    const origins = new Set<string>();
    for (const backend of table.backends.values()) for (const endpoint of backend.endpoints) origins.add(endpoint.origin);
    for (const [key, pool] of this.#pools) {
      if (origins.has(key.slice(0, key.indexOf(' ')))) continue;
      this.#pools.delete(key);
      void pool.close().catch(() => undefined);
    }
    for (const key of this.#cursors.keys()) if (!table.backends.has(key)) this.#cursors.delete(key);
  }

  /** Waits for requests in flight on every pool, then closes their connections. */
  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.close().catch(() => undefined)));
  }

  /** Closes every connection now, failing requests still in flight. */
  async destroy(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy().catch(() => undefined)));
  }
}
