import { describe, expect, test } from 'vitest';
import { resources, type ResourceInfo } from '../../../../controlplane/api/resources.ts';
import type { KubeObject, Service, ServiceSpec, StatusCause } from '../../../../controlplane/api/types.ts';
import { invalidMessage, validateObject } from '../../../../controlplane/registry/validation.ts';

// Upstream's messages, copied here (not imported) so a drift in the module fails these tests.
const dns1123Label =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const dns1123Subdomain =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const dns1035Label =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const labelKeyName =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const labelValue =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const wildcardSubdomain =
  "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const configKey = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const portRange = 'must be between 1 and 65535, inclusive';
const validIP = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';

const c = (reason: string, field: string, message: string): StatusCause => ({ reason, message, field });
const requiredCause = (field: string, detail = '') => c('FieldValueRequired', field, detail ? `Required value: ${detail}` : 'Required value');

function infoFor(kind: string): ResourceInfo {
  return resources.find((info) => info.kind === kind) as ResourceInfo;
}

interface Row {
  name: string;
  object: KubeObject;
  old?: KubeObject;
  causes: StatusCause[];
}

function check({ object, old, causes }: Row): void {
  expect(validateObject(infoFor(object.kind), object, old)).toEqual(causes);
}

/** A valid, defaulted ClusterIP Service, with `spec` fields replaced by the given ones. */
function service(spec: Partial<ServiceSpec> = {}, metadata: Record<string, unknown> = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default', ...metadata },
    spec: {
      type: 'ClusterIP',
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      ...spec,
    },
  };
}

