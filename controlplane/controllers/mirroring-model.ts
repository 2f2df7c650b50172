/**
 * EndpointSlice mirroring as pure functions, after upstream's
 * pkg/controller/endpointslicemirroring: a selectorless Service whose
 * Endpoints someone wrote by hand gets EndpointSlices saying the same, so
 * slice readers (the proxy, DNS) see those backends too.
 */
import type { Endpoint, EndpointAddress, EndpointPort, Endpoints, EndpointSlice, Service } from '../api/types.ts';
import { repackSubsets } from './endpoints-model.ts';
import {
  addressTypeOf,
  hasSelector,
  labelManagedBy,
  labelServiceName,
  portsKey,
  reconcileWithTemplate,
  type DesiredSlice,
  type SliceChanges,
  type SliceTemplate,
} from './endpointslice-model.ts';

export const mirroringControllerName = 'endpointslicemirroring-controller.k8s.io';
/** Upstream's default mirroringMaxEndpointsPerSubset: addresses past it are not mirrored. */
export const maxMirroredPerSubset = 1000;
export const labelSkipMirror = 'endpointslice.kubernetes.io/skip-mirror';
/** Endpoints used as a leader-election lock carry this; they are not backends. */
export const annotationLeaderElection = 'control-plane.alpha.kubernetes.io/leader';
const annotationLastChangeTriggerTime = 'endpoints.kubernetes.io/last-change-trigger-time';
const annotationLastApplied = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Mirrored only when the Service exists without a selector (with one, the
 * Endpoints belongs to the Endpoints controller and the slices to the
 * EndpointSlice controller) and the Endpoints neither opts out with
 * skip-mirror nor is a leader-election lock.
 */
export function shouldMirror(service: Service | undefined, endpoints: Endpoints | undefined): boolean {
  if (!service || !endpoints || hasSelector(service)) return false;
  if (endpoints.metadata.labels?.[labelSkipMirror] === 'true') return false;
  return endpoints.metadata.annotations?.[annotationLeaderElection] === undefined;
}

function addressToEndpoint(address: EndpointAddress, ready: boolean): Endpoint {
  const endpoint: Endpoint = { addresses: [address.ip], conditions: { ready } };
  if (address.targetRef) endpoint.targetRef = { ...address.targetRef };
  if (address.nodeName) endpoint.nodeName = address.nodeName;
  if (address.hostname) endpoint.hostname = address.hostname;
  return endpoint;
}

/**
 * The slices an Endpoints object mirrors to: its canonical subsets, each split
 * by address type, ready addresses first and at most 1000 per subset;
 * addresses that are not IPs are skipped.
 */
export function desiredMirroredSlices(endpoints: Endpoints): DesiredSlice[] {
  const groups = new Map<string, DesiredSlice>();
  for (const subset of repackSubsets(endpoints.subsets ?? [])) {
    const ports = (subset.ports ?? []).map((port) => {
      const mirrored: EndpointPort = { name: port.name ?? '', port: port.port ?? 0, protocol: port.protocol ?? 'TCP' };
      if (port.appProtocol !== undefined) mirrored.appProtocol = port.appProtocol;
      return mirrored;
    });
    const candidates = [
      ...(subset.addresses ?? []).map((address) => ({ address, ready: true })),
      ...(subset.notReadyAddresses ?? []).map((address) => ({ address, ready: false })),
    ];
    let mirrored = 0;
    for (const { address, ready } of candidates) {
      if (mirrored >= maxMirroredPerSubset) break;
      const addressType = addressTypeOf(address.ip);
      if (!addressType) continue;
      const key = `${addressType}|${portsKey(ports)}`;
      const group = groups.get(key) ?? { addressType, ports, endpoints: [] };
      group.endpoints.push(addressToEndpoint(address, ready));
      groups.set(key, group);
      mirrored++;
    }
  }
  return [...groups.values()];
}

/** Labels and annotations are the Endpoints' own (minus bookkeeping ones); the Endpoints is the owner. */
export function mirrorSliceTemplate(endpoints: Endpoints): SliceTemplate {
  const name = endpoints.metadata.name ?? '';
  const labels: Record<string, string> = { ...endpoints.metadata.labels };
  labels[labelServiceName] = name;
  labels[labelManagedBy] = mirroringControllerName;
  const annotations: Record<string, string> = { ...endpoints.metadata.annotations };
  delete annotations[annotationLastChangeTriggerTime];
  delete annotations[annotationLastApplied];
  return {
    namespace: endpoints.metadata.namespace ?? '',
    generateName: `${name}-`,
    labels,
    annotations,
    owner: { apiVersion: 'v1', kind: 'Endpoints', name, uid: endpoints.metadata.uid ?? '', controller: true, blockOwnerDeletion: true },
    maxEndpoints: maxMirroredPerSubset,
    allowCreate: !endpoints.metadata.deletionTimestamp,
  };
}

/**
 * Writes that make the mirrored slices (those labelled managed-by the
 * mirroring controller among `existing`) match the Endpoints, or delete them
 * all when it should not be mirrored (no Service, a selector Service, no
 * Endpoints, skip-mirror).
 */
export function mirroredSlices(service: Service | undefined, endpoints: Endpoints | undefined, existing: EndpointSlice[]): SliceChanges {
  if (!endpoints || !shouldMirror(service, endpoints)) {
    return { create: [], update: [], delete: existing.filter((slice) => slice.metadata.labels?.[labelManagedBy] === mirroringControllerName) };
  }
  return reconcileWithTemplate(mirrorSliceTemplate(endpoints), desiredMirroredSlices(endpoints), existing);
}
