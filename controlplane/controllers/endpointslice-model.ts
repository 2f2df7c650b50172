/**
 * The EndpointSlice controller as pure functions, after upstream's
 * staging/src/k8s.io/endpointslice (reconciler.go, utils.go):
 * `desiredEndpointSlices` turns a Service and its pods into slices, and
 * `reconcileSlices` finds the fewest writes that make the existing slices
 * say the same. `reconcileWithTemplate` is the shared core, also used by the
 * mirroring model. The pod facts (readiness, named ports, hostname) are
 * exported for the Endpoints model, which reads pods the same way.
 */
import { isIP } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import type { Endpoint, EndpointPort, EndpointSlice, ObjectMeta, ObjectReference, OwnerReference, Pod, Service, ServicePort } from '../api/types.ts';

export const maxEndpointsPerSlice = 100;
export const endpointSliceControllerName = 'endpointslice-controller.k8s.io';
export const labelServiceName = 'kubernetes.io/service-name';
export const labelManagedBy = 'endpointslice.kubernetes.io/managed-by';
export const labelHeadless = 'service.kubernetes.io/headless';

export type AddressType = 'IPv4' | 'IPv6';

/** One slice's worth of endpoints: at most the controller's limit, all with the same address type and ports. */
export interface DesiredSlice {
  addressType: AddressType;
  ports: EndpointPort[];
  endpoints: Endpoint[];
}

export interface SliceChanges {
  /** New slices: `metadata.generateName` set, no name. */
  create: EndpointSlice[];
  /** Existing slices with their metadata (name, resourceVersion) kept, content replaced. */
  update: EndpointSlice[];
  delete: EndpointSlice[];
}

/** What every slice of one owner looks like, whoever computes its endpoints. */
export interface SliceTemplate {
  namespace: string;
  generateName: string;
  /** The exact label set; it must include the managed-by label, which decides which existing slices are ours. */
  labels: Record<string, string>;
  /** The exact annotation set, when the owner dictates it; absent leaves existing annotations alone. */
  annotations?: Record<string, string>;
  owner: OwnerReference;
  maxEndpoints: number;
  /** False while the owner is being deleted, so new slices don't race the garbage collector. */
  allowCreate: boolean;
}

// ---- Service and pod facts -------------------------------------------------

/** A Service gets endpoints from a controller only through a non-empty selector. */
export function hasSelector(service: Service): boolean {
  return Object.keys(service.spec.selector ?? {}).length > 0;
}

/** ExternalName services are a DNS alias: no controller publishes endpoints for them (kubernetes#105986). */
export function servesPodEndpoints(service: Service): boolean {
  return hasSelector(service) && service.spec.type !== 'ExternalName';
}

export function selectorMatches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

/** Pods in the service's namespace whose labels carry every selector pair. */
export function selectedPods(service: Service, pods: Pod[]): Pod[] {
  const selector = service.spec.selector ?? {};
  return pods.filter((pod) => pod.metadata.namespace === service.metadata.namespace && selectorMatches(selector, pod.metadata.labels));
}

export function isServiceIPSet(service: Service): boolean {
  return service.spec.clusterIP !== undefined && service.spec.clusterIP !== '' && service.spec.clusterIP !== 'None';
}

export function isPodReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false;
}

export function isPodTerminating(pod: Pod): boolean {
  return Boolean(pod.metadata.deletionTimestamp);
}

/** The pod's IPs; `podIP` alone counts when the store has not filled `podIPs`. */
export function podIPs(pod: Pod): string[] {
  const listed = (pod.status?.podIPs ?? []).map((entry) => entry.ip);
  if (listed.length > 0) return listed;
  return pod.status?.podIP ? [pod.status.podIP] : [];
}

/**
 * upstream ShouldPodBeInEndpoints: terminal pods (Succeeded/Failed) and pods
 * without an IP never are; terminating ones only when asked for (slices always
 * include them, the legacy Endpoints only with publishNotReadyAddresses).
 */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (podIPs(pod).length === 0) return false;
  return includeTerminating || !isPodTerminating(pod);
}

/** A pod's own DNS name under the service only when its subdomain names that service. */
export function shouldSetHostname(pod: Pod, service: Service): boolean {
  return Boolean(pod.spec.hostname) && pod.spec.subdomain === service.metadata.name && pod.metadata.namespace === service.metadata.namespace;
}