const nodePort: Partial<ServiceSpec> = { type: 'NodePort', externalTrafficPolicy: 'Cluster' };
const loadBalancer: Partial<ServiceSpec> = { type: 'LoadBalancer', externalTrafficPolicy: 'Cluster', allocateLoadBalancerNodePorts: true };
const allocated: Partial<ServiceSpec> = { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' };
const tcp = (port: number, name?: string, extra: Record<string, unknown> = {}) => ({ ...(name ? { name } : {}), port, protocol: 'TCP' as const, targetPort: port, ...extra });

describe('Service', () => {
  test.each<Row>([
    { name: 'a defaulted ClusterIP Service is valid', object: service(), causes: [] },
    {
      name: 'port 0 is outside 1-65535',
      object: service({ ports: [{ name: 'http', port: 0, protocol: 'TCP', targetPort: 8080 }] }),
      causes: [c('FieldValueInvalid', 'spec.ports[0].port', `Invalid value: 0: ${portRange}`)],
    },
    { name: 'ports are required', object: service({ ports: [] }), causes: [requiredCause('spec.ports')] },
    { name: 'a headless Service needs no ports', object: service({ clusterIP: 'None', clusterIPs: ['None'], ports: [] }), causes: [] },
    {
      name: 'with several ports each needs a name',
      object: service({ ports: [tcp(80), tcp(81)] }),
      causes: [requiredCause('spec.ports[0].name'), requiredCause('spec.ports[1].name')],
    },
    {
      name: 'port names must be unique DNS labels',
      object: service({ ports: [tcp(80, 'http'), tcp(81, 'http'), tcp(82, 'HTTP')] }),
      causes: [c('FieldValueDuplicate', 'spec.ports[1].name', 'Duplicate value: "http"'), c('FieldValueInvalid', 'spec.ports[2].name', `Invalid value: "HTTP": ${dns1123Label}`)],
    },
    {
      name: 'the protocol must be TCP, UDP or SCTP',
      object: service({ ports: [{ name: 'http', port: 80, protocol: 'HTTP' as 'TCP', targetPort: 80 }] }),
      causes: [c('FieldValueNotSupported', 'spec.ports[0].protocol', 'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"')],
    },
    {
      name: 'the same port and protocol twice is a duplicate',
      object: service({ ports: [tcp(80, 'a'), { name: 'b', port: 80, protocol: 'TCP', targetPort: 81 }, { name: 'c', port: 80, protocol: 'UDP', targetPort: 80 }] }),
      causes: [c('FieldValueDuplicate', 'spec.ports[1]', 'Duplicate value: {"Name":"","Protocol":"TCP","AppProtocol":null,"Port":80,"TargetPort":0,"NodePort":0}')],
    },
    {
      name: 'a numeric targetPort must be a port number and a named one a port name',
      object: service({ ports: [tcp(80, 'a', { targetPort: 70000 }), tcp(81, 'b', { targetPort: 'HTTP_PORT' })] }),
      causes: [
        c('FieldValueInvalid', 'spec.ports[0].targetPort', `Invalid value: 70000: ${portRange}`),
        c('FieldValueInvalid', 'spec.ports[1].targetPort', 'Invalid value: "HTTP_PORT": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'),
        c('FieldValueInvalid', 'spec.ports[1].targetPort', 'Invalid value: "HTTP_PORT": must contain at least one letter (a-z)'),
      ],
    },
    {
      name: 'an unknown type is not supported',
      object: service({ type: 'Bogus' as 'ClusterIP' }),
      causes: [c('FieldValueNotSupported', 'spec.type', 'Unsupported value: "Bogus": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"')],
    },
    {
      name: 'a cluster IP must be an IP address',
      object: service({ clusterIP: 'not-an-ip', clusterIPs: ['not-an-ip'] }),
      causes: [c('FieldValueInvalid', 'spec.clusterIPs[0]', `Invalid value: "not-an-ip": ${validIP}`)],
    },
    {
      name: 'clusterIPs must start with clusterIP',
      object: service({ clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.11'] }),
      causes: [c('FieldValueInvalid', 'spec.clusterIPs', 'Invalid value: ["10.96.0.11"]: first value must match `clusterIP`')],
    },
    {
      name: 'clusterIPs without clusterIP is refused',
      object: service({ clusterIPs: ['10.96.0.11'] }),
      causes: [c('FieldValueInvalid', 'spec.clusterIPs', 'Invalid value: ["10.96.0.11"]: must be empty when `clusterIP` is not specified')],
    },
    {
      name: 'two cluster IPs of one family are refused',
      object: service({ clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', '10.96.0.11'], ipFamilyPolicy: 'PreferDualStack' }),
      causes: [c('FieldValueInvalid', 'spec.clusterIPs', 'Invalid value: ["10.96.0.10","10.96.0.11"]: may specify no more than one IP for each IP family')],
    },
    {
      name: 'a cluster IP must match its declared family',
      object: service({ clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ipFamilies: ['IPv6'] }),
      causes: [c('FieldValueInvalid', 'spec.clusterIPs[0]', 'Invalid value: "10.96.0.10": expected an IPv6 value as indicated by `ipFamilies[0]`')],
    },
    {
      name: 'ipFamilies and ipFamilyPolicy take known values only',
      object: service({ ipFamilies: ['IPv5' as 'IPv4'], ipFamilyPolicy: 'Both' as 'SingleStack' }),
      causes: [
        c('FieldValueNotSupported', 'spec.ipFamilies[0]', 'Unsupported value: "IPv5": supported values: "IPv4", "IPv6"'),
        c('FieldValueNotSupported', 'spec.ipFamilyPolicy', 'Unsupported value: "Both": supported values: "PreferDualStack", "RequireDualStack", "SingleStack"'),
      ],
    },
    {
      name: 'a NodePort Service may not be headless',
      object: service({ ...nodePort, clusterIP: 'None', clusterIPs: ['None'] }),
      causes: [c('FieldValueInvalid', 'spec.clusterIPs[0]', 'Invalid value: "None": may not be set to \'None\' for NodePort services')],
    },
    {
      name: 'an ExternalName Service needs an external name',
      object: service({ type: 'ExternalName', ports: undefined, internalTrafficPolicy: undefined }),
      causes: [requiredCause('spec.externalName')],
    },
    {
      name: 'an external name must be a DNS subdomain',
      object: service({ type: 'ExternalName', externalName: 'DB_host.example.com' }),
      causes: [c('FieldValueInvalid', 'spec.externalName', `Invalid value: "DB_host.example.com": ${dns1123Subdomain}`)],
    },
    { name: 'an external name may end in a dot', object: service({ type: 'ExternalName', externalName: 'db.example.com.' }), causes: [] },
    {
      name: 'an ExternalName Service may not hold cluster IP fields',
      object: service({ type: 'ExternalName', externalName: 'db.example.com', ...allocated }),
      causes: [
        c('FieldValueForbidden', 'spec.clusterIPs', 'Forbidden: may not be set for ExternalName services'),
        c('FieldValueForbidden', 'spec.ipFamilies', 'Forbidden: may not be set for ExternalName services'),
        c('FieldValueForbidden', 'spec.ipFamilyPolicy', 'Forbidden: may not be set for ExternalName services'),
      ],
    },
    {
      name: 'session affinity is None or ClientIP',
      object: service({ sessionAffinity: 'Sticky' as 'None' }),
      causes: [c('FieldValueNotSupported', 'spec.sessionAffinity', 'Unsupported value: "Sticky": supported values: "ClientIP", "None"')],
    },
    {
      name: 'the ClientIP timeout must be within a day',
      object: service({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } } }),
      causes: [c('FieldValueInvalid', 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', 'Invalid value: 86401: must be greater than 0 and less than 86400')],
    },
    {
      name: 'ClientIP affinity needs its config',
      object: service({ sessionAffinity: 'ClientIP' }),
      causes: [requiredCause('spec.sessionAffinityConfig', 'when session affinity type is ClientIP')],
    },
    {
      name: 'an affinity config with affinity None is forbidden',
      object: service({ sessionAffinityConfig: { clientIP: { timeoutSeconds: 10 } } }),
      causes: [c('FieldValueForbidden', 'spec.sessionAffinityConfig', 'Forbidden: must not be set when session affinity is None')],
    },
    {
      name: 'externalTrafficPolicy is only for externally accessible Services',
      object: service({ externalTrafficPolicy: 'Cluster' }),
      causes: [c('FieldValueInvalid', 'spec.externalTrafficPolicy', 'Invalid value: "Cluster": may only be set for externally-accessible services')],
    },
    {
      name: 'a NodePort Service needs a known externalTrafficPolicy',
      object: service({ type: 'NodePort', externalTrafficPolicy: 'Global' as 'Cluster' }),
      causes: [c('FieldValueNotSupported', 'spec.externalTrafficPolicy', 'Unsupported value: "Global": supported values: "Cluster", "Local"')],
    },
    { name: 'a NodePort Service without externalTrafficPolicy is refused', object: service({ type: 'NodePort' }), causes: [requiredCause('spec.externalTrafficPolicy')] },
    {
      name: 'internalTrafficPolicy is Cluster or Local, and required for ClusterIP',
      object: service({ internalTrafficPolicy: 'Node' as 'Local' }),
      causes: [c('FieldValueNotSupported', 'spec.internalTrafficPolicy', 'Unsupported value: "Node": supported values: "Cluster", "Local"')],
    },
    { name: 'a missing internalTrafficPolicy is refused', object: service({ internalTrafficPolicy: undefined }), causes: [requiredCause('spec.internalTrafficPolicy')] },
    {
      name: 'external IPs must be usable unicast addresses',
      object: service({ externalIPs: ['127.0.0.1', 'nope', '0.0.0.0', '192.0.2.10'], externalTrafficPolicy: 'Cluster' }),
      causes: [
        c('FieldValueInvalid', 'spec.externalIPs[0]', 'Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)'),
        c('FieldValueInvalid', 'spec.externalIPs[1]', `Invalid value: "nope": ${validIP}`),
        c('FieldValueInvalid', 'spec.externalIPs[2]', 'Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)'),
      ],
    },
    {
      name: 'a ClusterIP Service may not set nodePort',
      object: service({ ports: [tcp(80, 'http', { nodePort: 30080 })] }),
      causes: [c('FieldValueForbidden', 'spec.ports[0].nodePort', "Forbidden: may not be used when `type` is 'ClusterIP'")],
    },
    {
      name: 'the same nodePort for one protocol twice is a duplicate',
      object: service({ ...nodePort, ports: [tcp(80, 'a', { nodePort: 30080 }), tcp(81, 'b', { nodePort: 30080 })] }),
      causes: [c('FieldValueDuplicate', 'spec.ports[1].nodePort', 'Duplicate value: 30080')],
    },
    {
      name: 'healthCheckNodePort needs a LoadBalancer with Local policy',
      object: service({ ...nodePort, healthCheckNodePort: 30100 }),
      causes: [c('FieldValueInvalid', 'spec.healthCheckNodePort', "Invalid value: 30100: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'")],
    },
    {
      name: 'load-balancer source ranges are (space-padded) CIDRs',
      object: service({ ...loadBalancer, loadBalancerSourceRanges: ['10.0.0.0/8', ' 192.168.0.0/16 ', '10.0.0.0/33'] }),
      causes: [c('FieldValueInvalid', 'spec.LoadBalancerSourceRanges[2]', 'Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)')],
    },
    {
      name: 'load-balancer fields on a ClusterIP Service are forbidden',
      object: service({ loadBalancerSourceRanges: ['10.0.0.0/8'], allocateLoadBalancerNodePorts: true, loadBalancerClass: 'example.com/lb' }),
      causes: [
        c('FieldValueForbidden', 'spec.LoadBalancerSourceRanges', "Forbidden: may only be used when `type` is 'LoadBalancer'"),
        c('FieldValueForbidden', 'spec.allocateLoadBalancerNodePorts', "Forbidden: may only be used when `type` is 'LoadBalancer'"),
        c('FieldValueForbidden', 'spec.loadBalancerClass', "Forbidden: may only be used when `type` is 'LoadBalancer'"),
      ],
    },
    {
      name: 'selector values must be label values',
      object: service({ selector: { app: 'has space' } }),
      causes: [c('FieldValueInvalid', 'spec.selector', `Invalid value: "has space": ${labelValue}`)],
    },
    {
      name: 'a Service name must be a DNS-1035 label, so it may not start with a digit',
      object: service({}, { name: '1web' }),
      causes: [c('FieldValueInvalid', 'metadata.name', `Invalid value: "1web": ${dns1035Label}`)],
    },
  ])('$name', (row) => check(row));

  const stored = service({ ...loadBalancer, externalTrafficPolicy: 'Local', healthCheckNodePort: 30100, ...allocated, ports: [tcp(80, 'http', { nodePort: 30080 })] });
  const edit = (spec: Partial<ServiceSpec>, metadata: Record<string, unknown> = {}) => {
    const next = structuredClone(stored);
    Object.assign(next.spec, spec);
    Object.assign(next.metadata, metadata);
    return next;
  };

  test.each<Row>([
    {
      name: 'the cluster IP may not change',
      object: edit({ clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20'] }),
      old: stored,
      causes: [c('FieldValueInvalid', 'spec.clusterIPs[0]', 'Invalid value: ["10.96.0.20"]: may not change once set')],
    },
    {
      name: 'a manifest without the allocated fields is valid (they are kept)',
      object: service({ ...loadBalancer, externalTrafficPolicy: 'Local', ports: [tcp(80, 'http')] }),
      old: stored,
      causes: [],
    },
    {
      name: 'switching to ExternalName drops the unchanged cluster IP fields',
      object: edit({ type: 'ExternalName', externalName: 'db.example.com', externalTrafficPolicy: 'Local', healthCheckNodePort: 30100, ports: [tcp(80, 'http', { nodePort: 30080 })] }),
      old: stored,
      causes: [],
    },
    {
      name: 'switching to ClusterIP drops the unchanged NodePort fields',
      object: edit({ type: 'ClusterIP' }),
      old: stored,
      causes: [],
    },
    {
      name: 'the health-check NodePort may not change',
      object: edit({ healthCheckNodePort: 30101 }),
      old: stored,
      causes: [c('FieldValueForbidden', 'spec.healthCheckNodePort', 'Forbidden: field is immutable')],
    },
    {
      name: 'the loadBalancerClass may not change',
      object: edit({ loadBalancerClass: 'example.com/lb' }),
      old: stored,
      causes: [c('FieldValueInvalid', 'spec.loadBalancerClass', 'Invalid value: "example.com/lb": may not change once set')],
    },
    {
      name: 'the name may not change',
      object: edit({}, { name: 'web2' }),
      old: stored,
      causes: [c('FieldValueInvalid', 'metadata.name', 'Invalid value: "web2": field is immutable')],
    },
  ])('update: $name', (row) => check(row));
});

describe('metadata', () => {
  test.each<Row>([
    { name: 'a missing name is required', object: service({}, { name: undefined }), causes: [requiredCause('metadata.name', 'name or generateName is required')] },
    {
      name: 'a generateName prefix may end in a dash but must otherwise fit the name rule',
      object: service({}, { name: 'web-x1x2x', generateName: 'Web-' }),
      causes: [c('FieldValueInvalid', 'metadata.generateName', `Invalid value: "Web-": ${dns1035Label}`)],
    },
    { name: 'a namespaced object needs a namespace', object: service({}, { namespace: undefined }), causes: [requiredCause('metadata.namespace')] },
    {
      name: 'label keys and values are checked',
      object: service({}, { labels: { '-bad': 'x', good: 'has space' } }),
      causes: [c('FieldValueInvalid', 'metadata.labels', `Invalid value: "-bad": ${labelKeyName}`), c('FieldValueInvalid', 'metadata.labels', `Invalid value: "has space": ${labelValue}`)],
    },
    {
      name: 'a label key prefix must be a DNS subdomain',
      object: service({}, { labels: { 'Example.com/app': 'web' } }),
      causes: [c('FieldValueInvalid', 'metadata.labels', `Invalid value: "Example.com/app": prefix part ${dns1123Subdomain}`)],
    },
    { name: 'annotation keys are checked without regard to case', object: service({}, { annotations: { 'Example.com/Key': 'any value at all' } }), causes: [] },
    {
      name: 'an annotation key with a space is refused',
      object: service({}, { annotations: { 'bad key': 'x' } }),
      causes: [c('FieldValueInvalid', 'metadata.annotations', `Invalid value: "bad key": ${labelKeyName}`)],
    },
    {
      name: 'annotations over 256 KiB in total are too long',
      object: service({}, { annotations: { a: 'x'.repeat(256 * 1024) } }),
      causes: [c('FieldValueTooLong', 'metadata.annotations', 'Too long: may not be more than 262144 bytes')],
    },
    {
      name: 'a finalizer without a domain must be a standard one',
      object: service({}, { finalizers: ['kubernetes', 'example.com/cleanup', 'custom'] }),
      causes: [c('FieldValueInvalid', 'metadata.finalizers[2]', 'Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified')],
    },
    {
      name: 'an owner reference needs a uid',
      object: service({}, { ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: '' }] }),
      causes: [c('FieldValueInvalid', 'metadata.ownerReferences.uid', 'Invalid value: "": must not be empty')],
    },
    {
      name: 'a cluster-scoped object may not have a namespace',
      object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', namespace: 'default' } },
      causes: [c('FieldValueForbidden', 'metadata.namespace', 'Forbidden: not allowed on this type')],
    },
    {
      name: 'a Namespace name is a DNS label: no dots',
      object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team.a' } },
      causes: [c('FieldValueInvalid', 'metadata.name', 'Invalid value: "team.a": must not contain dots')],
    },
    {
      name: 'a Namespace name is a DNS label: no underscores',
      object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team_a' } },
      causes: [c('FieldValueInvalid', 'metadata.name', `Invalid value: "team_a": ${dns1123Label}`)],
    },
    {
      name: 'Namespace spec.finalizers follow the finalizer rule',
      object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' }, spec: { finalizers: ['kubernetes', 'mine'] } },
      causes: [c('FieldValueInvalid', 'spec.finalizers[1]', 'Invalid value: "mine": name is neither a standard finalizer name nor is it fully qualified')],
    },
    { name: 'a Node name may be a dotted subdomain', object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1.example.com' } }, causes: [] },
  ])('$name', (row) => check(row));
});

function pod(spec: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'default' }, spec, ...extra };
}

const container = { name: 'app', image: 'nginx', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] };

describe('Pod', () => {
  test.each<Row>([
    { name: 'a pod with one named container is valid', object: pod({ containers: [container], hostname: 'web-0', subdomain: 'web' }), causes: [] },
    { name: 'containers are required', object: pod({ containers: [] }), causes: [requiredCause('spec.containers')] },
    { name: 'a container needs a name and an image', object: pod({ containers: [{}] }), causes: [requiredCause('spec.containers[0].name'), requiredCause('spec.containers[0].image')] },
    {
      name: 'container names are unique DNS labels',
      object: pod({ containers: [container, container, { ...container, name: 'App' }] }),
      causes: [c('FieldValueDuplicate', 'spec.containers[1].name', 'Duplicate value: "app"'), c('FieldValueInvalid', 'spec.containers[2].name', `Invalid value: "App": ${dns1123Label}`)],
    },
    {
      name: 'container ports need a number in range, a known protocol and unique names',
      object: pod({
        containers: [
          {
            ...container,
            ports: [
              { name: 'http', containerPort: 70000, protocol: 'TCP' },
              { name: 'http', containerPort: 81, protocol: 'TCP' },
              { containerPort: 82, protocol: 'ICMP' },
              { protocol: 'TCP' },
            ],
          },
        ],
      }),
      causes: [
        c('FieldValueInvalid', 'spec.containers[0].ports[0].containerPort', `Invalid value: 70000: ${portRange}`),
        c('FieldValueDuplicate', 'spec.containers[0].ports[1].name', 'Duplicate value: "http"'),
        c('FieldValueNotSupported', 'spec.containers[0].ports[2].protocol', 'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"'),
        requiredCause('spec.containers[0].ports[3].containerPort'),
      ],
    },
    {
      name: 'hostname and subdomain are DNS labels',
      object: pod({ containers: [container], hostname: 'Web', subdomain: 'web.svc' }),
      causes: [c('FieldValueInvalid', 'spec.hostname', `Invalid value: "Web": ${dns1123Label}`), c('FieldValueInvalid', 'spec.subdomain', 'Invalid value: "web.svc": must not contain dots')],
    },
    {
      name: 'pod IPs in status must be addresses',
      object: pod({ containers: [container] }, { status: { podIPs: [{ ip: '10.244.1.5' }, { ip: '10.244.1' }] } }),
      causes: [c('FieldValueInvalid', 'status.podIPs[1]', `Invalid value: "10.244.1": ${validIP}`)],
    },
    {
      name: 'a pod name is a DNS subdomain',
      object: { ...pod({ containers: [container] }), metadata: { name: 'Web_0', namespace: 'default' } },
      causes: [c('FieldValueInvalid', 'metadata.name', `Invalid value: "Web_0": ${dns1123Subdomain}`)],
    },
  ])('$name', (row) => check(row));
});

function secret(fields: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tls', namespace: 'default' }, ...fields };
}

function configMap(fields: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config', namespace: 'default' }, ...fields };
}

describe('Secret and ConfigMap', () => {
  test.each<Row>([
    { name: 'a TLS secret with certificate and key is valid', object: secret({ type: 'kubernetes.io/tls', data: { 'tls.crt': 'Y2VydA==', 'tls.key': 'a2V5' } }), causes: [] },
    {
      name: 'a TLS secret needs tls.crt and tls.key',
      object: secret({ type: 'kubernetes.io/tls', data: { 'ca.crt': 'Y2E=' } }),
      causes: [requiredCause('data[tls.crt]'), requiredCause('data[tls.key]')],
    },
    {
      name: 'secret data keys are config keys',
      object: secret({ type: 'Opaque', data: { 'a/b': 'eA==', '..': 'eA==' } }),
      causes: [c('FieldValueInvalid', 'data[a/b]', `Invalid value: "a/b": ${configKey}`), c('FieldValueInvalid', 'data[..]', 'Invalid value: "..": must not be \'..\'')],
    },
    {
      name: 'secret data over 1 MiB is too long',
      object: secret({ type: 'Opaque', data: { big: Buffer.alloc(1024 * 1024 + 1).toString('base64') } }),
      causes: [c('FieldValueTooLong', 'data', 'Too long: may not be more than 1048576 bytes')],
    },
    { name: 'a docker-registry secret needs .dockerconfigjson', object: secret({ type: 'kubernetes.io/dockerconfigjson', data: {} }), causes: [requiredCause('data[.dockerconfigjson]')] },
    {
      name: 'the secret type may not change',
      object: secret({ type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==', 'tls.key': 'eA==' } }),
      old: secret({ type: 'Opaque', data: { 'tls.crt': 'eA==', 'tls.key': 'eA==' } }),
      causes: [c('FieldValueInvalid', 'type', 'Invalid value: "kubernetes.io/tls": field is immutable')],
    },
    {
      name: 'an immutable secret keeps its data and its flag',
      object: secret({ type: 'Opaque', data: { a: 'eQ==' } }),
      old: secret({ type: 'Opaque', immutable: true, data: { a: 'eA==' } }),
      causes: [c('FieldValueForbidden', 'immutable', 'Forbidden: field is immutable when `immutable` is set'), c('FieldValueForbidden', 'data', 'Forbidden: field is immutable when `immutable` is set')],
    },
    {
      name: 'ConfigMap keys are config keys and may not repeat across data and binaryData',
      object: configMap({ data: { 'a b': 'x', shared: 'y' }, binaryData: { shared: 'eQ==' } }),
      causes: [c('FieldValueInvalid', 'data[a b]', `Invalid value: "a b": ${configKey}`), c('FieldValueInvalid', 'data[shared]', 'Invalid value: "shared": duplicate of key present in binaryData')],
    },
    {
      name: 'an immutable ConfigMap may not change its data',
      object: configMap({ immutable: true, data: { a: 'changed' } }),
      old: configMap({ immutable: true, data: { a: 'original' } }),
      causes: [c('FieldValueForbidden', 'data', 'Forbidden: field is immutable when `immutable` is set')],
    },
  ])('$name', (row) => check(row));
});

const backend = { service: { name: 'web', port: { number: 80 } } };
const rulePath = 'spec.rules[0].http.paths[0]';

function ingress(spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web', namespace: 'default' }, spec };
}

function rule(path: Record<string, unknown>, host = 'web.example.com'): Record<string, unknown> {
  return { ingressClassName: 'kplane', rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend, ...path }] } }] };
}

