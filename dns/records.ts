/**
 * The slim cluster view DNS answers are built from: each Service,
 * EndpointSlice, Namespace and Pod is digested once on arrival into a small
 * plain struct (what CoreDNS's object/ package does), then indexed so every
 * lookup is a map read: services by namespace/name with their merged ready
 * endpoints, namespaces, pod IPs by namespace, and IP → names for PTR.
 *
 * Every change returns the dependency keys it touched, so cached answers
 * that read those keys (see answer-cache.ts) can be dropped, and nothing else.
 * Changes travel as plain batches (ViewBatch, from watch.ts), so the same
 * stream can feed a view in any thread.
 */
import type { EndpointSlice, Namespace, Pod, Service } from '../controlplane/api/types.ts';
import { canonicalIp, dashedIp } from './ip.ts';

export interface PortSpec {
  /** "" for an unnamed port; a port without a name gets no SRV of its own. */
  name: string;
  protocol: string;
  /** -1 when the object declares no ports: the name still answers A/AAAA. */
  port: number;
}

export interface SlimService {
  namespace: string;
  name: string;
  kind: 'clusterIP' | 'headless' | 'externalName';
  /** Canonical IPs (ClusterIP services only), primary first. */
  clusterIPs: string[];
  /** Lower case, without the trailing dot ("" unless kind is externalName). */
  externalName: string;
  ports: PortSpec[];
  publishNotReadyAddresses: boolean;
}

export interface SlimSlice {
  namespace: string;
  name: string;
  /** The owning Service, from the kubernetes.io/service-name label. */
  service: string;
  endpoints: { ip: string; hostname: string; ready: boolean }[];
  ports: PortSpec[];
}

export interface SlimPod {
  namespace: string;
  name: string;
  ips: string[];
}

/** One address of a service as DNS names it, with the ports of the slice it came from. */
export interface EndpointRecord {
  ip: string;
  /** The endpoint's own label: its hostname, else the dashed IP. */
  name: string;
  ports: readonly PortSpec[];
}

export interface ServiceRecord {
  service: SlimService;
  /** Ready addresses (all addresses with publishNotReadyAddresses), de-duplicated per name and IP. */
  endpoints: readonly EndpointRecord[];
}

/** The narrow read interface answers are built against. */
export interface ClusterView {
  /** False until the first complete list of every watched resource is in. */
  readonly synced: boolean;
  /** Unix seconds of the last change: the SOA serial. */
  readonly serial: number;
  namespaceExists(namespace: string): boolean;
  service(namespace: string, name: string): ServiceRecord | undefined;
  podHasIp(namespace: string, ip: string): boolean;
  /** PTR targets for an IP relative to the zone ("svc.ns.svc", "ep.svc.ns.svc"); empty when unknown. */
  reverse(ip: string): readonly string[];
}

export const serviceNameLabel = 'kubernetes.io/service-name';

/** Dependency keys: what a cached answer read, and what a change invalidates. */
export const depKey = {
  namespace: (namespace: string) => `n/${namespace}`,
  service: (namespace: string, name: string) => `s/${namespace}/${name}`,
  pod: (namespace: string, ip: string) => `p/${namespace}/${ip}`,
  ip: (ip: string) => `i/${ip}`,
};

function portSpecs(ports: readonly { name?: string; protocol?: string; port?: number }[] | undefined): PortSpec[] {
  if (!ports || ports.length === 0) return [{ name: '', protocol: '', port: -1 }];
  return ports.map((port) => ({ name: (port.name ?? '').toLowerCase(), protocol: (port.protocol ?? 'TCP').toLowerCase(), port: port.port ?? -1 }));
}

/** A Service as DNS sees it; a problem (string) when it cannot be used. */
export function slimService(service: Service): SlimService | string {
  const { namespace = '', name = '' } = service.metadata;
  const spec = service.spec ?? {};
  const base = { namespace, name, ports: portSpecs(spec.ports), publishNotReadyAddresses: spec.publishNotReadyAddresses === true };
  if (spec.type === 'ExternalName') {
    const externalName = (spec.externalName ?? '').toLowerCase().replace(/\.$/, '');
    if (externalName === '') return 'ExternalName service without spec.externalName';
    return { ...base, kind: 'externalName', clusterIPs: [], externalName };
  }
  const declared = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  if (declared[0] === 'None') return { ...base, kind: 'headless', clusterIPs: [], externalName: '' };
  const clusterIPs: string[] = [];
  for (const text of declared) {
    const ip = canonicalIp(text);
    if (ip === undefined) return `spec.clusterIPs has an invalid address "${text}"`;
    clusterIPs.push(ip);
  }
  return { ...base, kind: 'clusterIP', clusterIPs, externalName: '' };
}

