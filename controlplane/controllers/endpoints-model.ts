/**
 * The legacy Endpoints controller as pure functions, after upstream's
 * pkg/controller/endpoint/endpoints_controller.go and the canonical subset
 * layout of pkg/api/v1/endpoints (RepackSubsets): one Endpoints object per
 * selector Service, named after it.
 */
import { isDeepStrictEqual } from 'node:util';
import type { EndpointAddress, EndpointPort, Endpoints, EndpointSubset, ObjectMeta, Pod, Service } from '../api/types.ts';
import {
  addressTypeOf,
  findPort,
  isPodReady,
  isServiceIPSet,
  labelHeadless,
  podIPs,
  podReference,
  selectedPods,
  servesPodEndpoints,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from './endpointslice-model.ts';

/** Upstream maxCapacity: beyond this many addresses an Endpoints object is truncated. */
export const maxEndpointsAddresses = 1000;
export const endpointsControllerName = 'endpoint-controller';
/** Marks Endpoints the controller wrote, so hand-written ones are never deleted with their Service. */
export const labelEndpointsManagedBy = 'endpoints.kubernetes.io/managed-by';
export const annotationOverCapacity = 'endpoints.kubernetes.io/over-capacity';

export function isControllerManagedEndpoints(endpoints: Endpoints): boolean {
  return endpoints.metadata.labels?.[labelEndpointsManagedBy] === endpointsControllerName;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The one IP of the pod this service publishes: the first of the service's
 * IP families (its cluster IP's family before families are defaulted; for a
 * headless service without families, the family of the pod's primary IP).
 */
function podIPForService(service: Service, pod: Pod): string | undefined {
  const ips = podIPs(pod);
  let family = service.spec.ipFamilies?.[0];
  if (family === undefined) family = (isServiceIPSet(service) ? addressTypeOf(service.spec.clusterIP as string) : addressTypeOf(ips[0] ?? '')) ?? 'IPv4';
  return ips.find((ip) => addressTypeOf(ip) === family);
}

function endpointsPort(name: string | undefined, port: number, protocol: EndpointPort['protocol'], appProtocol: string | undefined): EndpointPort {
  const result: EndpointPort = { port, protocol: protocol ?? 'TCP' };
  if (name) result.name = name;
  if (appProtocol !== undefined) result.appProtocol = appProtocol;
  return result;
}

function portIdentity(port: EndpointPort): string {
  return JSON.stringify([port.name ?? '', port.port ?? 0, port.protocol ?? 'TCP', port.appProtocol ?? '']);
}

function addressIdentity(address: EndpointAddress): string {
  return JSON.stringify([address.ip, address.targetRef?.uid ?? '']);
}

function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  return compareStrings(a.ip, b.ip) || compareStrings(a.targetRef?.uid ?? '', b.targetRef?.uid ?? '');
}

/**
 * The canonical layout of a list of subsets (upstream RepackSubsets): every
 * port maps to the addresses that offer it (an address not ready on any
 * subset stays not ready), ports with identical address sets share a subset,
 * and addresses, ports and subsets are sorted. Two lists that say the same
 * thing repack to equal values.
 */
export function repackSubsets(subsets: EndpointSubset[]): EndpointSubset[] {
  const addresses = new Map<string, EndpointAddress>();
  const portMembers = new Map<string, { port: EndpointPort | undefined; ready: Map<string, boolean> }>();
  const record = (port: EndpointPort | undefined, address: EndpointAddress, ready: boolean) => {
    const addressKey = addressIdentity(address);
    if (!addresses.has(addressKey)) addresses.set(addressKey, address);
    const portKey = port ? portIdentity(port) : '';
    const entry = portMembers.get(portKey) ?? { port, ready: new Map<string, boolean>() };
    if (entry.ready.get(addressKey) !== false) entry.ready.set(addressKey, ready);
    portMembers.set(portKey, entry);
  };
  for (const subset of subsets) {
    const ports: (EndpointPort | undefined)[] = subset.ports?.length ? subset.ports : [undefined];
    for (const port of ports) {
      for (const address of subset.addresses ?? []) record(port, address, true);
      for (const address of subset.notReadyAddresses ?? []) record(port, address, false);
    }
  }

  const groups = new Map<string, { ports: EndpointPort[]; ready: Map<string, boolean> }>();
  for (const { port, ready } of portMembers.values()) {
    const membersKey = JSON.stringify([...ready].sort(([a], [b]) => compareStrings(a, b)));
    const group = groups.get(membersKey) ?? { ports: [], ready };
    // A portless entry (headless without ports) only keeps its addresses alive; it adds no port.
    if (port) group.ports.push(port);
    groups.set(membersKey, group);
  }

  const repacked: EndpointSubset[] = [];
  for (const { ports, ready } of groups.values()) {
    const readyAddresses: EndpointAddress[] = [];
    const notReadyAddresses: EndpointAddress[] = [];
    for (const [key, isReady] of ready) (isReady ? readyAddresses : notReadyAddresses).push(addresses.get(key) as EndpointAddress);
    const subset: EndpointSubset = {};
    if (readyAddresses.length > 0) subset.addresses = readyAddresses.sort(compareAddresses);
    if (notReadyAddresses.length > 0) subset.notReadyAddresses = notReadyAddresses.sort(compareAddresses);
    if (ports.length > 0) subset.ports = ports.sort((a, b) => compareStrings(portIdentity(a), portIdentity(b)));
    repacked.push(subset);
  }
  const subsetKey = (subset: EndpointSubset) => JSON.stringify([(subset.ports ?? []).map(portIdentity), [...(subset.addresses ?? []), ...(subset.notReadyAddresses ?? [])].map(addressIdentity)]);
  return repacked.sort((a, b) => compareStrings(subsetKey(a), subsetKey(b)));
}

/**
 * Upstream truncateEndpoints: keeps at most 1000 addresses, ready ones first,
 * each subset keeping its share (rounded up) of what survives.
 */
function truncate(subsets: EndpointSubset[]): { subsets: EndpointSubset[]; truncated: boolean } {
  let totalReady = 0;
  let totalNotReady = 0;
  for (const subset of subsets) {
    totalReady += subset.addresses?.length ?? 0;
    totalNotReady += subset.notReadyAddresses?.length ?? 0;
  }
  if (totalReady + totalNotReady <= maxEndpointsAddresses) return { subsets, truncated: false };

  const truncateReady = totalReady > maxEndpointsAddresses;
  const limit = truncateReady ? maxEndpointsAddresses : maxEndpointsAddresses - totalReady;
  const total = truncateReady ? totalReady : totalNotReady;
  let canBeAdded = limit;
  const result = subsets.map((subset) => {
    const inSubset = (truncateReady ? subset.addresses : subset.notReadyAddresses)?.length ?? 0;
    const share = Math.min(Math.ceil((inSubset / total) * limit), canBeAdded);
    const next: EndpointSubset = { ...subset };
    if (truncateReady) {
      next.addresses = (subset.addresses ?? []).slice(0, share);
      delete next.notReadyAddresses;
      canBeAdded -= next.addresses.length;
    } else {
      next.notReadyAddresses = (subset.notReadyAddresses ?? []).slice(0, share);
      canBeAdded -= next.notReadyAddresses.length;
    }
    if (next.addresses?.length === 0) delete next.addresses;
    if (next.notReadyAddresses?.length === 0) delete next.notReadyAddresses;
    return next;
  });
  return { subsets: result, truncated: true };
}

/**
 * The Endpoints object a selector Service should have, or undefined for a
 * selectorless or ExternalName service (those are written by hand). Ready
 * pods (all of them with publishNotReadyAddresses) are `addresses`, the rest
 * `notReadyAddresses`; terminating pods are left out unless
 * publishNotReadyAddresses. A pod that can't resolve a named port is left out
 * of that port only. Labels are the service's plus the headless and
 * managed-by markers.
 */
export function desiredEndpoints(service: Service, pods: Pod[]): Endpoints | undefined {
  if (!servesPodEndpoints(service)) return undefined;
  const publishNotReady = service.spec.publishNotReadyAddresses === true;
  const servicePorts = service.spec.ports ?? [];
  const headless = service.spec.clusterIP === 'None';

  const raw: EndpointSubset[] = [];
  for (const pod of selectedPods(service, pods)) {
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
    const ip = podIPForService(service, pod);
    if (ip === undefined) continue;
    const address: EndpointAddress = { ip, targetRef: podReference(pod) };
    if (pod.spec.nodeName) address.nodeName = pod.spec.nodeName;
    if (shouldSetHostname(pod, service)) address.hostname = pod.spec.hostname as string;
    const ready = publishNotReady || isPodReady(pod);
    const subsetOf = (ports: EndpointPort[]): EndpointSubset => (ready ? { addresses: [address], ports } : { notReadyAddresses: [address], ports });

    // Only a headless service may have no ports; its pods are then published by address alone.
    if (servicePorts.length === 0) {
      if (headless) raw.push(subsetOf([]));
      continue;
    }
    for (const servicePort of servicePorts) {
      const port = findPort(pod, servicePort);
      if (port === undefined) continue;
      raw.push(subsetOf([endpointsPort(servicePort.name, port, servicePort.protocol, servicePort.appProtocol)]));
    }
  }

  const { subsets, truncated } = truncate(repackSubsets(raw));
  const labels: Record<string, string> = { ...service.metadata.labels };
  delete labels[labelHeadless];
  if (!isServiceIPSet(service)) labels[labelHeadless] = '';
  labels[labelEndpointsManagedBy] = endpointsControllerName;
  const metadata: ObjectMeta = { name: service.metadata.name ?? '', namespace: service.metadata.namespace ?? '', labels };
  if (truncated) metadata.annotations = { [annotationOverCapacity]: 'truncated' };
  return { apiVersion: 'v1', kind: 'Endpoints', metadata, subsets };
}

/** The comparable part of an Endpoints: what the controller writes, with absent and empty lists alike. */
function endpointsContent(endpoints: Endpoints): unknown {
  const address = ({ targetRef, ...rest }: EndpointAddress) => {
    if (!targetRef) return rest;
    // A pod's resourceVersion changes on every status write; it says nothing about the endpoint.
    const { resourceVersion: _ignored, ...ref } = targetRef;
    return { ...rest, targetRef: ref };
  };
  return {
    name: endpoints.metadata.name,
    namespace: endpoints.metadata.namespace,
    labels: endpoints.metadata.labels ?? {},
    annotations: endpoints.metadata.annotations ?? {},
    subsets: (endpoints.subsets ?? []).map((subset) => ({
      addresses: (subset.addresses ?? []).map(address),
      notReadyAddresses: (subset.notReadyAddresses ?? []).map(address),
      ports: subset.ports ?? [],
    })),
  };
}

/** Equal in name, labels, annotations and subsets; server-set metadata (uid, resourceVersion, timestamps) is ignored. */
export function endpointsEqual(a: Endpoints, b: Endpoints): boolean {
  return isDeepStrictEqual(endpointsContent(a), endpointsContent(b));
}

/**
 * The object to PUT so `existing` says what `desired` says, or undefined when
 * it already does. Metadata the store set is kept; annotations other than
 * over-capacity (someone else's) are kept too.
 */
export function endpointsUpdate(existing: Endpoints, desired: Endpoints): Endpoints | undefined {
  const annotations: Record<string, string> = { ...existing.metadata.annotations, ...desired.metadata.annotations };
  if (!desired.metadata.annotations?.[annotationOverCapacity]) delete annotations[annotationOverCapacity];
  const metadata: ObjectMeta = { ...existing.metadata, labels: { ...desired.metadata.labels } };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else delete metadata.annotations;
  const next: Endpoints = { ...existing, metadata, subsets: desired.subsets ?? [] };
  return endpointsEqual(existing, next) ? undefined : next;
}
