import { describe, expect, test } from 'vitest';
import type { EndpointInfo, ServicePortInfo } from '../../../proxy/model.ts';
import { categorizeEndpoints } from '../../../proxy/topology.ts';

const base: ServicePortInfo = {
  name: 'ns/svc:p80',
  service: 'ns/svc',
  protocol: 'TCP',
  clusterIP: '172.30.0.1',
  port: 80,
  nodePort: 0,
  externalIPs: [],
  loadBalancerIPs: [],
  loadBalancerSourceRanges: [],
  affinitySeconds: 0,
  externalPolicyLocal: false,
  internalPolicyLocal: false,
  healthCheckNodePort: 0,
};

type Flags = 'ready' | 'serving' | 'terminating' | 'local';
function ep(ip: string, ...flags: Flags[]): EndpointInfo {
  const has = (flag: Flags) => flags.includes(flag);
  return { ip, port: 80, endpoint: `${ip}:80`, ready: has('ready'), serving: has('serving') || has('ready'), terminating: has('terminating'), local: has('local') };
}

const ips = (list: readonly EndpointInfo[]) => list.map((endpoint) => endpoint.ip);

interface Case {
  name: string;
  service: Partial<ServicePortInfo>;
  endpoints: EndpointInfo[];
  cluster: string[];
  local: string[];
  allReachable: string[];
  hasAnyEndpoints: boolean;
}

const externalLocal = { nodePort: 30000, externalPolicyLocal: true };

const cases: Case[] = [
  { name: 'Cluster policy: every ready endpoint', service: {}, endpoints: [ep('10.0.0.1', 'ready'), ep('10.0.0.2', 'ready', 'local'), ep('10.0.0.3')], cluster: ['10.0.0.1', '10.0.0.2'], local: [], allReachable: ['10.0.0.1', '10.0.0.2'], hasAnyEndpoints: true },
  { name: 'Cluster policy, none ready: serving terminating ones', service: {}, endpoints: [ep('10.0.0.1', 'serving', 'terminating'), ep('10.0.0.2', 'terminating')], cluster: ['10.0.0.1'], local: [], allReachable: ['10.0.0.1'], hasAnyEndpoints: true },
  { name: 'Cluster policy, ready ones win over terminating ones', service: {}, endpoints: [ep('10.0.0.1', 'serving', 'terminating'), ep('10.0.0.2', 'ready')], cluster: ['10.0.0.2'], local: [], allReachable: ['10.0.0.2'], hasAnyEndpoints: true },
  { name: 'Cluster policy, nothing usable', service: {}, endpoints: [ep('10.0.0.1'), ep('10.0.0.2', 'terminating')], cluster: [], local: [], allReachable: [], hasAnyEndpoints: false },
  { name: 'internal Local: only local ready endpoints', service: { internalPolicyLocal: true }, endpoints: [ep('10.0.0.1', 'ready'), ep('10.0.0.2', 'ready', 'local')], cluster: [], local: ['10.0.0.2'], allReachable: ['10.0.0.2'], hasAnyEndpoints: true },
  { name: 'internal Local without local endpoints: has endpoints elsewhere', service: { internalPolicyLocal: true }, endpoints: [ep('10.0.0.1', 'ready')], cluster: [], local: [], allReachable: [], hasAnyEndpoints: true },
  { name: 'internal Local: local terminating fallback', service: { internalPolicyLocal: true }, endpoints: [ep('10.0.0.1', 'ready'), ep('10.0.0.2', 'serving', 'terminating', 'local')], cluster: [], local: ['10.0.0.2'], allReachable: ['10.0.0.2'], hasAnyEndpoints: true },
  { name: 'external Local: Cluster endpoints for internal traffic, local ones for external', service: externalLocal, endpoints: [ep('10.0.0.1', 'ready'), ep('10.0.0.2', 'ready', 'local')], cluster: ['10.0.0.1', '10.0.0.2'], local: ['10.0.0.2'], allReachable: ['10.0.0.1', '10.0.0.2'], hasAnyEndpoints: true },
  { name: 'external Local: a local terminating endpoint joins the reachable set', service: externalLocal, endpoints: [ep('10.0.0.1', 'ready'), ep('10.0.0.2', 'serving', 'terminating', 'local')], cluster: ['10.0.0.1'], local: ['10.0.0.2'], allReachable: ['10.0.0.1', '10.0.0.2'], hasAnyEndpoints: true },
  { name: 'external Local without local endpoints', service: externalLocal, endpoints: [ep('10.0.0.1', 'ready')], cluster: ['10.0.0.1'], local: [], allReachable: ['10.0.0.1'], hasAnyEndpoints: true },
  { name: 'both Local on a NodePort: Cluster endpoints kept for short-circuits', service: { ...externalLocal, internalPolicyLocal: true }, endpoints: [ep('10.0.0.1', 'ready'), ep('10.0.0.2', 'ready', 'local')], cluster: ['10.0.0.1', '10.0.0.2'], local: ['10.0.0.2'], allReachable: ['10.0.0.1', '10.0.0.2'], hasAnyEndpoints: true },
  { name: 'no endpoints at all', service: externalLocal, endpoints: [], cluster: [], local: [], allReachable: [], hasAnyEndpoints: false },
];

describe('categorizeEndpoints', () => {
  test.each(cases)('$name', ({ service, endpoints, cluster, local, allReachable, hasAnyEndpoints }) => {
    const result = categorizeEndpoints(endpoints, { ...base, ...service });
    expect({ cluster: ips(result.cluster), local: ips(result.local), allReachable: ips(result.allReachable), hasAnyEndpoints: result.hasAnyEndpoints }).toEqual({ cluster, local, allReachable, hasAnyEndpoints });
  });
});
