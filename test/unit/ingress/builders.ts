/**
 * Small builders for the objects the ingress controller reads: each makes a
 * valid default and takes the parts a test case cares about.
 */
import type { EndpointSlice, HTTPIngressPath, Ingress, IngressBackend, IngressClass, Secret, Service, ServicePort } from '../../../controlplane/api/types.ts';

export interface IngressParts {
  namespace?: string;
  created?: string;
  annotations?: Record<string, string>;
  className?: string;
  defaultBackend?: IngressBackend;
  rules?: { host?: string; paths?: HTTPIngressPath[] }[];
  tls?: { hosts?: string[]; secretName?: string }[];
}

export function makeIngress(name: string, parts: IngressParts = {}): Ingress {
  const spec: Ingress['spec'] = {};
  if (parts.className) spec.ingressClassName = parts.className;
  if (parts.defaultBackend) spec.defaultBackend = parts.defaultBackend;
  if (parts.rules) spec.rules = parts.rules.map((rule) => ({ ...(rule.host === undefined ? {} : { host: rule.host }), ...(rule.paths ? { http: { paths: rule.paths } } : {}) }));
  if (parts.tls) spec.tls = parts.tls;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      namespace: parts.namespace ?? 'default',
      name,
      uid: `uid-${name}`,
      creationTimestamp: parts.created ?? '2026-01-01T00:00:00Z',
      ...(parts.annotations ? { annotations: parts.annotations } : {}),
    },
    spec,
  };
}

/** A service backend: a number port, or a named one. */
export function backend(service: string, port: number | string): IngressBackend {
  return { service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } } };
}

export function path(pathText: string | undefined, pathType: HTTPIngressPath['pathType'], to: IngressBackend): HTTPIngressPath {
  return { ...(pathText === undefined ? {} : { path: pathText }), pathType, backend: to };
}

export const prefix = (pathText: string, service: string, port: number | string = 80) => path(pathText, 'Prefix', backend(service, port));
export const exact = (pathText: string, service: string, port: number | string = 80) => path(pathText, 'Exact', backend(service, port));
export const specific = (pathText: string | undefined, service: string, port: number | string = 80) => path(pathText, 'ImplementationSpecific', backend(service, port));

export function makeService(name: string, ports: ServicePort[] = [{ name: 'http', port: 80 }], namespace = 'default', tweak: Partial<Service['spec']> = {}): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace, name }, spec: { ports, ...tweak } };
}

export interface SliceEndpoint {
  address: string;
  ready?: boolean;
}

/** A slice of `service` whose endpoints listen on `port`, under the port name `portName` ('' for an unnamed port). */
export function makeSlice(service: string, sliceName: string, portName: string, port: number, endpoints: (string | SliceEndpoint)[], options: { namespace?: string; addressType?: EndpointSlice['addressType'] } = {}): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: options.namespace ?? 'default', name: sliceName, labels: { 'kubernetes.io/service-name': service } },
    addressType: options.addressType ?? 'IPv4',
    ports: [{ ...(portName === '' ? {} : { name: portName }), port, protocol: 'TCP' }],
    endpoints: endpoints.map((entry) => {
      const { address, ready } = typeof entry === 'string' ? { address: entry, ready: undefined } : entry;
      return { addresses: [address], ...(ready === undefined ? {} : { conditions: { ready } }) };
    }),
  };
}

export function makeClass(name: string, controller: string, isDefault = false): IngressClass {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name, ...(isDefault ? { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } } : {}) },
    spec: { controller },
  };
}

export function makeTlsSecret(name: string, cert: string, key: string, namespace = 'default'): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { namespace, name, uid: `uid-secret-${name}`, resourceVersion: '1' },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(cert).toString('base64'), 'tls.key': Buffer.from(key).toString('base64') },
  };
}
