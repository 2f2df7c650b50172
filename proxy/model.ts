/**
 * The proxy's own view of the API: each Service becomes one ServicePortInfo
 * per port and each EndpointSlice becomes endpoints per service port, both
 * digested once when the change is recorded (kube-proxy's serviceport.go and
 * endpointslicecache.go). Everything that ends up in a rule is validated
 * here, so one odd object is skipped and reported instead of breaking the
 * whole iptables-restore transaction.
 *
 * Change trackers keep, per service, the state before the first pending
 * change and the state now; a change that cancels itself out is dropped, and
 * `apply` folds everything pending into the maps in one step and returns the
 * services it touched (what a partial sync rewrites).
 *
 * Only IPv4 is proxied (the iptables backend drives `iptables`, not
 * `ip6tables`): IPv6 addresses are skipped without complaint.
 */
import type { Endpoint, EndpointSlice, Protocol, Service } from '../controlplane/api/types.ts';
import { compareIpv4, isIpv4, isIpv6, parseIpv4Cidr } from './ipv4.ts';

export type ProxyProtocol = Protocol;

export interface ServicePortInfo {
  /** kube-proxy's ServicePortName string: "ns/name:port", or "ns/name" for an unnamed port. */
  readonly name: string;
  /** "ns/name": the unit of change tracking and partial syncs. */
  readonly service: string;
  readonly protocol: ProxyProtocol;
  readonly clusterIP: string;
  readonly port: number;
  /** 0 when the port has none. */
  readonly nodePort: number;
  readonly externalIPs: readonly string[];
  /** LoadBalancer ingress IPs that the proxy captures (ipMode Proxy ones are left to the load balancer). */
  readonly loadBalancerIPs: readonly string[];
  /** Canonical CIDRs; empty means every source is allowed. */
  readonly loadBalancerSourceRanges: readonly string[];
  /** ClientIP affinity timeout; 0 when the service has no affinity. */
  readonly affinitySeconds: number;
  readonly externalPolicyLocal: boolean;
  readonly internalPolicyLocal: boolean;
  /** 0 unless a LoadBalancer with externalTrafficPolicy Local. */
  readonly healthCheckNodePort: number;
}

export interface EndpointInfo {
  readonly ip: string;
  readonly port: number;
  /** "ip:port", the DNAT target and part of the SEP chain hash. */
  readonly endpoint: string;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  /** On this proxy's node. */
  readonly local: boolean;
}

/** Service ports by portKey. */
export type ServicePortMap = Map<string, ServicePortInfo>;
/** Endpoints by portKey, sorted by address then port. */
export type EndpointsMap = Map<string, readonly EndpointInfo[]>;

export const DEFAULT_AFFINITY_SECONDS = 10800;
const MAX_AFFINITY_SECONDS = 86400;
export const serviceNameLabel = 'kubernetes.io/service-name';
export const triggerTimeAnnotation = 'endpoints.kubernetes.io/last-change-trigger-time';

const protocols: ReadonlySet<string> = new Set(['TCP', 'UDP', 'SCTP']);
// Names reach iptables comments: refuse anything beyond what Kubernetes validation allows.
const dnsName = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const portName = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Joins a service port's identity: the key of ServicePortMap and EndpointsMap ("ns/name:port/TCP"). */
export function portKey(servicePortName: string, protocol: ProxyProtocol): string {
  return `${servicePortName}/${protocol}`;
}

export function servicePortName(namespace: string, name: string, port: string | undefined): string {
  return port ? `${namespace}/${name}:${port}` : `${namespace}/${name}`;
}

/** A port that exposes the service outside the cluster network (kube-proxy's ExternallyAccessible). */
export function externallyAccessible(info: ServicePortInfo): boolean {
  return info.nodePort !== 0 || info.loadBalancerIPs.length > 0 || info.externalIPs.length > 0;
}

/**
 * Some traffic to this port is spread over every endpoint in the cluster.
 * An externally reachable port always needs them, even with a Local external
 * policy: pod and node traffic to its external addresses short-circuits to
 * the Cluster endpoints.
 */
export function usesClusterEndpoints(info: ServicePortInfo): boolean {
  return !info.internalPolicyLocal || externallyAccessible(info);
}

/** Some traffic to this port goes only to endpoints on this node. */
export function usesLocalEndpoints(info: ServicePortInfo): boolean {
  return info.internalPolicyLocal || (externallyAccessible(info) && info.externalPolicyLocal);
}

export interface Digest<T> {
  value: T;
  /** Why parts of the object were skipped; reported as a Warning Event on it. */
  problems: string[];
}

function validPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}