/** An EndpointSlice as DNS sees it; undefined for slices DNS ignores (FQDN, no owning service). */
export function slimSlice(slice: EndpointSlice): SlimSlice | undefined {
  const service = slice.metadata.labels?.[serviceNameLabel];
  if (!service || slice.addressType === 'FQDN') return undefined;
  const endpoints: SlimSlice['endpoints'] = [];
  for (const endpoint of slice.endpoints ?? []) {
    // Absent means ready, as in the API's documentation and CoreDNS.
    const ready = endpoint.conditions?.ready !== false;
    for (const address of endpoint.addresses ?? []) {
      const ip = canonicalIp(address);
      if (ip !== undefined) endpoints.push({ ip, hostname: (endpoint.hostname ?? '').toLowerCase(), ready });
    }
  }
  return { namespace: slice.metadata.namespace ?? '', name: slice.metadata.name ?? '', service, endpoints, ports: portSpecs(slice.ports) };
}

/** A Pod's IPs while it holds them (a finished pod's IP may already belong to another). */
export function slimPod(pod: Pod): SlimPod {
  const phase = pod.status?.phase;
  const texts = phase === 'Succeeded' || phase === 'Failed' ? [] : (pod.status?.podIPs?.map((entry) => entry.ip) ?? (pod.status?.podIP ? [pod.status.podIP] : []));
  const ips = texts.map(canonicalIp).filter((ip) => ip !== undefined);
  return { namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '', ips };
}

export function namespaceName(namespace: Namespace): string {
  return namespace.metadata.name ?? '';
}

interface ServiceEntry {
  service: SlimService | undefined;
  slices: Map<string, SlimSlice>;
  record: ServiceRecord | undefined;
}

function mergeEndpoints(service: SlimService, slices: Map<string, SlimSlice>): EndpointRecord[] {
  const seen = new Set<string>();
  const merged: EndpointRecord[] = [];
  for (const slice of slices.values()) {
    for (const endpoint of slice.endpoints) {
      if (!endpoint.ready && !service.publishNotReadyAddresses) continue;
      const name = endpoint.hostname || dashedIp(endpoint.ip);
      // The same address in two slices (a slice being replaced) is one endpoint.
      const key = `${name}/${endpoint.ip}`;
      if (seen.has(key)) continue;
      seen.add(key);
      merged.push({ ip: endpoint.ip, name, ports: slice.ports });
    }
  }
  return merged;
}

