import { describe, expect, test } from 'vitest';
import type { EndpointSlice, Pod, Service } from '../../../../controlplane/api/types.ts';
import { desiredEndpointSlices, maxEndpointsPerSlice, reconcileSlices, type DesiredSlice } from '../../../../controlplane/controllers/endpointslice-model.ts';
import { applyChanges, describeEndpoint, makePod, makeService, manyPods, notReady, stored, terminating } from './fixtures.ts';

function summarize(slices: DesiredSlice[]) {
  return slices.map((slice) => ({
    addressType: slice.addressType,
    ports: slice.ports.map((port) => `${port.name}:${port.port}/${port.protocol}`),
    endpoints: slice.endpoints.map(describeEndpoint),
  }));
}

const web = (tweak?: (service: Service) => void) => makeService('default', 'web', tweak);
const pod = (name: string, ip: string | undefined, tweak?: (pod: Pod) => void) => makePod('default', name, ip, tweak);

describe('desiredEndpointSlices', () => {
  test('a ready pod becomes one endpoint with its address, node, target and conditions', () => {
    expect(desiredEndpointSlices(web(), [pod('web-a', '10.0.0.1')])).toEqual([
      {
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: [
          {
            addresses: ['10.0.0.1'],
            conditions: { ready: true, serving: true, terminating: false },
            nodeName: 'node-1',
            targetRef: { kind: 'Pod', namespace: 'default', name: 'web-a', uid: 'uid-web-a' },
          },
        ],
      },
    ]);
  });

  test.each([
    {
      name: 'a not-ready pod is neither ready nor serving',
      service: web(),
      pods: [pod('web-a', '10.0.0.1', notReady)],
      expected: [{ addressType: 'IPv4', ports: ['http:8080/TCP'], endpoints: ['web-a 10.0.0.1'] }],
    },
    {
      name: 'a terminating ready pod is kept, serving and terminating but not ready',
      service: web(),
      pods: [pod('web-a', '10.0.0.1', terminating)],
      expected: [{ addressType: 'IPv4', ports: ['http:8080/TCP'], endpoints: ['web-a 10.0.0.1 serving terminating'] }],
    },
    {
      name: 'publishNotReadyAddresses makes a not-ready pod ready',
      service: web((s) => (s.spec.publishNotReadyAddresses = true)),
      pods: [pod('web-a', '10.0.0.1', notReady)],
      expected: [{ addressType: 'IPv4', ports: ['http:8080/TCP'], endpoints: ['web-a 10.0.0.1 ready'] }],
    },
    {
      name: 'publishNotReadyAddresses makes a terminating pod ready',
      service: web((s) => (s.spec.publishNotReadyAddresses = true)),
      pods: [pod('web-a', '10.0.0.1', terminating)],
      expected: [{ addressType: 'IPv4', ports: ['http:8080/TCP'], endpoints: ['web-a 10.0.0.1 ready serving terminating'] }],
    },
    {
      name: 'pods are sorted by name',
      service: web(),
      pods: [pod('web-c', '10.0.0.3'), pod('web-a', '10.0.0.9'), pod('web-b', '10.0.0.1')],
      expected: [{ addressType: 'IPv4', ports: ['http:8080/TCP'], endpoints: ['web-a 10.0.0.9 ready serving', 'web-b 10.0.0.1 ready serving', 'web-c 10.0.0.3 ready serving'] }],
    },
    {
      name: 'a pod without an IP is skipped, leaving the empty placeholder slice',
      service: web(),
      pods: [pod('web-a', undefined)],
      expected: [{ addressType: 'IPv4', ports: [], endpoints: [] }],
    },
    {
      name: 'Succeeded and Failed pods are skipped',
      service: web(),
      pods: [pod('web-a', '10.0.0.1', (p) => p.status && (p.status.phase = 'Succeeded')), pod('web-b', '10.0.0.2', (p) => p.status && (p.status.phase = 'Failed')), pod('web-c', '10.0.0.3')],
      expected: [{ addressType: 'IPv4', ports: ['http:8080/TCP'], endpoints: ['web-c 10.0.0.3 ready serving'] }],
    },
    {
      name: 'pods in another namespace are ignored',
      service: web(),
      pods: [makePod('other', 'web-a', '10.0.0.1'), pod('web-b', '10.0.0.2')],
      expected: [{ addressType: 'IPv4', ports: ['http:8080/TCP'], endpoints: ['web-b 10.0.0.2 ready serving'] }],
    },
    {
      name: 'pods missing any selector label are ignored',
      service: web((s) => (s.spec.selector = { app: 'web', tier: 'front' })),
      pods: [pod('web-a', '10.0.0.1'), pod('web-b', '10.0.0.2', (p) => (p.metadata.labels = { app: 'web', tier: 'front', extra: 'yes' }))],
      expected: [{ addressType: 'IPv4', ports: ['http:8080/TCP'], endpoints: ['web-b 10.0.0.2 ready serving'] }],
    },
    {
      name: 'a named target port resolves per pod, so pods with different numbers get separate slices',
      service: web(),
      pods: [pod('web-a', '10.0.0.1'), pod('web-b', '10.0.0.2', (p) => ((p.spec.containers[0]?.ports ?? [])[0] = { name: 'http', containerPort: 9090, protocol: 'TCP' }))],
      expected: [
        { addressType: 'IPv4', ports: ['http:8080/TCP'], endpoints: ['web-a 10.0.0.1 ready serving'] },
        { addressType: 'IPv4', ports: ['http:9090/TCP'], endpoints: ['web-b 10.0.0.2 ready serving'] },
      ],
    },
    {
      name: 'a pod lacking one named port goes to a group without that port',
      service: web((s) => s.spec.ports?.push({ name: 'metrics', port: 9100, targetPort: 'metrics', protocol: 'TCP' })),
      pods: [pod('web-a', '10.0.0.1', (p) => p.spec.containers[0]?.ports?.push({ name: 'metrics', containerPort: 9100, protocol: 'TCP' })), pod('web-b', '10.0.0.2')],
      expected: [
        { addressType: 'IPv4', ports: ['http:8080/TCP', 'metrics:9100/TCP'], endpoints: ['web-a 10.0.0.1 ready serving'] },
        { addressType: 'IPv4', ports: ['http:8080/TCP'], endpoints: ['web-b 10.0.0.2 ready serving'] },
      ],
    },
    {
      name: 'a named port only resolves with the same protocol',
      service: web((s) => (s.spec.ports = [{ name: 'dns', port: 53, targetPort: 'http', protocol: 'UDP' }])),
      pods: [pod('web-a', '10.0.0.1')],
      expected: [{ addressType: 'IPv4', ports: [], endpoints: ['web-a 10.0.0.1 ready serving'] }],
    },
    {
      name: 'a numeric target port is used as is',
      service: web((s) => (s.spec.ports = [{ name: 'http', port: 80, targetPort: 3000, protocol: 'TCP' }])),
      pods: [pod('web-a', '10.0.0.1')],
      expected: [{ addressType: 'IPv4', ports: ['http:3000/TCP'], endpoints: ['web-a 10.0.0.1 ready serving'] }],
    },
    {
      name: 'a service without pods gets one empty placeholder slice',
      service: web(),
      pods: [],
      expected: [{ addressType: 'IPv4', ports: [], endpoints: [] }],
    },
    {
      name: 'a dual-stack service gets one slice per family from the pod IPs',
      service: web((s) => (s.spec.ipFamilies = ['IPv4', 'IPv6'])),
      pods: [pod('web-a', '10.0.0.1', (p) => p.status && (p.status.podIPs = [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }]))],
      expected: [
        { addressType: 'IPv4', ports: ['http:8080/TCP'], endpoints: ['web-a 10.0.0.1 ready serving'] },
        { addressType: 'IPv6', ports: ['http:8080/TCP'], endpoints: ['web-a fd00::1 ready serving'] },
      ],
    },
    {
      name: 'an IPv6 service skips IPv4-only pods',
      service: web((s) => (s.spec.ipFamilies = ['IPv6'])),
      pods: [pod('web-a', '10.0.0.1')],
      expected: [{ addressType: 'IPv6', ports: [], endpoints: [] }],
    },
    {
      name: 'a headless service without ports publishes addresses with no ports',
      service: web((s) => {
        s.spec.clusterIP = 'None';
        s.spec.ports = [];
      }),
      pods: [pod('web-a', '10.0.0.1')],
      expected: [{ addressType: 'IPv4', ports: [], endpoints: ['web-a 10.0.0.1 ready serving'] }],
    },
    {
      name: 'a selectorless service gets nothing from this controller',
      service: web((s) => delete s.spec.selector),
      pods: [pod('web-a', '10.0.0.1')],
      expected: [],
    },
    {
      name: 'an empty selector counts as no selector',
      service: web((s) => (s.spec.selector = {})),
      pods: [pod('web-a', '10.0.0.1')],
      expected: [],
    },
    {
      name: 'an ExternalName service gets nothing',
      service: web((s) => (s.spec.type = 'ExternalName')),
      pods: [pod('web-a', '10.0.0.1')],
      expected: [],
    },
  ])('$name', ({ service, pods, expected }) => {
    expect(summarize(desiredEndpointSlices(service, pods))).toEqual(expected);
  });

  test.each([
    { name: 'hostname is set when the subdomain names the service', subdomain: 'web', expected: 'web-a' },
    { name: 'hostname is left out when the subdomain names another service', subdomain: 'other', expected: undefined },
  ])('$name', ({ subdomain, expected }) => {
    const pods = [
      pod('web-a', '10.0.0.1', (p) => {
        p.spec.hostname = 'web-a';
        p.spec.subdomain = subdomain;
      }),
    ];
    expect(desiredEndpointSlices(web(), pods)[0]?.endpoints[0]?.hostname).toBe(expected);
  });

  test('250 pods fill three slices of at most 100, in name order', () => {
    const slices = desiredEndpointSlices(web(), manyPods(250));
    expect(slices.map((slice) => slice.endpoints.length)).toEqual([100, 100, 50]);
    expect(slices.map((slice) => slice.endpoints[0]?.targetRef?.name)).toEqual(['web-000', 'web-100', 'web-200']);
    expect(maxEndpointsPerSlice).toBe(100);
  });
});