function ipv4Only(values: readonly string[] | undefined, what: string, problems: string[]): string[] {
  const out = new Set<string>();
  for (const value of values ?? []) {
    if (isIpv4(value)) out.add(value);
    else if (!isIpv6(value)) problems.push(`${what} "${value}" is not an IP address; ignored`);
  }
  return [...out].sort(compareIpv4);
}

function affinitySeconds(service: Service, problems: string[]): number {
  if (service.spec.sessionAffinity !== 'ClientIP') return 0;
  const timeout = service.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (timeout === undefined) return DEFAULT_AFFINITY_SECONDS;
  if (Number.isInteger(timeout) && timeout >= 1 && timeout <= MAX_AFFINITY_SECONDS) return timeout;
  problems.push(`sessionAffinityConfig.clientIP.timeoutSeconds ${String(timeout)} is outside 1-${MAX_AFFINITY_SECONDS}; using ${DEFAULT_AFFINITY_SECONDS}`);
  return DEFAULT_AFFINITY_SECONDS;
}

/**
 * One Service → its proxied ports, by portKey. Headless, ExternalName and
 * IPv6-only services have none: nothing to proxy, nothing to report.
 */
export function digestService(service: Service): Digest<ServicePortMap> {
  const problems: string[] = [];
  const ports: ServicePortMap = new Map();
  const { namespace = '', name = '' } = service.metadata;
  const spec = service.spec ?? {};
  if (spec.type === 'ExternalName') return { value: ports, problems };
  const clusterIP = [...(spec.clusterIPs ?? []), spec.clusterIP ?? ''].find((ip) => isIpv4(ip));
  if (clusterIP === undefined) {
    const ip = spec.clusterIP ?? '';
    if (ip !== '' && ip !== 'None' && !isIpv6(ip)) problems.push(`clusterIP "${ip}" is not an IP address; service skipped`);
    return { value: ports, problems };
  }
  if (!dnsName.test(namespace) || !dnsName.test(name)) {
    problems.push(`name "${namespace}/${name}" is not a valid DNS name; service skipped`);
    return { value: ports, problems };
  }

  const externalIPs = ipv4Only(spec.externalIPs, 'externalIP', problems);
  const isLoadBalancer = spec.type === 'LoadBalancer';
  const ingressIPs = isLoadBalancer ? (service.status?.loadBalancer?.ingress ?? []).filter((ingress) => ingress.ip !== undefined && ingress.ipMode !== 'Proxy').map((ingress) => ingress.ip as string) : [];
  const loadBalancerIPs = ipv4Only(ingressIPs, 'loadBalancer ingress IP', problems);
  const sourceRanges: string[] = [];
  if (isLoadBalancer) {
    for (const range of spec.loadBalancerSourceRanges ?? []) {
      const cidr = parseIpv4Cidr(range);
      if (cidr) {
        if (!sourceRanges.includes(cidr.text)) sourceRanges.push(cidr.text);
      } else if (!range.includes(':')) {
        problems.push(`loadBalancerSourceRange "${range}" is not a CIDR; ignored`);
      }
    }
  }
  const affinity = affinitySeconds(service, problems);
  const exposesNodePorts = spec.type === 'NodePort' || isLoadBalancer;
  const healthCheckNodePort = isLoadBalancer && spec.externalTrafficPolicy === 'Local' && validPort(spec.healthCheckNodePort) ? spec.healthCheckNodePort : 0;

  for (const port of spec.ports ?? []) {
    const protocol = port.protocol ?? 'TCP';
    const label = port.name ? `port "${port.name}"` : `port ${String(port.port)}`;
    if (!protocols.has(protocol)) {
      problems.push(`${label}: protocol "${String(protocol)}" is not TCP, UDP or SCTP; port skipped`);
      continue;
    }
    if (!validPort(port.port)) {
      problems.push(`${label}: port ${String(port.port)} is outside 1-65535; port skipped`);
      continue;
    }
    if (port.name !== undefined && port.name !== '' && !portName.test(port.name)) {
      problems.push(`port name "${port.name}" is not a valid port name; port skipped`);
      continue;
    }
    let nodePort = 0;
    if (exposesNodePorts && port.nodePort !== undefined && port.nodePort !== 0) {
      if (validPort(port.nodePort)) nodePort = port.nodePort;
      else problems.push(`${label}: nodePort ${String(port.nodePort)} is outside 1-65535; NodePort not proxied`);
    }
    const info: ServicePortInfo = {
      name: servicePortName(namespace, name, port.name),
      service: `${namespace}/${name}`,
      protocol,
      clusterIP,
      port: port.port,
      nodePort,
      externalIPs,
      loadBalancerIPs,
      loadBalancerSourceRanges: sourceRanges,
      affinitySeconds: affinity,
      externalPolicyLocal: false,
      internalPolicyLocal: spec.internalTrafficPolicy === 'Local',
      healthCheckNodePort,
    };
    ports.set(portKey(info.name, protocol), { ...info, externalPolicyLocal: externallyAccessible(info) && spec.externalTrafficPolicy === 'Local' });
  }
  return { value: ports, problems };
}