/**
 * The container port a service port sends to on this pod: a numeric
 * targetPort as is, a named one looked up in the pod's containers with the
 * same protocol. undefined when the pod has no such named port.
 */
export function findPort(pod: Pod, servicePort: ServicePort): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === 'number') return target;
  const protocol = servicePort.protocol ?? 'TCP';
  for (const container of pod.spec.containers ?? []) {
    for (const port of container.ports ?? []) {
      if (port.name === target && (port.protocol ?? 'TCP') === protocol) return port.containerPort;
    }
  }
  return undefined;
}

export function addressTypeOf(ip: string): AddressType | undefined {
  const family = isIP(ip);
  if (family === 4) return 'IPv4';
  if (family === 6) return 'IPv6';
  return undefined;
}

/**
 * The address types a service's slices use: its ipFamilies, else the family
 * of its cluster IP, else (headless, not yet defaulted) both, as upstream
 * does so traffic keeps flowing until the store fills the families in.
 */
export function addressTypesOf(service: Service): AddressType[] {
  const families = service.spec.ipFamilies ?? [];
  if (families.length > 0) return (['IPv4', 'IPv6'] as const).filter((family) => families.includes(family));
  if (isServiceIPSet(service)) return [addressTypeOf(service.spec.clusterIP as string) ?? 'IPv4'];
  return ['IPv4', 'IPv6'];
}

// ---- Endpoints of one pod --------------------------------------------------

export function podReference(pod: Pod): ObjectReference {
  const ref: ObjectReference = { kind: 'Pod' };
  if (pod.metadata.namespace !== undefined) ref.namespace = pod.metadata.namespace;
  if (pod.metadata.name !== undefined) ref.name = pod.metadata.name;
  if (pod.metadata.uid !== undefined) ref.uid = pod.metadata.uid;
  return ref;
}

/** The pod as one endpoint of the given address type, or undefined when it has no IP of that type. */
export function podToEndpoint(pod: Pod, service: Service, addressType: AddressType): Endpoint | undefined {
  const addresses = podIPs(pod).filter((ip) => addressTypeOf(ip) === addressType);
  if (addresses.length === 0) return undefined;
  const serving = isPodReady(pod);
  const terminating = isPodTerminating(pod);
  // Never "ready" while terminating, for clients that only read ready; publishNotReadyAddresses overrides.
  const ready = service.spec.publishNotReadyAddresses === true || (serving && !terminating);
  const endpoint: Endpoint = { addresses, conditions: { ready, serving, terminating }, targetRef: podReference(pod) };
  if (pod.spec.nodeName) endpoint.nodeName = pod.spec.nodeName;
  if (shouldSetHostname(pod, service)) endpoint.hostname = pod.spec.hostname as string;
  return endpoint;
}

/** The service ports this pod serves, resolved to its container ports; ports it can't resolve are left out. */
export function endpointPorts(service: Service, pod: Pod): EndpointPort[] {
  const ports: EndpointPort[] = [];
  for (const servicePort of service.spec.ports ?? []) {
    const port = findPort(pod, servicePort);
    if (port === undefined) continue;
    const endpointPort: EndpointPort = { name: servicePort.name ?? '', port, protocol: servicePort.protocol ?? 'TCP' };
    if (servicePort.appProtocol !== undefined) endpointPort.appProtocol = servicePort.appProtocol;
    ports.push(endpointPort);
  }
  return ports;
}

// ---- Keys and order --------------------------------------------------------

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Order-insensitive identity of a port set: slices are grouped by it. */
export function portsKey(ports: EndpointPort[]): string {
  return JSON.stringify(ports.map((p) => JSON.stringify([p.name ?? '', p.protocol ?? 'TCP', p.port ?? 0, p.appProtocol ?? ''])).sort());
}

function groupKey(addressType: string, ports: EndpointPort[]): string {
  return `${addressType}|${portsKey(ports)}`;
}

/**
 * Identity of an endpoint across syncs (upstream hashEndpoint): addresses,
 * hostname and target. Conditions and node are not part of it, so a pod
 * turning ready updates its endpoint in place instead of moving it.
 */
