/**
 * The resources the API store serves. Discovery, OpenAPI, routing, storage
 * keys, field selectors and Table conversion are all driven from this one
 * list, so adding a kind means adding one entry (plus its Table columns).
 */

export interface ResourceInfo {
  /** "" for the core group. */
  group: string;
  version: string;
  /** Plural, lower-case: the URL segment. */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Has a `status` subresource; status is ignored on writes to the main resource. */
  hasStatus: boolean;
  /** Key prefix inside storage, kube-apiserver's etcd layout (e.g. "services/specs"). */
  storagePrefix: string;
  /** Field selector labels beyond metadata.name and metadata.namespace. */
  fieldLabels: string[];
}

const verbs = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] as const;
export const resourceVerbs: readonly string[] = verbs;

function core(info: Omit<ResourceInfo, 'group' | 'version'>): ResourceInfo {
  return { group: '', version: 'v1', ...info };
}

export const resources: readonly ResourceInfo[] = Object.freeze([
  core({ resource: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false, shortNames: ['ns'], categories: [], hasStatus: true, storagePrefix: 'namespaces', fieldLabels: ['status.phase'] }),
  core({ resource: 'services', singular: 'service', kind: 'Service', namespaced: true, shortNames: ['svc'], categories: ['all'], hasStatus: true, storagePrefix: 'services/specs', fieldLabels: [] }),
  core({ resource: 'endpoints', singular: 'endpoints', kind: 'Endpoints', namespaced: true, shortNames: ['ep'], categories: [], hasStatus: false, storagePrefix: 'services/endpoints', fieldLabels: [] }),
  core({ resource: 'pods', singular: 'pod', kind: 'Pod', namespaced: true, shortNames: ['po'], categories: ['all'], hasStatus: true, storagePrefix: 'pods', fieldLabels: ['spec.nodeName', 'spec.hostname', 'status.phase', 'status.podIP'] }),
  core({ resource: 'nodes', singular: 'node', kind: 'Node', namespaced: false, shortNames: ['no'], categories: [], hasStatus: true, storagePrefix: 'minions', fieldLabels: ['spec.unschedulable'] }),
  core({ resource: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true, shortNames: [], categories: [], hasStatus: false, storagePrefix: 'secrets', fieldLabels: ['type'] }),
  core({ resource: 'configmaps', singular: 'configmap', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'], categories: [], hasStatus: false, storagePrefix: 'configmaps', fieldLabels: [] }),
  core({
    resource: 'events', singular: 'event', kind: 'Event', namespaced: true, shortNames: ['ev'], categories: [], hasStatus: false, storagePrefix: 'events',
    fieldLabels: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
  }),
  { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', singular: 'endpointslice', kind: 'EndpointSlice', namespaced: true, shortNames: [], categories: [], hasStatus: false, storagePrefix: 'endpointslices', fieldLabels: [] },
  { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', singular: 'ingress', kind: 'Ingress', namespaced: true, shortNames: ['ing'], categories: ['all'], hasStatus: true, storagePrefix: 'ingress', fieldLabels: [] },
  { group: 'networking.k8s.io', version: 'v1', resource: 'ingressclasses', singular: 'ingressclass', kind: 'IngressClass', namespaced: false, shortNames: [], categories: [], hasStatus: false, storagePrefix: 'ingressclasses', fieldLabels: [] },
]);

export function apiVersionOf(info: ResourceInfo): string {
  return info.group === '' ? info.version : `${info.group}/${info.version}`;
}

export function findResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  return resources.find((r) => r.group === group && r.version === version && r.resource === resource);
}

export function findResourceByKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return resources.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

/** Storage key of an object: `/registry/<prefix>/<ns>/<name>` or `/registry/<prefix>/<name>`. */
export function storageKey(info: ResourceInfo, namespace: string | undefined, name: string): string {
  return info.namespaced ? `/registry/${info.storagePrefix}/${namespace}/${name}` : `/registry/${info.storagePrefix}/${name}`;
}

/** Storage prefix for a list: all namespaces, or one. Ends with "/". */
export function storageListPrefix(info: ResourceInfo, namespace?: string): string {
  return namespace && info.namespaced ? `/registry/${info.storagePrefix}/${namespace}/` : `/registry/${info.storagePrefix}/`;
}
