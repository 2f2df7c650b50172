import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { MAX_CHAIN_NAME_LENGTH } from '../../../../proxy/iptables/chain-names.ts';
import { parseIptables } from '../../../../proxy/iptables/parse.ts';
import { LARGE_CLUSTER_ENDPOINTS, probability, RenderCache, renderRules, type SyncKind } from '../../../../proxy/iptables/render.ts';
import { buildModel, endpoint, makeService, makeSlice, NODE_IP, renderOptions, tcpPort } from '../builders.ts';
import { scenarioNamed, scenarios } from './scenarios.ts';
import { tracePacket, undeclaredJumps, type Packet } from './tracer.ts';

const golden = (name: string) => readFileSync(new URL(`./testdata/${name}.rules`, import.meta.url), 'utf8');

describe('renderRules golden output', () => {
  test.each(scenarios.map((scenario) => [scenario.name, scenario] as const))('%s', (name, scenario) => {
    expect(renderRules(scenario.input, scenario.options).text).toBe(golden(name));
  });

  test('renders the same bytes for the same input', () => {
    const scenario = scenarioNamed('overall');
    expect(renderRules(scenario.input, scenario.options).text).toBe(renderRules(scenario.input, scenario.options).text);
  });

  test.each(scenarios.map((scenario) => [scenario.name, scenario] as const))('a render cache changes nothing in %s', (_name, scenario) => {
    const cache = new RenderCache();
    const plain = renderRules(scenario.input, scenario.options);
    expect(renderRules(scenario.input, scenario.options, cache)).toEqual(plain);
    expect(renderRules(scenario.input, scenario.options, cache)).toEqual(plain);
  });

  test('a cached port is rendered again when its endpoints or the settings change', () => {
    const cache = new RenderCache();
    const scenario = scenarioNamed('overall');
    renderRules(scenario.input, scenario.options, cache);
    const endpoints = new Map(scenario.input.endpoints);
    endpoints.set('ns1/svc1:p80/TCP', [{ ip: '10.180.0.9', port: 80, endpoint: '10.180.0.9:80', ready: true, serving: true, terminating: false, local: false }]);
    const changed = renderRules({ ...scenario.input, endpoints }, scenario.options, cache);
    expect(changed.text).toContain('--to-destination 10.180.0.9:80');
    expect(changed.text).not.toContain('--to-destination 10.180.0.1:80');
    const otherCidr = renderRules({ ...scenario.input, endpoints }, { ...scenario.options, clusterCidr: '10.244.0.0/16' }, cache);
    expect(otherCidr.text).toContain('! -s 10.244.0.0/16');
    expect(otherCidr.text).not.toContain('! -s 10.0.0.0/8');
  });
});

describe('renderRules consistency', () => {
  test.each(scenarios.filter((scenario) => scenario.input.sync.full).map((scenario) => [scenario.name, scenario] as const))('every jump in %s goes to a declared chain', (_name, scenario) => {
    expect(undeclaredJumps(renderRules(scenario.input, scenario.options).text)).toEqual([]);
  });

  test('a partial sync only jumps to chains it declares or that the previous sync left in place', () => {
    const scenario = scenarioNamed('partial-svc1-changed');
    const full = renderRules({ ...scenario.input, sync: { full: true, existingJumps: new Set() } }, scenario.options);
    const partial = renderRules(scenario.input, scenario.options);
    expect(undeclaredJumps(partial.text, full.activeNatChains)).toEqual([]);
    expect(partial.activeNatChains).toEqual(full.activeNatChains);
  });

  test('chain names fit iptables (28 characters)', () => {
    for (const scenario of scenarios) {
      for (const table of parseIptables(renderRules(scenario.input, scenario.options).text).values()) {
        for (const chain of table.chains.keys()) expect(chain.length, chain).toBeLessThanOrEqual(MAX_CHAIN_NAME_LENGTH);
      }
    }
  });
});

interface Flow {
  name: string;
  packet: Packet;
  outputs: string[];
  masquerade: boolean;
}

const pod = '10.0.0.2';
const outside = '192.168.0.3';
const tcp = (source: string, destination: string, port: number): Packet => ({ source, destination, protocol: 'tcp', port });

