/**
 * Defaulting, as kube-apiserver does it between decoding a request and
 * validating it: the SetDefaults_* functions of the v1 APIs, the v1→internal
 * conversions that fold one field into another (Secret stringData, Pod
 * podIP/podIPs), and the create/update preparation of the registry
 * strategies (Namespace finalizer, Service clusterIPs and type changes).
 *
 * Service fields that depend on the cluster's configuration (clusterIPs,
 * ipFamilies, ipFamilyPolicy, nodePorts) are not defaulted here: the
 * ServiceAllocator fills them in, as kube-apiserver's allocation step does.
 */
import type { Container, EndpointSlice, Endpoints, IngressClass, KubeObject, Namespace, Node, Pod, Probe, Secret, Service } from '../api/types.ts';
import { isExternallyAccessible, prepareServiceUpdate, serviceType } from '../allocators/service-allocator.ts';

/** The ClientIP affinity timeout when none is given: 3 hours. */
const defaultAffinitySeconds = 10800;

function defaultService(service: Service, old: Service | undefined): void {
  const spec = (service.spec ??= {});
  if (!spec.sessionAffinity) spec.sessionAffinity = 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP' && spec.sessionAffinityConfig?.clientIP?.timeoutSeconds === undefined) {
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: defaultAffinitySeconds } };
  }
  if (!spec.type) spec.type = 'ClusterIP';
  for (const port of Array.isArray(spec.ports) ? spec.ports : []) {
    if (!port.protocol) port.protocol = 'TCP';
    if ((port.targetPort === undefined || port.targetPort === 0 || port.targetPort === '') && typeof port.port === 'number') port.targetPort = port.port;
  }
  const type = serviceType(service);
  if (isExternallyAccessible(service) && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = 'Cluster';
  if (spec.internalTrafficPolicy === undefined && (type === 'ClusterIP' || type === 'NodePort' || type === 'LoadBalancer')) {
    spec.internalTrafficPolicy = 'Cluster';
  }
  if (type === 'LoadBalancer') {
    spec.allocateLoadBalancerNodePorts ??= true;
    for (const ingress of service.status?.loadBalancer?.ingress ?? []) {
      if (ingress.ip && !ingress.ipMode) ingress.ipMode = 'VIP';
    }
  }
  if (old) prepareServiceUpdate(service, old);
  else if (spec.clusterIP && (spec.clusterIPs?.length ?? 0) === 0) {
    // A client that knows only the singular field: the plural follows it.
    spec.clusterIPs = [spec.clusterIP];
  }
}

/** Go's ParseImageName tag: "latest" when the reference has neither tag nor digest. */
function imageTag(image: string): string {
  if (image === '' || image.includes('@')) return '';
  const lastComponent = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastComponent.indexOf(':');
  return colon === -1 ? 'latest' : lastComponent.slice(colon + 1);
}

function defaultProbe(probe: Probe | undefined): void {
  if (!probe) return;
  if (!probe.timeoutSeconds) probe.timeoutSeconds = 1;
  if (!probe.periodSeconds) probe.periodSeconds = 10;
  if (!probe.successThreshold) probe.successThreshold = 1;
  if (!probe.failureThreshold) probe.failureThreshold = 3;
  if (probe.httpGet) {
    if (!probe.httpGet.path) probe.httpGet.path = '/';
    if (!probe.httpGet.scheme) probe.httpGet.scheme = 'HTTP';
  }
}

function defaultContainer(container: Container): void {
  if (!container.imagePullPolicy) container.imagePullPolicy = imageTag(container.image ?? '') === 'latest' ? 'Always' : 'IfNotPresent';
  if (!container.terminationMessagePath) container.terminationMessagePath = '/dev/termination-log';
  if (!container.terminationMessagePolicy) container.terminationMessagePolicy = 'File';
  for (const port of container.ports ?? []) if (!port.protocol) port.protocol = 'TCP';
  defaultProbe(container.readinessProbe);
  defaultProbe(container.livenessProbe as Probe | undefined);
  defaultProbe(container.startupProbe as Probe | undefined);
}

