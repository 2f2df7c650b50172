import { describe, expect, test } from 'vitest';
import { resources, type ResourceInfo } from '../../../../controlplane/api/resources.ts';
import { toTable, wantsJson, wantsTable, type TableCell } from '../../../../controlplane/api/table.ts';
import type { KubeObject } from '../../../../controlplane/api/types.ts';

const now = new Date('2025-03-01T12:00:00Z');

/** An RFC3339 timestamp `seconds` before `now`, as the store writes them. */
function ago(seconds: number): string {
  return new Date(now.getTime() - seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function info(kind: string): ResourceInfo {
  const found = resources.find((r) => r.kind === kind);
  if (!found) throw new Error(`no resource for ${kind}`);
  return found;
}

function object(kind: string, name: string, fields: Record<string, unknown>, metadata: Record<string, unknown> = {}): KubeObject {
  const { group, version } = info(kind);
  return {
    apiVersion: group === '' ? version : `${group}/${version}`,
    kind,
    metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '7', creationTimestamp: ago(300), ...metadata },
    ...fields,
  };
}

function cells(kind: string, obj: KubeObject): TableCell[] {
  const row = toTable(info(kind), [obj], { now }).rows[0];
  if (!row) throw new Error('no row');
  return row.cells;
}

describe('column definitions', () => {
  const wide = (name: string) => `${name} (wide)`;
  const expected: Record<string, string[]> = {
    Service: ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', wide('Selector')],
    Endpoints: ['Name', 'Endpoints', 'Age'],
    Pod: ['Name', 'Ready', 'Status', 'Restarts', 'Age', wide('IP'), wide('Node'), wide('Nominated Node'), wide('Readiness Gates')],
    Node: ['Name', 'Status', 'Roles', 'Age', 'Version', wide('Internal-IP'), wide('External-IP'), wide('OS-Image'), wide('Kernel-Version'), wide('Container-Runtime')],
    Namespace: ['Name', 'Status', 'Age'],
    Secret: ['Name', 'Type', 'Data', 'Age'],
    ConfigMap: ['Name', 'Data', 'Age'],
    Event: ['Last Seen', 'Type', 'Reason', 'Object', wide('Subobject'), wide('Source'), 'Message', wide('First Seen'), wide('Count'), wide('Name')],
    EndpointSlice: ['Name', 'AddressType', 'Ports', 'Endpoints', 'Age'],
    Ingress: ['Name', 'Class', 'Hosts', 'Address', 'Ports', 'Age'],
    IngressClass: ['Name', 'Controller', 'Parameters', 'Age'],
  };

  test.each(resources.map((r) => ({ name: r.kind, info: r })))('$name has the kube-apiserver columns, wide ones at priority 1', ({ info: resource }) => {
    const columns = toTable(resource, [], { now }).columnDefinitions;
    expect(columns.map((c) => (c.priority === 1 ? wide(c.name) : c.name))).toEqual(expected[resource.kind]);
  });

  test('every column carries name, type, format, description and priority, and Name is formatted as a name', () => {
    for (const resource of resources) {
      for (const c of toTable(resource, [], { now }).columnDefinitions) {
        expect(Object.keys(c).sort()).toEqual(['description', 'format', 'name', 'priority', 'type']);
        expect(c.description).not.toBe('');
        expect(c.format).toBe(c.name === 'Name' ? 'name' : '');
      }
    }
  });

  test('a kind without its own printer gets the apiserver default NAME and CREATED AT', () => {
    const widget: ResourceInfo = { ...info('ConfigMap'), resource: 'widgets', singular: 'widget', kind: 'Widget' };
    const table = toTable(widget, [{ apiVersion: 'v1', kind: 'Widget', metadata: { name: 'w', creationTimestamp: '2025-03-01T11:55:00Z' } }], { now });
    expect(table.columnDefinitions.map((c) => [c.name, c.type])).toEqual([
      ['Name', 'string'],
      ['Created At', 'date'],
    ]);
    expect(table.rows[0]?.cells).toEqual(['w', '2025-03-01T11:55:00Z']);
  });
});

describe('services', () => {
  const port = (p: number, extra: Record<string, unknown> = {}) => ({ port: p, protocol: 'TCP', targetPort: p, ...extra });
  test.each([
    {
      name: 'ClusterIP with a selector lists sorted selector labels',
      spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [port(80), port(443)], selector: { tier: 'fe', app: 'web' } },
      want: ['svc', 'ClusterIP', '10.96.0.10', '<none>', '80/TCP,443/TCP', '5m', 'app=web,tier=fe'],
    },
    {
      name: 'ClusterIP with externalIPs shows them',
      spec: { type: 'ClusterIP', clusterIPs: ['10.96.0.11'], externalIPs: ['203.0.113.5', '203.0.113.6'], ports: [port(80)] },
      want: ['svc', 'ClusterIP', '10.96.0.11', '203.0.113.5,203.0.113.6', '80/TCP', '5m', '<none>'],
    },
    {
      name: 'NodePort shows port:nodePort and keeps UDP',
      spec: { type: 'NodePort', clusterIPs: ['10.96.0.12'], ports: [port(80, { nodePort: 30080 }), { port: 53, protocol: 'UDP', nodePort: 30053 }] },
      want: ['svc', 'NodePort', '10.96.0.12', '<none>', '80:30080/TCP,53:30053/UDP', '5m', '<none>'],
    },
    {
      name: 'LoadBalancer with an ingress IP and two ports',
      spec: { type: 'LoadBalancer', clusterIPs: ['10.96.0.20'], ports: [port(80, { nodePort: 30080 }), port(443, { nodePort: 30443 })], selector: { app: 'web' } },
      status: { loadBalancer: { ingress: [{ ip: '192.168.1.240' }] } },
      want: ['svc', 'LoadBalancer', '10.96.0.20', '192.168.1.240', '80:30080/TCP,443:30443/TCP', '5m', 'app=web'],
    },
    {
      name: 'LoadBalancer without ingress is pending',
      spec: { type: 'LoadBalancer', clusterIPs: ['10.96.0.21'], ports: [port(80, { nodePort: 30081 })] },
      status: { loadBalancer: {} },
      want: ['svc', 'LoadBalancer', '10.96.0.21', '<pending>', '80:30081/TCP', '5m', '<none>'],
    },
    {
      name: 'LoadBalancer ingress is deduplicated and sorted, hostnames stand in for IPs, externalIPs follow',
      spec: { type: 'LoadBalancer', clusterIPs: ['10.96.0.22'], externalIPs: ['203.0.113.5'], ports: [port(80, { nodePort: 30082 })] },
      status: { loadBalancer: { ingress: [{ ip: '192.168.1.241' }, { hostname: 'lb.example.com' }, { ip: '192.168.1.240' }, { ip: '192.168.1.241' }] } },
      want: ['svc', 'LoadBalancer', '10.96.0.22', '192.168.1.240,192.168.1.241,lb.example.com,203.0.113.5', '80:30082/TCP', '5m', '<none>'],
    },
    {
      name: 'pending LoadBalancer with externalIPs shows only the externalIPs',
      spec: { type: 'LoadBalancer', clusterIPs: ['10.96.0.23'], externalIPs: ['203.0.113.7'], ports: [port(80, { nodePort: 30083 })] },
      want: ['svc', 'LoadBalancer', '10.96.0.23', '203.0.113.7', '80:30083/TCP', '5m', '<none>'],
    },
    {
      name: 'headless service shows None',
      spec: { type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'], ports: [port(5432)], selector: { app: 'db' } },
      want: ['svc', 'ClusterIP', 'None', '<none>', '5432/TCP', '5m', 'app=db'],
    },
    {
      name: 'ExternalName shows the external name and no cluster IP or ports',
      spec: { type: 'ExternalName', externalName: 'db.example.com' },
      want: ['svc', 'ExternalName', '<none>', 'db.example.com', '<none>', '5m', '<none>'],
    },
    {
      name: 'clusterIP alone is used when clusterIPs is missing, protocol defaults to TCP',
      spec: { clusterIP: '10.96.0.30', ports: [{ port: 8080 }] },
      want: ['svc', 'ClusterIP', '10.96.0.30', '<none>', '8080/TCP', '5m', '<none>'],
    },
  ])('$name', ({ spec, status, want }) => {
    expect(cells('Service', object('Service', 'svc', { spec, ...(status ? { status } : {}) }))).toEqual(want);
  });

  test('AGE is <unknown> without a creationTimestamp', () => {
    const svc = object('Service', 'svc', { spec: { clusterIPs: ['10.96.0.1'], ports: [{ port: 443 }] } }, { creationTimestamp: undefined });
    expect(cells('Service', svc)[5]).toBe('<unknown>');
  });
});

describe('endpoints', () => {
  const addresses = (...ips: string[]) => ips.map((ip) => ({ ip }));
  test.each([
    { name: 'no subsets shows <none>', subsets: undefined, want: '<none>' },
    { name: 'one address and one port', subsets: [{ addresses: addresses('10.0.0.1'), ports: [{ port: 80 }] }], want: '10.0.0.1:80' },
    {
      name: 'exactly three entries are listed without a suffix',
      subsets: [{ addresses: addresses('10.0.0.1', '10.0.0.2', '10.0.0.3'), ports: [{ port: 80 }] }],
      want: '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80',
    },
    {
      name: 'five addresses show three and count the rest',
      subsets: [{ addresses: addresses('10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'), ports: [{ port: 80 }] }],
      want: '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more...',
    },
    {
      name: 'each port repeats the addresses',
      subsets: [{ addresses: addresses('10.0.0.1', '10.0.0.2'), ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] }],
      want: '10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...',
    },
    { name: 'a subset without ports lists bare IPs', subsets: [{ addresses: addresses('10.0.0.1', '10.0.0.2') }], want: '10.0.0.1,10.0.0.2' },
    { name: 'IPv6 addresses are bracketed', subsets: [{ addresses: addresses('fd00::1'), ports: [{ port: 80 }] }], want: '[fd00::1]:80' },
    { name: 'not-ready addresses are not shown', subsets: [{ notReadyAddresses: addresses('10.0.0.9'), ports: [{ port: 80 }] }], want: '' },
  ])('$name', ({ subsets, want }) => {
    expect(cells('Endpoints', object('Endpoints', 'web', subsets ? { subsets } : {}))).toEqual(['web', want, '5m']);
  });
});

