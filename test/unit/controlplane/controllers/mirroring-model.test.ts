import { describe, expect, test } from 'vitest';
import type { Endpoints, EndpointSlice, Service } from '../../../../controlplane/api/types.ts';
import { desiredEndpointSlices, reconcileSlices } from '../../../../controlplane/controllers/endpointslice-model.ts';
import { desiredMirroredSlices, mirroredSlices, shouldMirror } from '../../../../controlplane/controllers/mirroring-model.ts';
import { applyChanges, describeEndpoint, makePod, makeService, stored } from './fixtures.ts';

const external = (tweak?: (service: Service) => void) => makeService('default', 'db', (s) => {
  delete s.spec.selector;
  tweak?.(s);
});

function handWritten(tweak?: (endpoints: Endpoints) => void): Endpoints {
  const endpoints: Endpoints = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { namespace: 'default', name: 'db', uid: 'uid-ep-db', resourceVersion: '5', labels: { app: 'db' }, annotations: { note: 'by hand', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
    subsets: [{ addresses: [{ ip: '192.0.2.10' }, { ip: '192.0.2.11', nodeName: 'node-2' }], notReadyAddresses: [{ ip: '192.0.2.12' }], ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }],
  };
  tweak?.(endpoints);
  return endpoints;
}

describe('shouldMirror', () => {
  test.each([
    { name: 'a selectorless service with hand-written Endpoints is mirrored', service: external(), endpoints: handWritten(), expected: true },
    { name: 'Endpoints of a selector service belong to the Endpoints controller', service: external((s) => (s.spec.selector = { app: 'db' })), endpoints: handWritten(), expected: false },
    { name: 'Endpoints without a service are not mirrored', service: undefined, endpoints: handWritten(), expected: false },
    { name: 'the skip-mirror label opts out', service: external(), endpoints: handWritten((e) => (e.metadata.labels = { 'endpointslice.kubernetes.io/skip-mirror': 'true' })), expected: false },
    { name: 'a leader-election lock is not mirrored', service: external(), endpoints: handWritten((e) => (e.metadata.annotations = { 'control-plane.alpha.kubernetes.io/leader': '{}' })), expected: false },
  ])('$name', ({ service, endpoints, expected }) => {
    expect(shouldMirror(service, endpoints)).toBe(expected);
  });
});

describe('desiredMirroredSlices', () => {
  test.each([
    {
      name: 'addresses become ready endpoints and notReadyAddresses not-ready ones',
      endpoints: handWritten(),
      expected: [{ addressType: 'IPv4', ports: ['pg:5432/TCP'], endpoints: ['- 192.0.2.10 ready', '- 192.0.2.11 ready', '- 192.0.2.12'] }],
    },
    {
      name: 'IPv6 addresses go to their own slice and addresses that are not IPs are skipped',
      endpoints: handWritten((e) => (e.subsets = [{ addresses: [{ ip: '192.0.2.10' }, { ip: 'fd00::10' }, { ip: 'db.example.com' }], ports: [{ port: 5432, protocol: 'TCP' }] }])),
      expected: [
        { addressType: 'IPv4', ports: [':5432/TCP'], endpoints: ['- 192.0.2.10 ready'] },
        { addressType: 'IPv6', ports: [':5432/TCP'], endpoints: ['- fd00::10 ready'] },
      ],
    },
    {
      name: 'each subset becomes its own slice',
      endpoints: handWritten((e) =>
        e.subsets?.push({ addresses: [{ ip: '192.0.2.20', targetRef: { kind: 'Pod', namespace: 'default', name: 'db-x' } }], ports: [{ name: 'admin', port: 9000, protocol: 'TCP' }] }),
      ),
      expected: [
        { addressType: 'IPv4', ports: ['admin:9000/TCP'], endpoints: ['db-x 192.0.2.20 ready'] },
        { addressType: 'IPv4', ports: ['pg:5432/TCP'], endpoints: ['- 192.0.2.10 ready', '- 192.0.2.11 ready', '- 192.0.2.12'] },
      ],
    },
    { name: 'an Endpoints without subsets mirrors to nothing', endpoints: handWritten((e) => delete e.subsets), expected: [] },
  ])('$name', ({ endpoints, expected }) => {
    const summary = desiredMirroredSlices(endpoints).map((slice) => ({
      addressType: slice.addressType,
      ports: slice.ports.map((port) => `${port.name}:${port.port}/${port.protocol}`),
      endpoints: slice.endpoints.map(describeEndpoint).sort(),
    }));
    expect(summary).toEqual(expected);
  });

  test('at most 1000 addresses per subset are mirrored, ready ones first', () => {
    const addresses = Array.from({ length: 1100 }, (_, i) => ({ ip: `10.2.${Math.floor(i / 250)}.${(i % 250) + 1}` }));
    const endpoints = handWritten((e) => (e.subsets = [{ addresses: addresses.slice(0, 900), notReadyAddresses: addresses.slice(900), ports: [{ port: 80 }] }]));
    const [slice] = desiredMirroredSlices(endpoints);
    expect(slice?.endpoints.length).toBe(1000);
    expect(slice?.endpoints.filter((e) => e.conditions?.ready).length).toBe(900);
  });
});

describe('mirroredSlices', () => {
  test('a new mirrored slice copies the Endpoints labels and annotations and is owned by the Endpoints', () => {
    const { create } = mirroredSlices(external(), handWritten(), []);
    expect(create.map((slice) => ({ metadata: slice.metadata, ports: slice.ports }))).toEqual([
      {
        metadata: {
          generateName: 'db-',
          namespace: 'default',
          labels: { app: 'db', 'kubernetes.io/service-name': 'db', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' },
          annotations: { note: 'by hand' },
          ownerReferences: [{ apiVersion: 'v1', kind: 'Endpoints', name: 'db', uid: 'uid-ep-db', controller: true, blockOwnerDeletion: true }],
        },
        ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      },
    ]);
  });

  const controllerSlice = stored(reconcileSlices(makeService('default', 'db'), desiredEndpointSlices(makeService('default', 'db'), [makePod('default', 'db-a', '10.0.0.1', (p) => (p.metadata.labels = { app: 'db' }))]), []).create, 50);
  const mirrored = stored(mirroredSlices(external(), handWritten(), []).create);

  test.each<{ name: string; service: Service | undefined; endpoints: Endpoints | undefined; existing: EndpointSlice[]; expected: { create: number; update: string[]; delete: string[] } }>([
    { name: 'mirrored slices that already match need no writes', service: external(), endpoints: handWritten(), existing: mirrored, expected: { create: 0, update: [], delete: [] } },
    {
      name: 'a changed address updates the mirrored slice in place',
      service: external(),
      endpoints: handWritten((e) => (e.subsets = [{ addresses: [{ ip: '192.0.2.99' }], ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }])),
      existing: mirrored,
      expected: { create: 0, update: ['db-s0'], delete: [] },
    },
    {
      name: 'a service that gains a selector loses its mirrored slices but keeps the controller ones',
      service: external((s) => (s.spec.selector = { app: 'db' })),
      endpoints: handWritten(),
      existing: [...mirrored, ...controllerSlice],
      expected: { create: 0, update: [], delete: ['db-s0'] },
    },
    { name: 'deleted Endpoints take their mirrored slices with them', service: external(), endpoints: undefined, existing: mirrored, expected: { create: 0, update: [], delete: ['db-s0'] } },
  ])('$name', ({ service, endpoints, existing, expected }) => {
    const changes = mirroredSlices(service, endpoints, existing);
    expect({ create: changes.create.length, update: changes.update.map((s) => s.metadata.name), delete: changes.delete.map((s) => s.metadata.name) }).toEqual(expected);
  });

  test('reconciling after applying the changes produces no writes', () => {
    const endpoints = handWritten((e) => e.subsets?.push({ addresses: [{ ip: 'fd00::1' }], ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }));
    const after = applyChanges(mirrored, mirroredSlices(external(), endpoints, mirrored));
    expect(mirroredSlices(external(), endpoints, after)).toEqual({ create: [], update: [], delete: [] });
  });
});