describe('Ingress and IngressClass', () => {
  test.each<Row>([
    { name: 'a rule with a Prefix path to a service port is valid', object: ingress(rule({})), causes: [] },
    { name: 'a default backend alone is valid', object: ingress({ defaultBackend: backend }), causes: [] },
    { name: 'a wildcard host is valid as a leading *.', object: ingress(rule({}, '*.example.com')), causes: [] },
    { name: 'an ImplementationSpecific path may be empty', object: ingress(rule({ path: undefined, pathType: 'ImplementationSpecific' })), causes: [] },
    {
      name: 'neither rules nor a default backend is refused',
      object: ingress({}),
      causes: [c('FieldValueInvalid', 'spec', 'Invalid value: null: either `defaultBackend` or `rules` must be specified')],
    },
    {
      name: 'a wildcard anywhere but the front is refused',
      object: ingress(rule({}, 'foo.*.example.com')),
      causes: [c('FieldValueInvalid', 'spec.rules[0].host', `Invalid value: "foo.*.example.com": ${wildcardSubdomain}`)],
    },
    {
      name: 'a host may not be an IP address',
      object: ingress(rule({}, '10.0.0.1')),
      causes: [c('FieldValueInvalid', 'spec.rules[0].host', 'Invalid value: "10.0.0.1": must be a DNS name, not an IP address')],
    },
    { name: 'pathType is required', object: ingress(rule({ pathType: undefined })), causes: [requiredCause(`${rulePath}.pathType`, 'pathType must be specified')] },
    {
      name: 'a Prefix path must be absolute',
      object: ingress(rule({ path: 'api' })),
      causes: [c('FieldValueInvalid', `${rulePath}.path`, 'Invalid value: "api": must be an absolute path')],
    },
    {
      name: 'an Exact path may not contain // or end in /..',
      object: ingress(rule({ path: '/a//b/..', pathType: 'Exact' })),
      causes: [c('FieldValueInvalid', `${rulePath}.path`, 'Invalid value: "/a//b/..": must not contain \'//\''), c('FieldValueInvalid', `${rulePath}.path`, 'Invalid value: "/a//b/..": cannot end with \'/..\'')],
    },
    {
      name: 'an unknown pathType is not supported',
      object: ingress(rule({ pathType: 'Regex' })),
      causes: [c('FieldValueNotSupported', `${rulePath}.pathType`, 'Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"')],
    },
    {
      name: 'a backend may not name both a port name and number',
      object: ingress(rule({ backend: { service: { name: 'web', port: { number: 80, name: 'http' } } } })),
      causes: [c('FieldValueInvalid', `${rulePath}.backend`, 'Invalid value: "": cannot set both port name & port number')],
    },
    {
      name: 'a backend needs a service name and a port',
      object: ingress(rule({ backend: { service: { port: {} } } })),
      causes: [requiredCause(`${rulePath}.backend.service.name`), requiredCause(`${rulePath}.backend`, 'port name or number is required')],
    },
    {
      name: 'a backend service name is a DNS-1035 label',
      object: ingress(rule({ backend: { service: { name: 'Web', port: { number: 80 } } } })),
      causes: [c('FieldValueInvalid', `${rulePath}.backend.service.name`, `Invalid value: "Web": ${dns1035Label}`)],
    },
    {
      name: 'a backend is a service or a resource, not both',
      object: ingress(rule({ backend: { ...backend, resource: { kind: 'Bucket', name: 'static' } } })),
      causes: [c('FieldValueInvalid', `${rulePath}.backend`, 'Invalid value: "": cannot set both resource and service backends')],
    },
    {
      name: 'an http rule needs paths',
      object: ingress({ rules: [{ host: 'web.example.com', http: { paths: [] } }] }),
      causes: [requiredCause('spec.rules[0].http.paths')],
    },
    {
      name: 'TLS hosts and secret names are checked',
      object: ingress({ defaultBackend: backend, tls: [{ hosts: ['Web.example.com'], secretName: 'Web_TLS' }] }),
      causes: [
        c('FieldValueInvalid', 'spec.tls[0].hosts[0]', `Invalid value: "Web.example.com": ${dns1123Subdomain}`),
        c('FieldValueInvalid', 'spec.tls[0].secretName', `Invalid value: "Web_TLS": ${dns1123Subdomain}`),
      ],
    },
  ])('$name', (row) => check(row));

  const ingressClass = (spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'kplane' }, spec });

  test.each<Row>([
    { name: 'a domain-prefixed controller is valid', object: ingressClass({ controller: 'kplane.io/ingress' }), causes: [] },
    { name: 'the controller is required', object: ingressClass({}), causes: [requiredCause('spec.controller')] },
    {
      name: 'the controller must be domain-prefixed',
      object: ingressClass({ controller: 'kplane' }),
      causes: [c('FieldValueInvalid', 'spec.controller', 'Invalid value: "kplane": must be a domain-prefixed path (such as "acme.io/foo")')],
    },
    {
      name: 'the controller domain must be a DNS subdomain',
      object: ingressClass({ controller: 'Kplane.io/ingress' }),
      causes: [c('FieldValueInvalid', 'spec.controller', `Invalid value: "Kplane.io": ${dns1123Subdomain}`)],
    },
    {
      name: 'the controller may not change',
      object: ingressClass({ controller: 'kplane.io/other' }),
      old: ingressClass({ controller: 'kplane.io/ingress' }),
      causes: [c('FieldValueInvalid', 'spec.controller', 'Invalid value: "kplane.io/other": field is immutable')],
    },
    {
      name: 'parameters need a kind and a name',
      object: ingressClass({ controller: 'kplane.io/ingress', parameters: { scope: 'Cluster' } }),
      causes: [requiredCause('spec.parameters.kind'), requiredCause('spec.parameters.name')],
    },
  ])('$name', (row) => check(row));
});