/** v1 carries the primary address twice (podIP and podIPs[0]); the list wins when both are given. */
function syncAddresses(status: Record<string, unknown>, single: string, plural: string): void {
  const list = status[plural] as { ip: string }[] | undefined;
  const first = list?.[0]?.ip;
  if (first !== undefined) status[single] = first;
  else if (typeof status[single] === 'string' && status[single] !== '') status[plural] = [{ ip: status[single] }];
}

function defaultPod(pod: Pod): void {
  const spec = (pod.spec ??= { containers: [] });
  if (!spec.dnsPolicy) spec.dnsPolicy = 'ClusterFirst';
  if (!spec.restartPolicy) spec.restartPolicy = 'Always';
  spec.securityContext ??= {};
  spec.terminationGracePeriodSeconds ??= 30;
  if (!spec.schedulerName) spec.schedulerName = 'default-scheduler';
  spec.enableServiceLinks ??= true;
  const initContainers = Array.isArray(spec.initContainers) ? (spec.initContainers as Container[]) : [];
  for (const container of [...(Array.isArray(spec.containers) ? spec.containers : []), ...initContainers]) defaultContainer(container);
  const status = (pod.status ??= {});
  if (!status.phase) status.phase = 'Pending';
  syncAddresses(status, 'podIP', 'podIPs');
  syncAddresses(status, 'hostIP', 'hostIPs');
}

function defaultSecret(secret: Secret): void {
  if (!secret.type) secret.type = 'Opaque';
  // stringData is write-only: it overwrites data under the same keys and is not stored.
  if (secret.stringData !== undefined) {
    const data = (secret.data ??= {});
    for (const [key, value] of Object.entries(secret.stringData)) data[key] = Buffer.from(String(value), 'utf8').toString('base64');
    delete secret.stringData;
  }
}

function defaultNamespace(namespace: Namespace, old: Namespace | undefined): void {
  const name = namespace.metadata.name;
  if (name) namespace.metadata.labels = { ...namespace.metadata.labels, 'kubernetes.io/metadata.name': name };
  // Only on create: the finalizer may be removed over the namespace's life.
  if (!old) {
    const spec = (namespace.spec ??= {});
    const finalizers = spec.finalizers ?? [];
    if (!finalizers.includes('kubernetes')) spec.finalizers = [...finalizers, 'kubernetes'];
  }
  const status = (namespace.status ??= {});
  if (!status.phase) status.phase = 'Active';
}

function defaultEndpoints(endpoints: Endpoints): void {
  for (const subset of endpoints.subsets ?? []) {
    for (const port of subset.ports ?? []) if (!port.protocol) port.protocol = 'TCP';
  }
}

function defaultEndpointSlice(slice: EndpointSlice): void {
  for (const port of Array.isArray(slice.ports) ? slice.ports : []) {
    port.name ??= '';
    port.protocol ??= 'TCP';
  }
}

function defaultIngressClass(ingressClass: IngressClass): void {
  const parameters = ingressClass.spec?.parameters as { scope?: string } | undefined;
  if (typeof parameters === 'object' && parameters !== null && parameters.scope === undefined) parameters.scope = 'Cluster';
}

function defaultNode(node: Node): void {
  const status = node.status;
  if (status?.capacity !== undefined && status.allocatable === undefined) status.allocatable = structuredClone(status.capacity);
}

/**
 * Fills in the defaults of a `kind` object, in place: the API layer passes
 * the copy it decoded from the request, which nobody else holds. On an
 * update pass the stored object as `old`; it decides what is defaulted only
 * on create (the Namespace finalizer) and lets a Service update keep the
 * values it was allocated. Kinds without defaults are left as they are.
 */
export function applyDefaults(kind: string, object: KubeObject, old?: KubeObject): void {
  switch (kind) {
    case 'Service':
      return defaultService(object as Service, old as Service | undefined);
    case 'Pod':
      return defaultPod(object as Pod);
    case 'Secret':
      return defaultSecret(object as Secret);
    case 'Namespace':
      return defaultNamespace(object as Namespace, old as Namespace | undefined);
    case 'Endpoints':
      return defaultEndpoints(object as Endpoints);
    case 'EndpointSlice':
      return defaultEndpointSlice(object as EndpointSlice);
    case 'IngressClass':
      return defaultIngressClass(object as IngressClass);
    case 'Node':
      return defaultNode(object as Node);
  }
}
