/**
 * Server-side Table output (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`),
 * which is where `kubectl get` takes its columns from. Columns and cells follow
 * kube-apiserver 1.32 (`pkg/printers/internalversion/printers.go`). The
 * apiserver always prints the wide variant and marks wide-only columns with
 * priority 1; kubectl hides those unless `-o wide`.
 */
import { humanDuration } from './human-duration.ts';
import type { ResourceInfo } from './resources.ts';
import type {
  ConfigMap,
  EndpointPort,
  Endpoints,
  EndpointSlice,
  Event,
  Ingress,
  KubeObject,
  LoadBalancerIngress,
  Namespace,
  ObjectMeta,
  Secret,
  Service,
  ServiceSpec,
} from './types.ts';

export type IncludeObject = 'None' | 'Metadata' | 'Object';
export type TableVersion = 'v1' | 'v1beta1';

export interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export type TableCell = string | number;

export interface TableRowCondition {
  type: 'Completed';
  status: 'True';
  reason: string;
  message: string;
}

export interface PartialObjectMetadata {
  kind: 'PartialObjectMetadata';
  apiVersion: string;
  metadata: ObjectMeta;
}

export interface TableRow {
  cells: TableCell[];
  conditions?: TableRowCondition[];
  /** Absent when includeObject=None. */
  object?: PartialObjectMetadata | KubeObject;
}