/** One EndpointSlice, digested: which service it belongs to, its ports and its usable endpoints. */
export interface SliceInfo {
  /** "ns/name" of the owning service (the kubernetes.io/service-name label). */
  readonly service: string;
  readonly ports: readonly { readonly name: string; readonly protocol: ProxyProtocol; readonly port: number }[];
  readonly endpoints: readonly { readonly ip: string; readonly ready: boolean; readonly serving: boolean; readonly terminating: boolean; readonly nodeName: string | undefined }[];
  /** Milliseconds since the epoch, from the last-change-trigger-time annotation. */
  readonly triggerTime: number | undefined;
}

/** undefined for slices the proxy does not use (IPv6, FQDN, not owned by a service). */
export function digestEndpointSlice(slice: EndpointSlice): Digest<SliceInfo | undefined> {
  const problems: string[] = [];
  const serviceName = slice.metadata.labels?.[serviceNameLabel];
  if (slice.addressType !== 'IPv4' || !serviceName) return { value: undefined, problems };
  const ports: { name: string; protocol: ProxyProtocol; port: number }[] = [];
  for (const port of slice.ports ?? []) {
    const protocol = port.protocol ?? 'TCP';
    if (!validPort(port.port) || !protocols.has(protocol)) {
      problems.push(`port "${port.name ?? ''}": ${String(port.port)}/${String(protocol)} is not a usable port; ignored`);
      continue;
    }
    ports.push({ name: port.name ?? '', protocol, port: port.port });
  }
  const endpoints: SliceInfo['endpoints'][number][] = [];
  for (const endpoint of slice.endpoints ?? []) {
    // kube-proxy uses only an endpoint's first address; the rest are for other consumers.
    const ip = endpoint.addresses?.[0];
    if (ip === undefined) continue;
    if (!isIpv4(ip)) {
      problems.push(`endpoint address "${ip}" is not an IPv4 address; ignored`);
      continue;
    }
    endpoints.push({ ip, ...conditions(endpoint), nodeName: endpoint.nodeName });
  }
  const trigger = slice.metadata.annotations?.[triggerTimeAnnotation];
  const triggerTime = trigger === undefined ? undefined : Date.parse(trigger);
  return {
    value: { service: `${slice.metadata.namespace ?? ''}/${serviceName}`, ports, endpoints, triggerTime: Number.isNaN(triggerTime) ? undefined : triggerTime },
    problems,
  };
}

/** The API's defaults: an absent ready or serving means true, an absent terminating means false. */
function conditions(endpoint: Endpoint): { ready: boolean; serving: boolean; terminating: boolean } {
  const ready = endpoint.conditions?.ready !== false;
  return { ready, serving: endpoint.conditions?.serving ?? ready, terminating: endpoint.conditions?.terminating === true };
}

function compareEndpoints(a: EndpointInfo, b: EndpointInfo): number {
  return compareIpv4(a.ip, b.ip) || a.port - b.port;
}

/**
 * Merges a service's slices into endpoints per service port. An endpoint
 * listed twice (slices overlap while the controller moves it) counts once,
 * the ready copy winning.
 */
export function mergeSlices(slices: Iterable<SliceInfo>, nodeName: string): EndpointsMap {
  const byPort = new Map<string, Map<string, EndpointInfo>>();
  for (const slice of slices) {
    const [namespace = '', name = ''] = slice.service.split('/');
    for (const port of slice.ports) {
      const key = portKey(servicePortName(namespace, name, port.name), port.protocol);
      let endpoints = byPort.get(key);
      if (!endpoints) byPort.set(key, (endpoints = new Map()));
      for (const endpoint of slice.endpoints) {
        const address = `${endpoint.ip}:${port.port}`;
        const existing = endpoints.get(address);
        if (existing && (existing.ready || !endpoint.ready)) continue;
        endpoints.set(address, {
          ip: endpoint.ip,
          port: port.port,
          endpoint: address,
          ready: endpoint.ready,
          serving: endpoint.serving,
          terminating: endpoint.terminating,
          local: endpoint.nodeName === nodeName,
        });
      }
    }
  }
  const merged: EndpointsMap = new Map();
  for (const [key, endpoints] of byPort) merged.set(key, [...endpoints.values()].sort(compareEndpoints));
  return merged;
}