describe('reconcileSlices: creating', () => {
  test('a new slice carries generateName, the service labels, the managed-by label and a controller owner reference', () => {
    const service = web();
    const changes = reconcileSlices(service, desiredEndpointSlices(service, [pod('web-a', '10.0.0.1')]), []);
    expect(changes.update).toEqual([]);
    expect(changes.delete).toEqual([]);
    expect(changes.create).toEqual([
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          generateName: 'web-',
          namespace: 'default',
          labels: { team: 'blue', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
          ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'uid-svc-web', controller: true, blockOwnerDeletion: true }],
        },
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: [
          {
            addresses: ['10.0.0.1'],
            conditions: { ready: true, serving: true, terminating: false },
            nodeName: 'node-1',
            targetRef: { kind: 'Pod', namespace: 'default', name: 'web-a', uid: 'uid-web-a' },
          },
        ],
      },
    ]);
  });

  test.each([
    {
      name: 'a headless service adds the headless label',
      service: web((s) => (s.spec.clusterIP = 'None')),
      expected: { team: 'blue', 'service.kubernetes.io/headless': '', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
    },
    {
      name: 'reserved labels on the service are not copied',
      service: web((s) => (s.metadata.labels = { 'endpointslice.kubernetes.io/managed-by': 'me', 'kubernetes.io/service-name': 'x', 'service.kubernetes.io/headless': '' })),
      expected: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
    },
  ])('$name', ({ service, expected }) => {
    const [slice] = reconcileSlices(service, desiredEndpointSlices(service, [pod('web-a', '10.0.0.1')]), []).create;
    expect(slice?.metadata.labels).toEqual(expected);
  });

  test('a service being deleted gets no new slices', () => {
    const service = web((s) => (s.metadata.deletionTimestamp = '2025-01-01T00:00:00Z'));
    expect(reconcileSlices(service, desiredEndpointSlices(service, [pod('web-a', '10.0.0.1')]), []).create).toEqual([]);
  });
});

