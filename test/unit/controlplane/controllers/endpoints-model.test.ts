import { describe, expect, test } from 'vitest';
import type { EndpointPort, Endpoints, EndpointSubset, Pod, Service } from '../../../../controlplane/api/types.ts';
import { desiredEndpoints, endpointsEqual, endpointsUpdate, repackSubsets } from '../../../../controlplane/controllers/endpoints-model.ts';
import { makePod, makeService, manyPods, notReady, terminating } from './fixtures.ts';

const web = (tweak?: (service: Service) => void) => makeService('default', 'web', tweak);
const pod = (name: string, ip: string | undefined, tweak?: (pod: Pod) => void) => makePod('default', name, ip, tweak);
const withMetrics = (p: Pod) => p.spec.containers[0]?.ports?.push({ name: 'metrics', containerPort: 9100, protocol: 'TCP' });
const addressOf = (name: string, ip: string) => ({ ip, nodeName: 'node-1', targetRef: { kind: 'Pod', namespace: 'default', name, uid: `uid-${name}` } });
const http: EndpointPort = { name: 'http', port: 8080, protocol: 'TCP' };

describe('desiredEndpoints', () => {
  test('a selector service gets an Endpoints named after it with its labels and the managed-by marker', () => {
    expect(desiredEndpoints(web(), [pod('web-a', '10.0.0.1')])).toEqual({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web', namespace: 'default', labels: { team: 'blue', 'endpoints.kubernetes.io/managed-by': 'endpoint-controller' } },
      subsets: [{ addresses: [addressOf('web-a', '10.0.0.1')], ports: [http] }],
    });
  });

  test.each<{ name: string; service: Service; pods: Pod[]; expected: EndpointSubset[] }>([
    {
      name: 'ready pods are addresses, not-ready pods notReadyAddresses, both sorted by IP',
      service: web(),
      pods: [pod('web-b', '10.0.0.2', notReady), pod('web-c', '10.0.0.3'), pod('web-a', '10.0.0.1')],
      expected: [{ addresses: [addressOf('web-a', '10.0.0.1'), addressOf('web-c', '10.0.0.3')], notReadyAddresses: [addressOf('web-b', '10.0.0.2')], ports: [http] }],
    },
    {
      name: 'terminating pods are left out',
      service: web(),
      pods: [pod('web-a', '10.0.0.1', terminating), pod('web-b', '10.0.0.2')],
      expected: [{ addresses: [addressOf('web-b', '10.0.0.2')], ports: [http] }],
    },
    {
      name: 'publishNotReadyAddresses publishes not-ready and terminating pods as ready',
      service: web((s) => (s.spec.publishNotReadyAddresses = true)),
      pods: [pod('web-a', '10.0.0.1', terminating), pod('web-b', '10.0.0.2', notReady)],
      expected: [{ addresses: [addressOf('web-a', '10.0.0.1'), addressOf('web-b', '10.0.0.2')], ports: [http] }],
    },
    {
      name: 'pods without an IP, terminal pods and pods elsewhere are left out',
      service: web(),
      pods: [pod('web-a', undefined), pod('web-b', '10.0.0.2', (p) => p.status && (p.status.phase = 'Failed')), makePod('other', 'web-c', '10.0.0.3')],
      expected: [],
    },
    {
      name: 'ports with the same addresses share a subset; a port fewer pods resolve gets its own',
      service: web((s) => s.spec.ports?.push({ name: 'metrics', port: 9100, targetPort: 'metrics', protocol: 'TCP' })),
      pods: [pod('web-a', '10.0.0.1', withMetrics), pod('web-b', '10.0.0.2')],
      expected: [
        { addresses: [addressOf('web-a', '10.0.0.1'), addressOf('web-b', '10.0.0.2')], ports: [http] },
        { addresses: [addressOf('web-a', '10.0.0.1')], ports: [{ name: 'metrics', port: 9100, protocol: 'TCP' }] },
      ],
    },
    {
      name: 'ports that all pods resolve are grouped in one subset',
      service: web((s) => s.spec.ports?.push({ name: 'metrics', port: 9100, targetPort: 'metrics', protocol: 'TCP', appProtocol: 'http' })),
      pods: [pod('web-a', '10.0.0.1', withMetrics), pod('web-b', '10.0.0.2', withMetrics)],
      expected: [{ addresses: [addressOf('web-a', '10.0.0.1'), addressOf('web-b', '10.0.0.2')], ports: [http, { name: 'metrics', port: 9100, protocol: 'TCP', appProtocol: 'http' }] }],
    },
    {
      name: 'an unnamed port has no name field',
      service: web((s) => (s.spec.ports = [{ port: 80, targetPort: 8080, protocol: 'TCP' }])),
      pods: [pod('web-a', '10.0.0.1')],
      expected: [{ addresses: [addressOf('web-a', '10.0.0.1')], ports: [{ port: 8080, protocol: 'TCP' }] }],
    },
    {
      name: 'a pod whose subdomain names the service gets its hostname',
      service: web(),
      pods: [
        pod('web-a', '10.0.0.1', (p) => {
          p.spec.hostname = 'a';
          p.spec.subdomain = 'web';
        }),
      ],
      expected: [{ addresses: [{ ...addressOf('web-a', '10.0.0.1'), hostname: 'a' }], ports: [http] }],
    },
    {
      name: 'a headless service without ports publishes addresses alone',
      service: web((s) => {
        s.spec.clusterIP = 'None';
        s.spec.ports = [];
      }),
      pods: [pod('web-a', '10.0.0.1')],
      expected: [{ addresses: [addressOf('web-a', '10.0.0.1')] }],
    },
    {
      name: 'a service without ports that is not headless publishes nothing',
      service: web((s) => (s.spec.ports = [])),
      pods: [pod('web-a', '10.0.0.1')],
      expected: [],
    },
    {
      name: 'an IPv6 service publishes the pod IPv6 address',
      service: web((s) => (s.spec.ipFamilies = ['IPv6'])),
      pods: [pod('web-a', '10.0.0.1', (p) => p.status && (p.status.podIPs = [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }]))],
      expected: [{ addresses: [addressOf('web-a', 'fd00::1')], ports: [http] }],
    },
  ])('$name', ({ service, pods, expected }) => {
    expect(desiredEndpoints(service, pods)?.subsets).toEqual(expected);
  });

  test.each([
    { name: 'a selectorless service is left to whoever writes its Endpoints', service: web((s) => delete s.spec.selector) },
    { name: 'an ExternalName service has no Endpoints', service: web((s) => (s.spec.type = 'ExternalName')) },
  ])('$name', ({ service }) => {
    expect(desiredEndpoints(service, [pod('web-a', '10.0.0.1')])).toBeUndefined();
  });

  test('a headless service gets the headless label', () => {
    expect(desiredEndpoints(web((s) => (s.spec.clusterIP = 'None')), [])?.metadata.labels).toEqual({
      team: 'blue',
      'service.kubernetes.io/headless': '',
      'endpoints.kubernetes.io/managed-by': 'endpoint-controller',
    });
  });

  test.each([
    { name: '1000 ready addresses fit without truncation', ready: 1000, notReady: 0, expected: { ready: 1000, notReady: 0, annotation: undefined } },
    { name: 'more than 1000 ready addresses are cut to 1000', ready: 1200, notReady: 0, expected: { ready: 1000, notReady: 0, annotation: 'truncated' } },
    { name: 'not-ready addresses are cut before ready ones', ready: 900, notReady: 300, expected: { ready: 900, notReady: 100, annotation: 'truncated' } },
    { name: 'with too many ready addresses every not-ready one goes', ready: 1100, notReady: 50, expected: { ready: 1000, notReady: 0, annotation: 'truncated' } },
  ])('$name', ({ ready, notReady: unready, expected }) => {
    const pods = manyPods(ready + unready).map((p, i) => (i >= ready ? (notReady(p), p) : p));
    const endpoints = desiredEndpoints(web(), pods);
    const subsets = endpoints?.subsets ?? [];
    expect({
      ready: subsets.reduce((n, s) => n + (s.addresses?.length ?? 0), 0),
      notReady: subsets.reduce((n, s) => n + (s.notReadyAddresses?.length ?? 0), 0),
      annotation: endpoints?.metadata.annotations?.['endpoints.kubernetes.io/over-capacity'],
    }).toEqual(expected);
  });
});