const flows: Record<string, Flow[]> = {
  overall: [
    { name: 'pod to cluster IP', packet: tcp(pod, '172.30.0.41', 80), outputs: ['10.180.0.1:80'], masquerade: false },
    { name: 'external to cluster IP is masqueraded', packet: tcp(outside, '172.30.0.41', 80), outputs: ['10.180.0.1:80'], masquerade: true },
    { name: 'node to cluster IP is masqueraded', packet: tcp(NODE_IP, '172.30.0.41', 80), outputs: ['10.180.0.1:80'], masquerade: true },
    { name: 'endpoint to its own service (hairpin) is masqueraded', packet: tcp('10.180.0.1', '172.30.0.41', 80), outputs: ['10.180.0.1:80'], masquerade: true },
    { name: 'cluster IP on another port goes nowhere', packet: tcp(pod, '172.30.0.41', 81), outputs: [], masquerade: false },
    { name: 'external to Local-policy external IP without local endpoints is dropped', packet: tcp(outside, '192.168.99.22', 80), outputs: ['DROP'], masquerade: false },
    { name: 'pod to Local-policy external IP short-circuits to every endpoint', packet: tcp(pod, '192.168.99.22', 80), outputs: ['10.180.0.2:80'], masquerade: false },
    { name: 'node to Local-policy LB IP is masqueraded to every endpoint', packet: tcp(NODE_IP, '1.2.3.4', 80), outputs: ['10.180.0.2:80'], masquerade: true },
    { name: 'external to Local-policy LB IP without local endpoints is dropped', packet: tcp(outside, '1.2.3.4', 80), outputs: ['DROP'], masquerade: false },
    { name: 'external to Local-policy NodePort without local endpoints is dropped', packet: tcp(outside, NODE_IP, 3001), outputs: ['DROP'], masquerade: false },
    { name: 'health check node port is accepted', packet: tcp(outside, NODE_IP, 30000), outputs: ['ACCEPT'], masquerade: false },
    { name: 'external to Cluster-policy NodePort is masqueraded', packet: tcp(outside, NODE_IP, 3003), outputs: ['10.180.0.3:80'], masquerade: true },
    { name: 'NodePort on any other local address of the node', packet: tcp(outside, '192.168.0.9', 3003), outputs: ['10.180.0.3:80'], masquerade: true },
    { name: 'NodePort port on an address that is not the node\'s is not captured', packet: tcp(outside, '192.168.0.77', 3003), outputs: [], masquerade: false },
    { name: 'external to Cluster-policy external IP spreads over both endpoints', packet: tcp(outside, '192.168.99.33', 80), outputs: ['10.180.0.4:80', '10.180.0.5:80'], masquerade: true },
    { name: 'LB IP from an allowed source range', packet: tcp('203.0.113.1', '5.6.7.8', 80), outputs: ['10.180.0.3:80'], masquerade: true },
    { name: 'LB IP from outside the source ranges is dropped', packet: tcp('203.0.113.200', '5.6.7.8', 80), outputs: ['DROP'], masquerade: false },
    { name: 'NodePort of a source-ranged LB ignores the ranges', packet: tcp('203.0.113.200', NODE_IP, 3002), outputs: ['10.180.0.3:80'], masquerade: true },
    { name: 'pod to service without endpoints is rejected', packet: tcp(pod, '172.30.0.46', 80), outputs: ['REJECT'], masquerade: false },
    { name: 'external to service without endpoints is rejected', packet: tcp(outside, '172.30.0.46', 80), outputs: ['REJECT'], masquerade: false },
  ],
  'terminating-fallback': [
    { name: 'only serving terminating endpoints: they take the traffic', packet: tcp(pod, '172.30.0.51', 80), outputs: ['10.180.1.1:80'], masquerade: false },
    { name: 'a ready endpoint beats a terminating one', packet: tcp(pod, '172.30.0.52', 80), outputs: ['10.180.2.1:80'], masquerade: false },
  ],
  'internal-traffic-local': [
    { name: 'internal Local policy uses only the local endpoint', packet: tcp(pod, '172.30.0.61', 80), outputs: ['10.180.3.1:80'], masquerade: false },
    { name: 'internal Local policy without local endpoints drops', packet: tcp(pod, '172.30.0.62', 80), outputs: ['DROP'], masquerade: false },
  ],
  'external-traffic-local': [
    { name: 'external NodePort traffic reaches only local endpoints and keeps its source', packet: tcp(outside, NODE_IP, 30071), outputs: ['10.180.5.1:80', '10.180.5.3:80'], masquerade: false },
    { name: 'pod NodePort traffic reaches every endpoint', packet: tcp(pod, NODE_IP, 30071), outputs: ['10.180.5.1:80', '10.180.5.2:80', '10.180.5.3:80'], masquerade: false },
    { name: 'node NodePort traffic is masqueraded to every endpoint', packet: tcp(NODE_IP, NODE_IP, 30071), outputs: ['10.180.5.1:80', '10.180.5.2:80', '10.180.5.3:80'], masquerade: true },
    { name: 'cluster IP traffic uses the Cluster policy', packet: tcp(pod, '172.30.0.71', 80), outputs: ['10.180.5.1:80', '10.180.5.2:80', '10.180.5.3:80'], masquerade: false },
  ],
  'protocols-and-named-ports': [
    { name: 'UDP port reaches the named target port', packet: { source: pod, destination: '172.30.0.81', protocol: 'udp', port: 53 }, outputs: ['10.180.6.1:5353', '10.180.6.2:5353', '10.180.6.3:5353'], masquerade: false },
    { name: 'TCP port of the same number is its own service port', packet: tcp(pod, '172.30.0.81', 53), outputs: ['10.180.6.1:5353', '10.180.6.2:5353', '10.180.6.3:5353'], masquerade: false },
    { name: 'SCTP port', packet: { source: pod, destination: '172.30.0.81', protocol: 'sctp', port: 9999 }, outputs: ['10.180.6.1:9999', '10.180.6.2:9999', '10.180.6.3:9999'], masquerade: false },
  ],
  'nodeport-addresses-without-cluster-cidr': [
    { name: 'NodePort on a listed address', packet: tcp(outside, NODE_IP, 30101), outputs: ['10.180.8.1:80'], masquerade: false },
    { name: 'NodePort on an address that is local but not listed is not captured', packet: tcp(outside, '192.168.0.9', 30101), outputs: [], masquerade: false },
    { name: 'without a cluster CIDR, outside traffic to a cluster IP is not masqueraded', packet: tcp(outside, '172.30.0.101', 80), outputs: ['10.180.8.1:80'], masquerade: false },
  ],
  'source-range-contains-node': [
    { name: 'the LB IP itself is an allowed source when a range contains the node', packet: tcp('5.6.7.9', '5.6.7.9', 80), outputs: ['10.180.9.1:80'], masquerade: true },
    { name: 'other sources are dropped', packet: tcp('198.51.100.1', '5.6.7.9', 80), outputs: ['DROP'], masquerade: false },
  ],
};

