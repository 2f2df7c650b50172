/** Builders for the controller tests: a `web` Service selecting `app: web` pods that serve `http` on 8080. */
import type { Endpoint, EndpointSlice, Pod, Service } from '../../../../controlplane/api/types.ts';
import type { SliceChanges } from '../../../../controlplane/controllers/endpointslice-model.ts';

export function makeService(namespace: string, name: string, tweak?: (service: Service) => void): Service {
  const service: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace, name, uid: `uid-svc-${name}`, labels: { team: 'blue' } },
    spec: {
      selector: { app: name },
      clusterIP: '10.96.0.10',
      ipFamilies: ['IPv4'],
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    },
  };
  tweak?.(service);
  return service;
}

export function makePod(namespace: string, name: string, ip: string | undefined, tweak?: (pod: Pod) => void): Pod {
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace, name, uid: `uid-${name}`, labels: { app: 'web' } },
    spec: { nodeName: 'node-1', containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };
  if (ip !== undefined && pod.status) {
    pod.status.podIP = ip;
    pod.status.podIPs = [{ ip }];
  }
  tweak?.(pod);
  return pod;
}

export function notReady(pod: Pod): void {
  if (pod.status) pod.status.conditions = [{ type: 'Ready', status: 'False' }];
}

export function terminating(pod: Pod): void {
  pod.metadata.deletionTimestamp = '2025-01-01T00:00:00Z';
}

/** `count` ready pods web-000… with IPs 10.1.x.y, in name order. */
export function manyPods(count: number): Pod[] {
  return Array.from({ length: count }, (_, i) => makePod('default', `web-${String(i).padStart(3, '0')}`, `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`));
}

/** One endpoint as `name ip [conditions that are true]`, for compact expectations. */
export function describeEndpoint(endpoint: Endpoint): string {
  const conditions = Object.entries(endpoint.conditions ?? {})
    .filter(([, value]) => value)
    .map(([key]) => key);
  return [endpoint.targetRef?.name ?? '-', endpoint.addresses.join(','), ...conditions].join(' ');
}

/** What the store does on create: a name from generateName, a uid and a resourceVersion. */
export function stored(slices: EndpointSlice[], prefixIndex = 0): EndpointSlice[] {
  return slices.map((slice, i) => ({
    ...slice,
    metadata: { ...slice.metadata, name: `${slice.metadata.generateName ?? ''}s${prefixIndex + i}`, uid: `uid-slice-${prefixIndex + i}`, resourceVersion: String(10 + i) },
  }));
}

/** The store after the changes: deleted slices gone, updated ones replaced, created ones stored under new names. */
export function applyChanges(existing: EndpointSlice[], changes: SliceChanges): EndpointSlice[] {
  const deleted = new Set(changes.delete.map((slice) => slice.metadata.name));
  const kept = existing.filter((slice) => !deleted.has(slice.metadata.name)).map((slice) => changes.update.find((u) => u.metadata.name === slice.metadata.name) ?? slice);
  return [...kept, ...stored(changes.create, existing.length + 100)];
}
