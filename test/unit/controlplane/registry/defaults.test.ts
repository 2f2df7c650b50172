import { describe, expect, test } from 'vitest';
import type { KubeObject } from '../../../../controlplane/api/types.ts';
import { applyDefaults } from '../../../../controlplane/registry/defaults.ts';

const meta = { name: 'web', namespace: 'default' };

function object(kind: string, fields: Record<string, unknown>, metadata: Record<string, unknown> = meta): KubeObject {
  return { apiVersion: 'v1', kind, metadata: { ...metadata }, ...structuredClone(fields) };
}

interface Row {
  name: string;
  kind: string;
  input: Record<string, unknown>;
  old?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  expected: Record<string, unknown>;
  expectedMetadata?: Record<string, unknown>;
}

function check({ kind, input, old, metadata, expected, expectedMetadata }: Row): void {
  const actual = object(kind, input, metadata);
  applyDefaults(kind, actual, old === undefined ? undefined : object(kind, old, metadata));
  expect(actual).toEqual(object(kind, expected, expectedMetadata ?? metadata));
}

const selector = { app: 'web' };

describe('Service', () => {
  test.each<Row>([
    {
      name: 'a minimal Service becomes ClusterIP, TCP, targetPort = port, no affinity, Cluster internal policy',
      kind: 'Service',
      input: { spec: { selector, ports: [{ port: 80 }] } },
      expected: { spec: { selector, ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }], sessionAffinity: 'None', type: 'ClusterIP', internalTrafficPolicy: 'Cluster' } },
    },
    {
      name: 'a named targetPort and an explicit protocol are kept',
      kind: 'Service',
      input: { spec: { selector, ports: [{ port: 53, protocol: 'UDP', targetPort: 'dns' }] } },
      expected: { spec: { selector, ports: [{ port: 53, protocol: 'UDP', targetPort: 'dns' }], sessionAffinity: 'None', type: 'ClusterIP', internalTrafficPolicy: 'Cluster' } },
    },
    {
      name: 'a missing spec is created and defaulted',
      kind: 'Service',
      input: {},
      expected: { spec: { sessionAffinity: 'None', type: 'ClusterIP', internalTrafficPolicy: 'Cluster' } },
    },
    {
      name: 'ClientIP affinity without a timeout gets 10800 seconds',
      kind: 'Service',
      input: { spec: { sessionAffinity: 'ClientIP', ports: [{ port: 80, targetPort: 8080 }] } },
      expected: {
        spec: {
          sessionAffinity: 'ClientIP',
          sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
          ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }],
          type: 'ClusterIP',
          internalTrafficPolicy: 'Cluster',
        },
      },
    },
    {
      name: 'a ClientIP timeout that is given is kept',
      kind: 'Service',
      input: { spec: { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } } },
      expected: { spec: { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, type: 'ClusterIP', internalTrafficPolicy: 'Cluster' } },
    },
    {
      name: 'affinity None drops an affinity config',
      kind: 'Service',
      input: { spec: { sessionAffinity: 'None', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } } },
      expected: { spec: { sessionAffinity: 'None', type: 'ClusterIP', internalTrafficPolicy: 'Cluster' } },
    },
    {
      name: 'a NodePort Service gets the Cluster external traffic policy',
      kind: 'Service',
      input: { spec: { type: 'NodePort', ports: [{ port: 80 }] } },
      expected: { spec: { type: 'NodePort', ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }], sessionAffinity: 'None', externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster' } },
    },
    {
      name: 'an explicit Local external traffic policy is kept',
      kind: 'Service',
      input: { spec: { type: 'NodePort', externalTrafficPolicy: 'Local' } },
      expected: { spec: { type: 'NodePort', sessionAffinity: 'None', externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Cluster' } },
    },
    {
      name: 'a LoadBalancer allocates NodePorts by default and its ingress IPs get ipMode VIP',
      kind: 'Service',
      input: { spec: { type: 'LoadBalancer' }, status: { loadBalancer: { ingress: [{ ip: '192.168.50.1' }, { hostname: 'lb.example.com' }] } } },
      expected: {
        spec: { type: 'LoadBalancer', sessionAffinity: 'None', externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', allocateLoadBalancerNodePorts: true },
        status: { loadBalancer: { ingress: [{ ip: '192.168.50.1', ipMode: 'VIP' }, { hostname: 'lb.example.com' }] } },
      },
    },
    {
      name: 'a ClusterIP Service with externalIPs is externally accessible and gets an external policy',
      kind: 'Service',
      input: { spec: { externalIPs: ['192.0.2.10'] } },
      expected: { spec: { externalIPs: ['192.0.2.10'], sessionAffinity: 'None', type: 'ClusterIP', externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster' } },
    },
    {
      name: 'an ExternalName Service gets neither traffic policy',
      kind: 'Service',
      input: { spec: { type: 'ExternalName', externalName: 'db.example.com' } },
      expected: { spec: { type: 'ExternalName', externalName: 'db.example.com', sessionAffinity: 'None' } },
    },
    {
      name: 'a clusterIP given alone is copied into clusterIPs',
      kind: 'Service',
      input: { spec: { clusterIP: '10.96.0.10' } },
      expected: { spec: { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], sessionAffinity: 'None', type: 'ClusterIP', internalTrafficPolicy: 'Cluster' } },
    },
    {
      name: 'an update that leaves out the allocated clusterIP and nodePort keeps them',
      kind: 'Service',
      input: { spec: { type: 'NodePort', ports: [{ name: 'http', port: 80 }] } },
      old: { spec: { type: 'NodePort', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80, nodePort: 30080 }] } },
      expected: {
        spec: {
          type: 'NodePort',
          ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80, nodePort: 30080 }],
          sessionAffinity: 'None',
          externalTrafficPolicy: 'Cluster',
          internalTrafficPolicy: 'Cluster',
          clusterIP: '10.96.0.10',
          clusterIPs: ['10.96.0.10'],
        },
      },
    },
  ])('$name', (row) => check(row));
});