function addToSetMap(map: Map<string, Set<string>>, key: string, value: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

function removeFromSetMap(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

export class Records implements ClusterView {
  synced = false;
  serial = 0;
  readonly #services = new Map<string, ServiceEntry>();
  readonly #namespaces = new Set<string>();
  /** Services per namespace, so a namespace with services exists even before its Namespace arrives. */
  readonly #servicesPerNamespace = new Map<string, number>();
  /** IP → keys ("ns/name") of services with that cluster IP, and of services with that endpoint. */
  readonly #clusterIpOwners = new Map<string, Set<string>>();
  readonly #endpointIpOwners = new Map<string, Set<string>>();
  readonly #pods = new Map<string, SlimPod>();
  /** "ns/ip" → how many pods of that namespace hold the IP. */
  readonly #podIps = new Map<string, number>();

  namespaceExists(namespace: string): boolean {
    return this.#namespaces.has(namespace) || this.#servicesPerNamespace.has(namespace);
  }

  service(namespace: string, name: string): ServiceRecord | undefined {
    return this.#services.get(`${namespace}/${name}`)?.record;
  }

  podHasIp(namespace: string, ip: string): boolean {
    return this.#podIps.has(`${namespace}/${ip}`);
  }

  reverse(ip: string): readonly string[] {
    // A cluster IP names its service alone; only otherwise do endpoints answer (CoreDNS's order).
    const owners = this.#clusterIpOwners.get(ip);
    if (owners) {
      const first = [...owners].sort()[0] as string;
      const [namespace, name] = first.split('/') as [string, string];
      return [`${name}.${namespace}.svc`];
    }
    const names = new Set<string>();
    for (const key of [...(this.#endpointIpOwners.get(ip) ?? [])].sort()) {
      const record = this.#services.get(key)?.record;
      if (!record) continue;
      for (const endpoint of record.endpoints) {
        if (endpoint.ip === ip) names.add(`${endpoint.name}.${record.service.name}.${record.service.namespace}.svc`);
      }
    }
    return [...names];
  }

  setService(key: string, service: SlimService | undefined): string[] {
    const entry = this.#entry(key);
    const before = this.#snapshot(entry);
    const namespace = service?.namespace ?? entry.service?.namespace ?? key.split('/')[0] ?? '';
    const existedBefore = this.namespaceExists(namespace);
    if (entry.service && !service) this.#countService(entry.service.namespace, -1);
    if (!entry.service && service) this.#countService(service.namespace, 1);
    entry.service = service;
    return this.#commit(key, entry, before, existedBefore !== this.namespaceExists(namespace) ? [depKey.namespace(namespace)] : []);
  }

  setSlice(slice: { namespace: string; name: string; service: string }, value: SlimSlice | undefined): string[] {
    const key = `${slice.namespace}/${slice.service}`;
    const entry = this.#entry(key);
    const before = this.#snapshot(entry);
    if (value) entry.slices.set(slice.name, value);
    else entry.slices.delete(slice.name);
    return this.#commit(key, entry, before, []);
  }

  setNamespace(name: string, present: boolean): string[] {
    const existed = this.namespaceExists(name);
    if (present) this.#namespaces.add(name);
    else this.#namespaces.delete(name);
    return existed === this.namespaceExists(name) ? [] : [depKey.namespace(name)];
  }

  setPod(key: string, pod: SlimPod | undefined): string[] {
    const old = this.#pods.get(key);
    const changed: string[] = [];
    for (const ip of old?.ips ?? []) {
      const podKey = `${old?.namespace}/${ip}`;
      const count = (this.#podIps.get(podKey) ?? 1) - 1;
      if (count === 0) this.#podIps.delete(podKey);
      else this.#podIps.set(podKey, count);
      changed.push(depKey.pod(old?.namespace ?? '', ip));
    }
    if (pod) {
      this.#pods.set(key, pod);
      for (const ip of pod.ips) {
        const podKey = `${pod.namespace}/${ip}`;
        this.#podIps.set(podKey, (this.#podIps.get(podKey) ?? 0) + 1);
        changed.push(depKey.pod(pod.namespace, ip));
      }
    } else {
      this.#pods.delete(key);
    }
    return changed;
  }

  #entry(key: string): ServiceEntry {
    let entry = this.#services.get(key);
    if (!entry) this.#services.set(key, (entry = { service: undefined, slices: new Map(), record: undefined }));
    return entry;
  }

  #countService(namespace: string, delta: number): void {
    const count = (this.#servicesPerNamespace.get(namespace) ?? 0) + delta;
    if (count === 0) this.#servicesPerNamespace.delete(namespace);
    else this.#servicesPerNamespace.set(namespace, count);
  }

  /** The IPs an entry contributes to the reverse indexes. */
  #snapshot(entry: ServiceEntry): { clusterIPs: string[]; endpointIps: string[] } {
    return { clusterIPs: entry.record?.service.clusterIPs ?? [], endpointIps: entry.record?.endpoints.map((endpoint) => endpoint.ip) ?? [] };
  }

  /** Rebuilds one service's record and reverse entries; returns every dependency key that moved. */
  #commit(key: string, entry: ServiceEntry, before: { clusterIPs: string[]; endpointIps: string[] }, extra: string[]): string[] {
    entry.record = entry.service ? { service: entry.service, endpoints: mergeEndpoints(entry.service, entry.slices) } : undefined;
    if (!entry.service && entry.slices.size === 0) this.#services.delete(key);
    const after = this.#snapshot(entry);
    for (const ip of before.clusterIPs) removeFromSetMap(this.#clusterIpOwners, ip, key);
    for (const ip of before.endpointIps) removeFromSetMap(this.#endpointIpOwners, ip, key);
    for (const ip of after.clusterIPs) addToSetMap(this.#clusterIpOwners, ip, key);
    for (const ip of after.endpointIps) addToSetMap(this.#endpointIpOwners, ip, key);
    const [namespace = '', name = ''] = key.split('/');
    const ips = new Set([...before.clusterIPs, ...before.endpointIps, ...after.clusterIPs, ...after.endpointIps]);
    return [depKey.service(namespace, name), ...[...ips].map(depKey.ip), ...extra];
  }
}

export type ViewChange =
  | { kind: 'service'; key: string; service: SlimService | undefined }
  | { kind: 'slice'; namespace: string; name: string; service: string; slice: SlimSlice | undefined }
  | { kind: 'namespace'; name: string; present: boolean }
  | { kind: 'pod'; key: string; pod: SlimPod | undefined };

export interface ViewBatch {
  changes: ViewChange[];
  /** Unix seconds: the SOA serial from this batch on. */
  serial: number;
  /** True from the batch that completes the first list of every resource. */
  synced: boolean;
}

/** Applies a batch to a view; returns the dependency keys it touched (for the answer cache). */
export function applyBatch(records: Records, batch: ViewBatch): string[] {
  const touched: string[] = [];
  for (const change of batch.changes) {
    switch (change.kind) {
      case 'service':
        touched.push(...records.setService(change.key, change.service));
        break;
      case 'slice':
        touched.push(...records.setSlice(change, change.slice));
        break;
      case 'namespace':
        touched.push(...records.setNamespace(change.name, change.present));
        break;
      case 'pod':
        touched.push(...records.setPod(change.key, change.pod));
        break;
    }
  }
  records.serial = batch.serial;
  records.synced ||= batch.synced;
  return touched;
}
