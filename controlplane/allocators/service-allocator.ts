/**
 * Everything a Service holds from a finite pool: cluster IPs, NodePorts, the
 * health-check NodePort of LoadBalancer+Local services, and LoadBalancer
 * ingress IPs from an optional pool. The pools live in memory only and are
 * rebuilt from the stored Services at startup, so the Services are the single
 * record of who holds what and a restart cannot hand out anything twice.
 *
 * Follows kube-apiserver's pkg/registry/core/service/storage/alloc.go: on an
 * update, values the Service already holds are kept, new ones are allocated,
 * and values the new spec no longer uses (type changes, removed ports) are
 * given back. Allocation comes before the storage write; the caller undoes it
 * with `release` when the write fails.
 */
import type { IPFamily, LoadBalancerIngress, Service, ServicePort, StatusCause } from '../api/types.ts';
import { IpRange, parseIp } from './ip-range.ts';
import { PortRange, type PortRangeSpec, type SpecificResult } from './port-range.ts';

export interface ServiceAllocatorOptions {
  /** --service-cidr */
  serviceCidr: string;
  /** --node-port-range */
  nodePortRange: PortRangeSpec;
  /** --lb-pool; without it LoadBalancer services stay pending, as on a cluster without a load-balancer controller. */
  loadBalancerPool?: string;
}

export type AllocationResult =
  | { ok: true; service: Service; release: () => void }
  /**
   * `internal` is set when a pool is exhausted: kube-apiserver answers that
   * with 500 "Internal error occurred: <internal>" rather than 422.
   */
  | { ok: false; causes: StatusCause[]; internal?: string };

/** Something two stored Services both claim, or a value outside the configured pools, found by rebuild. */
export interface RebuildProblem {
  /** namespace/name */
  service: string;
  field: string;
  value: string | number;
  problem: 'duplicate' | 'out-of-range';
}

type ServiceType = NonNullable<Service['spec']['type']>;

export function serviceType(service: Service): ServiceType {
  return service.spec?.type ?? 'ClusterIP';
}

export function needsClusterIP(service: Service): boolean {
  return serviceType(service) !== 'ExternalName';
}

export function needsNodePorts(service: Service): boolean {
  const type = serviceType(service);
  return type === 'NodePort' || type === 'LoadBalancer';
}

export function needsHealthCheckNodePort(service: Service): boolean {
  return serviceType(service) === 'LoadBalancer' && service.spec?.externalTrafficPolicy === 'Local';
}

/** NodePort, LoadBalancer, or ClusterIP with externalIPs: the types externalTrafficPolicy applies to. */
export function isExternallyAccessible(service: Service): boolean {
  const type = serviceType(service);
  return type === 'LoadBalancer' || type === 'NodePort' || (type === 'ClusterIP' && (service.spec?.externalIPs?.length ?? 0) > 0);
}

/** Headless by the upstream test: clusterIPs is exactly ["None"]. */
export function isHeadless(service: Service): boolean {
  const ips = service.spec?.clusterIPs;
  return ips?.length === 1 && ips[0] === 'None';
}

function sameList<T>(a: readonly T[] | undefined, b: readonly T[] | undefined): boolean {
  const left = a ?? [];
  const right = b ?? [];
  return left.length === right.length && left.every((value, i) => value === right[i]);
}

function nodePortsOf(service: Service): number[] {
  return (service.spec?.ports ?? []).map((port) => port.nodePort ?? 0).filter((port) => port !== 0);
}

/**
 * Makes an update say what the user meant, before validation and allocation
 * (kube-apiserver's NormalizeClusterIPs, dropTypeDependentFields and
 * patchAllocatedValues): a resubmitted manifest without clusterIP, nodePorts
 * or healthCheckNodePort keeps the values allocated earlier, and a type
 * change drops the values the new type cannot hold, as long as the user did
 * not also change them (then validation reports it). Mutates `service`;
 * running it twice changes nothing more.
 */