describe('endpointslices', () => {
  const endpoint = (...addresses: string[]) => ({ addresses, conditions: { ready: true } });
  test.each([
    {
      name: 'ports and addresses',
      slice: { addressType: 'IPv4', ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'https', port: 443 }], endpoints: [endpoint('10.0.0.1'), endpoint('10.0.0.2')] },
      want: ['web-abc12', 'IPv4', '80,443', '10.0.0.1,10.0.0.2', '5m'],
    },
    { name: 'empty slice shows <unset>', slice: { addressType: 'IPv4', endpoints: [] }, want: ['web-abc12', 'IPv4', '<unset>', '<unset>', '5m'] },
    {
      name: 'a port without a number shows its name, or * without either',
      slice: { addressType: 'IPv6', ports: [{ name: 'dns' }, {}], endpoints: [endpoint('fd00::1')] },
      want: ['web-abc12', 'IPv6', 'dns,*', 'fd00::1', '5m'],
    },
    {
      name: 'more than three ports or addresses are counted',
      slice: {
        addressType: 'IPv4',
        ports: [{ port: 1 }, { port: 2 }, { port: 3 }, { port: 4 }],
        endpoints: [endpoint('10.0.0.1', '10.0.0.2'), endpoint('10.0.0.3'), endpoint('10.0.0.4', '10.0.0.5')],
      },
      want: ['web-abc12', 'IPv4', '1,2,3 + 1 more...', '10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...', '5m'],
    },
  ])('$name', ({ slice, want }) => {
    expect(cells('EndpointSlice', object('EndpointSlice', 'web-abc12', slice))).toEqual(want);
  });
});

