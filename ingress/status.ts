/**
 * status.loadBalancer.ingress for the Ingresses this controller owns, and
 * only those: an Ingress of another class, or of none we serve, is never
 * written to, not even to clear what we once wrote (its new owner publishes).
 *
 * The comparison is pure (statusUpdates); StatusPublisher is the edge: one
 * merge patch of the status subresource per Ingress whose status differs,
 * at most one in flight per Ingress, and a retry after a failed write.
 */
import { isIP } from 'node:net';
import type { Logger } from '../common/logger.ts';
import type { Ingress, LoadBalancerIngress } from '../controlplane/api/types.ts';
import { objectKey } from '../controlplane/client/informer.ts';
import { refs, type ApiClient } from '../controlplane/client/types.ts';
import type { IngressMetrics } from './metrics.ts';

export function loadBalancerIngress(addresses: readonly string[]): LoadBalancerIngress[] {
  return addresses.map((address) => (isIP(address) === 0 ? { hostname: address } : { ip: address }));
}

function canonical(entries: readonly LoadBalancerIngress[] | undefined): string {
  return JSON.stringify((entries ?? []).map((entry) => [entry.ip ?? '', entry.hostname ?? '']).sort());
}

/** The owned Ingresses whose published addresses differ from `desired`; nothing when there is nothing to publish. */
export function statusUpdates(owned: readonly Ingress[], desired: readonly LoadBalancerIngress[]): Ingress[] {
  if (desired.length === 0) return [];
  const want = canonical(desired);
  return owned.filter((ingress) => canonical(ingress.status?.loadBalancer?.ingress) !== want);
}

const retryDelayMs = 5_000;

export class StatusPublisher {
  readonly #client: ApiClient;
  readonly #metrics: IngressMetrics;
  readonly #logger: Logger;
  readonly #retry: () => void;
  readonly #inFlight = new Map<string, Promise<void>>();
  #retryTimer: NodeJS.Timeout | undefined;

  /** `retry` asks for another sync, which recomputes what still differs. */
  constructor(client: ApiClient, metrics: IngressMetrics, logger: Logger, retry: () => void) {
    this.#client = client;
    this.#metrics = metrics;
    this.#logger = logger;
    this.#retry = retry;
  }

  publish(owned: readonly Ingress[], desired: readonly LoadBalancerIngress[]): void {
    for (const ingress of statusUpdates(owned, desired)) {
      const key = objectKey(ingress);
      if (this.#inFlight.has(key)) continue;
      const write = this.#write(ingress, desired).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, write);
    }
  }

  /** Waits for writes in flight and cancels a pending retry (shutdown). */
  async stop(): Promise<void> {
    clearTimeout(this.#retryTimer);
    await Promise.all(this.#inFlight.values());
  }

  async #write(ingress: Ingress, desired: readonly LoadBalancerIngress[]): Promise<void> {
    const { namespace, name } = ingress.metadata;
    try {
      await this.#client.patch({ ...refs.ingresses, namespace }, name ?? '', 'merge', { status: { loadBalancer: { ingress: desired } } }, { subresource: 'status' });
      this.#metrics.statusUpdates.inc({ result: 'success' });
      this.#logger.debug({ namespace, name, addresses: desired }, 'published ingress status');
    } catch (error) {
      this.#metrics.statusUpdates.inc({ result: 'error' });
      this.#logger.warn({ err: error, namespace, name }, 'cannot publish ingress status; retrying');
      this.#retryTimer ??= setTimeout(() => {
        this.#retryTimer = undefined;
        this.#retry();
      }, retryDelayMs);
    }
  }
}