export function prepareServiceUpdate(service: Service, old: Service): void {
  const spec = (service.spec ??= {});
  const before = old.spec ?? {};

  // clusterIPs left out by a client that only knows the singular field.
  if ((before.clusterIPs?.length ?? 0) > 0 && (spec.clusterIPs?.length ?? 0) === 0 && (before.clusterIP ?? '') === (spec.clusterIP ?? '')) {
    spec.clusterIPs = [...(before.clusterIPs ?? [])];
  }
  if ((before.clusterIP ?? '') !== (spec.clusterIP ?? '') && sameList(before.clusterIPs, spec.clusterIPs)) {
    if (before.clusterIP && !spec.clusterIP) delete spec.clusterIPs;
    else if (spec.clusterIP) spec.clusterIPs = [spec.clusterIP];
  }

  if (needsClusterIP(old) && !needsClusterIP(service)) {
    if ((before.clusterIP ?? '') === (spec.clusterIP ?? '') && sameList(before.clusterIPs, spec.clusterIPs)) {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    if (sameList(before.ipFamilies, spec.ipFamilies)) delete spec.ipFamilies;
    if (before.ipFamilyPolicy === spec.ipFamilyPolicy) delete spec.ipFamilyPolicy;
  }
  if (needsNodePorts(old) && !needsNodePorts(service)) {
    const held = new Set(nodePortsOf(old));
    if (nodePortsOf(service).every((port) => held.has(port))) {
      for (const port of spec.ports ?? []) delete port.nodePort;
    }
  }
  if (needsHealthCheckNodePort(old) && !needsHealthCheckNodePort(service) && before.healthCheckNodePort === spec.healthCheckNodePort) {
    delete spec.healthCheckNodePort;
  }
  if (serviceType(old) === 'LoadBalancer' && serviceType(service) !== 'LoadBalancer') {
    if (before.allocateLoadBalancerNodePorts === spec.allocateLoadBalancerNodePorts) delete spec.allocateLoadBalancerNodePorts;
    if (before.loadBalancerClass === spec.loadBalancerClass) delete spec.loadBalancerClass;
  }
  if (isExternallyAccessible(old) && !isExternallyAccessible(service) && before.externalTrafficPolicy === spec.externalTrafficPolicy) {
    delete spec.externalTrafficPolicy;
  }

  if (needsClusterIP(old) && needsClusterIP(service)) {
    if (!spec.clusterIP && before.clusterIP) spec.clusterIP = before.clusterIP;
    if ((spec.clusterIPs?.length ?? 0) === 0 && (before.clusterIPs?.length ?? 0) > 0) spec.clusterIPs = [...(before.clusterIPs ?? [])];
  }
  if (needsNodePorts(old) && needsNodePorts(service)) {
    const inNew = new Set(nodePortsOf(service));
    // A value the new spec already uses elsewhere cannot be patched onto another port.
    const usedByBoth = new Set(nodePortsOf(old).filter((port) => inNew.has(port)));
    const byName = new Map((before.ports ?? []).map((port) => [port.name ?? '', port.nodePort ?? 0]));
    for (const port of spec.ports ?? []) {
      const previous = byName.get(port.name ?? '') ?? 0;
      if (!port.nodePort && previous !== 0 && !usedByBoth.has(previous)) port.nodePort = previous;
    }
  }
  if (needsHealthCheckNodePort(old) && needsHealthCheckNodePort(service) && !spec.healthCheckNodePort && before.healthCheckNodePort) {
    spec.healthCheckNodePort = before.healthCheckNodePort;
  }
}

const otherFamily: Record<IPFamily, IPFamily> = { IPv4: 'IPv6', IPv6: 'IPv4' };

function ipNotInRange(ip: string, range: IpRange): string {
  return `the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${range.cidr}`;
}

function ipFailure(ip: string, result: Exclude<SpecificResult, 'ok'>, range: IpRange): string {
  return `failed to allocate IP ${ip}: ${result === 'taken' ? 'provided IP is already allocated' : ipNotInRange(ip, range)}`;
}

function portFailure(result: Exclude<SpecificResult, 'ok'>, range: PortRange): string {
  return result === 'taken' ? 'provided port is already allocated' : `provided port is not in the valid range. The range of valid ports is ${range}`;
}

function invalid(field: string, value: unknown, detail: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${detail}`, field };
}

/** The undo log and outcome of one allocate call: each step pushes how to take it back. */
class Transaction {
  readonly #undo: (() => void)[] = [];
  readonly causes: StatusCause[] = [];
  /** Set when a pool is exhausted; allocation stops there. */
  exhausted: string | undefined;

  took(undo: () => void): void {
    this.#undo.push(undo);
  }

  rollback(): void {
    for (const undo of this.#undo.splice(0).reverse()) undo();
  }
}

export class ServiceAllocator {
  #clusterIPs: IpRange;
  #nodePorts: PortRange;
  #pool: IpRange | undefined;
  readonly #options: ServiceAllocatorOptions;

  constructor(options: ServiceAllocatorOptions) {
    this.#options = options;
    this.#clusterIPs = new IpRange(options.serviceCidr);
    this.#nodePorts = new PortRange(options.nodePortRange);
    this.#pool = options.loadBalancerPool === undefined ? undefined : new IpRange(options.loadBalancerPool);
  }

  get clusterIPRange(): IpRange {
    return this.#clusterIPs;
  }

  get nodePortRange(): PortRange {
    return this.#nodePorts;
  }

  get loadBalancerPool(): IpRange | undefined {
    return this.#pool;
  }

  /**
   * Forgets everything and marks what the given (stored) Services hold.
   * A value claimed twice, or outside the pools, is reported and otherwise
   * left alone: the first claimant keeps it.
   */
  rebuild(services: readonly Service[]): RebuildProblem[] {
    this.#clusterIPs = new IpRange(this.#options.serviceCidr);
    this.#nodePorts = new PortRange(this.#options.nodePortRange);
    this.#pool = this.#options.loadBalancerPool === undefined ? undefined : new IpRange(this.#options.loadBalancerPool);
    const problems: RebuildProblem[] = [];
    for (const service of services) {
      const who = `${service.metadata.namespace ?? ''}/${service.metadata.name ?? ''}`;
      const note = (field: string, value: string | number, result: SpecificResult) => {
        if (result !== 'ok') problems.push({ service: who, field, value, problem: result === 'taken' ? 'duplicate' : 'out-of-range' });
      };
      if (needsClusterIP(service)) {
        for (const ip of heldClusterIPs(service)) note('spec.clusterIPs', ip, this.#clusterIPs.markUsed(ip));
      }
      const seen = new Set<number>();
      for (const [i, port] of (service.spec?.ports ?? []).entries()) {
        // One NodePort may serve the same port number under two protocols.
        if (!port.nodePort || seen.has(port.nodePort)) continue;
        seen.add(port.nodePort);
        note(`spec.ports[${i}].nodePort`, port.nodePort, this.#nodePorts.markUsed(port.nodePort));
      }
      const healthCheck = service.spec?.healthCheckNodePort;
      if (healthCheck) note('spec.healthCheckNodePort', healthCheck, this.#nodePorts.markUsed(healthCheck));
      const pool = this.#pool;
      if (pool && usesPool(service)) {
        for (const ip of ingressIPs(service).filter((ip) => pool.contains(ip))) note('status.loadBalancer.ingress.ip', ip, pool.markUsed(ip));
      }
    }
    return problems;
  }

  /**
   * Fills in what `service` needs from the pools (a copy is returned; the
   * argument is not changed). With `old` (an update) the values old holds
   * are kept where the new spec still uses them and given back where it
   * does not. On failure nothing stays allocated.
   *
   * Given-back values are freed at once and `release` re-marks them. Another
   * request could take one while the write is in flight; the rotating
   * cursor keeps dynamic allocation from reaching a just-freed value before
   * the range wraps, which leaves only an explicit request for that exact
   * value racing a failed write.
   */
  allocate(input: Service, old?: Service): AllocationResult {
    const service = structuredClone(input);
    service.spec ??= {};
    if (old) prepareServiceUpdate(service, old);
    const txn = new Transaction();
    const steps = [this.#assignClusterIPs, this.#assignNodePorts, this.#assignHealthCheckNodePort, this.#assignLoadBalancerIP];
    for (const step of steps) {
      step.call(this, service, old, txn);
      if (txn.exhausted !== undefined) {
        txn.rollback();
        return { ok: false, internal: txn.exhausted, causes: [{ reason: 'InternalError', message: `Internal error: ${txn.exhausted}`, field: 'spec' }] };
      }
    }
    if (txn.causes.length > 0) {
      txn.rollback();
      return { ok: false, causes: txn.causes };
    }
    let released = false;
    return {
      ok: true,
      service,
      release: () => {
        if (released) return;
        released = true;
        txn.rollback();
      },
    };
  }

  /** Gives back everything a deleted Service held. */
  releaseAll(service: Service): void {
    if (needsClusterIP(service)) for (const ip of heldClusterIPs(service)) this.#clusterIPs.release(ip);
    for (const port of nodePortsOf(service)) this.#nodePorts.release(port);
    const healthCheck = service.spec?.healthCheckNodePort;
    if (healthCheck) this.#nodePorts.release(healthCheck);
    const pool = this.#pool;
    if (pool && usesPool(service)) for (const ip of ingressIPs(service)) pool.release(ip);
  }

  #assignClusterIPs(service: Service, old: Service | undefined, txn: Transaction): void {
    const spec = service.spec;
    const range = this.#clusterIPs;
    const oldHeld = old && needsClusterIP(old) ? heldClusterIPs(old) : [];
    if (!needsClusterIP(service)) {
      for (const ip of oldHeld) this.#giveBack(range, ip, txn);
      return;
    }
    if (!this.#initIPFamilies(service, old, txn)) return;

    const requested = spec.clusterIPs?.[0] ?? spec.clusterIP ?? '';
    if (requested === 'None') {
      spec.clusterIP = 'None';
      spec.clusterIPs = ['None'];
      return;
    }
    // An update that keeps a type with cluster IPs keeps its IPs (validation forbids changing them).
    if (oldHeld.length > 0 && requested !== '') return;

    let ip: string;
    if (requested === '') {
      const next = range.allocate();
      if (next === undefined) {
        txn.exhausted = 'failed to allocate a serviceIP: range is full';
        return;
      }
      ip = next;
    } else {
      const result = range.allocateSpecific(requested);
      if (result !== 'ok') {
        txn.causes.push(invalid('spec.clusterIPs', spec.clusterIPs ?? [requested], ipFailure(requested, result, range)));
        return;
      }
      ip = requested;
    }
    txn.took(() => range.release(ip));
    spec.clusterIP = ip;
    spec.clusterIPs = [ip];
  }

  /** kube-apiserver's initIPFamilyFields for a single-family cluster. False when the request cannot be served. */
  #initIPFamilies(service: Service, old: Service | undefined, txn: Transaction): boolean {
    const spec = service.spec;
    const family = this.#clusterIPs.family;
    const headlessWithoutSelector = spec.clusterIP === 'None' && Object.keys(spec.selector ?? {}).length === 0;
    spec.ipFamilyPolicy ??= old?.spec?.ipFamilyPolicy ?? (headlessWithoutSelector ? 'RequireDualStack' : 'SingleStack');
    const families = [...(spec.ipFamilies ?? [])];
    const causes: StatusCause[] = [];
    for (const [i, ip] of (spec.clusterIPs ?? []).entries()) {
      if (ip === 'None') break;
      if (i < families.length) continue;
      const ipFamily = parseIp(ip)?.family;
      if (ipFamily === undefined) continue;
      if (ipFamily === family) families.push(ipFamily);
      else causes.push(invalid(`spec.clusterIPs[${i}]`, spec.clusterIPs, `${ipFamily} is not configured on this cluster`));
    }
    if (causes.length === 0 && headlessWithoutSelector) {
      // Headless without a selector may carry both families even on a single-family cluster.
      if (families.length === 0) families.push(family);
      const first = families[0] as IPFamily;
      if (families.length < 2 && spec.ipFamilyPolicy !== 'SingleStack') families.push(otherFamily[first]);
      spec.ipFamilies = families;
      return true;
    }
    if (spec.ipFamilyPolicy === 'RequireDualStack') {
      causes.push(invalid('spec.ipFamilyPolicy', spec.ipFamilyPolicy, 'this cluster is not configured for dual-stack services'));
    }
    for (const [i, ipFamily] of families.entries()) {
      if (ipFamily !== family) causes.push(invalid(`spec.ipFamilies[${i}]`, ipFamily, 'not configured on this cluster'));
    }
    if (causes.length > 0) {
      txn.causes.push(...causes);
      return false;
    }
    spec.ipFamilies = families.length > 0 ? families : [family];
    return true;
  }

  #assignNodePorts(service: Service, old: Service | undefined, txn: Transaction): void {
    const range = this.#nodePorts;
    const oldHeld = new Set(old && needsNodePorts(old) ? nodePortsOf(old) : []);
    const claimed = new Set<number>();
    if (needsNodePorts(service)) {
      const ports: ServicePort[] = service.spec.ports ?? [];
      const allocateNew = serviceType(service) === 'NodePort' || service.spec.allocateLoadBalancerNodePorts !== false;
      // The same port number under two protocols (53/TCP, 53/UDP) shares one NodePort, as upstream.
      const byServicePort = new Map<number, number>();
      for (const [i, port] of ports.entries()) {
        let nodePort = port.nodePort || byServicePort.get(port.port) || requestedNodePort(port.port, ports);
        if (!nodePort) {
          if (!allocateNew) continue;
          const next = range.allocate();
          if (next === undefined) {
            txn.exhausted = 'failed to allocate a nodePort: range is full';
            return;
          }
          nodePort = next;
          txn.took(() => range.release(next));
        } else if (!claimed.has(nodePort) && !oldHeld.has(nodePort)) {
          const result = range.allocateSpecific(nodePort);
          if (result !== 'ok') {
            txn.causes.push(invalid(`spec.ports[${i}].nodePort`, nodePort, portFailure(result, range)));
            continue;
          }
          const taken = nodePort;
          txn.took(() => range.release(taken));
        }
        port.nodePort = nodePort;
        claimed.add(nodePort);
        byServicePort.set(port.port, nodePort);
      }
    }
    for (const port of oldHeld) if (!claimed.has(port)) this.#giveBack(range, port, txn);
  }

  #assignHealthCheckNodePort(service: Service, old: Service | undefined, txn: Transaction): void {
    const range = this.#nodePorts;
    const spec = service.spec;
    const held = old && needsHealthCheckNodePort(old) ? (old.spec.healthCheckNodePort ?? 0) : 0;
    if (!needsHealthCheckNodePort(service)) {
      if (held) this.#giveBack(range, held, txn);
      return;
    }
    const requested = spec.healthCheckNodePort ?? 0;
    if (requested !== 0 && requested === held) return;
    if (requested === 0) {
      const next = range.allocate();
      if (next === undefined) {
        txn.exhausted = 'failed to allocate a HealthCheck NodePort: range is full';
        return;
      }
      txn.took(() => range.release(next));
      spec.healthCheckNodePort = next;
    } else {
      const result = range.allocateSpecific(requested);
      if (result !== 'ok') {
        txn.causes.push(invalid('spec.healthCheckNodePort', requested, portFailure(result, range)));
        return;
      }
      txn.took(() => range.release(requested));
    }
    if (held) this.#giveBack(range, held, txn);
  }

  #assignLoadBalancerIP(service: Service, old: Service | undefined, txn: Transaction): void {
    if (serviceType(service) !== 'LoadBalancer') {
      // A Service that is no longer a LoadBalancer shows no load-balancer status.
      service.status = { ...service.status, loadBalancer: {} };
    }
    const pool = this.#pool;
    if (!pool) return;
    const held = old && usesPool(old) ? ingressIPs(old).filter((ip) => pool.contains(ip)) : [];
    if (!usesPool(service)) {
      for (const ip of held) this.#giveBack(pool, ip, txn);
      return;
    }
    const wanted = service.spec.loadBalancerIP || undefined;
    let ips = held;
    if (held.length === 0 || (wanted !== undefined && !held.includes(wanted))) {
      let ip: string | undefined;
      if (wanted !== undefined) {
        const result = pool.allocateSpecific(wanted);
        if (result !== 'ok') {
          txn.causes.push(invalid('spec.loadBalancerIP', wanted, ipFailure(wanted, result, pool)));
          return;
        }
        ip = wanted;
      } else {
        // An exhausted pool leaves the Service pending instead of failing the write.
        ip = pool.allocate();
      }
      if (ip === undefined) return;
      const taken = ip;
      txn.took(() => pool.release(taken));
      for (const previous of held) this.#giveBack(pool, previous, txn);
      ips = [ip];
    }
    const ingress: LoadBalancerIngress[] = ips.map((ip) => ({ ip, ipMode: 'VIP' }));
    service.status = { ...service.status, loadBalancer: { ingress } };
  }

  /** Releases a value the Service gave up; undoing puts it back. */
  #giveBack<T>(range: { release(value: T): void; markUsed(value: T): SpecificResult }, value: T, txn: Transaction): void {
    range.release(value);
    txn.took(() => range.markUsed(value));
  }
}

/** The cluster IPs a stored Service holds: clusterIPs (or the singular field), without "None". */
function heldClusterIPs(service: Service): string[] {
  const spec = service.spec ?? {};
  const ips = (spec.clusterIPs?.length ?? 0) > 0 ? (spec.clusterIPs ?? []) : spec.clusterIP ? [spec.clusterIP] : [];
  return ips.filter((ip) => ip !== '' && ip !== 'None');
}

/** The pool serves LoadBalancer Services that did not ask for another load-balancer implementation. */
function usesPool(service: Service): boolean {
  return serviceType(service) === 'LoadBalancer' && !service.spec?.loadBalancerClass;
}

function ingressIPs(service: Service): string[] {
  return (service.status?.loadBalancer?.ingress ?? []).map((entry) => entry.ip ?? '').filter((ip) => ip !== '');
}

/** A nodePort asked for by any port entry with this port number (upstream findRequestedNodePort). */
function requestedNodePort(servicePort: number, ports: readonly ServicePort[]): number {
  return ports.find((port) => port.port === servicePort && port.nodePort)?.nodePort ?? 0;
}