export function endpointKey(endpoint: Endpoint): string {
  const ref = endpoint.targetRef;
  return JSON.stringify([[...endpoint.addresses].sort(), endpoint.hostname ?? '', ref?.namespace ?? '', ref?.name ?? '']);
}

/** Endpoints in a slice are sorted (by target, then address) so a rebuilt slice compares equal to the stored one. */
export function compareEndpoints(a: Endpoint, b: Endpoint): number {
  return (
    compareStrings(a.targetRef?.namespace ?? '', b.targetRef?.namespace ?? '') ||
    compareStrings(a.targetRef?.name ?? '', b.targetRef?.name ?? '') ||
    compareStrings(a.addresses.join(','), b.addresses.join(','))
  );
}

// ---- Desired state ---------------------------------------------------------

/** Splits each group's sorted endpoints into slices of at most `max`; a group with no endpoints gives one empty slice. */
function chunk(addressType: AddressType, ports: EndpointPort[], endpoints: Endpoint[], max: number): DesiredSlice[] {
  if (endpoints.length === 0) return [{ addressType, ports, endpoints: [] }];
  const sorted = [...endpoints].sort(compareEndpoints);
  const slices: DesiredSlice[] = [];
  for (let i = 0; i < sorted.length; i += max) slices.push({ addressType, ports, endpoints: sorted.slice(i, i + max) });
  return slices;
}

/**
 * The slices a selector Service should have: per address type, its pods'
 * endpoints grouped by the port set each pod resolves (a pod lacking a named
 * port lands in a group without that port), at most 100 per slice. An address
 * type without endpoints gets one empty slice with no ports, upstream's
 * placeholder, so `kubectl get endpointslices` shows the service has none.
 * Selectorless and ExternalName services get nothing.
 */
export function desiredEndpointSlices(service: Service, pods: Pod[]): DesiredSlice[] {
  if (!servesPodEndpoints(service)) return [];
  const candidates = selectedPods(service, pods).filter((pod) => shouldPodBeInEndpoints(pod, true));
  const slices: DesiredSlice[] = [];
  for (const addressType of addressTypesOf(service)) {
    const groups = new Map<string, { ports: EndpointPort[]; endpoints: Endpoint[] }>();
    for (const pod of candidates) {
      const endpoint = podToEndpoint(pod, service, addressType);
      if (!endpoint) continue;
      const ports = endpointPorts(service, pod);
      const key = portsKey(ports);
      const group = groups.get(key) ?? { ports, endpoints: [] };
      group.endpoints.push(endpoint);
      groups.set(key, group);
    }
    if (groups.size === 0) {
      slices.push({ addressType, ports: [], endpoints: [] });
      continue;
    }
    for (const [, group] of [...groups].sort(([a], [b]) => compareStrings(a, b))) {
      slices.push(...chunk(addressType, group.ports, group.endpoints, maxEndpointsPerSlice));
    }
  }
  return slices;
}

/** The labels and owner every slice of this Service carries; service labels are copied except the reserved ones. */
export function serviceSliceTemplate(service: Service): SliceTemplate {
  const name = service.metadata.name ?? '';
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(service.metadata.labels ?? {})) {
    if (key !== labelServiceName && key !== labelManagedBy && key !== labelHeadless) labels[key] = value;
  }
  if (!isServiceIPSet(service)) labels[labelHeadless] = '';
  labels[labelServiceName] = name;
  labels[labelManagedBy] = endpointSliceControllerName;
  return {
    namespace: service.metadata.namespace ?? '',
    generateName: `${name}-`,
    labels,
    owner: { apiVersion: 'v1', kind: 'Service', name, uid: service.metadata.uid ?? '', controller: true, blockOwnerDeletion: true },
    maxEndpoints: maxEndpointsPerSlice,
    allowCreate: !service.metadata.deletionTimestamp,
  };
}

/**
 * Writes that make the Service's existing slices match `desired`. Only slices
 * carrying this controller's managed-by label are considered; ones owned by
 * another object (an older Service of the same name) are deleted.
 */
export function reconcileSlices(service: Service, desired: DesiredSlice[], existing: EndpointSlice[]): SliceChanges {
  return reconcileWithTemplate(serviceSliceTemplate(service), desired, existing);
}

// ---- Reconcile -------------------------------------------------------------

