import { describe, expect, test } from 'vitest';
import type { Service, ServiceSpec } from '../../../../controlplane/api/types.ts';
import {
  ServiceAllocator,
  prepareServiceUpdate,
  type AllocationResult,
  type ServiceAllocatorOptions,
} from '../../../../controlplane/allocators/service-allocator.ts';

// Small pools keep expected values readable: the first dynamic cluster IP is
// 10.0.0.17 (a /24 keeps .1-.16 static), the first dynamic NodePort 30016.
const options: ServiceAllocatorOptions = {
  serviceCidr: '10.0.0.0/24',
  nodePortRange: { min: 30000, max: 30049 },
  loadBalancerPool: '192.168.50.0/28',
};

const clusterIP: Partial<ServiceSpec> = { type: 'ClusterIP' };
const nodePort: Partial<ServiceSpec> = { type: 'NodePort', externalTrafficPolicy: 'Cluster' };
const loadBalancer: Partial<ServiceSpec> = { type: 'LoadBalancer', externalTrafficPolicy: 'Cluster', allocateLoadBalancerNodePorts: true };
const localLoadBalancer: Partial<ServiceSpec> = { ...loadBalancer, externalTrafficPolicy: 'Local' };
const externalName: Partial<ServiceSpec> = { type: 'ExternalName', externalName: 'db.example.com', selector: undefined, internalTrafficPolicy: undefined };

/** A Service as the store hands it to the allocator: defaulted, in namespace default. */
function makeService(name: string, spec: Partial<ServiceSpec> = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: {
      type: 'ClusterIP',
      selector: { app: name },
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      ...spec,
    },
    status: { loadBalancer: {} },
  };
}

function ok(result: AllocationResult): Service {
  if (!result.ok) throw new Error(`allocation failed: ${JSON.stringify(result.causes)}`);
  return result.service;
}

/** Allocates a Service and returns it as stored, plus its undo. */
function create(allocator: ServiceAllocator, name: string, spec: Partial<ServiceSpec> = {}) {
  const result = allocator.allocate(makeService(name, spec));
  return { service: ok(result), release: result.ok ? result.release : () => {} };
}

/** The fields of `actual` named in `expected`, so an expected `undefined` means "absent". */
function pick(actual: object, expected: object): Record<string, unknown> {
  return Object.fromEntries(Object.keys(expected).map((key) => [key, (actual as Record<string, unknown>)[key]]));
}

function held(allocator: ServiceAllocator) {
  return { ips: allocator.clusterIPRange.used, ports: allocator.nodePortRange.used, lb: allocator.loadBalancerPool?.used ?? 0 };
}

