import { describe, expect, test } from 'vitest';
import { strategicSchemaFor } from '../../../../controlplane/api/merge-keys.ts';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchError } from '../../../../controlplane/api/patch.ts';
import { apiVersionOf, resources } from '../../../../controlplane/api/resources.ts';

/** Deep-frozen inputs make any mutation by the code under test throw. */
function frozen<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(frozen);
    Object.freeze(value);
  }
  return value;
}

function caught(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('applyMergePatch', () => {
  // The first rows are RFC 7386 Appendix A, in order.
  test.each([
    { name: 'a value replaces a value', original: { a: 'b' }, patch: { a: 'c' }, want: { a: 'c' } },
    { name: 'a new key is added', original: { a: 'b' }, patch: { b: 'c' }, want: { a: 'b', b: 'c' } },
    { name: 'null deletes a key', original: { a: 'b' }, patch: { a: null }, want: {} },
    { name: 'null deletes only its key', original: { a: 'b', b: 'c' }, patch: { a: null }, want: { b: 'c' } },
    { name: 'a string replaces an array', original: { a: ['b'] }, patch: { a: 'c' }, want: { a: 'c' } },
    { name: 'an array replaces a string', original: { a: 'c' }, patch: { a: ['b'] }, want: { a: ['b'] } },
    { name: 'objects merge recursively', original: { a: { b: 'c' } }, patch: { a: { b: 'd', c: null } }, want: { a: { b: 'd' } } },
    { name: 'arrays are replaced, not merged', original: { a: [{ b: 'c' }] }, patch: { a: [1] }, want: { a: [1] } },
    { name: 'an array patch replaces an array document', original: ['a', 'b'], patch: ['c', 'd'], want: ['c', 'd'] },
    { name: 'an array patch replaces an object document', original: { a: 'b' }, patch: ['c'], want: ['c'] },
    { name: 'a null patch replaces the document', original: { a: 'foo' }, patch: null, want: null },
    { name: 'a string patch replaces the document', original: { a: 'foo' }, patch: 'bar', want: 'bar' },
    { name: 'nulls already in the document are kept', original: { e: null }, patch: { a: 1 }, want: { e: null, a: 1 } },
    { name: 'an object patch on an array starts from {}', original: [1, 2], patch: { a: 'b', c: null }, want: { a: 'b' } },
    { name: 'nulls inside new objects are dropped', original: {}, patch: { a: { bb: { ccc: null } } }, want: { a: { bb: {} } } },
    {
      name: 'kubectl label t- removes the label',
      original: { metadata: { name: 'web', labels: { t: 'fe', app: 'web' } } },
      patch: { metadata: { labels: { t: null } } },
      want: { metadata: { name: 'web', labels: { app: 'web' } } },
    },
  ])('$name', ({ original, patch, want }) => {
    expect(applyMergePatch(frozen(original), frozen(patch))).toEqual(want);
  });

  test('a __proto__ key is stored as data and never becomes the prototype', () => {
    const result = applyMergePatch({}, JSON.parse('{"__proto__":{"polluted":true}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.hasOwn(result, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('applyJsonPatch', () => {
  const doc = { metadata: { name: 'web', labels: { app: 'web' } }, spec: { ports: [{ port: 80 }] } };

  test.each([
    { name: 'add a label', ops: [{ op: 'add', path: '/metadata/labels/tier', value: 'fe' }], want: { ...doc, metadata: { name: 'web', labels: { app: 'web', tier: 'fe' } } } },
    { name: 'append to a list with -', ops: [{ op: 'add', path: '/spec/ports/-', value: { port: 443 } }], want: { ...doc, spec: { ports: [{ port: 80 }, { port: 443 }] } } },
    { name: 'remove a label', ops: [{ op: 'remove', path: '/metadata/labels/app' }], want: { ...doc, metadata: { name: 'web', labels: {} } } },
    { name: 'replace a list element field', ops: [{ op: 'replace', path: '/spec/ports/0/port', value: 8080 }], want: { ...doc, spec: { ports: [{ port: 8080 }] } } },
    { name: 'a passing test then a change', ops: [{ op: 'test', path: '/metadata/name', value: 'web' }, { op: 'replace', path: '/metadata/name', value: 'api' }], want: { ...doc, metadata: { name: 'api', labels: { app: 'web' } } } },
    { name: 'move a value', ops: [{ op: 'move', from: '/metadata/labels/app', path: '/metadata/labels/name' }], want: { ...doc, metadata: { name: 'web', labels: { name: 'web' } } } },
    { name: 'copy a value', ops: [{ op: 'copy', from: '/metadata/name', path: '/metadata/labels/copy' }], want: { ...doc, metadata: { name: 'web', labels: { app: 'web', copy: 'web' } } } },
    { name: 'no operations leaves the document as it was', ops: [], want: doc },
  ])('$name', ({ ops, want }) => {
    expect(applyJsonPatch(frozen(structuredClone(doc)), frozen(ops))).toEqual(want);
  });

  test.each([
    { name: 'a failed test names its index', ops: [{ op: 'add', path: '/spec/x', value: 1 }, { op: 'test', path: '/metadata/name', value: 'api' }], message: 'json patch operation 1 (test /metadata/name) failed: Test operation failed' },
    { name: 'removing a missing path', ops: [{ op: 'remove', path: '/metadata/annotations' }], message: 'json patch operation 0 (remove /metadata/annotations) failed' },
    { name: 'adding under a missing parent', ops: [{ op: 'add', path: '/status/x/y', value: 1 }], message: 'json patch operation 0 (add /status/x/y) failed' },
    { name: 'an index past the end of a list', ops: [{ op: 'add', path: '/spec/ports/5', value: {} }], message: 'json patch operation 0 (add /spec/ports/5) failed' },
    { name: 'a path through __proto__', ops: [{ op: 'add', path: '/__proto__/polluted', value: true }], message: 'json patch operation 0 (add /__proto__/polluted) failed' },
    { name: 'an op outside RFC 6902', ops: [{ op: 'add', path: '/a', value: 1 }, { op: '_get', path: '/a' }], message: 'json patch operation 1: op must be one of' },
    { name: 'a body that is not a list', ops: { op: 'add', path: '/a', value: 1 }, message: 'a JSON patch must be a list of operations' },
  ])('rejects $name', ({ ops, message }) => {
    const error = caught(() => applyJsonPatch(frozen(structuredClone(doc)), frozen(ops)));
    expect(error).toBeInstanceOf(PatchError);
    expect(error).toMatchObject({ code: 'KPLANE_PATCH' });
    expect((error as PatchError).message).toContain(message);
  });
});

const service = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', ...metadata }, spec });
const pod = (spec: Record<string, unknown>, status: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', ...metadata },
  spec,
  status,
});
const names = (...list: string[]) => list.map((name) => ({ name }));

describe('applyStrategicMergePatch', () => {
  test.each([
    {
      name: 'kubectl apply removing port 80 and adding 8080',
      kind: 'Service',
      original: service({ selector: { app: 'web' }, ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }] }),
      patch: { spec: { '$setElementOrder/ports': [{ port: 8080 }], ports: [{ port: 8080, targetPort: 8080 }, { $patch: 'delete', port: 80 }] } },
      want: service({ selector: { app: 'web' }, ports: [{ port: 8080, targetPort: 8080 }] }),
    },
    {
      name: 'kubectl apply adding a second port keeps $setElementOrder order',
      kind: 'Service',
      original: service({ ports: [{ port: 80, targetPort: 80, protocol: 'TCP', nodePort: 30080 }] }),
      patch: { spec: { '$setElementOrder/ports': [{ port: 443 }, { port: 80 }], ports: [{ port: 443, targetPort: 8443 }] } },
      want: service({ ports: [{ port: 443, targetPort: 8443 }, { port: 80, targetPort: 80, protocol: 'TCP', nodePort: 30080 }] }),
    },
    {
      name: 'a merged port keeps server-set fields',
      kind: 'Service',
      original: service({ ports: [{ port: 80, targetPort: 80, nodePort: 30080 }] }),
      patch: { spec: { ports: [{ port: 80, targetPort: 8080 }] } },
      want: service({ ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }] }),
    },
    {
      name: 'null removes one label and a value adds another',
      kind: 'Service',
      original: service({}, { labels: { app: 'web', t: 'fe' } }),
      patch: { metadata: { labels: { t: null, tier: 'fe' } } },
      want: service({}, { labels: { app: 'web', tier: 'fe' } }),
    },
    {
      name: '$patch: replace on a map replaces the selector',
      kind: 'Service',
      original: service({ selector: { app: 'web', tier: 'fe' }, type: 'ClusterIP' }),
      patch: { spec: { selector: { $patch: 'replace', app: 'api' } } },
      want: service({ selector: { app: 'api' }, type: 'ClusterIP' }),
    },
    {
      name: '$patch: delete on a map empties it',
      kind: 'Service',
      original: service({}, { annotations: { a: '1', b: '2' } }),
      patch: { metadata: { annotations: { $patch: 'delete' } } },
      want: service({}, { annotations: {} }),
    },
    {
      name: 'container env merges by name',
      kind: 'Pod',
      original: pod({ containers: [{ name: 'app', image: 'web:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }] }),
      patch: { spec: { containers: [{ name: 'app', env: [{ name: 'B', value: 'two' }, { name: 'C', value: '3' }] }] } },
      want: pod({ containers: [{ name: 'app', image: 'web:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: 'two' }, { name: 'C', value: '3' }] }] }),
    },
    {
      name: 'null inside a merged element removes that field',
      kind: 'Pod',
      original: pod({ containers: [{ name: 'app', image: 'web:1', env: [{ name: 'A', value: '1' }] }] }),
      patch: { spec: { containers: [{ name: 'app', env: [{ name: 'A', value: null }] }] } },
      want: pod({ containers: [{ name: 'app', image: 'web:1', env: [{ name: 'A' }] }] }),
    },
    {
      name: 'pod conditions merge by type',
      kind: 'Pod',
      original: pod({ containers: [] }, { conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'False', reason: 'ContainersNotReady' }] }),
      patch: { status: { conditions: [{ type: 'Ready', status: 'True', reason: null }] } },
      want: pod({ containers: [] }, { conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'True' }] }),
    },
    {
      name: 'node addresses and conditions merge by type',
      kind: 'Node',
      original: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }], conditions: [{ type: 'Ready', status: 'True' }] } },
      patch: { status: { addresses: [{ type: 'Hostname', address: 'n1' }], conditions: [{ type: 'Ready', status: 'Unknown' }] } },
      want: {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'n1' },
        status: { addresses: [{ type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '10.0.0.1' }], conditions: [{ type: 'Ready', status: 'Unknown' }] },
      },
    },
    {
      name: 'owner references merge by uid',
      kind: 'EndpointSlice',
      original: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's', ownerReferences: [{ uid: 'u1', kind: 'Service', name: 'web' }] }, endpoints: [] },
      patch: { metadata: { ownerReferences: [{ uid: 'u1', controller: true }] } },
      want: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's', ownerReferences: [{ uid: 'u1', kind: 'Service', name: 'web', controller: true }] }, endpoints: [] },
    },
    {
      name: '$deleteFromPrimitiveList removes finalizers',
      kind: 'Service',
      original: service({}, { finalizers: ['a', 'b', 'c'] }),
      patch: { metadata: { '$deleteFromPrimitiveList/finalizers': ['b', 'z'] } },
      want: service({}, { finalizers: ['a', 'c'] }),
    },
    {
      name: '$deleteFromPrimitiveList on an absent list leaves it absent',
      kind: 'Service',
      original: service({}),
      patch: { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } },
      want: service({}),
    },
    {
      name: 'a primitive merge list keeps one copy of a value it already has',
      kind: 'Service',
      original: service({}, { finalizers: ['a', 'b'] }),
      patch: { metadata: { finalizers: ['b'] } },
      want: service({}, { finalizers: ['a', 'b'] }),
    },
    {
      name: 'a lone new value goes first, as apimachinery orders it',
      kind: 'Service',
      original: service({}, { finalizers: ['a', 'b'] }),
      patch: { metadata: { finalizers: ['c'] } },
      want: service({}, { finalizers: ['c', 'a', 'b'] }),
    },
    {
      name: 'kubectl apply adding and deleting finalizers in order',
      kind: 'Service',
      original: service({}, { finalizers: ['one', 'three', 'two'] }),
      patch: { metadata: { '$setElementOrder/finalizers': ['four', 'two', 'one'], finalizers: ['four'], '$deleteFromPrimitiveList/finalizers': ['three'] } },
      want: service({}, { finalizers: ['four', 'two', 'one'] }),
    },
    {
      name: 'EndpointSlice endpoints are atomic and replaced whole',
      kind: 'EndpointSlice',
      original: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's' }, endpoints: [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }] },
      patch: { endpoints: [{ addresses: ['10.0.0.3'], conditions: { ready: true } }] },
      want: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's' }, endpoints: [{ addresses: ['10.0.0.3'], conditions: { ready: true } }] },
    },
    {
      name: 'a list element $patch: replace replaces the whole list',
      kind: 'Pod',
      original: pod({ containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] }),
      patch: { spec: { containers: [{ $patch: 'replace' }, { name: 'c', image: 'z' }] } },
      want: pod({ containers: [{ name: 'c', image: 'z' }] }),
    },
    {
      name: '$patch: delete removes every element with the key',
      kind: 'Pod',
      original: pod({ containers: [], volumes: [{ name: 'a' }, { name: 'b', emptyDir: {} }, { name: 'a', hostPath: {} }] }),
      patch: { spec: { volumes: [{ $patch: 'delete', name: 'a' }] } },
      want: pod({ containers: [], volumes: [{ name: 'b', emptyDir: {} }] }),
    },
    {
      name: '$retainKeys drops the volume source the patch no longer names',
      kind: 'Pod',
      original: pod({ containers: [], volumes: [{ name: 'data', emptyDir: {} }] }),
      patch: { spec: { volumes: [{ name: 'data', configMap: { name: 'cfg' }, $retainKeys: ['configMap', 'name'] }] } },
      want: pod({ containers: [], volumes: [{ name: 'data', configMap: { name: 'cfg' } }] }),
    },
    {
      name: 'without $setElementOrder the patch order wins, server-only elements keep their place',
      kind: 'Pod',
      original: pod({ containers: [{ name: 'app', env: [{ name: '1' }, { name: '2', value: 'b' }, { name: '3' }] }] }),
      patch: { spec: { containers: [{ name: 'app', env: [{ name: '3', value: 'c' }, { name: '1', value: 'a' }] }] } },
      want: pod({ containers: [{ name: 'app', env: [{ name: '2', value: 'b' }, { name: '3', value: 'c' }, { name: '1', value: 'a' }] }] }),
    },
    {
      name: '$setElementOrder interleaves unlisted elements by their live position',
      kind: 'Pod',
      original: pod({ containers: names('1', '2', '7', '9', '8', '3', '4') }),
      patch: { spec: { '$setElementOrder/containers': names('2', '1', '4', '3') } },
      want: pod({ containers: names('2', '1', '7', '9', '8', '4', '3') }),
    },
    {
      name: '$setElementOrder ignores keys the list does not have',
      kind: 'Pod',
      original: pod({ containers: names('1', '3') }),
      patch: { spec: { '$setElementOrder/containers': names('3', '2', '1'), containers: [{ name: '3', image: 'c' }, { name: '1', image: 'a' }] } },
      want: pod({ containers: [{ name: '3', image: 'c' }, { name: '1', image: 'a' }] }),
    },
    {
      name: 'directives inside a value the object lacks are resolved, not stored',
      kind: 'Service',
      original: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' } },
      patch: { spec: { '$setElementOrder/ports': [{ port: 80 }], ports: [{ port: 80, nodePort: null }, { $patch: 'delete', port: 81 }] } },
      want: service({ ports: [{ port: 80 }] }),
    },
    {
      name: 'an empty patch changes nothing',
      kind: 'Service',
      original: service({ ports: [{ port: 80 }] }),
      patch: {},
      want: service({ ports: [{ port: 80 }] }),
    },
  ])('$name', ({ kind, original, patch, want }) => {
    const resource = resources.find((r) => r.kind === kind);
    if (resource === undefined) throw new Error(`unknown kind ${kind}`);
    expect(applyStrategicMergePatch(frozen(original), frozen(patch), strategicSchemaFor(apiVersionOf(resource), kind))).toEqual(want);
  });

  const servicePorts = service({ ports: [{ port: 80 }] });
  const slice = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's' }, endpoints: [] };
  test.each([
    { name: 'an unknown directive', kind: 'Service', original: servicePorts, patch: { spec: { $frobnicate: true } }, message: 'spec: unknown patch directive "$frobnicate"' },
    { name: 'an unknown $patch in a map', kind: 'Service', original: servicePorts, patch: { spec: { $patch: 'merge' } }, message: 'spec: unknown patch type "merge" in map' },
    { name: 'an unknown $patch in a list', kind: 'Service', original: servicePorts, patch: { spec: { ports: [{ $patch: 'drop', port: 80 }] } }, message: 'spec.ports[0]: unknown patch type "drop" in list' },
    { name: '$patch: merge in a list', kind: 'Service', original: servicePorts, patch: { spec: { ports: [{ $patch: 'merge' }] } }, message: 'merging lists cannot yet be specified in the patch' },
    { name: 'a merge list element without its key', kind: 'Service', original: servicePorts, patch: { spec: { ports: [{ targetPort: 8080 }] } }, message: 'does not contain declared merge key: port' },
    { name: 'a delete without the merge key', kind: 'Service', original: servicePorts, patch: { spec: { ports: [{ $patch: 'delete' }] } }, message: 'spec.ports[0]: {"$patch":"delete"} does not contain declared merge key: port' },
    {
      name: 'a patch list out of $setElementOrder order',
      kind: 'Service',
      original: servicePorts,
      patch: { spec: { '$setElementOrder/ports': [{ port: 80 }, { port: 81 }], ports: [{ port: 81 }, { port: 80 }] } },
      message: "doesn't match $setElementOrder list",
    },
    { name: '$setElementOrder on an atomic list', kind: 'EndpointSlice', original: slice, patch: { '$setElementOrder/endpoints': [] }, message: 'endpoints: $setElementOrder applies only to lists with a merge strategy' },
    { name: '$patch in an atomic list', kind: 'EndpointSlice', original: slice, patch: { endpoints: [{ $patch: 'delete', addresses: ['10.0.0.1'] }] }, message: 'endpoints[0]: $patch is not allowed in a list that is replaced whole' },
    {
      name: '$deleteFromPrimitiveList on a list of objects',
      kind: 'Service',
      original: servicePorts,
      patch: { spec: { '$deleteFromPrimitiveList/ports': [80] } },
      message: 'spec.ports: $deleteFromPrimitiveList applies only to merge lists of primitives',
    },
    {
      name: 'a patched field missing from $retainKeys',
      kind: 'Pod',
      original: pod({ containers: [], volumes: [{ name: 'data', emptyDir: {} }] }),
      patch: { spec: { volumes: [{ name: 'data', configMap: { name: 'cfg' }, $retainKeys: ['name'] }] } },
      message: 'spec.volumes[0]: field "configMap" is set by the patch but missing from $retainKeys',
    },
    { name: 'mixed types in a primitive merge list', kind: 'Service', original: service({}, { finalizers: ['a'] }), patch: { metadata: { finalizers: [1] } }, message: 'metadata.finalizers: list element types are not identical' },
    { name: 'a patch that is not an object', kind: 'Service', original: servicePorts, patch: [{ op: 'add' }], message: 'a strategic merge patch must be a JSON object' },
  ])('rejects $name', ({ kind, original, patch, message }) => {
    const resource = resources.find((r) => r.kind === kind);
    if (resource === undefined) throw new Error(`unknown kind ${kind}`);
    const error = caught(() => applyStrategicMergePatch(frozen(original), frozen(patch), strategicSchemaFor(apiVersionOf(resource), kind)));
    expect(error).toBeInstanceOf(PatchError);
    expect(error).toMatchObject({ code: 'KPLANE_PATCH' });
    expect((error as PatchError).message).toContain(message);
  });
});

describe('strategicSchemaFor', () => {
  test.each(resources.map((resource) => ({ name: `${apiVersionOf(resource)} ${resource.kind}`, apiVersion: apiVersionOf(resource), kind: resource.kind })))(
    'has a schema for the served kind $name',
    ({ apiVersion, kind }) => {
      expect(strategicSchemaFor(apiVersion, kind).fields?.metadata?.fields?.finalizers).toEqual({ patchStrategy: 'merge' });
    },
  );

  test.each([
    { name: 'a kind kplane does not serve', apiVersion: 'apps/v1', kind: 'Deployment' },
    { name: 'a served kind under another version', apiVersion: 'v1beta1', kind: 'Service' },
  ])('refuses $name', ({ apiVersion, kind }) => {
    const error = caught(() => strategicSchemaFor(apiVersion, kind));
    expect(error).toBeInstanceOf(PatchError);
    expect(error).toMatchObject({ message: `strategic merge patch is not supported for ${apiVersion} ${kind}` });
  });
});