export interface Table {
  kind: 'Table';
  apiVersion: string;
  metadata: { resourceVersion?: string };
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

export interface TableOptions {
  /** AGE and LAST SEEN are measured from here. */
  now: Date;
  /** What each row carries in `object`; kube-apiserver's default is Metadata. */
  includeObject?: IncludeObject;
  /** The list's resourceVersion, or the object's for a single GET. */
  resourceVersion?: string;
  /** Watch events after the first one omit the column definitions. */
  noHeaders?: boolean;
  version?: TableVersion;
}

export function toTable(info: ResourceInfo, objects: readonly KubeObject[], options: TableOptions): Table {
  const printer = printers[info.kind] ?? defaultPrinter;
  const version = options.version ?? 'v1';
  const includeObject = options.includeObject ?? 'Metadata';
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${version}`,
    metadata: options.resourceVersion === undefined ? {} : { resourceVersion: options.resourceVersion },
    columnDefinitions: options.noHeaders ? [] : printer.columns,
    rows: objects.map((obj) => {
      const conditions = printer.conditions?.(obj);
      const row: TableRow = { cells: printer.cells(obj, options.now), ...(conditions ? { conditions } : {}) };
      if (includeObject === 'Object') row.object = obj;
      if (includeObject === 'Metadata') row.object = { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: { ...obj.metadata } };
      return row;
    }),
  };
}

export type TableRequest = { table: true; version: TableVersion } | { table: false };

/**
 * Content negotiation for Table output. The first acceptable clause wins
 * (highest q first, then header order, as apiserver's goautoneg does): a
 * meta.k8s.io Table clause asks for a Table; a plain JSON clause (or a
 * missing header) asks for the object or list itself. Clauses kplane cannot
 * produce (protobuf, `as=PartialObjectMetadataList`, …) are skipped.
 */
export function wantsTable(accept: string | undefined): TableRequest {
  for (const clause of parseAccept(accept)) {
    const version = tableVersion(clause);
    if (version !== undefined) return { table: true, version };
    if (isPlainJson(clause)) return { table: false };
  }
  return { table: false };
}

/** Whether a plain JSON body is acceptable at all; when neither this nor a Table is, the answer is 406. */
export function wantsJson(accept: string | undefined): boolean {
  return accept === undefined || accept.trim() === '' || parseAccept(accept).some(isPlainJson);
}

// ---------------------------------------------------------------------------
// Accept header

interface MediaRange {
  type: string;
  subtype: string;
  params: Map<string, string>;
  q: number;
}

function parseAccept(accept: string | undefined): MediaRange[] {
  if (accept === undefined) return [];
  const ranges: MediaRange[] = [];
  for (const part of accept.split(',')) {
    const [mediaType = '', ...rawParams] = part.split(';');
    const [type = '', subtype = ''] = mediaType.trim().toLowerCase().split('/');
    if (type === '' || subtype === '') continue;
    const params = new Map<string, string>();
    let q = 1;
    for (const raw of rawParams) {
      const eq = raw.indexOf('=');
      if (eq < 0) continue;
      const key = raw.slice(0, eq).trim();
      const value = raw.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
      if (key === 'q') q = Number(value);
      else params.set(key, value);
    }
    if (q > 0) ranges.push({ type, subtype, params, q });
  }
  // Array.prototype.sort is stable, so equal q keeps header order.
  return ranges.sort((a, b) => b.q - a.q);
}

function matchesJson(range: MediaRange): boolean {
  return (range.type === 'application' && (range.subtype === 'json' || range.subtype === '*')) || (range.type === '*' && range.subtype === '*');
}

function isPlainJson(range: MediaRange): boolean {
  return matchesJson(range) && !range.params.has('as');
}

function tableVersion(range: MediaRange): TableVersion | undefined {
  if (!matchesJson(range) || range.params.get('as') !== 'Table' || range.params.get('g') !== 'meta.k8s.io') return undefined;
  const v = range.params.get('v');
  return v === 'v1' || v === 'v1beta1' ? v : undefined;
}

// ---------------------------------------------------------------------------
// Printers

interface Printer {
  columns: TableColumnDefinition[];
  cells(obj: KubeObject, now: Date): TableCell[];
  conditions?(obj: KubeObject): TableRowCondition[] | undefined;
}

function column(name: string, description: string, extra: { type?: string; format?: string; priority?: number } = {}): TableColumnDefinition {
  return { name, type: extra.type ?? 'string', format: extra.format ?? '', description, priority: extra.priority ?? 0 };
}

const nameDoc =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';
const creationTimestampDoc =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';
const nameColumn = column('Name', nameDoc, { format: 'name' });
const ageColumn = column('Age', creationTimestampDoc);

function parseTime(value: string | null | undefined): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** printers.go translateTimestampSince: an unset time is "<unknown>". */
function since(value: string | null | undefined, now: Date): string {
  const ms = parseTime(value);
  return ms === undefined ? '<unknown>' : humanDuration(now.getTime() - ms);
}

function age(obj: KubeObject, now: Date): string {
  return since(obj.metadata.creationTimestamp, now);
}

function nameOf(obj: KubeObject): string {
  return obj.metadata.name ?? '';
}

/** labels.FormatLabels: sorted `k=v` pairs, "<none>" when empty. */
function formatLabels(labels: Record<string, string> | undefined): string {
  const pairs = Object.keys(labels ?? {})
    .sort()
    .map((k) => `${k}=${labels?.[k] ?? ''}`);
  return pairs.length === 0 ? '<none>' : pairs.join(',');
}

/** Go's sets.NewString(...).List(): deduplicated and sorted. */
function sortedUnique(values: string[]): string[] {
  return [...new Set(values)].sort();
}

/**
 * Load-balancer ingress points as printed for Services and Ingresses: IP, else
 * hostname, deduplicated and sorted. The 16-character clipping upstream applies
 * only to non-wide output, and the apiserver always prints wide.
 */
function loadBalancerStatus(ingress: LoadBalancerIngress[] | undefined): string {
  return sortedUnique((ingress ?? []).map((i) => i.ip || i.hostname || '').filter((s) => s !== '')).join(',');
}

function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** printers.go listWithMoreString. */
function listWithMore(list: string[], more: boolean, count: number, max: number): string {
  const joined = list.join(',');
  if (more) return `${joined} + ${count - max} more...`;
  return joined === '' ? '<unset>' : joined;
}

const serviceColumns: TableColumnDefinition[] = [
  nameColumn,
  column('Type', 'type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer.'),
  column('Cluster-IP', 'clusterIP is the IP address of the service and is usually assigned randomly.'),
  column('External-IP', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
  column('Port(s)', 'The list of ports that are exposed by this service.'),
  ageColumn,
  column('Selector', 'Route service traffic to pods with label keys and values matching this selector.', { priority: 1 }),
];

function serviceExternalIP(spec: ServiceSpec, status: Service['status']): string {
  const externalIPs = spec.externalIPs ?? [];
  switch (spec.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerStatus(status?.loadBalancer?.ingress);
      if (externalIPs.length > 0) return [...(lb === '' ? [] : lb.split(',')), ...externalIPs].join(',');
      return lb === '' ? '<pending>' : lb;
    }
    case 'ExternalName':
      return spec.externalName ?? '';
    default:
      return '<unknown>';
  }
}

function servicePorts(spec: ServiceSpec): string {
  const ports = (spec.ports ?? []).map((p) => {
    const protocol = p.protocol ?? 'TCP';
    return p.nodePort !== undefined && p.nodePort > 0 ? `${p.port}:${p.nodePort}/${protocol}` : `${p.port}/${protocol}`;
  });
  return ports.length === 0 ? '<none>' : ports.join(',');
}

function serviceCells(obj: KubeObject, now: Date): TableCell[] {
  const svc = obj as Service;
  const spec: ServiceSpec = svc.spec ?? {};
  // Upstream reads clusterIPs[0]; clusterIP covers objects stored before clusterIPs was filled in.
  const clusterIP = spec.clusterIPs?.[0] || spec.clusterIP || '<none>';
  return [nameOf(svc), spec.type ?? 'ClusterIP', clusterIP, serviceExternalIP(spec, svc.status), servicePorts(spec), age(svc, now), formatLabels(spec.selector)];
}

const endpointsColumns: TableColumnDefinition[] = [
  nameColumn,
  column('Endpoints', 'The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share.'),
  ageColumn,
];

/** printers.go formatEndpoints: ready addresses only, one entry per address and port, at most three shown. */
function formatEndpoints(endpoints: Endpoints): string {
  const subsets = endpoints.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const max = 3;
  const list: string[] = [];
  let more = false;
  let count = 0;
  const add = (entry: string): boolean => {
    if (list.length === max) {
      more = true;
      return false;
    }
    list.push(entry);
    return true;
  };
  for (const subset of subsets) {
    const addresses = subset.addresses ?? [];
    const ports: (EndpointPort | undefined)[] = subset.ports?.length ? subset.ports : [undefined];
    for (const port of ports) {
      count += addresses.length;
      // A headless service may have no ports: then the bare IPs are listed.
      for (const address of addresses) if (!add(port === undefined ? address.ip : joinHostPort(address.ip, port.port ?? 0))) break;
    }
  }
  const joined = list.join(',');
  return more ? `${joined} + ${count - max} more...` : joined;
}

function endpointsCells(obj: KubeObject, now: Date): TableCell[] {
  return [nameOf(obj), formatEndpoints(obj as Endpoints), age(obj, now)];
}

const endpointSliceColumns: TableColumnDefinition[] = [
  nameColumn,
  column('AddressType', 'addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type.'),
  column('Ports', 'ports specifies the list of network ports exposed by each endpoint in this slice.'),
  column('Endpoints', 'endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.'),
  ageColumn,
];

function formatSlicePorts(ports: EndpointPort[] | undefined): string {
  const max = 3;
  const list: string[] = [];
  let more = false;
  let count = 0;
  for (const port of ports ?? []) {
    if (list.length < max) list.push(port.port !== undefined && port.port !== null ? String(port.port) : (port.name ?? '*'));
    else more = true;
    count++;
  }
  return listWithMore(list, more, count, max);
}

function formatSliceEndpoints(slice: EndpointSlice): string {
  const max = 3;
  const list: string[] = [];
  let more = false;
  let count = 0;
  for (const endpoint of slice.endpoints ?? []) {
    for (const address of endpoint.addresses ?? []) {
      if (list.length < max) list.push(address);
      else more = true;
      count++;
    }
  }
  return listWithMore(list, more, count, max);
}

function endpointSliceCells(obj: KubeObject, now: Date): TableCell[] {
  const slice = obj as EndpointSlice;
  return [nameOf(slice), slice.addressType ?? '', formatSlicePorts(slice.ports), formatSliceEndpoints(slice), age(slice, now)];
}

// Pod fields beyond the shared types: what kubelet reports and printPod reads.
interface ContainerState {
  waiting?: { reason?: string };
  running?: object;
  terminated?: { reason?: string; exitCode?: number; signal?: number; finishedAt?: string };
}

interface ContainerStatus {
  name: string;
  ready?: boolean;
  started?: boolean;
  restartCount?: number;
  state?: ContainerState;
  lastState?: ContainerState;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
}

interface PodView extends KubeObject {
  spec?: {
    nodeName?: string;
    containers?: { name: string }[];
    initContainers?: { name: string; restartPolicy?: string }[];
    readinessGates?: { conditionType: string }[];
  };
  status?: {
    phase?: string;
    reason?: string;
    nominatedNodeName?: string;
    podIP?: string;
    podIPs?: { ip: string }[];
    conditions?: Condition[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

const podColumns: TableColumnDefinition[] = [
  nameColumn,
  column('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
  column('Status', 'The aggregate status of the containers in this pod.'),
  column('Restarts', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
  ageColumn,
  column('IP', 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', { priority: 1 }),
  column(
    'Node',
    'NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the scheduler simply schedules this pod onto that node, assuming that it fits resource requirements.',
    { priority: 1 },
  ),
  column(
    'Nominated Node',
    'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.',
    { priority: 1 },
  ),
  column(
    'Readiness Gates',
    'If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to "True" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates',
    { priority: 1 },
  ),
];

function conditionTrue(conditions: Condition[] | undefined, type: string): boolean {
  return (conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

function later(a: number | undefined, b: number | undefined): number | undefined {
  if (b === undefined) return a;
  return a === undefined || b > a ? b : a;
}

function lastFinished(status: ContainerStatus): number | undefined {
  return parseTime(status.lastState?.terminated?.finishedAt);
}

/** printers.go printPod: READY, STATUS and RESTARTS as kubectl users know them, including init and sidecar containers. */
function podCells(obj: KubeObject, now: Date): TableCell[] {
  const pod = obj as PodView;
  const spec = pod.spec ?? {};
  const status = pod.status ?? {};
  const initContainers = spec.initContainers ?? [];
  // Init containers with restartPolicy Always are sidecars: they count as regular containers.
  const sidecars = new Set(initContainers.filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  const total = (spec.containers ?? []).length + sidecars.size;

  let restarts = 0;
  let sidecarRestarts = 0;
  let ready = 0;
  let lastRestart: number | undefined;
  let lastSidecarRestart: number | undefined;
  let reason = status.reason || (status.phase ?? '');
  for (const c of status.conditions ?? []) if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';

  let initializing = false;
  for (const [i, c] of (status.initContainerStatuses ?? []).entries()) {
    restarts += c.restartCount ?? 0;
    lastRestart = later(lastRestart, lastFinished(c));
    const isSidecar = sidecars.has(c.name);
    if (isSidecar) {
      sidecarRestarts += c.restartCount ?? 0;
      lastSidecarRestart = later(lastSidecarRestart, lastFinished(c));
    }
    const terminated = c.state?.terminated;
    const waiting = c.state?.waiting;
    if (terminated !== undefined && (terminated.exitCode ?? 0) === 0) continue;
    if (isSidecar && c.started === true) {
      if (c.ready) ready++;
      continue;
    }
    if (terminated !== undefined) {
      if (terminated.reason) reason = `Init:${terminated.reason}`;
      else reason = terminated.signal ? `Init:Signal:${terminated.signal}` : `Init:ExitCode:${terminated.exitCode ?? 0}`;
    } else if (waiting?.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initContainers.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(status.conditions, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    // Walked backwards so the first container's state decides STATUS, as upstream does.
    for (const c of [...(status.containerStatuses ?? [])].reverse()) {
      restarts += c.restartCount ?? 0;
      lastRestart = later(lastRestart, lastFinished(c));
      const terminated = c.state?.terminated;
      const waiting = c.state?.waiting;
      if (waiting?.reason) reason = waiting.reason;
      else if (terminated?.reason) reason = terminated.reason;
      else if (terminated !== undefined) reason = terminated.signal ? `Signal:${terminated.signal}` : `ExitCode:${terminated.exitCode ?? 0}`;
      else if (c.ready && c.state?.running !== undefined) {
        hasRunning = true;
        ready++;
      }
    }
    // One completed container must not mask another that is still running.
    if (reason === 'Completed' && hasRunning) reason = conditionTrue(status.conditions, 'Ready') ? 'Running' : 'NotReady';
  }

  if (pod.metadata.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata.deletionTimestamp && status.phase !== 'Succeeded' && status.phase !== 'Failed') reason = 'Terminating';

  const restartsCell = restarts !== 0 && lastRestart !== undefined ? `${restarts} (${humanDuration(now.getTime() - lastRestart)} ago)` : String(restarts);

  const gates = spec.readinessGates ?? [];
  const readinessGates =
    gates.length === 0
      ? '<none>'
      : `${gates.filter((g) => (status.conditions ?? []).find((c) => c.type === g.conditionType)?.status === 'True').length}/${gates.length}`;

  return [
    nameOf(pod),
    `${ready}/${total}`,
    reason,
    restartsCell,
    age(pod, now),
    // The v1 → internal conversion fills podIPs from podIP, so either source counts.
    status.podIPs?.[0]?.ip || status.podIP || '<none>',
    spec.nodeName || '<none>',
    status.nominatedNodeName || '<none>',
    readinessGates,
  ];
}

function podConditions(obj: KubeObject): TableRowCondition[] | undefined {
  switch ((obj as PodView).status?.phase) {
    case 'Succeeded':
      return [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
    case 'Failed':
      return [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];
    default:
      return undefined;
  }
}

interface NodeView extends KubeObject {
  spec?: { unschedulable?: boolean };
  status?: {
    conditions?: Condition[];
    addresses?: { type: string; address: string }[];
    nodeInfo?: { kubeletVersion?: string; osImage?: string; kernelVersion?: string; containerRuntimeVersion?: string };
  };
}

const nodeColumns: TableColumnDefinition[] = [
  nameColumn,
  column('Status', 'The status of the node'),
  column('Roles', 'The roles of the node'),
  ageColumn,
  column('Version', 'Kubelet Version reported by the node.'),
  column('Internal-IP', 'List of addresses reachable to the node.', { priority: 1 }),
  column('External-IP', 'List of addresses reachable to the node.', { priority: 1 }),
  column('OS-Image', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', { priority: 1 }),
  column('Kernel-Version', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", { priority: 1 }),
  column('Container-Runtime', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', { priority: 1 }),
];

const nodeRolePrefix = 'node-role.kubernetes.io/';

/** Roles come from `node-role.kubernetes.io/<role>` keys and the older `kubernetes.io/role=<role>` label. */
function nodeRoles(labels: Record<string, string> | undefined): string {
  const roles: string[] = [];
  for (const [key, value] of Object.entries(labels ?? {})) {
    if (key.startsWith(nodeRolePrefix) && key.length > nodeRolePrefix.length) roles.push(key.slice(nodeRolePrefix.length));
    else if (key === 'kubernetes.io/role' && value !== '') roles.push(value);
  }
  return roles.length === 0 ? '<none>' : sortedUnique(roles).join(',');
}

function nodeCells(obj: KubeObject, now: Date): TableCell[] {
  const node = obj as NodeView;
  const status = node.status ?? {};
  // Only the Ready condition is shown; when it repeats, the last one wins (upstream keys a map by type).
  const readyCondition = (status.conditions ?? []).filter((c) => c.type === 'Ready').at(-1);
  const states = [readyCondition === undefined ? 'Unknown' : readyCondition.status === 'True' ? 'Ready' : 'NotReady'];
  if (node.spec?.unschedulable) states.push('SchedulingDisabled');
  const address = (type: string): string => (status.addresses ?? []).find((a) => a.type === type)?.address ?? '<none>';
  const info = status.nodeInfo ?? {};
  return [
    nameOf(node),
    states.join(','),
    nodeRoles(node.metadata.labels),
    age(node, now),
    info.kubeletVersion ?? '',
    address('InternalIP'),
    address('ExternalIP'),
    info.osImage || '<unknown>',
    info.kernelVersion || '<unknown>',
    info.containerRuntimeVersion || '<unknown>',
  ];
}

const namespaceColumns: TableColumnDefinition[] = [nameColumn, column('Status', 'The status of the namespace'), ageColumn];

function namespaceCells(obj: KubeObject, now: Date): TableCell[] {
  return [nameOf(obj), (obj as Namespace).status?.phase ?? '', age(obj, now)];
}

const secretColumns: TableColumnDefinition[] = [
  nameColumn,
  column('Type', 'Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types'),
  column('Data', "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'."),
  ageColumn,
];

function secretCells(obj: KubeObject, now: Date): TableCell[] {
  const secret = obj as Secret;
  return [nameOf(secret), secret.type ?? '', Object.keys(secret.data ?? {}).length, age(secret, now)];
}

const configMapColumns: TableColumnDefinition[] = [
  nameColumn,
  column('Data', "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'."),
  ageColumn,
];

function configMapCells(obj: KubeObject, now: Date): TableCell[] {
  const cm = obj as ConfigMap;
  return [nameOf(cm), Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length, age(cm, now)];
}

interface EventView extends Event {
  series?: { count?: number; lastObservedTime?: string };
}

const eventColumns: TableColumnDefinition[] = [
  column('Last Seen', 'The time at which the most recent occurrence of this event was recorded.'),
  column('Type', 'Type of this event (Normal, Warning), new types could be added in the future'),
  column('Reason', "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
  column('Object', 'The object that this event is about.'),
  column(
    'Subobject',
    'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].',
    { priority: 1 },
  ),
  column('Source', 'The component reporting this event. Should be a short machine understandable string.', { priority: 1 }),
  column('Message', 'A human-readable description of the status of this operation.'),
  column('First Seen', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', { priority: 1 }),
  column('Count', 'The number of times this event has occurred.', { priority: 1 }),
  column('Name', nameDoc, { priority: 1, format: 'name' }),
];

function eventCells(obj: KubeObject, now: Date): TableCell[] {
  const event = obj as EventView;
  // Events from the events.k8s.io API carry eventTime and series instead of the legacy timestamps and count.
  const firstSeen = parseTime(event.firstTimestamp) === undefined ? since(event.eventTime, now) : since(event.firstTimestamp, now);
  let lastSeen = parseTime(event.lastTimestamp) === undefined ? firstSeen : since(event.lastTimestamp, now);
  let count = event.count ?? 0;
  if (event.series) {
    lastSeen = since(event.series.lastObservedTime, now);
    count = event.series.count ?? 0;
  } else if (count === 0) {
    count = 1;
  }
  const involved = event.involvedObject ?? {};
  const kind = (involved.kind ?? '').toLowerCase();
  const target = involved.name ? `${kind}/${involved.name}` : kind;
  const component = event.source?.component || event.reportingComponent || '';
  const instance = event.source?.host || event.reportingInstance || '';
  return [
    lastSeen,
    event.type ?? '',
    event.reason ?? '',
    target,
    involved.fieldPath ?? '',
    instance === '' ? component : `${component}, ${instance}`,
    (event.message ?? '').trim(),
    firstSeen,
    count,
    nameOf(event),
  ];
}

const ingressColumns: TableColumnDefinition[] = [
  nameColumn,
  column('Class', 'The name of the IngressClass resource that should be used for additional configuration'),
  column('Hosts', 'Hosts that incoming requests are matched against before the ingress rule'),
  column('Address', 'Address is a list containing ingress points for the load-balancer'),
  column('Ports', 'Ports of TLS configurations that open'),
  ageColumn,
];

/** printers.go formatHosts: the first three non-empty hosts, "*" when there are none. */
function formatHosts(rules: { host?: string }[]): string {
  const max = 3;
  const list: string[] = [];
  let more = false;
  for (const rule of rules) {
    if (list.length === max) more = true;
    if (!more && rule.host) list.push(rule.host);
  }
  if (list.length === 0) return '*';
  const joined = list.join(',');
  // Upstream counts every rule here, hosted or not.
  return more ? `${joined} + ${rules.length - max} more...` : joined;
}

function ingressCells(obj: KubeObject, now: Date): TableCell[] {
  const ing = obj as Ingress;
  const spec = ing.spec ?? {};
  return [
    nameOf(ing),
    spec.ingressClassName ?? '<none>',
    formatHosts(spec.rules ?? []),
    loadBalancerStatus(ing.status?.loadBalancer?.ingress),
    // Upstream assumes the controller listens on 80, and on 443 as soon as any TLS entry exists.
    (spec.tls ?? []).length > 0 ? '80, 443' : '80',
    age(ing, now),
  ];
}

interface IngressClassView extends KubeObject {
  spec?: { controller?: string; parameters?: { apiGroup?: string | null; kind?: string; name?: string } };
}

const ingressClassColumns: TableColumnDefinition[] = [
  nameColumn,
  column('Controller', 'Controller that is responsible for handling this class'),
  column('Parameters', 'A reference to a resource with additional parameters'),
  ageColumn,
];

function ingressClassCells(obj: KubeObject, now: Date): TableCell[] {
  const cls = obj as IngressClassView;
  const params = cls.spec?.parameters;
  let parameters = '<none>';
  if (params) {
    // An explicitly empty apiGroup still prints its dot, as upstream's pointer check does.
    const group = params.apiGroup === undefined || params.apiGroup === null ? '' : `.${params.apiGroup}`;
    parameters = `${params.kind ?? ''}${group}/${params.name ?? ''}`;
  }
  return [nameOf(cls), cls.spec?.controller ?? '', parameters, age(cls, now)];
}

const printers: Record<string, Printer> = {
  Service: { columns: serviceColumns, cells: serviceCells },
  Endpoints: { columns: endpointsColumns, cells: endpointsCells },
  EndpointSlice: { columns: endpointSliceColumns, cells: endpointSliceCells },
  Pod: { columns: podColumns, cells: podCells, conditions: podConditions },
  Node: { columns: nodeColumns, cells: nodeCells },
  Namespace: { columns: namespaceColumns, cells: namespaceCells },
  Secret: { columns: secretColumns, cells: secretCells },
  ConfigMap: { columns: configMapColumns, cells: configMapCells },
  Event: { columns: eventColumns, cells: eventCells },
  Ingress: { columns: ingressColumns, cells: ingressCells },
  IngressClass: { columns: ingressClassColumns, cells: ingressClassCells },
};

/** apiserver's default table convertor (`rest.NewDefaultTableConvertor`), for kinds without their own columns. */
const defaultPrinter: Printer = {
  columns: [nameColumn, column('Created At', creationTimestampDoc, { type: 'date' })],
  cells: (obj) => {
    const ms = parseTime(obj.metadata.creationTimestamp);
    // Go formats an unset time as the zero time.
    return [nameOf(obj), ms === undefined ? '0001-01-01T00:00:00Z' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')];
  },
};
