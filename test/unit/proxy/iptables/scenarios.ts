/**
 * Named rendering scenarios shared by the golden, packet-flow and rule-count
 * tests: kube-proxy's TestOverallIPTablesRules services (same names, IPs and
 * ports, so its hashes appear under kplane's prefix), plus one scenario per
 * behaviour.
 */
import type { Service } from '../../../../controlplane/api/types.ts';
import type { RenderInput, RenderOptions, SyncKind } from '../../../../proxy/iptables/render.ts';
import { jumpKey, jumpRules, renderRules } from '../../../../proxy/iptables/render.ts';
import { buildModel, endpoint, makeService, makeSlice, NODE_NAME, renderOptions, tcpPort } from '../builders.ts';

export interface Scenario {
  readonly name: string;
  readonly input: RenderInput;
  readonly options: RenderOptions;
}

const fullSync: SyncKind = { full: true, existingJumps: new Set() };

function scenario(name: string, services: Service[], slices: ReturnType<typeof makeSlice>[], extra: Partial<RenderInput> = {}, options: RenderOptions = renderOptions): Scenario {
  const model = buildModel(services, slices);
  return { name, input: { ...model, nodePortAddresses: undefined, existingNatChains: new Set(), sync: fullSync, ...extra }, options };
}

const p80 = [{ name: 'p80', port: 80, protocol: 'TCP' as const }];

export const overallServices = [
  makeService('ns1', 'svc1', (s) => {
    s.spec.clusterIP = '172.30.0.41';
    s.spec.ports = [tcpPort('p80', 80)];
  }),
  makeService('ns2', 'svc2', (s) => {
    s.spec.type = 'LoadBalancer';
    s.spec.clusterIP = '172.30.0.42';
    s.spec.externalIPs = ['192.168.99.22'];
    s.spec.ports = [tcpPort('p80', 80, { nodePort: 3001 })];
    s.spec.externalTrafficPolicy = 'Local';
    s.spec.healthCheckNodePort = 30000;
    s.status = { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } };
  }),
  makeService('ns3', 'svc3', (s) => {
    s.spec.type = 'NodePort';
    s.spec.clusterIP = '172.30.0.43';
    s.spec.ports = [tcpPort('p80', 80, { nodePort: 3003 })];
  }),
  makeService('ns4', 'svc4', (s) => {
    s.spec.clusterIP = '172.30.0.44';
    s.spec.externalIPs = ['192.168.99.33'];
    s.spec.ports = [tcpPort('p80', 80)];
  }),
  makeService('ns5', 'svc5', (s) => {
    s.spec.type = 'LoadBalancer';
    s.spec.clusterIP = '172.30.0.45';
    s.spec.ports = [tcpPort('p80', 80, { nodePort: 3002 })];
    s.spec.sessionAffinity = 'ClientIP';
    s.spec.loadBalancerSourceRanges = ['203.0.113.0/25'];
    s.status = { loadBalancer: { ingress: [{ ip: '5.6.7.8' }] } };
  }),
  makeService('ns6', 'svc6', (s) => {
    s.spec.clusterIP = '172.30.0.46';
    s.spec.ports = [tcpPort('p80', 80)];
  }),
];

export const overallSlices = [
  makeSlice('ns1', 'svc1', 'a', (s) => {
    s.ports = p80;
    s.endpoints = [endpoint('10.180.0.1')];
  }),
  makeSlice('ns2', 'svc2', 'a', (s) => {
    s.ports = p80;
    s.endpoints = [endpoint('10.180.0.2', { nodeName: 'node2' })];
  }),
  makeSlice('ns3', 'svc3', 'a', (s) => {
    s.ports = p80;
    s.endpoints = [endpoint('10.180.0.3', { nodeName: NODE_NAME })];
  }),
  makeSlice('ns4', 'svc4', 'a', (s) => {
    s.ports = p80;
    s.endpoints = [endpoint('10.180.0.4', { nodeName: NODE_NAME }), endpoint('10.180.0.5', { nodeName: 'node2' })];
  }),
  makeSlice('ns5', 'svc5', 'a', (s) => {
    s.ports = p80;
    s.endpoints = [endpoint('10.180.0.3', { nodeName: NODE_NAME })];
  }),
];

