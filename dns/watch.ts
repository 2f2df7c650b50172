/**
 * The watch stage: informers for Services, EndpointSlices, Namespaces (and
 * Pods in "verified" mode) turned into batches of slim view changes. Each
 * object is digested once here; the batches are plain data, so the same
 * stream feeds a Records view in this thread or, posted, in every worker.
 * Changes arriving together go out as one batch (one per event-loop turn),
 * stamped with the SOA serial (the Unix time of the change).
 */
import type { Logger } from '../common/logger.ts';
import type { EndpointSlice, KubeObject, Namespace, Pod, Service } from '../controlplane/api/types.ts';
import { Informer } from '../controlplane/client/informer.ts';
import { refs, type ApiClient } from '../controlplane/client/types.ts';
import type { PodsMode } from './answer.ts';
import { namespaceName, slimPod, slimService, slimSlice, type SlimSlice, type ViewBatch, type ViewChange } from './records.ts';

export interface WatchOptions {
  pods: PodsMode;
  logger: Logger;
  /** An object DNS cannot use: reported (an Event and a log line) and skipped. */
  report(object: KubeObject, reason: string, message: string): void;
  onBatch(batch: ViewBatch): void;
  now?: () => number;
}

function keyOf(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`;
}

export async function watchCluster(client: ApiClient, options: WatchOptions, signal: AbortSignal): Promise<void> {
  const now = options.now ?? Date.now;
  const logger = options.logger;
  let pending: ViewChange[] = [];
  let synced = false;
  let announced = false;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0 && (announced || !synced)) return;
    announced = synced;
    const batch = { changes: pending, serial: Math.floor(now() / 1000), synced };
    pending = [];
    options.onBatch(batch);
  };
  const push = (change: ViewChange) => {
    pending.push(change);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };

  const services = new Informer<Service>(client, refs.services, { logger });
  const slices = new Informer<EndpointSlice>(client, refs.endpointslices, { logger });
  const namespaces = new Informer<Namespace>(client, refs.namespaces, { logger });
  const pods = options.pods === 'verified' ? new Informer<Pod>(client, refs.pods, { logger }) : undefined;

  const setService = (service: Service) => {
    const slim = slimService(service);
    if (typeof slim === 'string') {
      options.report(service, 'InvalidService', `DNS skips this service: ${slim}`);
      push({ kind: 'service', key: keyOf(service), service: undefined });
      return;
    }
    push({ kind: 'service', key: keyOf(service), service: slim });
  };
  services.on({ add: setService, update: (_old, service) => setService(service), delete: (service) => push({ kind: 'service', key: keyOf(service), service: undefined }) });

  const sliceChange = (slice: EndpointSlice, value: SlimSlice | undefined): ViewChange | undefined => {
    const owner = slimSlice(slice);
    return owner ? { kind: 'slice', namespace: owner.namespace, name: owner.name, service: owner.service, slice: value } : undefined;
  };
  slices.on({
    add: (slice) => {
      const change = sliceChange(slice, slimSlice(slice));
      if (change) push(change);
    },
    update: (old, slice) => {
      // A slice that changed owners leaves the old service first.
      const before = slimSlice(old);
      const after = slimSlice(slice);
      if (before && before.service !== after?.service) push({ kind: 'slice', namespace: before.namespace, name: before.name, service: before.service, slice: undefined });
      const change = sliceChange(slice, after);
      if (change) push(change);
    },
    delete: (slice) => {
      const change = sliceChange(slice, undefined);
      if (change) push(change);
    },
  });

  namespaces.on({
    add: (namespace) => push({ kind: 'namespace', name: namespaceName(namespace), present: true }),
    delete: (namespace) => push({ kind: 'namespace', name: namespaceName(namespace), present: false }),
  });

  pods?.on({
    add: (pod) => push({ kind: 'pod', key: keyOf(pod), pod: slimPod(pod) }),
    update: (_old, pod) => push({ kind: 'pod', key: keyOf(pod), pod: slimPod(pod) }),
    delete: (pod) => push({ kind: 'pod', key: keyOf(pod), pod: undefined }),
  });

  const informers = [services, slices, namespaces, ...(pods ? [pods] : [])];
  const running = informers.map((informer) => informer.start(signal));
  const allSynced = await Promise.all(informers.map((informer) => informer.waitForSync(signal)));
  if (allSynced.every(Boolean)) {
    synced = true;
    flush();
    logger.info({ services: services.list().length, endpointSlices: slices.list().length, namespaces: namespaces.list().length, ...(pods ? { pods: pods.list().length } : {}) }, 'cluster view synced');
  }
  await Promise.all(running);
}