describe('allocate on create', () => {
  test.each([
    {
      name: 'a ClusterIP Service gets the first dynamic IP and single-stack IPv4 fields',
      spec: clusterIP,
      expected: { clusterIP: '10.0.0.17', clusterIPs: ['10.0.0.17'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' },
    },
    {
      name: 'a requested cluster IP is honoured, also in the static band',
      spec: { ...clusterIP, clusterIP: '10.0.0.10', clusterIPs: ['10.0.0.10'] },
      expected: { clusterIP: '10.0.0.10', clusterIPs: ['10.0.0.10'], ipFamilies: ['IPv4'] },
    },
    {
      name: 'a clusterIP given without clusterIPs is honoured',
      spec: { ...clusterIP, clusterIP: '10.0.0.11' },
      expected: { clusterIP: '10.0.0.11', clusterIPs: ['10.0.0.11'] },
    },
    {
      name: 'a headless Service with a selector gets no IP and single-stack families',
      spec: { ...clusterIP, clusterIP: 'None', clusterIPs: ['None'] },
      expected: { clusterIP: 'None', clusterIPs: ['None'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' },
    },
    {
      name: 'a headless Service without a selector requires both families, as upstream',
      spec: { ...clusterIP, clusterIP: 'None', clusterIPs: ['None'], selector: undefined },
      expected: { clusterIP: 'None', clusterIPs: ['None'], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' },
    },
    {
      name: 'a NodePort Service gets a NodePort from above the static band',
      spec: nodePort,
      expected: { clusterIP: '10.0.0.17', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30016 }] },
    },
    {
      name: 'a requested NodePort is honoured',
      spec: { ...nodePort, ports: [{ name: 'http', port: 80, protocol: 'TCP' as const, targetPort: 8080, nodePort: 30005 }] },
      expected: { ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30005 }] },
    },
    {
      name: 'one port number under two protocols shares one NodePort',
      spec: {
        ...nodePort,
        ports: [
          { name: 'dns-udp', port: 53, protocol: 'UDP' as const, targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' as const, targetPort: 53 },
        ],
      },
      expected: {
        ports: [
          { name: 'dns-udp', port: 53, protocol: 'UDP', targetPort: 53, nodePort: 30016 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53, nodePort: 30016 },
        ],
      },
    },
    {
      name: 'a LoadBalancer with Local traffic policy also gets a health-check NodePort',
      spec: localLoadBalancer,
      expected: { ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30016 }], healthCheckNodePort: 30017 },
    },
    {
      name: 'a LoadBalancer without NodePort allocation gets none',
      spec: { ...loadBalancer, allocateLoadBalancerNodePorts: false },
      expected: { ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
    },
  ])('$name', ({ spec, expected }) => {
    const allocator = new ServiceAllocator(options);
    expect(ok(allocator.allocate(makeService('web', spec))).spec).toMatchObject(expected);
  });

  test('an ExternalName Service gets no IP, no families and no policy', () => {
    const allocator = new ServiceAllocator(options);
    const service = ok(allocator.allocate(makeService('db', externalName)));
    const absent = { clusterIP: undefined, clusterIPs: undefined, ipFamilies: undefined, ipFamilyPolicy: undefined };
    expect(pick(service.spec, absent)).toEqual(absent);
    expect(held(allocator)).toEqual({ ips: 0, ports: 0, lb: 0 });
  });

  test('the argument is left unchanged', () => {
    const allocator = new ServiceAllocator(options);
    const input = makeService('web', nodePort);
    const before = structuredClone(input);
    allocator.allocate(input);
    expect(input).toEqual(before);
  });

  test.each([
    {
      name: 'a LoadBalancer gets the first pool address with ipMode VIP',
      spec: loadBalancer,
      ingress: [{ ip: '192.168.50.1', ipMode: 'VIP' }],
    },
    {
      name: 'a free spec.loadBalancerIP is honoured',
      spec: { ...loadBalancer, loadBalancerIP: '192.168.50.9' },
      ingress: [{ ip: '192.168.50.9', ipMode: 'VIP' }],
    },
    {
      name: 'a LoadBalancer of another loadBalancerClass is left to its controller',
      spec: { ...loadBalancer, loadBalancerClass: 'example.com/other' },
      ingress: undefined,
    },
  ])('$name', ({ spec, ingress }) => {
    const allocator = new ServiceAllocator(options);
    expect(ok(allocator.allocate(makeService('web', spec))).status?.loadBalancer?.ingress).toEqual(ingress);
  });

  test('without a pool a LoadBalancer stays pending', () => {
    const allocator = new ServiceAllocator({ serviceCidr: options.serviceCidr, nodePortRange: options.nodePortRange });
    expect(ok(allocator.allocate(makeService('web', loadBalancer))).status).toEqual({ loadBalancer: {} });
  });

  test('an exhausted pool leaves the LoadBalancer pending rather than failing the write', () => {
    const allocator = new ServiceAllocator({ ...options, loadBalancerPool: '192.168.50.0/30' });
    create(allocator, 'a', loadBalancer);
    create(allocator, 'b', loadBalancer);
    expect(ok(allocator.allocate(makeService('c', loadBalancer))).status).toEqual({ loadBalancer: {} });
  });

  test('an IPv6 service CIDR allocates IPv6 cluster IPs', () => {
    const allocator = new ServiceAllocator({ ...options, serviceCidr: 'fd00:10:96::/112' });
    expect(ok(allocator.allocate(makeService('web'))).spec).toMatchObject({ clusterIP: 'fd00:10:96::101', clusterIPs: ['fd00:10:96::101'], ipFamilies: ['IPv6'] });
  });
});

describe('allocate refusals', () => {
  test.each([
    {
      name: 'a requested cluster IP that is taken',
      spec: { ...clusterIP, clusterIP: '10.0.0.5', clusterIPs: ['10.0.0.5'] },
      causes: [{ reason: 'FieldValueInvalid', field: 'spec.clusterIPs', message: 'Invalid value: ["10.0.0.5"]: failed to allocate IP 10.0.0.5: provided IP is already allocated' }],
    },
    {
      name: 'a requested cluster IP outside the range',
      spec: { ...clusterIP, clusterIP: '10.1.0.5', clusterIPs: ['10.1.0.5'] },
      causes: [
        {
          reason: 'FieldValueInvalid',
          field: 'spec.clusterIPs',
          message: 'Invalid value: ["10.1.0.5"]: failed to allocate IP 10.1.0.5: the provided IP (10.1.0.5) is not in the valid range. The range of valid IPs is 10.0.0.0/24',
        },
      ],
    },
    {
      name: 'a requested NodePort that is taken',
      spec: { ...nodePort, ports: [{ name: 'http', port: 80, protocol: 'TCP' as const, targetPort: 80, nodePort: 30007 }] },
      causes: [{ reason: 'FieldValueInvalid', field: 'spec.ports[0].nodePort', message: 'Invalid value: 30007: provided port is already allocated' }],
    },
    {
      name: 'a requested NodePort outside the range',
      spec: { ...nodePort, ports: [{ name: 'http', port: 80, protocol: 'TCP' as const, targetPort: 80, nodePort: 80 }] },
      causes: [{ reason: 'FieldValueInvalid', field: 'spec.ports[0].nodePort', message: 'Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-30049' }],
    },
    {
      name: 'a requested health-check NodePort that is taken',
      spec: { ...localLoadBalancer, healthCheckNodePort: 30007 },
      causes: [{ reason: 'FieldValueInvalid', field: 'spec.healthCheckNodePort', message: 'Invalid value: 30007: provided port is already allocated' }],
    },
    {
      name: 'a spec.loadBalancerIP that is taken',
      spec: { ...loadBalancer, loadBalancerIP: '192.168.50.3' },
      causes: [{ reason: 'FieldValueInvalid', field: 'spec.loadBalancerIP', message: 'Invalid value: "192.168.50.3": failed to allocate IP 192.168.50.3: provided IP is already allocated' }],
    },
    {
      name: 'an IPv6 cluster IP on an IPv4 cluster',
      spec: { ...clusterIP, clusterIP: 'fd00::5', clusterIPs: ['fd00::5'] },
      causes: [{ reason: 'FieldValueInvalid', field: 'spec.clusterIPs[0]', message: 'Invalid value: ["fd00::5"]: IPv6 is not configured on this cluster' }],
    },
    {
      name: 'RequireDualStack on a single-family cluster',
      spec: { ...clusterIP, ipFamilyPolicy: 'RequireDualStack' as const },
      causes: [{ reason: 'FieldValueInvalid', field: 'spec.ipFamilyPolicy', message: 'Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services' }],
    },
    {
      name: 'an IP family the cluster does not serve',
      spec: { ...clusterIP, ipFamilies: ['IPv6' as const] },
      causes: [{ reason: 'FieldValueInvalid', field: 'spec.ipFamilies[0]', message: 'Invalid value: "IPv6": not configured on this cluster' }],
    },
  ])('refuses $name with upstream causes and holds nothing new', ({ spec, causes }) => {
    const allocator = new ServiceAllocator(options);
    create(allocator, 'other', { ...loadBalancer, clusterIP: '10.0.0.5', clusterIPs: ['10.0.0.5'], loadBalancerIP: '192.168.50.3', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80, nodePort: 30007 }] });
    const before = held(allocator);
    expect(allocator.allocate(makeService('web', spec))).toEqual({ ok: false, causes });
    expect(held(allocator)).toEqual(before);
  });

  test('a failure after an IP was allocated rolls the IP back', () => {
    const allocator = new ServiceAllocator(options);
    create(allocator, 'other', { ...nodePort, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80, nodePort: 30007 }] });
    const result = allocator.allocate(makeService('web', { ...nodePort, clusterIP: '10.0.0.9', clusterIPs: ['10.0.0.9'], ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80, nodePort: 30007 }] }));
    expect(result.ok).toBe(false);
    expect(allocator.clusterIPRange.has('10.0.0.9')).toBe(false);
  });

  test.each([
    { name: 'cluster IPs', cidr: '10.0.0.0/29', spec: clusterIP, internal: 'failed to allocate a serviceIP: range is full', count: 6 },
    { name: 'NodePorts', cidr: '10.0.0.0/24', spec: nodePort, internal: 'failed to allocate a nodePort: range is full', count: 50 },
  ])('an exhausted pool of $name is an internal error, as upstream', ({ cidr, spec, internal, count }) => {
    const allocator = new ServiceAllocator({ ...options, serviceCidr: cidr });
    for (let i = 0; i < count; i++) create(allocator, `s${i}`, spec);
    const before = held(allocator);
    expect(allocator.allocate(makeService('one-too-many', spec))).toEqual({
      ok: false,
      internal,
      causes: [{ reason: 'InternalError', field: 'spec', message: `Internal error: ${internal}` }],
    });
    expect(held(allocator)).toEqual(before);
  });
});