// The same services rendered differently must route every packet the same way.
flows['large-cluster'] = flows['overall'] as Flow[];
flows['overall-nat-commits'] = flows['overall'] as Flow[];

describe('packet flows through rendered rules', () => {
  const cases = Object.entries(flows).flatMap(([scenario, list]) => list.map((flow) => [scenario, flow.name, flow] as const));
  test.each(cases)('%s: %s', (scenarioName, _name, flow) => {
    const scenario = scenarioNamed(scenarioName);
    const text = renderRules(scenario.input, scenario.options).text;
    // 192.168.0.9 is local to the node too; only nodePortAddresses decides whether it takes NodePorts.
    const local = [NODE_IP, '192.168.0.9', '5.6.7.9'];
    expect(tracePacket(text, flow.packet, local)).toEqual({ outputs: flow.outputs, masquerade: flow.masquerade });
  });
});

describe('rule counts', () => {
  // Growth in these numbers shows up in review: each is the rules a scenario costs.
  const expected: Record<string, { filterRules: number; natRules: number; natRulesTotal: number; natChains: number }> = {
    overall: { filterRules: 9, natRules: 52, natRulesTotal: 52, natChains: 16 },
    'overall-jumps-present': { filterRules: 9, natRules: 52, natRulesTotal: 52, natChains: 16 },
    'partial-svc1-changed': { filterRules: 9, natRules: 21, natRulesTotal: 52, natChains: 16 },
    'partial-top-level-unchanged': { filterRules: 9, natRules: 4, natRulesTotal: 52, natChains: 16 },
    'large-cluster': { filterRules: 9, natRules: 52, natRulesTotal: 52, natChains: 16 },
    'overall-nat-commits': { filterRules: 9, natRules: 52, natRulesTotal: 52, natChains: 16 },
    'terminating-fallback': { filterRules: 3, natRules: 15, natRulesTotal: 15, natChains: 4 },
    'internal-traffic-local': { filterRules: 4, natRules: 10, natRulesTotal: 10, natChains: 2 },
    'external-traffic-local': { filterRules: 3, natRules: 23, natRulesTotal: 23, natChains: 6 },
    'protocols-and-named-ports': { filterRules: 3, natRules: 38, natRulesTotal: 38, natChains: 12 },
    'affinity-timeout': { filterRules: 3, natRules: 15, natRulesTotal: 15, natChains: 3 },
    'nodeport-addresses-without-cluster-cidr': { filterRules: 3, natRules: 15, natRulesTotal: 15, natChains: 4 },
    'source-range-contains-node': { filterRules: 4, natRules: 18, natRulesTotal: 18, natChains: 4 },
  };
  test.each(scenarios.map((scenario) => [scenario.name, scenario] as const))('%s', (name, scenario) => {
    expect(renderRules(scenario.input, scenario.options).counts).toEqual(expected[name]);
  });
});

