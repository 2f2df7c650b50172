/**
 * Strategic-merge-patch metadata for the kinds kplane serves: which lists are
 * merged element-wise, and by which key. Every other list is atomic (replaced
 * whole) and every other object merges key by key.
 *
 * Transcribed from the `patchStrategy:"merge"` / `patchMergeKey:"…"` struct
 * tags, which are what kubectl uses to compute the patches it sends:
 * - kubernetes/apimachinery pkg/apis/meta/v1/types.go, ObjectMeta:
 *   ownerReferences (uid), finalizers (primitive list).
 * - kubernetes/api core/v1/types.go:
 *   ServiceSpec.ports (port; listMapKeys are port+protocol, but the patch
 *   merge key, and so what kubectl sends, is port alone);
 *   ServiceStatus.conditions (type);
 *   PodSpec.volumes (name, "merge,retainKeys"), initContainers, containers,
 *   ephemeralContainers, imagePullSecrets, schedulingGates and resourceClaims
 *   ("merge,retainKeys") (name), hostAliases (ip), topologySpreadConstraints
 *   (topologyKey);
 *   Container and EphemeralContainerCommon: ports (containerPort), env (name),
 *   volumeMounts (mountPath), volumeDevices (devicePath);
 *   PodStatus.conditions (type), podIPs (ip), hostIPs (ip),
 *   resourceClaimStatuses (name, "merge,retainKeys");
 *   NodeSpec.podCIDRs (primitive list); NodeStatus.conditions (type),
 *   addresses (type); NamespaceStatus.conditions (type).
 * - No merge lists in Endpoints (subsets), Secret, ConfigMap, Event,
 *   discovery/v1 EndpointSlice (endpoints and ports are listType=atomic) or
 *   networking/v1 Ingress and IngressClass.
 * Cross-checked against the struct tags compiled into kubectl 1.32 and 1.33.
 * The retainKeys half of a strategy only changes how clients build patches;
 * the server honours any `$retainKeys` directive it is sent.
 */
import { PatchError } from './patch.ts';

/**
 * One node of an object's schema. For a list, `fields` describes each element;
 * for an object, its properties. A node without a strategy is atomic when it
 * is a list and merged key by key when it is an object.
 */
export interface StrategicSchema {
  readonly patchStrategy?: 'merge';
  /** Set for lists of objects; absent on a merge list of primitives (finalizers). */
  readonly patchMergeKey?: string;
  readonly fields?: Readonly<Record<string, StrategicSchema>>;
}

type Fields = Readonly<Record<string, StrategicSchema>>;

function mergeList(patchMergeKey: string, fields?: Fields): StrategicSchema {
  return fields === undefined ? { patchStrategy: 'merge', patchMergeKey } : { patchStrategy: 'merge', patchMergeKey, fields };
}

const primitiveMergeList: StrategicSchema = { patchStrategy: 'merge' };

const objectMeta: StrategicSchema = {
  fields: { ownerReferences: mergeList('uid'), finalizers: primitiveMergeList },
};

const container: Fields = {
  ports: mergeList('containerPort'),
  env: mergeList('name'),
  volumeMounts: mergeList('mountPath'),
  volumeDevices: mergeList('devicePath'),
};

const podSpec: StrategicSchema = {
  fields: {
    volumes: mergeList('name'),
    initContainers: mergeList('name', container),
    containers: mergeList('name', container),
    ephemeralContainers: mergeList('name', container),
    imagePullSecrets: mergeList('name'),
    hostAliases: mergeList('ip'),
    topologySpreadConstraints: mergeList('topologyKey'),
    schedulingGates: mergeList('name'),
    resourceClaims: mergeList('name'),
  },
};

const podStatus: StrategicSchema = {
  fields: {
    conditions: mergeList('type'),
    podIPs: mergeList('ip'),
    hostIPs: mergeList('ip'),
    resourceClaimStatuses: mergeList('name'),
  },
};

function kind(fields: Fields = {}): StrategicSchema {
  return { fields: { metadata: objectMeta, ...fields } };
}

const conditionsStatus: StrategicSchema = { fields: { conditions: mergeList('type') } };

const schemas: ReadonlyMap<string, StrategicSchema> = new Map([
  ['v1 Namespace', kind({ status: conditionsStatus })],
  ['v1 Service', kind({ spec: { fields: { ports: mergeList('port') } }, status: conditionsStatus })],
  ['v1 Endpoints', kind()],
  ['v1 Pod', kind({ spec: podSpec, status: podStatus })],
  [
    'v1 Node',
    kind({
      spec: { fields: { podCIDRs: primitiveMergeList } },
      status: { fields: { conditions: mergeList('type'), addresses: mergeList('type') } },
    }),
  ],
  ['v1 Secret', kind()],
  ['v1 ConfigMap', kind()],
  ['v1 Event', kind()],
  ['discovery.k8s.io/v1 EndpointSlice', kind()],
  ['networking.k8s.io/v1 Ingress', kind()],
  ['networking.k8s.io/v1 IngressClass', kind()],
]);

/**
 * The schema of a served kind. Any other kind throws: like a custom resource
 * in kube-apiserver, it has no struct tags to take a strategic merge patch by.
 */
export function strategicSchemaFor(apiVersion: string, kindName: string): StrategicSchema {
  const schema = schemas.get(`${apiVersion} ${kindName}`);
  if (schema === undefined) throw new PatchError(`strategic merge patch is not supported for ${apiVersion} ${kindName}`);
  return schema;
}