describe('allocate on update', () => {
  test.each([
    {
      name: 'ClusterIP to NodePort keeps the IP and allocates NodePorts',
      before: clusterIP,
      after: nodePort,
      expected: { clusterIP: '10.0.0.17', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30016 }] },
      held: { ips: 1, ports: 1, lb: 0 },
    },
    {
      name: 'NodePort to ClusterIP drops and releases the NodePorts',
      before: nodePort,
      after: { ...clusterIP, externalTrafficPolicy: 'Cluster' as const },
      expected: { clusterIP: '10.0.0.17', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }], externalTrafficPolicy: undefined },
      held: { ips: 1, ports: 0, lb: 0 },
    },
    {
      name: 'ClusterIP to ExternalName drops and releases the cluster IP',
      before: clusterIP,
      after: externalName,
      expected: { clusterIP: undefined, clusterIPs: undefined, ipFamilies: undefined, ipFamilyPolicy: undefined },
      held: { ips: 0, ports: 0, lb: 0 },
    },
    {
      name: 'ExternalName to ClusterIP allocates an IP',
      before: externalName,
      after: { ...clusterIP, externalName: undefined },
      expected: { clusterIP: '10.0.0.17', clusterIPs: ['10.0.0.17'], ipFamilies: ['IPv4'] },
      held: { ips: 1, ports: 0, lb: 0 },
    },
    {
      name: 'LoadBalancer with Local policy to ClusterIP releases NodePorts, health check and pool IP',
      before: localLoadBalancer,
      after: { ...clusterIP, externalTrafficPolicy: 'Local' as const, allocateLoadBalancerNodePorts: true },
      expected: { healthCheckNodePort: undefined, allocateLoadBalancerNodePorts: undefined, externalTrafficPolicy: undefined, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
      held: { ips: 1, ports: 0, lb: 0 },
    },
    {
      name: 'LoadBalancer Cluster to Local allocates a health-check NodePort',
      before: loadBalancer,
      after: localLoadBalancer,
      expected: { healthCheckNodePort: 30017 },
      held: { ips: 1, ports: 2, lb: 1 },
    },
    {
      name: 'LoadBalancer Local to Cluster releases the health-check NodePort',
      before: localLoadBalancer,
      after: loadBalancer,
      expected: { healthCheckNodePort: undefined },
      held: { ips: 1, ports: 1, lb: 1 },
    },
  ])('$name', ({ before, after, expected, held: expectedHeld }) => {
    const allocator = new ServiceAllocator(options);
    const { service: stored } = create(allocator, 'web', before);
    const next = structuredClone(stored);
    Object.assign(next.spec, after);
    const updated = ok(allocator.allocate(next, stored));
    expect(pick(updated.spec, expected)).toEqual(expected);
    expect(held(allocator)).toEqual(expectedHeld);
  });

  test('a Service that stops being a LoadBalancer loses its pool address and status', () => {
    const allocator = new ServiceAllocator(options);
    const { service: stored } = create(allocator, 'web', loadBalancer);
    const next = structuredClone(stored);
    Object.assign(next.spec, nodePort);
    const updated = ok(allocator.allocate(next, stored));
    expect(updated.status).toEqual({ loadBalancer: {} });
    expect(allocator.loadBalancerPool?.has('192.168.50.1')).toBe(false);
  });

  test('a resubmitted manifest without allocated fields keeps them', () => {
    const allocator = new ServiceAllocator(options);
    const { service: stored } = create(allocator, 'web', localLoadBalancer);
    const manifest = makeService('web', localLoadBalancer);
    const updated = ok(allocator.allocate(manifest, stored));
    expect(updated.spec).toMatchObject({ clusterIP: '10.0.0.17', clusterIPs: ['10.0.0.17'], ports: [{ nodePort: 30016 }], healthCheckNodePort: 30017 });
    expect(updated.status?.loadBalancer?.ingress).toEqual([{ ip: '192.168.50.1', ipMode: 'VIP' }]);
    expect(held(allocator)).toEqual({ ips: 1, ports: 2, lb: 1 });
  });

  test('removing a port releases its NodePort and keeps the other', () => {
    const allocator = new ServiceAllocator(options);
    const twoPorts = {
      ...nodePort,
      ports: [
        { name: 'http', port: 80, protocol: 'TCP' as const, targetPort: 80 },
        { name: 'https', port: 443, protocol: 'TCP' as const, targetPort: 443 },
      ],
    };
    const { service: stored } = create(allocator, 'web', twoPorts);
    const next = structuredClone(stored);
    next.spec.ports = next.spec.ports?.slice(1);
    const updated = ok(allocator.allocate(next, stored));
    expect(updated.spec.ports).toEqual([{ name: 'https', port: 443, protocol: 'TCP', targetPort: 443, nodePort: 30017 }]);
    expect([allocator.nodePortRange.has(30016), allocator.nodePortRange.has(30017)]).toEqual([false, true]);
  });

  test('changing spec.loadBalancerIP moves the Service to the new pool address', () => {
    const allocator = new ServiceAllocator(options);
    const { service: stored } = create(allocator, 'web', loadBalancer);
    const next = structuredClone(stored);
    next.spec.loadBalancerIP = '192.168.50.9';
    const updated = ok(allocator.allocate(next, stored));
    expect(updated.status?.loadBalancer?.ingress).toEqual([{ ip: '192.168.50.9', ipMode: 'VIP' }]);
    expect([allocator.loadBalancerPool?.has('192.168.50.1'), allocator.loadBalancerPool?.has('192.168.50.9')]).toEqual([false, true]);
  });
});