describe('renderRules details', () => {
  test.each([
    [2, ['0.5000000000']],
    [3, ['0.3333333333', '0.5000000000']],
    [4, ['0.2500000000', '0.3333333333', '0.5000000000']],
  ])('%i endpoints get equal chances: %j, then an unconditional jump', (n, probabilities) => {
    expect(Array.from({ length: n - 1 }, (_, i) => probability(n - i))).toEqual(probabilities);
  });

  test('deletes per-service chains no longer used and keeps chains that are not per-service', () => {
    const scenario = scenarioNamed('overall');
    const result = renderRules({ ...scenario.input, existingNatChains: new Set(['KPLANE-SEP-GONEGONEGONEGONE', 'KPLANE-SVC-XPGD46QRK7WJZT7O', 'KPLANE-SERVICES']) }, scenario.options);
    expect(result.deletedChains).toEqual(['KPLANE-SEP-GONEGONEGONEGONE']);
    expect(result.text).toContain(':KPLANE-SEP-GONEGONEGONEGONE - [0:0]\n');
    expect(result.text).toContain('-X KPLANE-SEP-GONEGONEGONEGONE\n');
  });

  test('a partial sync that changes nothing in nat writes no nat commit', () => {
    const scenario = scenarioNamed('partial-top-level-unchanged');
    const result = renderRules({ ...scenario.input, existingNatChains: new Set(), sync: { ...scenario.input.sync, changedServices: new Set() } as SyncKind }, scenario.options);
    expect(result.natCommits).toBe(0);
    expect(result.text).not.toContain('*nat');
    expect(result.text).toMatch(/^\*filter\n[^]*COMMIT\n$/);
    expect(result.counts.natRulesTotal).toBe(52);
  });

  test('iptables-nft commits keep each service whole, reference only chains of earlier commits, and hook in last', () => {
    const scenario = scenarioNamed('overall-nat-commits');
    const result = renderRules(scenario.input, scenario.options);
    const commits = result.text.split('*nat\n').slice(1);
    expect(result.natCommits).toBe(commits.length);
    const declared = new Set<string>(['KPLANE-MARK-MASQ']);
    const existing = (chain: string) => declared.has(chain) || !chain.startsWith('KPLANE-');
    for (const commit of commits) {
      for (const match of commit.matchAll(/^:(\S+)/gm)) declared.add(match[1] as string);
      for (const match of commit.matchAll(/^-[AI] \S+ .*-j (KPLANE-\S+)/gm)) expect(existing(match[1] as string), match[0]).toBe(true);
    }
    expect(commits.at(-1)).toMatch(/^(-I [^\n]+\n)+COMMIT\n$/);
    // The whole payload describes the same rules as one commit does.
    const single = renderRules({ ...scenario.input, natChainsPerCommit: undefined }, scenario.options);
    expect(single.natCommits).toBe(1);
    const sortedRules = (text: string) => text.split('\n').filter((line) => line.startsWith('-')).sort();
    expect(sortedRules(result.text)).toEqual(sortedRules(single.text));
  });

  test('a nat payload within the per-commit budget stays one commit', () => {
    const scenario = scenarioNamed('overall');
    expect(renderRules({ ...scenario.input, natChainsPerCommit: 16 }, scenario.options).natCommits).toBe(1);
    expect(renderRules({ ...scenario.input, natChainsPerCommit: 15 }, scenario.options).natCommits).toBeGreaterThan(1);
  });

  test('counts services whose Local policy has no local endpoint', () => {
    expect(renderRules(scenarioNamed('overall').input, renderOptions).noLocalEndpoints).toEqual({ internal: 0, external: 1 });
    expect(renderRules(scenarioNamed('internal-traffic-local').input, renderOptions).noLocalEndpoints).toEqual({ internal: 1, external: 0 });
  });

  test(`drops per-endpoint comments above ${LARGE_CLUSTER_ENDPOINTS} endpoints`, () => {
    const ips = Array.from({ length: LARGE_CLUSTER_ENDPOINTS + 1 }, (_, i) => `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`);
    const service = makeService('ns1', 'big', (s) => {
      s.spec.clusterIP = '172.30.1.1';
      s.spec.ports = [tcpPort('p80', 80)];
    });
    const slice = makeSlice('ns1', 'big', 'a', (s) => {
      s.ports = [{ name: 'p80', port: 80, protocol: 'TCP' }];
      s.endpoints = ips.map((ip) => endpoint(ip));
    });
    const result = renderRules({ ...buildModel([service], [slice]), nodePortAddresses: undefined, existingNatChains: new Set(), sync: { full: true, existingJumps: new Set() } }, renderOptions);
    expect(result.largeClusterMode).toBe(true);
    expect(result.text).not.toMatch(/-A KPLANE-SEP-\S+ -m comment/);
    expect(result.text).not.toMatch(/-A KPLANE-SVC-\S+ -m comment --comment "ns1\/big:p80 ->/);
    expect(result.counts.natChains).toBe(LARGE_CLUSTER_ENDPOINTS + 2);
  });
});