describe('pods', () => {
  const running = { running: { startedAt: ago(200) } };
  const readyStatus = (name: string) => ({ name, ready: true, started: true, restartCount: 0, state: running });
  const cond = (type: string, status: string, reason?: string) => ({ type, status, ...(reason ? { reason } : {}) });
  test.each([
    {
      name: 'a ready pod is 1/1 Running with its IP and node',
      spec: { nodeName: 'node-a', containers: [{ name: 'web' }] },
      status: { phase: 'Running', podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }], conditions: [cond('Ready', 'True')], containerStatuses: [readyStatus('web')] },
      want: ['web-1', '1/1', 'Running', '0', '5m', '10.244.1.5', 'node-a', '<none>', '<none>'],
    },
    {
      name: 'an unscheduled pod is Pending with no IP or node',
      spec: { containers: [{ name: 'web' }] },
      status: { phase: 'Pending' },
      want: ['web-1', '0/1', 'Pending', '0', '5m', '<none>', '<none>', '<none>', '<none>'],
    },
    {
      name: 'podIP is used when podIPs is absent',
      spec: { nodeName: 'node-b', containers: [{ name: 'web' }] },
      status: { phase: 'Running', podIP: '10.244.2.7', containerStatuses: [readyStatus('web')] },
      want: ['web-1', '1/1', 'Running', '0', '5m', '10.244.2.7', 'node-b', '<none>', '<none>'],
    },
    {
      name: 'a crash-looping container shows its waiting reason and when it last restarted',
      spec: { nodeName: 'node-a', containers: [{ name: 'web' }] },
      status: {
        phase: 'Running',
        podIPs: [{ ip: '10.244.1.6' }],
        containerStatuses: [{ name: 'web', ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(130) } } }],
      },
      want: ['web-1', '0/1', 'CrashLoopBackOff', '3 (2m10s ago)', '5m', '10.244.1.6', 'node-a', '<none>', '<none>'],
    },
    {
      name: 'a container killed by a signal without a reason shows the signal',
      spec: { containers: [{ name: 'web' }] },
      status: { phase: 'Running', containerStatuses: [{ name: 'web', restartCount: 0, state: { terminated: { exitCode: 137, signal: 9 } } }] },
      want: ['web-1', '0/1', 'Signal:9', '0', '5m', '<none>', '<none>', '<none>', '<none>'],
    },
    {
      name: 'a completed container does not mask a running one; without Ready the pod is NotReady',
      spec: { containers: [{ name: 'web' }, { name: 'job' }] },
      status: { phase: 'Running', conditions: [cond('Ready', 'False')], containerStatuses: [readyStatus('web'), { name: 'job', state: { terminated: { exitCode: 0, reason: 'Completed' } } }] },
      want: ['web-1', '1/2', 'NotReady', '0', '5m', '<none>', '<none>', '<none>', '<none>'],
    },
    {
      name: 'a completed container next to a running one in a Ready pod is Running',
      spec: { containers: [{ name: 'web' }, { name: 'job' }] },
      status: { phase: 'Running', conditions: [cond('Ready', 'True')], containerStatuses: [readyStatus('web'), { name: 'job', state: { terminated: { exitCode: 0, reason: 'Completed' } } }] },
      want: ['web-1', '1/2', 'Running', '0', '5m', '<none>', '<none>', '<none>', '<none>'],
    },
    {
      name: 'an init container still starting shows Init:n/m',
      spec: { initContainers: [{ name: 'setup' }], containers: [{ name: 'web' }] },
      status: { phase: 'Pending', initContainerStatuses: [{ name: 'setup', state: { waiting: { reason: 'PodInitializing' } } }], containerStatuses: [{ name: 'web', state: { waiting: { reason: 'PodInitializing' } } }] },
      want: ['web-1', '0/1', 'Init:0/1', '0', '5m', '<none>', '<none>', '<none>', '<none>'],
    },
    {
      name: 'a crash-looping init container shows Init:<reason>',
      spec: { initContainers: [{ name: 'setup' }], containers: [{ name: 'web' }] },
      status: { phase: 'Pending', initContainerStatuses: [{ name: 'setup', restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } } }] },
      want: ['web-1', '0/1', 'Init:CrashLoopBackOff', '2', '5m', '<none>', '<none>', '<none>', '<none>'],
    },
    {
      name: 'a failed init container without a reason shows its exit code',
      spec: { initContainers: [{ name: 'done' }, { name: 'setup' }], containers: [{ name: 'web' }] },
      status: { phase: 'Pending', initContainerStatuses: [{ name: 'done', state: { terminated: { exitCode: 0 } } }, { name: 'setup', state: { terminated: { exitCode: 2 } } }] },
      want: ['web-1', '0/1', 'Init:ExitCode:2', '0', '5m', '<none>', '<none>', '<none>', '<none>'],
    },
    {
      name: 'a started sidecar counts as a container of the pod',
      spec: { nodeName: 'node-a', initContainers: [{ name: 'proxy', restartPolicy: 'Always' }], containers: [{ name: 'web' }] },
      status: {
        phase: 'Running',
        conditions: [cond('Initialized', 'True'), cond('Ready', 'True')],
        initContainerStatuses: [{ ...readyStatus('proxy'), restartCount: 1 }],
        containerStatuses: [readyStatus('web')],
      },
      want: ['web-1', '2/2', 'Running', '1', '5m', '<none>', 'node-a', '<none>', '<none>'],
    },
    {
      name: 'readiness gates count the gates whose condition is True',
      spec: { containers: [{ name: 'web' }], readinessGates: [{ conditionType: 'example.com/lb' }, { conditionType: 'example.com/dns' }] },
      status: { phase: 'Running', nominatedNodeName: 'node-c', conditions: [cond('example.com/lb', 'True'), cond('example.com/dns', 'False')], containerStatuses: [readyStatus('web')] },
      want: ['web-1', '1/1', 'Running', '0', '5m', '<none>', '<none>', 'node-c', '1/2'],
    },
    {
      name: 'scheduling gates show SchedulingGated',
      spec: { containers: [{ name: 'web' }] },
      status: { phase: 'Pending', conditions: [cond('PodScheduled', 'False', 'SchedulingGated')] },
      want: ['web-1', '0/1', 'SchedulingGated', '0', '5m', '<none>', '<none>', '<none>', '<none>'],
    },
  ])('$name', ({ spec, status, want }) => {
    expect(cells('Pod', object('Pod', 'web-1', { spec, status }))).toEqual(want);
  });

  test.each([
    { name: 'a deleted running pod is Terminating', status: { phase: 'Running' }, want: 'Terminating' },
    { name: 'a deleted pod on a lost node is Unknown', status: { phase: 'Running', reason: 'NodeLost' }, want: 'Unknown' },
    { name: 'a deleted pod that already succeeded keeps its phase', status: { phase: 'Succeeded' }, want: 'Succeeded' },
  ])('$name', ({ status, want }) => {
    const pod = object('Pod', 'web-1', { spec: { containers: [{ name: 'web' }] }, status }, { deletionTimestamp: ago(1) });
    expect(cells('Pod', pod)[2]).toBe(want);
  });

  test.each([
    { name: 'a succeeded pod is marked Completed', phase: 'Succeeded', want: [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }] },
    { name: 'a failed pod is marked Completed', phase: 'Failed', want: [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }] },
    { name: 'a running pod has no row conditions', phase: 'Running', want: undefined },
  ])('$name', ({ phase, want }) => {
    const row = toTable(info('Pod'), [object('Pod', 'p', { spec: { containers: [] }, status: { phase } })], { now }).rows[0];
    expect(row?.conditions).toEqual(want);
  });
});