interface DesiredGroup {
  addressType: AddressType;
  ports: EndpointPort[];
  endpoints: Map<string, Endpoint>;
}

interface Work {
  original: EndpointSlice | undefined;
  endpoints: Endpoint[];
}

function ownedBy(slice: EndpointSlice, owner: OwnerReference): boolean {
  return (slice.metadata.ownerReferences ?? []).some((ref) => ref.uid === owner.uid && ref.kind === owner.kind && ref.apiVersion === owner.apiVersion);
}

function metadataMatches(template: SliceTemplate, slice: EndpointSlice): boolean {
  if (!isDeepStrictEqual(slice.metadata.labels ?? {}, template.labels)) return false;
  return template.annotations === undefined || isDeepStrictEqual(slice.metadata.annotations ?? {}, template.annotations);
}

function templateMetadata(template: SliceTemplate, base: ObjectMeta): ObjectMeta {
  const metadata: ObjectMeta = { ...base, labels: { ...template.labels } };
  if (template.annotations !== undefined) {
    if (Object.keys(template.annotations).length > 0) metadata.annotations = { ...template.annotations };
    else delete metadata.annotations;
  }
  return metadata;
}

function buildSlice(template: SliceTemplate, original: EndpointSlice | undefined, addressType: AddressType, ports: EndpointPort[], endpoints: Endpoint[]): EndpointSlice {
  const content = { addressType, ports: ports.map((port) => ({ ...port })), endpoints: [...endpoints].sort(compareEndpoints) };
  if (original) return { ...original, metadata: templateMetadata(template, original.metadata), ...content };
  const metadata = templateMetadata(template, { generateName: template.generateName, namespace: template.namespace });
  metadata.ownerReferences = [{ ...template.owner }];
  return { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata, ...content };
}

/** The slice that will be closest to full once `count` endpoints are added (upstream getSliceToFill). */
function sliceToFill(candidates: Work[], count: number, max: number): Work | undefined {
  let closest: Work | undefined;
  let closestGap = max;
  for (const candidate of candidates) {
    const gap = max - (count + candidate.endpoints.length);
    if (gap >= 0 && gap < closestGap) {
      closest = candidate;
      closestGap = gap;
    }
  }
  return closest;
}

/**
 * One group (address type + port set): endpoints stay in the slice that
 * already holds them; changed ones are replaced in place, gone ones removed
 * (a slice left empty is deleted). The rest fill slices that are being
 * updated anyway, fullest first, then one unchanged slice they fit in, and
 * only then new slices.
 */
function reconcileGroup(template: SliceTemplate, group: DesiredGroup, existing: EndpointSlice[]) {
  const max = template.maxEndpoints;
  const remaining = new Map(group.endpoints);
  const toUpdate: Work[] = [];
  const unchanged: Work[] = [];
  const toDelete: EndpointSlice[] = [];

  for (const slice of existing) {
    const kept: Endpoint[] = [];
    let changed = false;
    for (const endpoint of slice.endpoints ?? []) {
      const key = endpointKey(endpoint);
      const wanted = remaining.get(key);
      if (!wanted) {
        changed = true;
        continue;
      }
      remaining.delete(key);
      kept.push(wanted);
      if (!isDeepStrictEqual(wanted, endpoint)) changed = true;
    }
    if (changed && kept.length === 0) toDelete.push(slice);
    else if (changed || !metadataMatches(template, slice)) toUpdate.push({ original: slice, endpoints: kept });
    else unchanged.push({ original: slice, endpoints: kept });
  }

  const creates: Work[] = [];
  if (group.endpoints.size === 0) {
    // An empty group wants exactly one empty slice: keep one that needs no write if there is one.
    const [keep, ...surplus] = [...unchanged, ...toUpdate];
    toDelete.push(...surplus.map((work) => work.original as EndpointSlice));
    toUpdate.length = 0;
    if (keep && !metadataMatches(template, keep.original as EndpointSlice)) toUpdate.push(keep);
    if (!keep) creates.push({ original: undefined, endpoints: [] });
  } else {
    const leftover = [...remaining.values()].sort(compareEndpoints);
    let next = 0;
    toUpdate.sort((a, b) => b.endpoints.length - a.endpoints.length || compareStrings(a.original?.metadata.name ?? '', b.original?.metadata.name ?? ''));
    for (const work of toUpdate) {
      while (next < leftover.length && work.endpoints.length < max) work.endpoints.push(leftover[next++] as Endpoint);
    }
    while (next < leftover.length) {
      const left = leftover.length - next;
      let target = left < max ? sliceToFill(unchanged, left, max) : undefined;
      if (target) {
        unchanged.splice(unchanged.indexOf(target), 1);
        toUpdate.push(target);
      } else {
        target = { original: undefined, endpoints: [] };
        creates.push(target);
      }
      while (next < leftover.length && target.endpoints.length < max) target.endpoints.push(leftover[next++] as Endpoint);
    }
  }

  return {
    create: creates.map((work) => buildSlice(template, undefined, group.addressType, group.ports, work.endpoints)),
    update: toUpdate.map((work) => buildSlice(template, work.original, group.addressType, group.ports, work.endpoints)),
    delete: toDelete,
  };
}

