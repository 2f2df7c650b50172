/**
 * Builders for proxy tests: a Service or EndpointSlice with kube-proxy's test
 * defaults (node 192.168.0.2 named "node1", cluster CIDR 10.0.0.0/8), changed
 * by a tweak, and the model a renderer or syncer takes from them.
 */
import type { Endpoint, EndpointSlice, Service, ServicePort } from '../../../controlplane/api/types.ts';
import { EndpointsChangeTracker, ServiceChangeTracker, type EndpointsMap, type ServicePortMap } from '../../../proxy/model.ts';
import type { RenderOptions } from '../../../proxy/iptables/render.ts';

export const NODE_NAME = 'node1';
export const NODE_IP = '192.168.0.2';
export const CLUSTER_CIDR = '10.0.0.0/8';

export const renderOptions: RenderOptions = { clusterCidr: CLUSTER_CIDR, nodeIPs: [NODE_IP], masqueradeMark: '0x4000' };

export function makeService(namespace: string, name: string, tweak: (service: Service) => void = () => {}): Service {
  const service: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace, name, resourceVersion: '1' },
    spec: { type: 'ClusterIP', clusterIP: '', ports: [] },
  };
  tweak(service);
  return service;
}

export function tcpPort(name: string, port: number, extra: Partial<ServicePort> = {}): ServicePort {
  return { name, protocol: 'TCP', port, targetPort: port, ...extra };
}

export function makeSlice(namespace: string, service: string, suffix: string, tweak: (slice: EndpointSlice) => void = () => {}): EndpointSlice {
  const slice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace, name: `${service}-${suffix}`, labels: { 'kubernetes.io/service-name': service }, resourceVersion: '1' },
    addressType: 'IPv4',
    endpoints: [],
    ports: [],
  };
  tweak(slice);
  return slice;
}

export function endpoint(ip: string, extra: Partial<Endpoint> = {}): Endpoint {
  return { addresses: [ip], ...extra };
}

/** The maps a sync would hold after these objects were added. */
export function buildModel(services: readonly Service[], slices: readonly EndpointSlice[], nodeName = NODE_NAME): { servicePorts: ServicePortMap; endpoints: EndpointsMap } {
  const serviceTracker = new ServiceChangeTracker();
  const endpointsTracker = new EndpointsChangeTracker(nodeName);
  for (const service of services) serviceTracker.update(undefined, service);
  for (const slice of slices) endpointsTracker.update(undefined, slice);
  const servicePorts: ServicePortMap = new Map();
  const endpoints: EndpointsMap = new Map();
  serviceTracker.apply(servicePorts);
  endpointsTracker.apply(endpoints);
  return { servicePorts, endpoints };
}
