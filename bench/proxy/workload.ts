/**
 * The synthetic cluster the proxy benchmark programs: N ClusterIP services
 * with one TCP port and E endpoints each, as API objects (Service +
 * EndpointSlice). Pure and deterministic: service i always has the same
 * name, ClusterIP and endpoint addresses, so runs compare.
 *
 * Addresses: ClusterIPs from 10.96.0.0/12 (10.96.0.0 + 16 + i), endpoints
 * from 10.64.0.0/12 (10.64.0.0 + 16·i + j), inside the cluster CIDR
 * 10.0.0.0/8. None of these endpoint addresses exists: only the probe
 * service (added by the benchmark) points at a real pod.
 */
import type { EndpointSlice, Service } from '../../controlplane/api/types.ts';

export const BENCH_NAMESPACE = 'bench';
export const BENCH_CLUSTER_CIDR = '10.0.0.0/8';
export const SERVICE_PORT = 80;
export const TARGET_PORT = 8080;

function ipv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

const serviceBase = (10 << 24) | (96 << 16);
const endpointBase = (10 << 24) | (64 << 16);
/** 10.64.0.0/12 holds 2^20 addresses: 65,536 services of up to 16 endpoints. */
export const MAX_SERVICES = 65_000;
export const MAX_ENDPOINTS = 16;

export function serviceName(index: number): string {
  return `svc-${String(index).padStart(5, '0')}`;
}

export function clusterIPOf(index: number): string {
  return ipv4((serviceBase + 16 + index) >>> 0);
}

export function endpointIPOf(index: number, endpoint: number): string {
  return ipv4((endpointBase + index * MAX_ENDPOINTS + endpoint) >>> 0);
}

export function makeBenchService(name: string, clusterIP: string): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: BENCH_NAMESPACE, name },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      clusterIPs: [clusterIP],
      selector: { app: name },
      ports: [{ name: 'http', protocol: 'TCP', port: SERVICE_PORT, targetPort: TARGET_PORT }],
    },
  };
}

/** The service's one slice; `triggerTime` becomes the last-change-trigger-time annotation. */
export function makeBenchSlice(name: string, ips: readonly string[], nodeName: string, triggerTime?: string): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      namespace: BENCH_NAMESPACE,
      name: `${name}-bench`,
      labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'kplane-bench' },
      ...(triggerTime === undefined ? {} : { annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': triggerTime } }),
    },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false }, nodeName })),
    ports: [{ name: 'http', protocol: 'TCP', port: TARGET_PORT }],
  };
}

export interface Workload {
  readonly services: Service[];
  readonly slices: EndpointSlice[];
}

/** `count` services of `endpoints` endpoints each, spread over no node in particular (`nodeName`). */
export function makeWorkload(count: number, endpoints: number, nodeName = 'elsewhere'): Workload {
  if (!Number.isInteger(count) || count < 0 || count > MAX_SERVICES) throw new RangeError(`services: ${count} is outside 0-${MAX_SERVICES}`);
  if (!Number.isInteger(endpoints) || endpoints < 1 || endpoints > MAX_ENDPOINTS) throw new RangeError(`endpoints: ${endpoints} is outside 1-${MAX_ENDPOINTS}`);
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < count; i++) {
    const name = serviceName(i);
    services.push(makeBenchService(name, clusterIPOf(i)));
    slices.push(
      makeBenchSlice(
        name,
        Array.from({ length: endpoints }, (_, j) => endpointIPOf(i, j)),
        nodeName,
      ),
    );
  }
  return { services, slices };
}