describe('release', () => {
  test('undoes a create completely', () => {
    const allocator = new ServiceAllocator(options);
    const { release } = create(allocator, 'web', localLoadBalancer);
    expect(held(allocator)).toEqual({ ips: 1, ports: 2, lb: 1 });
    release();
    expect(held(allocator)).toEqual({ ips: 0, ports: 0, lb: 0 });
  });

  test('undoes an update: new values are freed and given-up values are held again', () => {
    const allocator = new ServiceAllocator(options);
    const { service: stored } = create(allocator, 'web', nodePort);
    const next = structuredClone(stored);
    Object.assign(next.spec, localLoadBalancer);
    const result = allocator.allocate(next, stored);
    expect(ok(result).spec.healthCheckNodePort).toBe(30017);
    if (result.ok) result.release();
    expect([allocator.nodePortRange.has(30016), allocator.nodePortRange.has(30017), allocator.loadBalancerPool?.used]).toEqual([true, false, 0]);

    const downgrade = structuredClone(stored);
    Object.assign(downgrade.spec, clusterIP, { externalTrafficPolicy: undefined });
    const dropped = allocator.allocate(downgrade, stored);
    expect(allocator.nodePortRange.has(30016)).toBe(false);
    if (dropped.ok) dropped.release();
    expect(allocator.nodePortRange.has(30016)).toBe(true);
  });

  test('a second call changes nothing', () => {
    const allocator = new ServiceAllocator(options);
    const { release } = create(allocator, 'web');
    release();
    create(allocator, 'other', { clusterIP: '10.0.0.17', clusterIPs: ['10.0.0.17'] });
    release();
    expect(allocator.clusterIPRange.has('10.0.0.17')).toBe(true);
  });

  test('releaseAll gives back everything a deleted Service held', () => {
    const allocator = new ServiceAllocator(options);
    const { service } = create(allocator, 'web', localLoadBalancer);
    create(allocator, 'other', nodePort);
    allocator.releaseAll(service);
    expect(held(allocator)).toEqual({ ips: 1, ports: 1, lb: 0 });
  });
});