describe('Pod', () => {
  const podDefaults = { dnsPolicy: 'ClusterFirst', restartPolicy: 'Always', securityContext: {}, terminationGracePeriodSeconds: 30, schedulerName: 'default-scheduler', enableServiceLinks: true };
  const containerDefaults = { terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' };

  test.each<Row>([
    {
      name: 'a minimal pod gets the pod-spec defaults, TCP container ports and phase Pending',
      kind: 'Pod',
      input: { spec: { containers: [{ name: 'app', image: 'nginx', ports: [{ containerPort: 80 }] }] } },
      expected: {
        spec: { containers: [{ name: 'app', image: 'nginx', ports: [{ containerPort: 80, protocol: 'TCP' }], imagePullPolicy: 'Always', ...containerDefaults }], ...podDefaults },
        status: { phase: 'Pending' },
      },
    },
    {
      name: 'a tagged image is pulled IfNotPresent and probes get their timing defaults',
      kind: 'Pod',
      input: { spec: { containers: [{ name: 'app', image: 'registry:5000/app:1.2', readinessProbe: { httpGet: { port: 8080 } } }] } },
      expected: {
        spec: {
          containers: [
            {
              name: 'app',
              image: 'registry:5000/app:1.2',
              imagePullPolicy: 'IfNotPresent',
              readinessProbe: { httpGet: { port: 8080, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
              ...containerDefaults,
            },
          ],
          ...podDefaults,
        },
        status: { phase: 'Pending' },
      },
    },
    {
      name: 'podIP alone fills podIPs, and an existing phase is kept',
      kind: 'Pod',
      input: { spec: { containers: [] }, status: { phase: 'Running', podIP: '10.244.1.5', hostIP: '192.168.0.2' } },
      expected: {
        spec: { containers: [], ...podDefaults },
        status: { phase: 'Running', podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }], hostIP: '192.168.0.2', hostIPs: [{ ip: '192.168.0.2' }] },
      },
    },
    {
      name: 'podIPs win over a different podIP, as the v1 conversion does',
      kind: 'Pod',
      input: { spec: { containers: [] }, status: { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.244.1.5' }, { ip: 'fd00::5' }] } },
      expected: {
        spec: { containers: [], ...podDefaults },
        status: { phase: 'Running', podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }, { ip: 'fd00::5' }] },
      },
    },
  ])('$name', (row) => check(row));
});

describe('Secret, Namespace, and the other kinds', () => {
  test.each<Row>([
    { name: 'a Secret without a type is Opaque', kind: 'Secret', input: { data: { a: 'YQ==' } }, expected: { type: 'Opaque', data: { a: 'YQ==' } } },
    {
      name: 'Secret stringData is base64-encoded into data, overwriting, and not kept',
      kind: 'Secret',
      input: { type: 'kubernetes.io/basic-auth', data: { username: 'b2xk', other: 'eA==' }, stringData: { username: 'admin', password: 'pässword' } },
      expected: { type: 'kubernetes.io/basic-auth', data: { username: 'YWRtaW4=', other: 'eA==', password: 'cMOkc3N3b3Jk' } },
    },
    {
      name: 'a new Namespace gets the kubernetes finalizer, its name label and phase Active',
      kind: 'Namespace',
      metadata: { name: 'team-a' },
      input: {},
      expected: { spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } },
      expectedMetadata: { name: 'team-a', labels: { 'kubernetes.io/metadata.name': 'team-a' } },
    },
    {
      name: 'a new Namespace keeps its own finalizers and adds kubernetes after them',
      kind: 'Namespace',
      metadata: { name: 'team-a', labels: { owner: 'a' } },
      input: { spec: { finalizers: ['example.com/cleanup'] } },
      expected: { spec: { finalizers: ['example.com/cleanup', 'kubernetes'] }, status: { phase: 'Active' } },
      expectedMetadata: { name: 'team-a', labels: { owner: 'a', 'kubernetes.io/metadata.name': 'team-a' } },
    },
    {
      name: 'an updated Namespace does not get back a finalizer that was removed',
      kind: 'Namespace',
      metadata: { name: 'team-a' },
      input: { spec: { finalizers: [] }, status: { phase: 'Terminating' } },
      old: { spec: { finalizers: ['kubernetes'] }, status: { phase: 'Terminating' } },
      expected: { spec: { finalizers: [] }, status: { phase: 'Terminating' } },
      expectedMetadata: { name: 'team-a', labels: { 'kubernetes.io/metadata.name': 'team-a' } },
    },
    {
      name: 'Endpoints ports default to TCP',
      kind: 'Endpoints',
      input: { subsets: [{ addresses: [{ ip: '10.244.1.5' }], ports: [{ port: 80 }, { port: 53, protocol: 'UDP' }] }] },
      expected: { subsets: [{ addresses: [{ ip: '10.244.1.5' }], ports: [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] }] },
    },
    {
      name: 'EndpointSlice ports get an empty name and TCP; endpoint conditions are left alone',
      kind: 'EndpointSlice',
      input: { addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'] }], ports: [{ port: 80 }] },
      expected: { addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'] }], ports: [{ port: 80, name: '', protocol: 'TCP' }] },
    },
    {
      name: 'IngressClass parameters default to Cluster scope',
      kind: 'IngressClass',
      metadata: { name: 'kplane' },
      input: { spec: { controller: 'kplane.io/ingress', parameters: { kind: 'Config', name: 'c' } } },
      expected: { spec: { controller: 'kplane.io/ingress', parameters: { kind: 'Config', name: 'c', scope: 'Cluster' } } },
    },
    {
      name: 'Node allocatable defaults to capacity',
      kind: 'Node',
      metadata: { name: 'node-1' },
      input: { status: { capacity: { cpu: '2', pods: '110' } } },
      expected: { status: { capacity: { cpu: '2', pods: '110' }, allocatable: { cpu: '2', pods: '110' } } },
    },
    {
      name: 'an Event gets no type, as upstream',
      kind: 'Event',
      input: { involvedObject: { kind: 'Pod', name: 'web' }, reason: 'Started' },
      expected: { involvedObject: { kind: 'Pod', name: 'web' }, reason: 'Started' },
    },
    { name: 'a ConfigMap is left as it is', kind: 'ConfigMap', input: { data: { a: 'b' } }, expected: { data: { a: 'b' } } },
  ])('$name', (row) => check(row));
});