const allJumps = new Set(jumpRules.map((jump) => jumpKey(jump.table, jump.chain, jump.target)));

/** What the top-level nat chains hold after a full sync of the overall services: the state a partial sync starts from. */
const overallTopLevel = renderRules(scenario('overall', overallServices, overallSlices).input, renderOptions).topLevel;

export const scenarios: Scenario[] = [
  scenario('overall', overallServices, overallSlices),
  scenario('overall-jumps-present', overallServices, overallSlices, { sync: { full: true, existingJumps: allJumps } }),
  scenario('partial-svc1-changed', overallServices, overallSlices, {
    sync: { full: false, changedServices: new Set(['ns1/svc1']) },
    // A chain of an endpoint that went away, and one of a service that is gone.
    existingNatChains: new Set(['KPLANE-SEP-STALEENDPOINT0001', 'KPLANE-SVC-STALESERVICE00001', 'KPLANE-SVC-XPGD46QRK7WJZT7O']),
  }),
  // svc1's endpoint changed: its chains are rewritten, but the top-level nat rules are as the last sync left them.
  scenario('partial-top-level-unchanged', overallServices, overallSlices, {
    sync: { full: false, changedServices: new Set(['ns1/svc1']), appliedTopLevel: overallTopLevel },
    existingNatChains: new Set(['KPLANE-SEP-STALEENDPOINT0001', 'KPLANE-SVC-XPGD46QRK7WJZT7O']),
  }),
  // The overall services above the large-cluster threshold: per-endpoint comments go.
  scenario('large-cluster', overallServices, overallSlices, {}, { ...renderOptions, largeClusterEndpoints: 3 }),
  // The overall services written as iptables-nft commits of at most 5 per-service chains each.
  scenario('overall-nat-commits', overallServices, overallSlices, { natChainsPerCommit: 5, existingNatChains: new Set(['KPLANE-SVC-STALESERVICE00001']) }),
  scenario(
    'terminating-fallback',
    [
      makeService('ns1', 'rolling', (s) => {
        s.spec.clusterIP = '172.30.0.51';
        s.spec.ports = [tcpPort('p80', 80)];
      }),
      makeService('ns1', 'mixed', (s) => {
        s.spec.clusterIP = '172.30.0.52';
        s.spec.ports = [tcpPort('p80', 80)];
      }),
    ],
    [
      makeSlice('ns1', 'rolling', 'a', (s) => {
        s.ports = p80;
        s.endpoints = [
          endpoint('10.180.1.1', { conditions: { ready: false, serving: true, terminating: true } }),
          endpoint('10.180.1.2', { conditions: { ready: false, serving: false, terminating: true } }),
        ];
      }),
      makeSlice('ns1', 'mixed', 'a', (s) => {
        s.ports = p80;
        s.endpoints = [endpoint('10.180.2.1'), endpoint('10.180.2.2', { conditions: { ready: false, serving: true, terminating: true } })];
      }),
    ],
  ),
  scenario(
    'internal-traffic-local',
    [
      makeService('ns1', 'local', (s) => {
        s.spec.clusterIP = '172.30.0.61';
        s.spec.internalTrafficPolicy = 'Local';
        s.spec.ports = [tcpPort('p80', 80)];
      }),
      makeService('ns1', 'remote', (s) => {
        s.spec.clusterIP = '172.30.0.62';
        s.spec.internalTrafficPolicy = 'Local';
        s.spec.ports = [tcpPort('p80', 80)];
      }),
    ],
    [
      makeSlice('ns1', 'local', 'a', (s) => {
        s.ports = p80;
        s.endpoints = [endpoint('10.180.3.1', { nodeName: NODE_NAME }), endpoint('10.180.3.2', { nodeName: 'node2' })];
      }),
      makeSlice('ns1', 'remote', 'a', (s) => {
        s.ports = p80;
        s.endpoints = [endpoint('10.180.4.1', { nodeName: 'node2' })];
      }),
    ],
  ),
  scenario(
    'external-traffic-local',
    [
      makeService('ns1', 'np', (s) => {
        s.spec.type = 'NodePort';
        s.spec.clusterIP = '172.30.0.71';
        s.spec.externalTrafficPolicy = 'Local';
        s.spec.ports = [tcpPort('p80', 80, { nodePort: 30071 })];
      }),
    ],
    [
      makeSlice('ns1', 'np', 'a', (s) => {
        s.ports = p80;
        s.endpoints = [endpoint('10.180.5.1', { nodeName: NODE_NAME }), endpoint('10.180.5.2', { nodeName: 'node2' }), endpoint('10.180.5.3', { nodeName: NODE_NAME })];
      }),
    ],
  ),
  scenario(
    'protocols-and-named-ports',
    [
      makeService('ns1', 'dns', (s) => {
        s.spec.clusterIP = '172.30.0.81';
        s.spec.ports = [
          { name: 'dns', protocol: 'UDP', port: 53, targetPort: 'dns' },
          { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 'dns-tcp' },
          { name: 'sctp', protocol: 'SCTP', port: 9999, targetPort: 9999 },
        ];
      }),
    ],
    [
      makeSlice('ns1', 'dns', 'a', (s) => {
        // The slice carries the resolved target ports: "dns" is 5353 on these pods.
        s.ports = [
          { name: 'dns', protocol: 'UDP', port: 5353 },
          { name: 'dns-tcp', protocol: 'TCP', port: 5353 },
          { name: 'sctp', protocol: 'SCTP', port: 9999 },
        ];
        s.endpoints = [endpoint('10.180.6.1'), endpoint('10.180.6.2'), endpoint('10.180.6.3')];
      }),
    ],
  ),
  scenario(
    'affinity-timeout',
    [
      makeService('ns1', 'sticky', (s) => {
        s.spec.clusterIP = '172.30.0.91';
        s.spec.sessionAffinity = 'ClientIP';
        s.spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 60 } };
        s.spec.ports = [tcpPort('p80', 80)];
      }),
    ],
    [
      makeSlice('ns1', 'sticky', 'a', (s) => {
        s.ports = p80;
        s.endpoints = [endpoint('10.180.7.1'), endpoint('10.180.7.2')];
      }),
    ],
  ),
  scenario(
    'nodeport-addresses-without-cluster-cidr',
    [
      makeService('ns1', 'np', (s) => {
        s.spec.type = 'NodePort';
        s.spec.clusterIP = '172.30.0.101';
        s.spec.externalTrafficPolicy = 'Local';
        s.spec.ports = [tcpPort('p80', 80, { nodePort: 30101 })];
      }),
    ],
    [
      makeSlice('ns1', 'np', 'a', (s) => {
        s.ports = p80;
        s.endpoints = [endpoint('10.180.8.1', { nodeName: NODE_NAME })];
      }),
    ],
    { nodePortAddresses: ['192.168.0.2', '192.168.1.2'] },
    { ...renderOptions, clusterCidr: undefined },
  ),
  scenario(
    'source-range-contains-node',
    [
      makeService('ns1', 'lb', (s) => {
        s.spec.type = 'LoadBalancer';
        s.spec.clusterIP = '172.30.0.111';
        s.spec.loadBalancerSourceRanges = ['192.168.0.0/24', '203.0.113.0/25'];
        s.spec.ports = [tcpPort('p80', 80, { nodePort: 30111 })];
        s.status = { loadBalancer: { ingress: [{ ip: '5.6.7.9' }] } };
      }),
    ],
    [
      makeSlice('ns1', 'lb', 'a', (s) => {
        s.ports = p80;
        s.endpoints = [endpoint('10.180.9.1')];
      }),
    ],
  ),
];

export function scenarioNamed(name: string): Scenario {
  const found = scenarios.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no scenario ${name}`);
  return found;
}
