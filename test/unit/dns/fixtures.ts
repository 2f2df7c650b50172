/**
 * The cluster the DNS spec tables run against, as real API objects: the unit
 * tables feed them to the view directly, the live table creates them through
 * the API store. Cluster IPs sit in the store's default service CIDR
 * (10.96.0.0/12); IPv6 cluster IPs only appear in `unitOnlyObjects`, because
 * the store allocates from one IPv4 range.
 */
import type { EndpointSlice, Namespace, Pod, Service, ServiceSpec } from '../../../controlplane/api/types.ts';
import { namespaceName, Records, slimPod, slimService, slimSlice } from '../../../dns/records.ts';

export const serial = 1499347823;

export function makeNamespace(name: string): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export function makeService(namespace: string, name: string, spec: ServiceSpec): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace, name }, spec };
}

interface EndpointFixture {
  ip: string;
  hostname?: string;
  ready?: boolean;
}

export function makeSlice(
  namespace: string,
  service: string,
  name: string,
  addressType: 'IPv4' | 'IPv6',
  endpoints: EndpointFixture[],
  ports: { name?: string; port: number; protocol?: 'TCP' | 'UDP' }[] = [{ name: 'http', port: 80, protocol: 'TCP' }],
): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace, name, labels: { 'kubernetes.io/service-name': service } },
    addressType,
    endpoints: endpoints.map((endpoint) => ({
      addresses: [endpoint.ip],
      ...(endpoint.hostname ? { hostname: endpoint.hostname } : {}),
      conditions: { ready: endpoint.ready ?? true },
    })),
    ports,
  };
}

export function makePod(namespace: string, name: string, ip: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace, name },
    spec: { containers: [{ name: 'app', image: 'app' }] },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
  };
}

const http = { name: 'http', port: 80, protocol: 'TCP' as const };

export const fixtureObjects = {
  namespaces: [makeNamespace('testns'), makeNamespace('emptyns')],
  services: [
    makeService('testns', 'svc1', { type: 'ClusterIP', clusterIP: '10.96.0.11', clusterIPs: ['10.96.0.11'], ports: [http] }),
    makeService('testns', 'svcempty', { type: 'ClusterIP', clusterIP: '10.96.0.12', clusterIPs: ['10.96.0.12'], ports: [http] }),
    makeService('testns', 'svc-multi', {
      type: 'ClusterIP',
      clusterIP: '10.96.0.14',
      clusterIPs: ['10.96.0.14'],
      ports: [http, { name: 'dns', port: 53, protocol: 'UDP' }, { name: 'metrics', port: 8080, protocol: 'TCP' }],
    }),
    makeService('testns', 'svc-unnamed', { type: 'ClusterIP', clusterIP: '10.96.0.16', clusterIPs: ['10.96.0.16'], ports: [{ port: 8080, protocol: 'TCP' }] }),
    makeService('testns', 'hdls1', { clusterIP: 'None', clusterIPs: ['None'], ports: [http] }),
    makeService('testns', 'hdlsprtls', { clusterIP: 'None', clusterIPs: ['None'] }),
    makeService('testns', 'hdls-unready', { clusterIP: 'None', clusterIPs: ['None'], ports: [http] }),
    makeService('testns', 'hdls-pna', { clusterIP: 'None', clusterIPs: ['None'], ports: [http], publishNotReadyAddresses: true }),
    makeService('testns', 'web', { clusterIP: 'None', clusterIPs: ['None'], ports: [http] }),
    makeService('testns', 'external', { type: 'ExternalName', externalName: 'ext.interwebs.test' }),
    makeService('testns', 'external-to-service', { type: 'ExternalName', externalName: 'svc1.testns.svc.cluster.local.' }),
    makeService('testns', 'external-ip', { type: 'ExternalName', externalName: '1.2.3.4' }),
    makeService('testns', 'loop-a', { type: 'ExternalName', externalName: 'loop-b.testns.svc.cluster.local' }),
    makeService('testns', 'loop-b', { type: 'ExternalName', externalName: 'loop-a.testns.svc.cluster.local' }),
  ],
  slices: [
    makeSlice('testns', 'svc1', 'svc1-a', 'IPv4', [{ ip: '172.0.0.1', hostname: 'ep1a' }]),
    makeSlice('testns', 'hdls1', 'hdls1-v4', 'IPv4', [
      { ip: '172.0.0.2' },
      { ip: '172.0.0.3' },
      { ip: '172.0.0.4', hostname: 'dup-name' },
      { ip: '172.0.0.5', hostname: 'dup-name' },
      { ip: '172.0.0.6', ready: false },
    ]),
    makeSlice('testns', 'hdls1', 'hdls1-v6', 'IPv6', [{ ip: '5678:abcd::1' }, { ip: '5678:abcd::2' }]),
    makeSlice('testns', 'hdlsprtls', 'hdlsprtls-a', 'IPv4', [{ ip: '172.0.0.20' }], []),
    makeSlice('testns', 'hdls-unready', 'hdls-unready-a', 'IPv4', [{ ip: '172.0.0.21', ready: false }]),
    makeSlice('testns', 'hdls-pna', 'hdls-pna-a', 'IPv4', [{ ip: '172.0.0.30', ready: false }]),
    makeSlice('testns', 'web', 'web-a', 'IPv4', [
      { ip: '172.0.1.10', hostname: 'web-0' },
      { ip: '172.0.1.11', hostname: 'web-1' },
    ]),
  ],
  pods: [makePod('testns', 'pod-1', '172.0.0.50')],
};

/** Objects the live store cannot hold as written: IPv6 cluster IPs need a second service CIDR, and validation wants ports. */
export const unitOnlyObjects = {
  services: [
    // The API requires ports on a ClusterIP service; CoreDNS still answers A for one without.
    makeService('testns', 'svc-noports', { type: 'ClusterIP', clusterIP: '10.96.0.13', clusterIPs: ['10.96.0.13'] }),
    makeService('testns', 'svc6', { type: 'ClusterIP', clusterIP: '1234:abcd::1', clusterIPs: ['1234:abcd::1'], ipFamilies: ['IPv6'], ports: [http] }),
    makeService('testns', 'svc-dual-stack', { type: 'ClusterIP', clusterIP: '10.96.0.15', clusterIPs: ['10.96.0.15', '10::3'], ipFamilies: ['IPv4', 'IPv6'], ports: [http] }),
  ],
};

/** A synced view holding the given objects. */
export function viewOf(objects: { namespaces?: Namespace[]; services?: Service[]; slices?: EndpointSlice[]; pods?: Pod[] }): Records {
  const records = new Records();
  for (const namespace of objects.namespaces ?? []) records.setNamespace(namespaceName(namespace), true);
  for (const service of objects.services ?? []) {
    const slim = slimService(service);
    if (typeof slim === 'string') throw new Error(slim);
    records.setService(`${slim.namespace}/${slim.name}`, slim);
  }
  for (const slice of objects.slices ?? []) {
    const slim = slimSlice(slice);
    if (slim) records.setSlice(slim, slim);
  }
  for (const pod of objects.pods ?? []) records.setPod(`${pod.metadata.namespace}/${pod.metadata.name}`, slimPod(pod));
  records.synced = true;
  records.serial = serial;
  return records;
}

export function fixtureView(): Records {
  return viewOf({
    namespaces: fixtureObjects.namespaces,
    services: [...fixtureObjects.services, ...unitOnlyObjects.services],
    slices: fixtureObjects.slices,
    pods: fixtureObjects.pods,
  });
}