/** The parts of a slice the controllers write; `ports`/`endpoints` absent and empty are the same. */
function sliceContent(slice: EndpointSlice): unknown {
  const { labels, annotations, ownerReferences } = slice.metadata;
  return { labels: labels ?? {}, annotations: annotations ?? {}, ownerReferences, addressType: slice.addressType, ports: slice.ports ?? [], endpoints: slice.endpoints ?? [] };
}

/**
 * The shared reconcile of both slice controllers. Existing slices are matched
 * to desired groups by address type and port set; a group no longer desired
 * is deleted, except that a slice about to be deleted is reused (same name,
 * new content) for a slice about to be created with the same address type,
 * as upstream's finalize does, so a port change is one update, not a
 * delete and a create. An update that would store what is already stored is
 * dropped.
 */
export function reconcileWithTemplate(template: SliceTemplate, desired: DesiredSlice[], existing: EndpointSlice[]): SliceChanges {
  const managedBy = template.labels[labelManagedBy];
  const managed = existing
    .filter((slice) => slice.metadata.labels?.[labelManagedBy] === managedBy)
    .sort((a, b) => compareStrings(a.metadata.name ?? '', b.metadata.name ?? ''));

  const toDelete: EndpointSlice[] = [];
  const existingByGroup = new Map<string, EndpointSlice[]>();
  for (const slice of managed) {
    if (!ownedBy(slice, template.owner)) {
      toDelete.push(slice);
      continue;
    }
    const key = groupKey(slice.addressType, slice.ports ?? []);
    existingByGroup.set(key, [...(existingByGroup.get(key) ?? []), slice]);
  }

  const desiredGroups = new Map<string, DesiredGroup>();
  for (const slice of desired) {
    const key = groupKey(slice.addressType, slice.ports);
    const group = desiredGroups.get(key) ?? { addressType: slice.addressType, ports: slice.ports, endpoints: new Map() };
    for (const endpoint of slice.endpoints) group.endpoints.set(endpointKey(endpoint), endpoint);
    desiredGroups.set(key, group);
  }
  for (const [key, slices] of existingByGroup) {
    if (!desiredGroups.has(key)) toDelete.push(...slices);
  }

  const creates: EndpointSlice[] = [];
  const updates: EndpointSlice[] = [];
  for (const [key, group] of desiredGroups) {
    const changes = reconcileGroup(template, group, existingByGroup.get(key) ?? []);
    creates.push(...changes.create);
    updates.push(...changes.update);
    toDelete.push(...changes.delete);
  }

  const remainingCreates: EndpointSlice[] = [];
  for (const slice of creates) {
    const reusable = toDelete.findIndex((old) => old.addressType === slice.addressType && ownedBy(old, template.owner));
    if (reusable < 0) {
      remainingCreates.push(slice);
      continue;
    }
    const [old] = toDelete.splice(reusable, 1) as [EndpointSlice];
    updates.push(buildSlice(template, old, slice.addressType as AddressType, slice.ports ?? [], slice.endpoints));
  }

  const stored = new Map(managed.map((slice) => [slice.metadata.name, slice]));
  return {
    create: template.allowCreate ? remainingCreates : [],
    update: updates.filter((slice) => {
      const before = stored.get(slice.metadata.name);
      return !before || !isDeepStrictEqual(sliceContent(before), sliceContent(slice));
    }),
    delete: toDelete,
  };
}