/** Stable text of a map's contents: digests are built field by field in a fixed order, so JSON is enough. */
function fingerprint<V>(map: ReadonlyMap<string, V>): string {
  return JSON.stringify([...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

interface Pending<T> {
  previous: T;
  fingerprint: string;
}

export interface TrackerResult {
  /** Services ("ns/name") whose ports or endpoints changed. */
  updatedServices: Set<string>;
}

/** Service changes, coalesced per service until the next sync applies them. */
export class ServiceChangeTracker {
  readonly #pending = new Map<string, Pending<ServicePortMap> & { current: ServicePortMap }>();

  /**
   * Records a change: (undefined, s) add, (old, new) update, (s, undefined)
   * delete. Returns the problems found in the new object.
   */
  update(previous: Service | undefined, current: Service | undefined): string[] {
    const object = current ?? previous;
    if (!object) return [];
    const key = `${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`;
    const digest = current ? digestService(current) : { value: new Map() as ServicePortMap, problems: [] };
    let pending = this.#pending.get(key);
    if (!pending) {
      const before = previous ? digestService(previous).value : (new Map() as ServicePortMap);
      pending = { previous: before, fingerprint: fingerprint(before), current: before };
    }
    pending.current = digest.value;
    if (fingerprint(digest.value) === pending.fingerprint) this.#pending.delete(key);
    else this.#pending.set(key, pending);
    return digest.problems;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** Folds every pending change into `map`. */
  apply(map: ServicePortMap): TrackerResult {
    const updatedServices = new Set<string>();
    for (const [service, { previous, current }] of this.#pending) {
      for (const key of previous.keys()) map.delete(key);
      for (const [key, info] of current) map.set(key, info);
      updatedServices.add(service);
    }
    this.#pending.clear();
    return { updatedServices };
  }
}

export interface EndpointsTrackerResult extends TrackerResult {
  /** Trigger times (ms) of the changes applied, for the network programming latency. */
  triggerTimes: number[];
}

/**
 * EndpointSlice changes. It keeps every slice's digest per service, so a
 * service's endpoints are the merge of its slices, and coalesces per service
 * like the service tracker.
 */
export class EndpointsChangeTracker {
  readonly #nodeName: string;
  /** Trigger times older than this belong to state that existed before the proxy started. */
  readonly #notBefore: number;
  readonly #slices = new Map<string, Map<string, SliceInfo>>();
  readonly #pending = new Map<string, Pending<EndpointsMap>>();
  #triggerTimes: number[] = [];

  constructor(nodeName: string, options: { notBefore?: number } = {}) {
    this.#nodeName = nodeName;
    this.#notBefore = options.notBefore ?? 0;
  }

  #endpointsOf(service: string): EndpointsMap {
    return mergeSlices(this.#slices.get(service)?.values() ?? [], this.#nodeName);
  }

  #touch(service: string): void {
    if (this.#pending.has(service)) return;
    const previous = this.#endpointsOf(service);
    this.#pending.set(service, { previous, fingerprint: fingerprint(previous) });
  }

  /** Records a slice change (same argument convention as ServiceChangeTracker.update). */
  update(previous: EndpointSlice | undefined, current: EndpointSlice | undefined): string[] {
    const sliceName = (current ?? previous)?.metadata.name ?? '';
    const before = previous ? digestEndpointSlice(previous).value : undefined;
    const digest = current ? digestEndpointSlice(current) : { value: undefined, problems: [] };
    for (const info of [before, digest.value]) if (info) this.#touch(info.service);
    if (before) this.#slices.get(before.service)?.delete(sliceName);
    if (digest.value) {
      const service = digest.value.service;
      let slices = this.#slices.get(service);
      if (!slices) this.#slices.set(service, (slices = new Map()));
      slices.set(sliceName, digest.value);
      if (digest.value.triggerTime !== undefined && digest.value.triggerTime >= this.#notBefore) this.#triggerTimes.push(digest.value.triggerTime);
    }
    if (before && this.#slices.get(before.service)?.size === 0) this.#slices.delete(before.service);
    for (const info of [before, digest.value]) {
      const pending = info && this.#pending.get(info.service);
      if (pending && fingerprint(this.#endpointsOf(info.service)) === pending.fingerprint) this.#pending.delete(info.service);
    }
    return digest.problems;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** Folds every pending change into `map`. */
  apply(map: EndpointsMap): EndpointsTrackerResult {
    const updatedServices = new Set<string>();
    for (const [service, { previous }] of this.#pending) {
      for (const key of previous.keys()) map.delete(key);
      for (const [key, endpoints] of this.#endpointsOf(service)) map.set(key, endpoints);
      updatedServices.add(service);
    }
    this.#pending.clear();
    const triggerTimes = this.#triggerTimes;
    this.#triggerTimes = [];
    return { updatedServices, triggerTimes };
  }
}
