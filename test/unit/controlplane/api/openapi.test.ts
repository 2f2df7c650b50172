import { describe, expect, test } from 'vitest';
import { openApiGroupVersion, openApiHash, openApiRoot, type OpenApiDocument } from '../../../../controlplane/api/openapi.ts';
import { resources } from '../../../../controlplane/api/resources.ts';

/**
 * kubectl's queryParamVerifierV3: the first PATCH operation tagged with the
 * GVK decides whether `fieldValidation` is supported. When it is, kubectl
 * skips client-side schema validation and lets the server validate.
 */
function kubectlSeesFieldValidation(doc: OpenApiDocument, gvk: { group: string; version: string; kind: string }): boolean {
  for (const path of Object.values(doc.paths)) {
    const ext = path.patch['x-kubernetes-group-version-kind'];
    if (ext.group !== gvk.group || ext.version !== gvk.version || ext.kind !== gvk.kind) continue;
    return path.patch.parameters.some((p) => p.name === 'fieldValidation' && p.in === 'query');
  }
  return false;
}

describe('openApiRoot', () => {
  test('lists the three group-versions with a content hash in each URL', () => {
    const root = openApiRoot();
    expect(Object.keys(root.paths)).toEqual(['api/v1', 'apis/discovery.k8s.io/v1', 'apis/networking.k8s.io/v1']);
    for (const [gvPath, { serverRelativeURL }] of Object.entries(root.paths)) {
      expect(serverRelativeURL).toMatch(new RegExp(`^/openapi/v3/${gvPath.replaceAll('.', '\\.')}\\?hash=[0-9A-F]{128}$`));
    }
  });

  test('hashes are stable across calls and name the document that is served', () => {
    const first = openApiRoot();
    expect(openApiRoot()).toEqual(first);
    for (const [gvPath, { serverRelativeURL }] of Object.entries(first.paths)) {
      const doc = openApiGroupVersion(gvPath);
      expect(doc).toBeDefined();
      if (doc) expect(serverRelativeURL.endsWith(`?hash=${openApiHash(doc)}`)).toBe(true);
    }
  });

  test('each group-version has its own hash', () => {
    const hashes = Object.values(openApiRoot().paths).map((p) => p.serverRelativeURL.split('hash=')[1]);
    expect(new Set(hashes).size).toBe(hashes.length);
  });
});

describe('openApiGroupVersion', () => {
  test.each([
    { name: 'services', gvPath: 'api/v1', path: '/api/v1/namespaces/{namespace}/services/{name}', gvk: { group: '', version: 'v1', kind: 'Service' } },
    { name: 'endpoints', gvPath: 'api/v1', path: '/api/v1/namespaces/{namespace}/endpoints/{name}', gvk: { group: '', version: 'v1', kind: 'Endpoints' } },
    { name: 'pods', gvPath: 'api/v1', path: '/api/v1/namespaces/{namespace}/pods/{name}', gvk: { group: '', version: 'v1', kind: 'Pod' } },
    { name: 'nodes', gvPath: 'api/v1', path: '/api/v1/nodes/{name}', gvk: { group: '', version: 'v1', kind: 'Node' } },
    { name: 'namespaces', gvPath: 'api/v1', path: '/api/v1/namespaces/{name}', gvk: { group: '', version: 'v1', kind: 'Namespace' } },
    { name: 'secrets', gvPath: 'api/v1', path: '/api/v1/namespaces/{namespace}/secrets/{name}', gvk: { group: '', version: 'v1', kind: 'Secret' } },
    { name: 'configmaps', gvPath: 'api/v1', path: '/api/v1/namespaces/{namespace}/configmaps/{name}', gvk: { group: '', version: 'v1', kind: 'ConfigMap' } },
    { name: 'events', gvPath: 'api/v1', path: '/api/v1/namespaces/{namespace}/events/{name}', gvk: { group: '', version: 'v1', kind: 'Event' } },
    {
      name: 'endpointslices',
      gvPath: 'apis/discovery.k8s.io/v1',
      path: '/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices/{name}',
      gvk: { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice' },
    },
    {
      name: 'ingresses',
      gvPath: 'apis/networking.k8s.io/v1',
      path: '/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/{name}',
      gvk: { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' },
    },
    {
      name: 'ingressclasses',
      gvPath: 'apis/networking.k8s.io/v1',
      path: '/apis/networking.k8s.io/v1/ingressclasses/{name}',
      gvk: { group: 'networking.k8s.io', version: 'v1', kind: 'IngressClass' },
    },
  ])('$name: $path has a PATCH tagged with its GVK that accepts fieldValidation', ({ gvPath, path, gvk }) => {
    const doc = openApiGroupVersion(gvPath);
    const patch = doc?.paths[path]?.patch;
    expect(patch?.['x-kubernetes-group-version-kind']).toEqual(gvk);
    expect(patch?.parameters).toContainEqual(expect.objectContaining({ name: 'fieldValidation', in: 'query' }));
    expect(doc && kubectlSeesFieldValidation(doc, gvk)).toBe(true);
  });

  test('covers every registered resource and nothing else', () => {
    const kinds = Object.keys(openApiRoot().paths).flatMap((gvPath) =>
      Object.values(openApiGroupVersion(gvPath)?.paths ?? {}).map((p) => p.patch['x-kubernetes-group-version-kind'].kind),
    );
    expect(kinds.sort()).toEqual(resources.map((r) => r.kind).sort());
  });

  test('never offers strategic merge patch, so kubectl builds it from its compiled types', () => {
    for (const gvPath of Object.keys(openApiRoot().paths)) {
      for (const path of Object.values(openApiGroupVersion(gvPath)?.paths ?? {})) {
        expect(Object.keys(path.patch.requestBody.content)).not.toContain('application/strategic-merge-patch+json');
      }
    }
  });

  test('every $ref in a document resolves within its components', () => {
    const doc = openApiGroupVersion('api/v1');
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const name = ref.slice('"$ref":"#/components/schemas/'.length, -1);
      expect(doc?.components.schemas).toHaveProperty([name]);
    }
  });

  test.each([
    { name: 'unknown core version', gvPath: 'api/v2' },
    { name: 'unknown group', gvPath: 'apis/apps/v1' },
    { name: 'leading slash', gvPath: '/api/v1' },
    { name: 'root document path', gvPath: '' },
  ])('returns undefined for an $name', ({ gvPath }) => {
    expect(openApiGroupVersion(gvPath)).toBeUndefined();
  });
});