describe('repackSubsets', () => {
  test.each<{ name: string; subsets: EndpointSubset[]; expected: EndpointSubset[] }>([
    {
      name: 'the same address listed twice for one port appears once',
      subsets: [
        { addresses: [{ ip: '10.0.0.2' }, { ip: '10.0.0.1' }], ports: [{ port: 80 }] },
        { addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] },
      ],
      expected: [{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }], ports: [{ port: 80 }] }],
    },
    {
      name: 'an address not ready in any subset stays not ready',
      subsets: [
        { notReadyAddresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] },
        { addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] },
      ],
      expected: [{ notReadyAddresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }],
    },
    {
      name: 'ports offered by the same addresses merge into one subset',
      subsets: [
        { addresses: [{ ip: '10.0.0.1' }], ports: [{ name: 'b', port: 81 }] },
        { addresses: [{ ip: '10.0.0.1' }], ports: [{ name: 'a', port: 80 }] },
      ],
      expected: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81 }] }],
    },
  ])('$name', ({ subsets, expected }) => {
    expect(repackSubsets(subsets)).toEqual(expected);
  });
});

describe('endpointsEqual and endpointsUpdate', () => {
  const desired = desiredEndpoints(web(), [pod('web-a', '10.0.0.1')]) as Endpoints;
  const existing: Endpoints = {
    ...desired,
    metadata: { ...desired.metadata, uid: 'uid-ep', resourceVersion: '42', creationTimestamp: '2025-01-01T00:00:00Z', annotations: { 'example.com/note': 'kept' } },
  };

  test.each<{ name: string; a: Endpoints; b: Endpoints; equal: boolean }>([
    { name: 'server-set metadata is ignored', a: desired, b: { ...desired, metadata: { ...desired.metadata, uid: 'x', resourceVersion: '9' } }, equal: true },
    { name: 'absent and empty subsets are equal', a: { ...desired, subsets: [] }, b: { ...desired, subsets: undefined }, equal: true },
    {
      name: "a pod's resourceVersion in targetRef is ignored",
      a: desired,
      b: { ...desired, subsets: [{ addresses: [{ ...addressOf('web-a', '10.0.0.1'), targetRef: { ...addressOf('web-a', '10.0.0.1').targetRef, resourceVersion: '7' } }], ports: [http] }] },
      equal: true,
    },
    { name: 'different addresses differ', a: desired, b: { ...desired, subsets: [{ addresses: [addressOf('web-a', '10.0.0.9')], ports: [http] }] }, equal: false },
    { name: 'different labels differ', a: desired, b: { ...desired, metadata: { ...desired.metadata, labels: {} } }, equal: false },
  ])('$name', ({ a, b, equal }) => {
    expect(endpointsEqual(a, b)).toBe(equal);
  });

  test('an Endpoints that already says what is desired needs no update', () => {
    expect(endpointsUpdate(existing, desired)).toBeUndefined();
  });

  test('an update keeps store metadata and foreign annotations and replaces subsets', () => {
    const next = desiredEndpoints(web(), [pod('web-a', '10.0.0.1'), pod('web-b', '10.0.0.2')]) as Endpoints;
    const update = endpointsUpdate(existing, next);
    expect(update?.metadata).toEqual({ ...existing.metadata });
    expect(update?.subsets).toEqual(next.subsets);
  });

  test('an update drops the over-capacity annotation once the addresses fit again', () => {
    const truncated = { ...existing, metadata: { ...existing.metadata, annotations: { 'endpoints.kubernetes.io/over-capacity': 'truncated' } } };
    expect(endpointsUpdate(truncated, desired)?.metadata.annotations).toBeUndefined();
  });
});