describe('rebuild', () => {
  test('marks what stored Services hold, so new allocations never collide with them', () => {
    const first = new ServiceAllocator(options);
    const stored = Array.from({ length: 20 }, (_, i) => create(first, `s${i}`, i % 2 === 0 ? nodePort : localLoadBalancer).service);

    const restarted = new ServiceAllocator(options);
    expect(restarted.rebuild(stored)).toEqual([]);
    expect(held(restarted)).toEqual(held(first));
    const fresh = Array.from({ length: 10 }, (_, i) => create(restarted, `new${i}`, nodePort).service);

    const ips = [...stored, ...fresh].map((service) => service.spec.clusterIP);
    const ports = [...stored, ...fresh].flatMap((service) => [...(service.spec.ports ?? []).map((port) => port.nodePort), ...(service.spec.healthCheckNodePort ? [service.spec.healthCheckNodePort] : [])]);
    expect(new Set(ips).size).toBe(ips.length);
    expect(new Set(ports).size).toBe(ports.length);
  });

  test('forgets what it held before', () => {
    const allocator = new ServiceAllocator(options);
    create(allocator, 'gone', localLoadBalancer);
    allocator.rebuild([]);
    expect(held(allocator)).toEqual({ ips: 0, ports: 0, lb: 0 });
  });

  test('reports values claimed twice or outside the configured pools', () => {
    const allocator = new ServiceAllocator(options);
    const a = makeService('a', { ...nodePort, clusterIP: '10.0.0.5', clusterIPs: ['10.0.0.5'], ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80, nodePort: 30001 }] });
    const b = makeService('b', { ...nodePort, clusterIP: '10.0.0.5', clusterIPs: ['10.0.0.5'], ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80, nodePort: 30001 }] });
    const c = makeService('c', { ...clusterIP, clusterIP: '10.9.0.1', clusterIPs: ['10.9.0.1'] });
    expect(allocator.rebuild([a, b, c])).toEqual([
      { service: 'default/b', field: 'spec.clusterIPs', value: '10.0.0.5', problem: 'duplicate' },
      { service: 'default/b', field: 'spec.ports[0].nodePort', value: 30001, problem: 'duplicate' },
      { service: 'default/c', field: 'spec.clusterIPs', value: '10.9.0.1', problem: 'out-of-range' },
    ]);
  });

  test('ignores headless and ExternalName Services and counts a shared NodePort once', () => {
    const allocator = new ServiceAllocator(options);
    const shared = makeService('dns', {
      ...nodePort,
      clusterIP: '10.0.0.10',
      clusterIPs: ['10.0.0.10'],
      ports: [
        { name: 'dns-udp', port: 53, protocol: 'UDP', targetPort: 53, nodePort: 30033 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53, nodePort: 30033 },
      ],
    });
    const headless = makeService('headless', { clusterIP: 'None', clusterIPs: ['None'] });
    const external = makeService('ext', { ...externalName, clusterIP: '10.0.0.11' });
    expect(allocator.rebuild([shared, headless, external])).toEqual([]);
    expect(held(allocator)).toEqual({ ips: 1, ports: 1, lb: 0 });
  });

  test('a pool address in a stored LoadBalancer status is held again', () => {
    const allocator = new ServiceAllocator(options);
    const service = makeService('web', loadBalancer);
    service.status = { loadBalancer: { ingress: [{ ip: '192.168.50.1', ipMode: 'VIP' }] } };
    allocator.rebuild([service]);
    expect(ok(allocator.allocate(makeService('other', loadBalancer))).status?.loadBalancer?.ingress).toEqual([{ ip: '192.168.50.2', ipMode: 'VIP' }]);
  });
});