describe('nodes', () => {
  test.each([
    {
      name: 'a ready node with roles, addresses and node info',
      labels: { 'node-role.kubernetes.io/worker': '', 'node-role.kubernetes.io/control-plane': '', 'kubernetes.io/hostname': 'node-a' },
      spec: {},
      status: {
        conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True' }],
        addresses: [{ type: 'Hostname', address: 'node-a' }, { type: 'InternalIP', address: '10.0.0.10' }, { type: 'ExternalIP', address: '203.0.113.10' }],
        nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0-18-amd64', containerRuntimeVersion: 'containerd://1.7.13' },
      },
      want: ['node-a', 'Ready', 'control-plane,worker', '5m', 'v1.32.0', '10.0.0.10', '203.0.113.10', 'Debian GNU/Linux 12 (bookworm)', '6.1.0-18-amd64', 'containerd://1.7.13'],
    },
    {
      name: 'a cordoned node that is not ready',
      labels: { 'kubernetes.io/role': 'edge' },
      spec: { unschedulable: true },
      status: { conditions: [{ type: 'Ready', status: 'False' }] },
      want: ['node-a', 'NotReady,SchedulingDisabled', 'edge', '5m', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>'],
    },
    {
      name: 'a node without a Ready condition is Unknown',
      labels: { 'node-role.kubernetes.io/': '' },
      spec: {},
      status: {},
      want: ['node-a', 'Unknown', '<none>', '5m', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>'],
    },
  ])('$name', ({ labels, spec, status, want }) => {
    expect(cells('Node', object('Node', 'node-a', { spec, status }, { namespace: undefined, labels }))).toEqual(want);
  });
});

describe('namespaces, secrets and configmaps', () => {
  test.each([
    { name: 'an active namespace', kind: 'Namespace', fields: { status: { phase: 'Active' } }, want: ['obj', 'Active', '5m'] },
    { name: 'a terminating namespace', kind: 'Namespace', fields: { status: { phase: 'Terminating' } }, want: ['obj', 'Terminating', '5m'] },
    { name: 'a TLS secret counts its keys', kind: 'Secret', fields: { type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==', 'tls.key': 'eQ==' } }, want: ['obj', 'kubernetes.io/tls', 2, '5m'] },
    { name: 'an empty opaque secret', kind: 'Secret', fields: { type: 'Opaque' }, want: ['obj', 'Opaque', 0, '5m'] },
    { name: 'a configmap counts data and binaryData keys', kind: 'ConfigMap', fields: { data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }, want: ['obj', 3, '5m'] },
    { name: 'an empty configmap', kind: 'ConfigMap', fields: {}, want: ['obj', 0, '5m'] },
  ])('$name', ({ kind, fields, want }) => {
    expect(cells(kind, object(kind, 'obj', fields))).toEqual(want);
  });
});

describe('events', () => {
  test.each([
    {
      name: 'a legacy event with timestamps, count and source host',
      fields: {
        involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default', fieldPath: 'spec.containers{web}' },
        reason: 'BackOff',
        message: '  Back-off restarting failed container\n',
        type: 'Warning',
        source: { component: 'kubelet', host: 'node-a' },
        firstTimestamp: ago(300),
        lastTimestamp: ago(30),
        count: 3,
      },
      want: ['30s', 'Warning', 'BackOff', 'pod/web-1', 'spec.containers{web}', 'kubelet, node-a', 'Back-off restarting failed container', '5m', 3, 'web-1.17f'],
    },
    {
      name: 'an events.k8s.io event uses eventTime (microseconds, truncated), series and the reporting controller',
      fields: {
        involvedObject: { kind: 'Service', name: 'web' },
        reason: 'EndpointsUpdated',
        message: 'updated',
        type: 'Normal',
        eventTime: '2025-03-01T11:59:50.123456Z',
        series: { count: 4, lastObservedTime: '2025-03-01T11:59:58.000000Z' },
        reportingComponent: 'kplane-endpoints',
        reportingInstance: '',
      },
      want: ['2s', 'Normal', 'EndpointsUpdated', 'service/web', '', 'kplane-endpoints', 'updated', '9s', 4, 'web-1.17f'],
    },
    {
      name: 'a singleton event without a count or last timestamp counts once and reuses first seen',
      fields: { involvedObject: { kind: 'Node' }, reason: 'Starting', type: 'Normal', firstTimestamp: ago(7200), reportingComponent: 'kplane-proxy', reportingInstance: 'node-a' },
      want: ['120m', 'Normal', 'Starting', 'node', '', 'kplane-proxy, node-a', '', '120m', 1, 'web-1.17f'],
    },
    {
      name: 'an event without any timestamp is <unknown>',
      fields: { involvedObject: { kind: 'Pod', name: 'p' }, reason: 'X', count: 2 },
      want: ['<unknown>', '', 'X', 'pod/p', '', '', '', '<unknown>', 2, 'web-1.17f'],
    },
  ])('$name', ({ fields, want }) => {
    expect(cells('Event', object('Event', 'web-1.17f', fields))).toEqual(want);
  });
});

describe('ingresses', () => {
  const rule = (host?: string) => ({ ...(host ? { host } : {}), http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } });
  test.each([
    {
      name: 'class, hosts, address and TLS ports',
      spec: { ingressClassName: 'kplane', rules: [rule('a.example.com'), rule('b.example.com')], tls: [{ hosts: ['a.example.com'], secretName: 'a-tls' }] },
      status: { loadBalancer: { ingress: [{ ip: '192.168.1.240' }] } },
      want: ['web', 'kplane', 'a.example.com,b.example.com', '192.168.1.240', '80, 443', '5m'],
    },
    { name: 'no class, rules or status', spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } }, status: {}, want: ['web', '<none>', '*', '', '80', '5m'] },
    { name: 'rules without hosts are skipped', spec: { rules: [rule(), rule('a.example.com'), rule()] }, status: {}, want: ['web', '<none>', 'a.example.com', '', '80', '5m'] },
    {
      name: 'more than three rules are counted',
      spec: { rules: [rule('a'), rule('b'), rule('c'), rule('d'), rule('e')] },
      status: { loadBalancer: { ingress: [{ hostname: 'lb.example.com' }, { ip: '192.168.1.241' }] } },
      want: ['web', '<none>', 'a,b,c + 2 more...', '192.168.1.241,lb.example.com', '80', '5m'],
    },
  ])('$name', ({ spec, status, want }) => {
    expect(cells('Ingress', object('Ingress', 'web', { spec, status }))).toEqual(want);
  });
});

describe('ingressclasses', () => {
  test.each([
    {
      name: 'parameters with an API group',
      spec: { controller: 'kplane.io/ingress', parameters: { apiGroup: 'k8s.example.com', kind: 'IngressParameters', name: 'external-lb' } },
      want: ['kplane', 'kplane.io/ingress', 'IngressParameters.k8s.example.com/external-lb', '5m'],
    },
    { name: 'parameters in the core group', spec: { controller: 'kplane.io/ingress', parameters: { kind: 'ConfigMap', name: 'cfg', scope: 'Namespace', namespace: 'kplane' } }, want: ['kplane', 'kplane.io/ingress', 'ConfigMap/cfg', '5m'] },
    { name: 'no parameters', spec: { controller: 'kplane.io/ingress' }, want: ['kplane', 'kplane.io/ingress', '<none>', '5m'] },
  ])('$name', ({ spec, want }) => {
    expect(cells('IngressClass', object('IngressClass', 'kplane', { spec }, { namespace: undefined }))).toEqual(want);
  });
});

describe('table envelope', () => {
  const svc = object('Service', 'web', { spec: { clusterIPs: ['10.96.0.10'], ports: [{ port: 80 }] } }, { labels: { app: 'web' }, annotations: { note: 'x' } });

  test('rows carry PartialObjectMetadata with the full metadata by default, which --show-labels reads', () => {
    const table = toTable(info('Service'), [svc], { now, resourceVersion: '42' });
    expect(table).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: '42' } });
    expect(table.rows[0]?.object).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: svc.metadata });
  });

  test.each([
    { name: 'Object embeds the whole object', includeObject: 'Object' as const, want: svc },
    { name: 'None leaves the object out', includeObject: 'None' as const, want: undefined },
  ])('includeObject=$name', ({ includeObject, want }) => {
    const row = toTable(info('Service'), [svc], { now, includeObject }).rows[0];
    expect(row?.object).toEqual(want);
    expect(row !== undefined && 'object' in row).toBe(want !== undefined);
  });

  test('noHeaders drops the column definitions but keeps the cells', () => {
    const table = toTable(info('Service'), [svc], { now, noHeaders: true });
    expect(table.columnDefinitions).toEqual([]);
    expect(table.rows[0]?.cells[0]).toBe('web');
  });

  test('a v1beta1 table labels itself and its partial objects v1beta1', () => {
    const table = toTable(info('Service'), [svc], { now, version: 'v1beta1' });
    expect(table.apiVersion).toBe('meta.k8s.io/v1beta1');
    expect(table.rows[0]?.object).toMatchObject({ apiVersion: 'meta.k8s.io/v1beta1' });
  });

  test('without a resourceVersion the metadata is empty, and rows keep input order', () => {
    const other = object('Service', 'api', { spec: { clusterIPs: ['10.96.0.11'] } });
    const table = toTable(info('Service'), [svc, other], { now });
    expect(table.metadata).toEqual({});
    expect(table.rows.map((r) => r.cells[0])).toEqual(['web', 'api']);
  });
});

