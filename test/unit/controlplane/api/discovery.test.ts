import { describe, expect, test } from 'vitest';
import { apiGroup, apiGroupList, apiResourceList, coreApiVersions, versionInfo } from '../../../../controlplane/api/discovery.ts';
import { resources } from '../../../../controlplane/api/resources.ts';

const allVerbs = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

describe('versionInfo', () => {
  test('reports Kubernetes 1.32 so the kubectl dispatcher runs kubectl 1.32', () => {
    const info = versionInfo();
    expect(info.major).toBe('1');
    expect(info.minor).toBe('32');
    // The gitVersion must parse as semver for kubectl's version skew check.
    expect(info.gitVersion).toMatch(/^v1\.32\.\d+(\+[0-9A-Za-z.-]+)?$/);
    expect(info.buildDate).toBe('1970-01-01T00:00:00Z');
  });

  test.each([
    { name: 'defaults to linux/amd64', platform: undefined, want: 'linux/amd64' },
    { name: 'reports the platform it is given', platform: 'linux/arm64', want: 'linux/arm64' },
  ])('platform $name', ({ platform, want }) => {
    expect(versionInfo(platform).platform).toBe(want);
  });
});

describe('coreApiVersions', () => {
  test('serves v1 and answers every client CIDR with the given address', () => {
    expect(coreApiVersions('127.0.0.1:6443')).toEqual({
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }],
    });
  });
});

describe('apiGroupList and apiGroup', () => {
  const discoveryV1 = { groupVersion: 'discovery.k8s.io/v1', version: 'v1' };
  const networkingV1 = { groupVersion: 'networking.k8s.io/v1', version: 'v1' };

  test('lists the named groups with their preferred version', () => {
    expect(apiGroupList()).toEqual({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [
        { name: 'discovery.k8s.io', versions: [discoveryV1], preferredVersion: discoveryV1 },
        { name: 'networking.k8s.io', versions: [networkingV1], preferredVersion: networkingV1 },
      ],
    });
  });

  test.each([
    { name: 'discovery group', group: 'discovery.k8s.io', want: { kind: 'APIGroup', apiVersion: 'v1', name: 'discovery.k8s.io', versions: [discoveryV1], preferredVersion: discoveryV1 } },
    { name: 'networking group', group: 'networking.k8s.io', want: { kind: 'APIGroup', apiVersion: 'v1', name: 'networking.k8s.io', versions: [networkingV1], preferredVersion: networkingV1 } },
    { name: 'core group has no /apis entry', group: '', want: undefined },
    { name: 'unknown group', group: 'apps', want: undefined },
  ])('apiGroup: $name', ({ group, want }) => {
    expect(apiGroup(group)).toEqual(want);
  });
});

describe('apiResourceList', () => {
  test.each([
    { name: 'services', group: '', namespaced: true, kind: 'Service', shortNames: ['svc'], categories: ['all'], status: true },
    { name: 'endpoints', group: '', namespaced: true, kind: 'Endpoints', shortNames: ['ep'], categories: [], status: false },
    { name: 'pods', group: '', namespaced: true, kind: 'Pod', shortNames: ['po'], categories: ['all'], status: true },
    { name: 'nodes', group: '', namespaced: false, kind: 'Node', shortNames: ['no'], categories: [], status: true },
    { name: 'namespaces', group: '', namespaced: false, kind: 'Namespace', shortNames: ['ns'], categories: [], status: true },
    { name: 'secrets', group: '', namespaced: true, kind: 'Secret', shortNames: [], categories: [], status: false },
    { name: 'configmaps', group: '', namespaced: true, kind: 'ConfigMap', shortNames: ['cm'], categories: [], status: false },
    { name: 'events', group: '', namespaced: true, kind: 'Event', shortNames: ['ev'], categories: [], status: false },
    { name: 'endpointslices', group: 'discovery.k8s.io', namespaced: true, kind: 'EndpointSlice', shortNames: [], categories: [], status: false },
    { name: 'ingresses', group: 'networking.k8s.io', namespaced: true, kind: 'Ingress', shortNames: ['ing'], categories: ['all'], status: true },
    { name: 'ingressclasses', group: 'networking.k8s.io', namespaced: false, kind: 'IngressClass', shortNames: [], categories: [], status: false },
  ])('lists $name with its scope, kind, short names and categories', ({ name, group, namespaced, kind, shortNames, categories, status }) => {
    const list = apiResourceList(group, 'v1');
    const entry = list?.resources.find((r) => r.name === name);
    expect(entry).toMatchObject({ name, namespaced, kind, verbs: allVerbs });
    expect(entry?.shortNames ?? []).toEqual(shortNames);
    expect(entry?.categories ?? []).toEqual(categories);
    const statusEntry = list?.resources.find((r) => r.name === `${name}/status`);
    expect(statusEntry).toEqual(status ? { name: `${name}/status`, singularName: '', namespaced, kind, verbs: ['get', 'patch', 'update'] } : undefined);
  });

  test('every resource in the registry is discoverable', () => {
    for (const info of resources) {
      expect(apiResourceList(info.group, info.version)?.resources.map((r) => r.name)).toContain(info.resource);
    }
  });

  test.each([
    { name: 'services', group: '', want: '0/CO1lhkEBI=' },
    { name: 'pods', group: '', want: 'xPOwRZ+Yhw8=' },
  ])('storageVersionHash of $name matches kube-apiserver', ({ name, group, want }) => {
    expect(apiResourceList(group, 'v1')?.resources.find((r) => r.name === name)?.storageVersionHash).toBe(want);
  });

  test('the core list has no apiVersion and named groups carry v1, as kube-apiserver sends them', () => {
    const core = apiResourceList('', 'v1');
    const networking = apiResourceList('networking.k8s.io', 'v1');
    expect(core).toMatchObject({ kind: 'APIResourceList', groupVersion: 'v1' });
    expect(core).not.toHaveProperty('apiVersion');
    expect(networking).toMatchObject({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'networking.k8s.io/v1' });
  });

  test('resources are sorted by name so status subresources follow their parent', () => {
    const names = apiResourceList('', 'v1')?.resources.map((r) => r.name) ?? [];
    expect(names).toEqual([...names].sort());
    expect(names.indexOf('services/status')).toBe(names.indexOf('services') + 1);
  });

  test.each([
    { name: 'unknown core version', group: '', version: 'v2' },
    { name: 'unknown group', group: 'apps', version: 'v1' },
    { name: 'unknown version of a known group', group: 'networking.k8s.io', version: 'v1beta1' },
  ])('returns undefined for an $name', ({ group, version }) => {
    expect(apiResourceList(group, version)).toBeUndefined();
  });
});
