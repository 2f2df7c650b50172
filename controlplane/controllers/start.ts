/**
 * Runs the store's endpoint controllers (EndpointSlices, Endpoints and
 * mirroring) on informers over the given client, as kube-controller-manager
 * runs them against kube-apiserver. Resolves when the signal aborts and
 * everything has stopped.
 */
import type { Logger } from '../../common/logger.ts';
import type { Endpoints, EndpointSlice, Pod, Service } from '../api/types.ts';
import { Informer } from '../client/informer.ts';
import { refs, type ApiClient } from '../client/types.ts';
import { EndpointsController, endpointsControllerIndexers as indexers } from './endpoints-controller.ts';

export async function startEndpointsControllers(client: ApiClient, logger: Logger, signal: AbortSignal): Promise<void> {
  const informers = {
    services: new Informer<Service>(client, refs.services, { logger, indexers: indexers.services }),
    pods: new Informer<Pod>(client, refs.pods, { logger, indexers: indexers.pods }),
    endpointSlices: new Informer<EndpointSlice>(client, refs.endpointslices, { logger, indexers: indexers.endpointSlices }),
    endpoints: new Informer<Endpoints>(client, refs.endpoints, { logger, indexers: indexers.endpoints }),
  };
  const running = Object.values(informers).map((informer) => informer.start(signal));
  const controller = new EndpointsController({ client, logger, informers, workers: 2 });
  await Promise.all([controller.run(signal), ...running]);
}
