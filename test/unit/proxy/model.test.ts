import { describe, expect, test } from 'vitest';
import type { Service } from '../../../controlplane/api/types.ts';
import { digestEndpointSlice, digestService, EndpointsChangeTracker, ServiceChangeTracker, type EndpointsMap, type ServicePortMap } from '../../../proxy/model.ts';
import { endpoint, makeService, makeSlice, NODE_NAME, tcpPort } from './builders.ts';

const clusterIP = (s: Service) => {
  s.spec.clusterIP = '172.30.0.1';
  s.spec.ports = [tcpPort('p80', 80)];
};

describe('digestService', () => {
  test.each([
    { name: 'ClusterIP service: one port, TCP by default', tweak: (s: Service) => {
        s.spec.clusterIP = '172.30.0.1';
        s.spec.ports = [{ port: 80 }];
      }, ports: { 'ns/svc/TCP': { name: 'ns/svc', protocol: 'TCP', clusterIP: '172.30.0.1', port: 80, nodePort: 0 } }, problems: [] },
    { name: 'headless service: nothing to proxy', tweak: (s: Service) => {
        s.spec.clusterIP = 'None';
        s.spec.ports = [tcpPort('p80', 80)];
      }, ports: {}, problems: [] },
    { name: 'ExternalName service: nothing to proxy', tweak: (s: Service) => {
        s.spec.type = 'ExternalName';
        s.spec.externalName = 'example.com';
      }, ports: {}, problems: [] },
    { name: 'IPv6-only service: skipped quietly', tweak: (s: Service) => {
        s.spec.clusterIP = 'fd00::1';
        s.spec.clusterIPs = ['fd00::1'];
        s.spec.ports = [tcpPort('p80', 80)];
      }, ports: {}, problems: [] },
    { name: 'dual-stack service: the IPv4 cluster IP', tweak: (s: Service) => {
        s.spec.clusterIP = 'fd00::1';
        s.spec.clusterIPs = ['fd00::1', '172.30.0.9'];
        s.spec.ports = [tcpPort('p80', 80)];
      }, ports: { 'ns/svc:p80/TCP': { clusterIP: '172.30.0.9' } }, problems: [] },
    { name: 'malformed cluster IP: reported and skipped', tweak: (s: Service) => {
        s.spec.clusterIP = '172.30.0.300';
        s.spec.ports = [tcpPort('p80', 80)];
      }, ports: {}, problems: ['clusterIP "172.30.0.300" is not an IP address; service skipped'] },
    { name: 'bad port and protocol: that port skipped, the others kept', tweak: (s: Service) => {
        s.spec.clusterIP = '172.30.0.1';
        s.spec.ports = [tcpPort('p80', 80), tcpPort('big', 70000), { name: 'icmp', port: 1, protocol: 'ICMP' as never }];
      }, ports: { 'ns/svc:p80/TCP': { port: 80 } }, problems: ['port "big": port 70000 is outside 1-65535; port skipped', 'port "icmp": protocol "ICMP" is not TCP, UDP or SCTP; port skipped'] },
    { name: 'NodePort type keeps nodePorts; ClusterIP type ignores a stray one', tweak: (s: Service) => {
        s.spec.type = 'NodePort';
        s.spec.clusterIP = '172.30.0.1';
        s.spec.ports = [tcpPort('p80', 80, { nodePort: 30080 })];
      }, ports: { 'ns/svc:p80/TCP': { nodePort: 30080 } }, problems: [] },
    { name: 'externalIPs: IPv4 kept sorted, IPv6 skipped, garbage reported', tweak: (s: Service) => {
        clusterIP(s);
        s.spec.externalIPs = ['192.168.99.30', 'fd00::5', '192.168.99.4', 'not-an-ip'];
      }, ports: { 'ns/svc:p80/TCP': { externalIPs: ['192.168.99.4', '192.168.99.30'] } }, problems: ['externalIP "not-an-ip" is not an IP address; ignored'] },
    { name: 'LoadBalancer: ingress IPs (not Proxy mode), ranges canonical, health check port with Local policy', tweak: (s: Service) => {
        s.spec.type = 'LoadBalancer';
        s.spec.clusterIP = '172.30.0.1';
        s.spec.externalTrafficPolicy = 'Local';
        s.spec.healthCheckNodePort = 32000;
        s.spec.loadBalancerSourceRanges = [' 203.0.113.7/25 ', '2001:db8::/32', 'bogus'];
        s.spec.ports = [tcpPort('p80', 80, { nodePort: 30080 })];
        s.status = { loadBalancer: { ingress: [{ ip: '5.6.7.8' }, { ip: '5.6.7.9', ipMode: 'Proxy' }, { hostname: 'lb.example.com' }] } };
      }, ports: { 'ns/svc:p80/TCP': { loadBalancerIPs: ['5.6.7.8'], loadBalancerSourceRanges: ['203.0.113.0/25'], healthCheckNodePort: 32000, externalPolicyLocal: true } }, problems: ['loadBalancerSourceRange "bogus" is not a CIDR; ignored'] },
    { name: 'Local external policy on a port nothing external reaches is not Local', tweak: (s: Service) => {
        clusterIP(s);
        s.spec.externalTrafficPolicy = 'Local';
      }, ports: { 'ns/svc:p80/TCP': { externalPolicyLocal: false } }, problems: [] },
    { name: 'ClientIP affinity: default timeout', tweak: (s: Service) => {
        clusterIP(s);
        s.spec.sessionAffinity = 'ClientIP';
      }, ports: { 'ns/svc:p80/TCP': { affinitySeconds: 10800 } }, problems: [] },
    { name: 'ClientIP affinity: explicit timeout', tweak: (s: Service) => {
        clusterIP(s);
        s.spec.sessionAffinity = 'ClientIP';
        s.spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 30 } };
      }, ports: { 'ns/svc:p80/TCP': { affinitySeconds: 30 } }, problems: [] },
    { name: 'port name that cannot go into a comment', tweak: (s: Service) => {
        s.spec.clusterIP = '172.30.0.1';
        s.spec.ports = [tcpPort('p"80', 80)];
      }, ports: {}, problems: ['port name "p"80" is not a valid port name; port skipped'] },
  ])('$name', ({ tweak, ports, problems }) => {
    const digest = digestService(makeService('ns', 'svc', tweak));
    expect(digest.problems).toEqual(problems);
    expect([...digest.value.keys()]).toEqual(Object.keys(ports));
    for (const [key, expected] of Object.entries(ports)) expect(digest.value.get(key)).toMatchObject(expected);
  });
});

