/**
 * Small builders for the API objects e2e suites create, and readers for what
 * the controllers produce (EndpointSlices), so suites stay about behaviour.
 */
import type { EndpointSlice, Service, ServicePort, ServiceSpec } from '../../../controlplane/api/types.ts';
import { inNamespace, refs, type ApiClient } from '../../../controlplane/client/types.ts';

/** A Service; `ports` default to http 80 -> the pod app's 8080. */
export function makeService(namespace: string, name: string, spec: Partial<ServiceSpec> & { selector?: Record<string, string>; ports?: ServicePort[] } = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { type: 'ClusterIP', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], ...spec },
  };
}

export interface SliceEndpoint {
  ip: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName: string | undefined;
  pod: string | undefined;
}

/** Every endpoint of a Service's EndpointSlices (label kubernetes.io/service-name), sorted by IP. */
export async function sliceEndpoints(api: ApiClient, namespace: string, service: string): Promise<SliceEndpoint[]> {
  const list = await api.list<EndpointSlice>(inNamespace(refs.endpointslices, namespace), { labelSelector: `kubernetes.io/service-name=${service}` });
  const out: SliceEndpoint[] = [];
  for (const slice of list.items) {
    for (const endpoint of slice.endpoints ?? []) {
      const ready = endpoint.conditions?.ready ?? true;
      for (const ip of endpoint.addresses) {
        out.push({
          ip,
          ready,
          serving: endpoint.conditions?.serving ?? ready,
          terminating: endpoint.conditions?.terminating ?? false,
          nodeName: endpoint.nodeName,
          pod: endpoint.targetRef?.name,
        });
      }
    }
  }
  return out.sort((a, b) => a.ip.localeCompare(b.ip, 'en', { numeric: true }));
}

/** The IPs of a Service's ready endpoints, sorted. */
export async function readyEndpointIps(api: ApiClient, namespace: string, service: string): Promise<string[]> {
  return (await sliceEndpoints(api, namespace, service)).filter((e) => e.ready).map((e) => e.ip);
}