const kubectlTable = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

describe('wantsTable', () => {
  test.each([
    { name: 'kubectl get asks for a v1 Table', accept: kubectlTable, want: { table: true, version: 'v1' } },
    { name: 'a client that only knows v1beta1', accept: 'application/json;as=Table;v=v1beta1;g=meta.k8s.io', want: { table: true, version: 'v1beta1' } },
    { name: 'spaces around parameters are ignored', accept: 'application/json; as=Table; v=v1; g=meta.k8s.io', want: { table: true, version: 'v1' } },
    { name: 'a protobuf Table is skipped for the JSON one', accept: `application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,${kubectlTable}`, want: { table: true, version: 'v1' } },
    { name: 'higher q wins over header order', accept: 'application/json;q=0.5,application/json;as=Table;v=v1;g=meta.k8s.io', want: { table: true, version: 'v1' } },
    { name: 'plain JSON', accept: 'application/json', want: { table: false } },
    { name: 'no Accept header', accept: undefined, want: { table: false } },
    { name: 'JSON listed before the Table', accept: 'application/json,application/json;as=Table;v=v1;g=meta.k8s.io', want: { table: false } },
    { name: 'an unknown Table version falls through to JSON', accept: 'application/json;as=Table;v=v2;g=meta.k8s.io,application/json', want: { table: false } },
    { name: 'a Table from another group', accept: 'application/json;as=Table;v=v1;g=example.com', want: { table: false } },
    { name: 'PartialObjectMetadataList is not a Table', accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io', want: { table: false } },
    { name: 'a Table refused with q=0', accept: 'application/json;as=Table;v=v1;g=meta.k8s.io;q=0,application/json', want: { table: false } },
    { name: 'wildcard', accept: '*/*', want: { table: false } },
  ])('$name', ({ accept, want }) => {
    expect(wantsTable(accept)).toEqual(want);
  });
});

describe('wantsJson', () => {
  test.each([
    { name: 'no Accept header', accept: undefined, want: true },
    { name: 'empty Accept header', accept: '', want: true },
    { name: 'wildcard', accept: '*/*', want: true },
    { name: 'application wildcard', accept: 'application/*', want: true },
    { name: 'JSON after protobuf, as typed clients send', accept: 'application/vnd.kubernetes.protobuf,application/json', want: true },
    { name: 'kubectl get, which also accepts plain JSON', accept: kubectlTable, want: true },
    { name: 'a Table only', accept: 'application/json;as=Table;v=v1;g=meta.k8s.io', want: false },
    { name: 'PartialObjectMetadataList only', accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io', want: false },
    { name: 'protobuf only', accept: 'application/vnd.kubernetes.protobuf', want: false },
    { name: 'YAML only', accept: 'application/yaml', want: false },
    { name: 'JSON refused with q=0', accept: 'application/json;q=0', want: false },
  ])('$name → $want', ({ accept, want }) => {
    expect(wantsJson(accept)).toBe(want);
  });
});