describe('digestEndpointSlice', () => {
  test('reads ports, first addresses and conditions with their API defaults', () => {
    const slice = makeSlice('ns', 'svc', 'a', (s) => {
      s.metadata.annotations = { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-02T03:04:05Z' };
      s.ports = [{ name: 'p80', port: 8080 }, { name: 'bad', port: 0 }];
      s.endpoints = [
        endpoint('10.0.0.1', { nodeName: 'n1' }),
        { addresses: ['10.0.0.2', '10.0.0.99'], conditions: { ready: false, serving: true, terminating: true } },
        { addresses: ['10.0.0.3'], conditions: { ready: false } },
        endpoint('fd00::1'),
      ];
    });
    const digest = digestEndpointSlice(slice);
    expect(digest.problems).toEqual(['port "bad": 0/TCP is not a usable port; ignored', 'endpoint address "fd00::1" is not an IPv4 address; ignored']);
    expect(digest.value).toEqual({
      service: 'ns/svc',
      ports: [{ name: 'p80', protocol: 'TCP', port: 8080 }],
      endpoints: [
        { ip: '10.0.0.1', ready: true, serving: true, terminating: false, nodeName: 'n1' },
        { ip: '10.0.0.2', ready: false, serving: true, terminating: true, nodeName: undefined },
        { ip: '10.0.0.3', ready: false, serving: false, terminating: false, nodeName: undefined },
      ],
      triggerTime: Date.parse('2026-01-02T03:04:05Z'),
    });
  });

  test.each([
    ['an IPv6 slice', (s: ReturnType<typeof makeSlice>) => void (s.addressType = 'IPv6')],
    ['a slice without the service-name label', (s: ReturnType<typeof makeSlice>) => void (s.metadata.labels = {})],
  ])('ignores %s', (_name, tweak) => {
    expect(digestEndpointSlice(makeSlice('ns', 'svc', 'a', tweak))).toEqual({ value: undefined, problems: [] });
  });
});

describe('ServiceChangeTracker', () => {
  const v1 = makeService('ns', 'svc', clusterIP);
  const v2 = makeService('ns', 'svc', (s) => {
    clusterIP(s);
    s.spec.ports = [tcpPort('p80', 80), tcpPort('p443', 443)];
  });

  test('applies an add, then reports the service as updated', () => {
    const tracker = new ServiceChangeTracker();
    const map: ServicePortMap = new Map();
    tracker.update(undefined, v1);
    expect(tracker.pending).toBe(1);
    expect(tracker.apply(map).updatedServices).toEqual(new Set(['ns/svc']));
    expect([...map.keys()]).toEqual(['ns/svc:p80/TCP']);
    expect(tracker.pending).toBe(0);
  });

  test('coalesces a burst into one change from the first state to the last', () => {
    const tracker = new ServiceChangeTracker();
    const map: ServicePortMap = new Map();
    tracker.update(undefined, v1);
    tracker.apply(map);
    tracker.update(v1, v2);
    tracker.update(v2, { ...v2, metadata: { ...v2.metadata, resourceVersion: '3' } });
    expect(tracker.pending).toBe(1);
    tracker.apply(map);
    expect([...map.keys()].sort()).toEqual(['ns/svc:p443/TCP', 'ns/svc:p80/TCP']);
  });

  test('drops a change that cancels itself out', () => {
    const tracker = new ServiceChangeTracker();
    tracker.update(v1, v2);
    tracker.update(v2, v1);
    expect(tracker.pending).toBe(0);
    tracker.update(undefined, v1);
    tracker.update(v1, undefined);
    expect(tracker.pending).toBe(0);
  });

  test('a metadata-only update is not a change', () => {
    const tracker = new ServiceChangeTracker();
    tracker.update(v1, { ...v1, metadata: { ...v1.metadata, labels: { a: 'b' } } });
    expect(tracker.pending).toBe(0);
  });

  test('a delete removes every port of the service', () => {
    const tracker = new ServiceChangeTracker();
    const map: ServicePortMap = new Map();
    tracker.update(undefined, v2);
    tracker.apply(map);
    tracker.update(v2, undefined);
    tracker.apply(map);
    expect(map.size).toBe(0);
  });
});

describe('EndpointsChangeTracker', () => {
  const sliceA = makeSlice('ns', 'svc', 'a', (s) => {
    s.ports = [{ name: 'p80', port: 8080, protocol: 'TCP' }];
    s.endpoints = [endpoint('10.0.0.10', { nodeName: NODE_NAME }), endpoint('10.0.0.9', { nodeName: 'other' })];
  });
  const sliceB = makeSlice('ns', 'svc', 'b', (s) => {
    s.ports = [{ name: 'p80', port: 8080, protocol: 'TCP' }];
    s.endpoints = [endpoint('10.0.0.9', { conditions: { ready: false } }), endpoint('10.0.0.11')];
  });

  test('merges slices per service port, numerically sorted, an overlap counted once with the ready copy', () => {
    const tracker = new EndpointsChangeTracker(NODE_NAME);
    const map: EndpointsMap = new Map();
    tracker.update(undefined, sliceA);
    tracker.update(undefined, sliceB);
    expect(tracker.apply(map).updatedServices).toEqual(new Set(['ns/svc']));
    expect(map.get('ns/svc:p80/TCP')).toEqual([
      { ip: '10.0.0.9', port: 8080, endpoint: '10.0.0.9:8080', ready: true, serving: true, terminating: false, local: false },
      { ip: '10.0.0.10', port: 8080, endpoint: '10.0.0.10:8080', ready: true, serving: true, terminating: false, local: true },
      { ip: '10.0.0.11', port: 8080, endpoint: '10.0.0.11:8080', ready: true, serving: true, terminating: false, local: false },
    ]);
  });

  test('removing a slice keeps the other slice\'s endpoints', () => {
    const tracker = new EndpointsChangeTracker(NODE_NAME);
    const map: EndpointsMap = new Map();
    tracker.update(undefined, sliceA);
    tracker.update(undefined, sliceB);
    tracker.apply(map);
    tracker.update(sliceA, undefined);
    tracker.apply(map);
    expect(map.get('ns/svc:p80/TCP')?.map((e) => e.ip)).toEqual(['10.0.0.9', '10.0.0.11']);
    tracker.update(sliceB, undefined);
    tracker.apply(map);
    expect(map.size).toBe(0);
  });

  test('a change that cancels out is dropped, and a slice of a service with no change is not pending', () => {
    const tracker = new EndpointsChangeTracker(NODE_NAME);
    tracker.update(undefined, sliceA);
    tracker.update(sliceA, undefined);
    expect(tracker.pending).toBe(0);
  });

  test('collects trigger times newer than its start for the programming latency', () => {
    const tracker = new EndpointsChangeTracker(NODE_NAME, { notBefore: Date.parse('2026-01-01T00:00:00Z') });
    const stamped = (time: string) => makeSlice('ns', 'svc', time.slice(0, 4), (s) => {
      s.metadata.annotations = { 'endpoints.kubernetes.io/last-change-trigger-time': time };
      s.ports = sliceA.ports;
      s.endpoints = sliceA.endpoints;
    });
    tracker.update(undefined, stamped('2025-06-01T00:00:00Z'));
    tracker.update(undefined, stamped('2026-06-01T00:00:00Z'));
    expect(tracker.apply(new Map()).triggerTimes).toEqual([Date.parse('2026-06-01T00:00:00Z')]);
    expect(tracker.apply(new Map()).triggerTimes).toEqual([]);
  });
});