function slice(fields: Record<string, unknown>): KubeObject {
  return { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-abc12', namespace: 'default' }, ...fields };
}

const httpPort = { name: 'http', port: 8080, protocol: 'TCP' };

describe('EndpointSlice and Endpoints', () => {
  test.each<Row>([
    { name: 'an IPv4 slice with one ready endpoint is valid', object: slice({ addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: true } }], ports: [httpPort] }), causes: [] },
    {
      name: 'the address type is IPv4, IPv6 or FQDN',
      object: slice({ addressType: 'IP', endpoints: [] }),
      causes: [c('FieldValueNotSupported', 'addressType', 'Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"')],
    },
    {
      name: 'addresses must match the address type',
      object: slice({ addressType: 'IPv4', endpoints: [{ addresses: ['fd00::5'] }] }),
      causes: [c('FieldValueInvalid', 'endpoints[0].addresses[0]', 'Invalid value: "fd00::5": must be a valid IPv4 address')],
    },
    {
      name: 'endpoint addresses may not be loopback',
      object: slice({ addressType: 'IPv6', endpoints: [{ addresses: ['::1'] }] }),
      causes: [c('FieldValueInvalid', 'endpoints[0].addresses[0]', 'Invalid value: "::1": may not be in the loopback range (127.0.0.0/8, ::1/128)')],
    },
    {
      name: 'an FQDN address needs two labels',
      object: slice({ addressType: 'FQDN', endpoints: [{ addresses: ['db'] }] }),
      causes: [c('FieldValueInvalid', 'endpoints[0].addresses[0]', 'Invalid value: "db": should be a domain with at least two segments separated by dots')],
    },
    {
      name: 'an endpoint needs an address',
      object: slice({ addressType: 'IPv4', endpoints: [{ addresses: [] }] }),
      causes: [requiredCause('endpoints[0].addresses', 'must contain at least 1 address')],
    },
    {
      name: 'a slice holds at most 1000 endpoints',
      object: slice({ addressType: 'IPv4', endpoints: Array.from({ length: 1001 }, (_, i) => ({ addresses: [`10.244.${i >> 8}.${(i & 255) + 1}`] })) }),
      causes: [c('FieldValueTooMany', 'endpoints', 'Too many: 1001: must have at most 1000 items')],
    },
    {
      name: 'ports need unique names and a protocol',
      object: slice({ addressType: 'IPv4', endpoints: [], ports: [httpPort, httpPort, { name: 'metrics', port: 9090 }] }),
      causes: [c('FieldValueDuplicate', 'ports[1].name', 'Duplicate value: "http"'), requiredCause('ports[2].protocol')],
    },
    {
      name: 'the address type may not change',
      object: slice({ addressType: 'IPv6', endpoints: [{ addresses: ['fd00::5'] }] }),
      old: slice({ addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'] }] }),
      causes: [c('FieldValueInvalid', 'addressType', 'Invalid value: "IPv6": field is immutable')],
    },
  ])('$name', (row) => check(row));

  const endpoints = (subsets: unknown[]): KubeObject => ({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', namespace: 'default' }, subsets });

  test.each<Row>([
    { name: 'Endpoints with ready and not-ready addresses are valid', object: endpoints([{ addresses: [{ ip: '10.244.1.5' }], notReadyAddresses: [{ ip: '10.244.1.6' }], ports: [httpPort] }]), causes: [] },
    { name: 'a subset needs an address', object: endpoints([{ ports: [httpPort] }]), causes: [requiredCause('subsets[0]', 'must specify `addresses` or `notReadyAddresses`')] },
    {
      name: 'subset addresses must be IPs',
      object: endpoints([{ addresses: [{ ip: '10.244.1' }], notReadyAddresses: [{ ip: '169.254.1.1' }] }]),
      causes: [
        c('FieldValueInvalid', 'subsets[0].addresses[0].ip', `Invalid value: "10.244.1": ${validIP}`),
        c('FieldValueInvalid', 'subsets[0].notReadyAddresses[0].ip', 'Invalid value: "169.254.1.1": may not be in the link-local range (169.254.0.0/16, fe80::/10)'),
      ],
    },
    {
      name: 'several subset ports each need a name',
      object: endpoints([{ addresses: [{ ip: '10.244.1.5' }], ports: [{ port: 80, protocol: 'TCP' }, { port: 0, protocol: 'TCP' }] }]),
      causes: [requiredCause('subsets[0].ports[0].name'), requiredCause('subsets[0].ports[1].name'), c('FieldValueInvalid', 'subsets[0].ports[1].port', `Invalid value: 0: ${portRange}`)],
    },
  ])('$name', (row) => check(row));
});

describe('Event', () => {
  const event = (fields: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'Event', metadata: { name: 'web.1', namespace: 'default' }, ...fields });

  test.each<Row>([
    { name: 'an event about an object in its namespace is valid', object: event({ involvedObject: { kind: 'Pod', name: 'web', namespace: 'default' }, reason: 'Started' }), causes: [] },
    { name: 'an event must say what it is about', object: event({ reason: 'Started' }), causes: [requiredCause('involvedObject')] },
    {
      name: 'an event lives in the namespace of its object',
      object: event({ involvedObject: { kind: 'Pod', name: 'web', namespace: 'other' } }),
      causes: [c('FieldValueInvalid', 'involvedObject.namespace', 'Invalid value: "other": does not match event.namespace')],
    },
    {
      name: 'an event with eventTime must name its reporter, action and reason',
      object: event({ involvedObject: { kind: 'Pod', name: 'web', namespace: 'default' }, eventTime: '2025-01-01T00:00:00.000000Z' }),
      causes: [requiredCause('reportingComponent'), requiredCause('reportingInstance'), requiredCause('action'), requiredCause('reason')],
    },
  ])('$name', (row) => check(row));
});

describe('invalidMessage', () => {
  const portCause = c('FieldValueInvalid', 'spec.ports[0].port', `Invalid value: 0: ${portRange}`);

  test.each([
    { name: 'one cause follows the name directly', kind: 'Service', objectName: 'web', causes: [portCause], message: `Service "web" is invalid: spec.ports[0].port: Invalid value: 0: ${portRange}` },
    {
      name: 'several causes are bracketed and comma-separated',
      kind: 'Service',
      objectName: 'web',
      causes: [portCause, requiredCause('spec.ports[0].name')],
      message: `Service "web" is invalid: [spec.ports[0].port: Invalid value: 0: ${portRange}, spec.ports[0].name: Required value]`,
    },
    { name: 'a repeated cause is shown once', kind: 'Service', objectName: 'web', causes: [portCause, portCause], message: `Service "web" is invalid: spec.ports[0].port: Invalid value: 0: ${portRange}` },
    {
      name: 'a kind outside the core group is qualified with its group',
      kind: 'Ingress',
      objectName: 'web',
      causes: [requiredCause('spec.rules[0].http.paths')],
      message: 'Ingress.networking.k8s.io "web" is invalid: spec.rules[0].http.paths: Required value',
    },
    { name: 'the name is quoted as Go quotes it', kind: 'ConfigMap', objectName: 'a"b', causes: [requiredCause('data')], message: 'ConfigMap "a\\"b" is invalid: data: Required value' },
  ])('$name', ({ kind, objectName, causes, message }) => {
    expect(invalidMessage(kind, objectName, causes)).toBe(message);
  });

  test('the message for a real validation matches what kubectl shows from kube-apiserver', () => {
    const object = service({ ports: [{ name: 'http', port: 0, protocol: 'TCP', targetPort: 8080 }] });
    expect(invalidMessage('Service', 'web', validateObject(infoFor('Service'), object))).toBe('Service "web" is invalid: spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive');
  });
});