interface ReconcileCase {
  name: string;
  before: { service?: Service; pods: Pod[] };
  after: { service?: Service; pods: Pod[] };
  /** Slices in the store that another writer owns. */
  extra?: EndpointSlice[];
  expected: { create: number; update: string[]; delete: string[] };
  /** Endpoints per managed slice in the store once the changes are applied ('new' for created ones). */
  sizes?: Record<string, number>;
}

const foreignSlice: EndpointSlice = {
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'web-manual', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'someone-else' } },
  addressType: 'IPv4',
  endpoints: [],
};

describe('reconcileSlices: against existing slices', () => {
  test.each<ReconcileCase>([
    {
      name: 'an unchanged service and pods produce no writes',
      before: { pods: manyPods(250) },
      after: { pods: manyPods(250) },
      expected: { create: 0, update: [], delete: [] },
    },
    {
      name: 'a pod turning not ready updates the slice that holds it, in place',
      before: { pods: manyPods(150) },
      after: { pods: manyPods(150).map((p) => (p.metadata.name === 'web-120' ? (notReady(p), p) : p)) },
      expected: { create: 0, update: ['web-s1'], delete: [] },
    },
    {
      name: 'a new pod joins the slice with room instead of a new slice',
      before: { pods: manyPods(150) },
      after: { pods: manyPods(151) },
      expected: { create: 0, update: ['web-s1'], delete: [] },
      sizes: { 'web-s0': 100, 'web-s1': 51 },
    },
    {
      name: 'a changed port number rewrites the same slice instead of deleting and creating',
      before: { pods: manyPods(2) },
      after: { service: web((s) => (s.spec.ports = [{ name: 'http', port: 80, targetPort: 9090, protocol: 'TCP' }])), pods: manyPods(2) },
      expected: { create: 0, update: ['web-s0'], delete: [] },
    },
    {
      name: 'shrinking from 250 to 50 pods keeps one slice and deletes the others',
      before: { pods: manyPods(250) },
      after: { pods: manyPods(50) },
      expected: { create: 0, update: ['web-s0'], delete: ['web-s1', 'web-s2'] },
      sizes: { 'web-s0': 50 },
    },
    {
      name: 'losing every pod turns one slice into the empty placeholder and deletes the rest',
      before: { pods: manyPods(150) },
      after: { pods: [] },
      expected: { create: 0, update: ['web-s0'], delete: ['web-s1'] },
      sizes: { 'web-s0': 0 },
    },
    {
      name: 'the placeholder is reused when the first pod arrives',
      before: { pods: [] },
      after: { pods: manyPods(1) },
      expected: { create: 0, update: ['web-s0'], delete: [] },
      sizes: { 'web-s0': 1 },
    },
    {
      name: 'growing past a full slice creates a new one for the overflow only',
      before: { pods: manyPods(100) },
      after: { pods: manyPods(130) },
      expected: { create: 1, update: [], delete: [] },
      sizes: { 'web-s0': 100, new: 30 },
    },
    {
      name: 'new service labels update every slice',
      before: { pods: manyPods(150) },
      after: { service: web((s) => (s.metadata.labels = { team: 'red' })), pods: manyPods(150) },
      expected: { create: 0, update: ['web-s0', 'web-s1'], delete: [] },
    },
    {
      name: 'slices managed by someone else are left alone',
      before: { pods: manyPods(1) },
      after: { pods: [] },
      extra: [foreignSlice],
      expected: { create: 0, update: ['web-s0'], delete: [] },
    },
    {
      name: 'slices owned by an older service of the same name are deleted and replaced',
      before: { service: web((s) => (s.metadata.uid = 'uid-old')), pods: manyPods(1) },
      after: { pods: manyPods(1) },
      expected: { create: 1, update: [], delete: ['web-s0'] },
    },
  ])('$name', ({ before, after, extra = [], expected, sizes }) => {
    const oldService = before.service ?? web();
    const newService = after.service ?? web();
    const existing = [...stored(reconcileSlices(oldService, desiredEndpointSlices(oldService, before.pods), []).create), ...extra];
    const changes = reconcileSlices(newService, desiredEndpointSlices(newService, after.pods), existing);
    expect({ create: changes.create.length, update: changes.update.map((s) => s.metadata.name), delete: changes.delete.map((s) => s.metadata.name) }).toEqual(expected);
    for (const slice of changes.update) {
      const original = existing.find((s) => s.metadata.name === slice.metadata.name);
      expect(slice.metadata.resourceVersion).toBe(original?.metadata.resourceVersion);
      expect(slice.metadata.uid).toBe(original?.metadata.uid);
    }
    if (sizes) {
      const after = applyChanges(existing, changes).filter((s) => !extra.includes(s));
      const created = new Set(stored(changes.create, existing.length + 100).map((s) => s.metadata.name));
      expect(Object.fromEntries(after.map((s) => [created.has(s.metadata.name) ? 'new' : s.metadata.name, s.endpoints.length]))).toEqual(sizes);
    }
  });

  test('applying the changes and reconciling again produces no writes', () => {
    const service = web();
    const existing = stored(reconcileSlices(service, desiredEndpointSlices(service, manyPods(150)), []).create);
    const pods = [...manyPods(130), makePod('default', 'web-new', '10.9.0.1', notReady)];
    const after = applyChanges(existing, reconcileSlices(service, desiredEndpointSlices(service, pods), existing));
    expect(reconcileSlices(service, desiredEndpointSlices(service, pods), after)).toEqual({ create: [], update: [], delete: [] });
  });

  test('a stored slice whose endpoints are in another order is not rewritten', () => {
    const service = web();
    const [slice] = stored(reconcileSlices(service, desiredEndpointSlices(service, manyPods(3)), []).create) as [EndpointSlice];
    const shuffled = { ...slice, endpoints: [...slice.endpoints].reverse() };
    expect(reconcileSlices(service, desiredEndpointSlices(service, manyPods(3)), [shuffled]).update).toEqual([]);
  });

  test('every endpoint appears exactly once after growing across slices', () => {
    const service = web();
    const existing = stored(reconcileSlices(service, desiredEndpointSlices(service, manyPods(120)), []).create);
    const after = applyChanges(existing, reconcileSlices(service, desiredEndpointSlices(service, manyPods(260)), existing));
    const names = after.flatMap((s) => s.endpoints.map((e) => e.targetRef?.name));
    expect(names.length).toBe(260);
    expect(new Set(names).size).toBe(260);
    expect(after.map((s) => s.endpoints.length).sort((a, b) => b - a)).toEqual([100, 100, 60]);
  });
});
