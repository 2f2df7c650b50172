/**
 * What every cluster has from the start: the default, kube-system and
 * kube-public namespaces, and the default/kubernetes Service on the first
 * address of the service CIDR (where in-cluster clients look for the API).
 */
import { IpRange } from './allocators/ip-range.ts';
import { findResource, type ResourceInfo } from './api/resources.ts';
import { ApiError } from './api/status.ts';
import type { KubeObject } from './api/types.ts';
import type { Registry } from './registry/store.ts';

export const systemNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

async function createIfMissing(registry: Registry, info: ResourceInfo, namespace: string | undefined, object: KubeObject): Promise<void> {
  try {
    await registry.create(info, namespace, object);
  } catch (error) {
    if (!(error instanceof ApiError && error.status.reason === 'AlreadyExists')) throw error;
  }
}

export async function bootstrap(registry: Registry, serviceCidr: string): Promise<void> {
  const namespaces = findResource('', 'v1', 'namespaces') as ResourceInfo;
  const services = findResource('', 'v1', 'services') as ResourceInfo;
  for (const name of systemNamespaces) {
    await createIfMissing(registry, namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  await createIfMissing(registry, services, 'default', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      type: 'ClusterIP',
      clusterIP: new IpRange(serviceCidr).first,
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
      sessionAffinity: 'None',
    },
  });
}