describe('prepareServiceUpdate', () => {
  test.each([
    {
      name: 'an update without clusterIP keeps the allocated one',
      old: { clusterIP: '10.0.0.17', clusterIPs: ['10.0.0.17'] },
      now: {},
      expected: { clusterIP: '10.0.0.17', clusterIPs: ['10.0.0.17'] },
    },
    {
      name: 'an old client changing only clusterIP moves clusterIPs with it (validation then refuses the change)',
      old: { clusterIP: '10.0.0.17', clusterIPs: ['10.0.0.17'] },
      now: { clusterIP: '10.0.0.18', clusterIPs: ['10.0.0.17'] },
      expected: { clusterIP: '10.0.0.18', clusterIPs: ['10.0.0.18'] },
    },
    {
      name: 'NodePorts left out are patched back by port name',
      old: { ...nodePort, ports: [{ name: 'a', port: 1, nodePort: 30001 }, { name: 'b', port: 2, nodePort: 30002 }] },
      now: { ...nodePort, ports: [{ name: 'b', port: 2 }, { name: 'a', port: 1 }] },
      expected: { ports: [{ name: 'b', port: 2, nodePort: 30002 }, { name: 'a', port: 1, nodePort: 30001 }] },
    },
    {
      name: 'a NodePort the new spec already uses elsewhere is not patched twice',
      old: { ...nodePort, ports: [{ name: 'a', port: 1, nodePort: 30001 }] },
      now: { ...nodePort, ports: [{ name: 'b', port: 2, nodePort: 30001 }, { name: 'a', port: 1 }] },
      expected: { ports: [{ name: 'b', port: 2, nodePort: 30001 }, { name: 'a', port: 1 }] },
    },
    {
      name: 'switching to ExternalName drops unchanged cluster IP fields',
      old: { clusterIP: '10.0.0.17', clusterIPs: ['10.0.0.17'], ipFamilies: ['IPv4' as const], ipFamilyPolicy: 'SingleStack' as const },
      now: { type: 'ExternalName' as const, clusterIP: '10.0.0.17', clusterIPs: ['10.0.0.17'], ipFamilies: ['IPv4' as const], ipFamilyPolicy: 'SingleStack' as const },
      expected: { type: 'ExternalName', clusterIP: undefined, clusterIPs: undefined, ipFamilies: undefined, ipFamilyPolicy: undefined },
    },
    {
      name: 'switching to ExternalName keeps a cluster IP the user changed, for validation to refuse',
      old: { clusterIP: '10.0.0.17', clusterIPs: ['10.0.0.17'] },
      now: { type: 'ExternalName' as const, clusterIP: '10.0.0.18', clusterIPs: ['10.0.0.18'] },
      expected: { clusterIP: '10.0.0.18', clusterIPs: ['10.0.0.18'] },
    },
    {
      name: 'switching to ClusterIP drops NodePorts that were all allocated before',
      old: { ...nodePort, ports: [{ name: 'a', port: 1, nodePort: 30001 }] },
      now: { type: 'ClusterIP' as const, externalTrafficPolicy: 'Cluster' as const, ports: [{ name: 'a', port: 1, nodePort: 30001 }] },
      expected: { ports: [{ name: 'a', port: 1 }], externalTrafficPolicy: undefined },
    },
    {
      name: 'switching to ClusterIP keeps a NodePort the user added, for validation to refuse',
      old: { ...nodePort, ports: [{ name: 'a', port: 1, nodePort: 30001 }] },
      now: { type: 'ClusterIP' as const, ports: [{ name: 'a', port: 1, nodePort: 30009 }] },
      expected: { ports: [{ name: 'a', port: 1, nodePort: 30009 }] },
    },
    {
      name: 'an update without healthCheckNodePort keeps it while still LoadBalancer with Local policy',
      old: { ...localLoadBalancer, healthCheckNodePort: 30017 },
      now: localLoadBalancer,
      expected: { healthCheckNodePort: 30017 },
    },
    {
      name: 'switching to Cluster policy drops the unchanged health-check NodePort',
      old: { ...localLoadBalancer, healthCheckNodePort: 30017 },
      now: { ...loadBalancer, healthCheckNodePort: 30017 },
      expected: { healthCheckNodePort: undefined },
    },
  ])('$name', ({ old, now, expected }) => {
    const service = makeService('web', now as Partial<ServiceSpec>);
    prepareServiceUpdate(service, makeService('web', old as Partial<ServiceSpec>));
    expect(pick(service.spec, expected)).toEqual(expected);
    const again = structuredClone(service);
    prepareServiceUpdate(again, makeService('web', old as Partial<ServiceSpec>));
    expect(again).toEqual(service);
  });
});
