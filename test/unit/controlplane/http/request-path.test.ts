import { describe, expect, test } from 'vitest';
import { parseResourcePath } from '../../../../controlplane/http/request-path.ts';

describe('parseResourcePath', () => {
  test.each([
    { name: 'core list across namespaces', url: '/api/v1/services', want: { resource: 'services' } },
    { name: 'core list in a namespace', url: '/api/v1/namespaces/default/services', want: { resource: 'services', namespace: 'default' } },
    { name: 'core item', url: '/api/v1/namespaces/default/services/web', want: { resource: 'services', namespace: 'default', name: 'web' } },
    { name: 'core item status', url: '/api/v1/namespaces/default/pods/p1/status', want: { resource: 'pods', namespace: 'default', name: 'p1', subresource: 'status' } },
    { name: 'namespace list', url: '/api/v1/namespaces', want: { resource: 'namespaces' } },
    { name: 'namespace item', url: '/api/v1/namespaces/team-a', want: { resource: 'namespaces', name: 'team-a' } },
    { name: 'namespace status is a subresource, not a resource', url: '/api/v1/namespaces/team-a/status', want: { resource: 'namespaces', name: 'team-a', subresource: 'status' } },
    { name: 'namespace finalize subresource', url: '/api/v1/namespaces/team-a/finalize', want: { resource: 'namespaces', name: 'team-a', subresource: 'finalize' } },
    { name: 'cluster-scoped item', url: '/api/v1/nodes/node-1', want: { resource: 'nodes', name: 'node-1' } },
    { name: 'cluster-scoped status', url: '/api/v1/nodes/node-1/status', want: { resource: 'nodes', name: 'node-1', subresource: 'status' } },
    { name: 'group list in a namespace', url: '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', want: { resource: 'endpointslices', namespace: 'default' } },
    { name: 'group item', url: '/apis/networking.k8s.io/v1/namespaces/default/ingresses/site', want: { resource: 'ingresses', namespace: 'default', name: 'site' } },
    { name: 'group cluster-scoped item', url: '/apis/networking.k8s.io/v1/ingressclasses/kplane', want: { resource: 'ingressclasses', name: 'kplane' } },
    { name: 'percent-encoded name', url: '/api/v1/namespaces/default/configmaps/a%2Eb', want: { resource: 'configmaps', namespace: 'default', name: 'a.b' } },
  ])('parses $name', ({ url, want }) => {
    const parsed = parseResourcePath(url);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const { info, ...rest } = parsed.path;
    expect({ resource: info.resource, ...rest }).toEqual(want);
  });

  test.each([
    { name: 'unknown resource', url: '/api/v1/deployments' },
    { name: 'resource in the wrong group', url: '/apis/networking.k8s.io/v1/services' },
    { name: 'unknown version', url: '/apis/networking.k8s.io/v1beta1/ingresses' },
    { name: 'namespaced item without its namespace', url: '/api/v1/services/web' },
    { name: 'cluster-scoped resource under a namespace', url: '/api/v1/namespaces/default/nodes/n1' },
    { name: 'too many segments', url: '/api/v1/namespaces/default/pods/p1/status/extra' },
    { name: 'dot-dot segment', url: '/api/v1/namespaces/../pods' },
    { name: 'not an API path', url: '/metrics' },
  ])('rejects $name', ({ url }) => {
    expect(parseResourcePath(url)).toEqual({ ok: false, reason: 'not-found' });
  });
});
