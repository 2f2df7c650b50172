import { describe, expect, it } from 'vitest';
import {
  baseNamespaces, clientBatch, lanBatch, netnsBatch, nodeBatch, planCluster, planPodNetwork, podBatch, podHostBatch, podResolvConf, runPrefixOf,
} from './plan.ts';

const plan = planCluster({ prefix: 'kpt0a1b2c-', nodes: 2, clients: 1, lanCidr: '172.30.0.0/24', clusterCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12', lbPool: '172.31.0.0/24' });
const [node1, node2] = plan.nodes as [NonNullable<(typeof plan.nodes)[0]>, NonNullable<(typeof plan.nodes)[1]>];
const client = plan.clients[0]!;

describe('planCluster', () => {
  it('numbers nodes from .11 with a /24 pod CIDR each and clients from .100', () => {
    expect(plan.nodes.map((n) => [n.name, n.netns, n.ip, n.podCidr, n.podGatewayIp])).toEqual([
      ['node-1', 'kpt0a1b2c-node-1', '172.30.0.11', '10.244.1.0/24', '10.244.1.1'],
      ['node-2', 'kpt0a1b2c-node-2', '172.30.0.12', '10.244.2.0/24', '10.244.2.1'],
    ]);
    expect([client.name, client.netns, client.ip, client.lbNextHop]).toEqual(['client-1', 'kpt0a1b2c-client-1', '172.30.0.100', '172.30.0.11']);
    expect(baseNamespaces(plan)).toEqual(['kpt0a1b2c-lan', 'kpt0a1b2c-api', 'kpt0a1b2c-node-1', 'kpt0a1b2c-node-2', 'kpt0a1b2c-client-1']);
  });

  it.each([
    { name: 'a prefix without the kpt<hex>- shape', options: { prefix: 'kplane-' }, error: /run prefix/ },
    { name: 'zero nodes', options: { nodes: 0 }, error: /nodes must be/ },
    { name: 'a LAN that is not a /24', options: { lanCidr: '172.30.0.0/16' }, error: /lanCidr must be a \/24/ },
    { name: 'a cluster CIDR that is not a /16', options: { clusterCidr: '10.244.0.0/24' }, error: /clusterCidr must be a \/16/ },
  ])('rejects $name', ({ options, error }) => {
    expect(() => planCluster({ prefix: 'kpt0a1b2c-', nodes: 1, clients: 0, lanCidr: '172.30.0.0/24', clusterCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12', lbPool: '172.31.0.0/24', ...options })).toThrow(error);
  });
});

describe('ip batches', () => {
  it('builds the LAN bridge and one veth per node and client, peers landing as eth0', () => {
    expect(lanBatch(plan)).toEqual([
      'link set lo up',
      'link add br0 type bridge',
      'addr add 172.30.0.1/24 dev br0',
      'link set br0 up',
      'link add node-1 type veth peer name eth0 netns kpt0a1b2c-node-1',
      'link set node-1 master br0',
      'link set node-1 up',
      'link add node-2 type veth peer name eth0 netns kpt0a1b2c-node-2',
      'link set node-2 master br0',
      'link set node-2 up',
      'link add client-1 type veth peer name eth0 netns kpt0a1b2c-client-1',
      'link set client-1 master br0',
      'link set client-1 up',
    ]);
  });

  it('routes other nodes\' pod CIDRs over the LAN and defaults to the LAN gateway', () => {
    expect(nodeBatch(plan, node1)).toEqual([
      'link set lo up',
      'addr add 172.30.0.11/24 dev eth0',
      'link set eth0 up',
      'route add default via 172.30.0.1 dev eth0',
      'route add 10.244.2.0/24 via 172.30.0.12 dev eth0',
    ]);
  });

  it('gives the external client the LB pool via a node and nothing else', () => {
    expect(clientBatch(plan, client)).toEqual(['link set lo up', 'addr add 172.30.0.100/24 dev eth0', 'link set eth0 up', 'route add 172.31.0.0/24 via 172.30.0.11 dev eth0']);
  });

  it('attaches a pod by a routed veth: /32 on both sides, default via the node', () => {
    const pod = planPodNetwork(plan, node2, 5, 'default', 'web-1');
    expect(pod).toEqual({ netns: 'kpt0a1b2c-web-1.default', ip: '10.244.2.5', hostVeth: 'veth5' });
    expect(podHostBatch(node2, pod)).toEqual([
      'link add veth5 type veth peer name eth0 netns kpt0a1b2c-web-1.default',
      'addr add 10.244.2.1/32 dev veth5',
      'link set veth5 up',
      'route add 10.244.2.5/32 dev veth5 src 10.244.2.1',
    ]);
    expect(podBatch(node2, pod)).toEqual([
      'link set lo up',
      'addr add 10.244.2.5/32 dev eth0',
      'link set eth0 up',
      'route add 10.244.2.1/32 dev eth0 scope link',
      'route add default via 10.244.2.1 dev eth0 src 10.244.2.5',
    ]);
  });

  it.each([
    { name: 'slot 1 (the node\'s)', slot: 1, pod: 'a', error: /slot/ },
    { name: 'slot 255', slot: 255, pod: 'a', error: /slot/ },
    { name: 'a pod name with a dot', slot: 2, pod: 'a.b', error: /DNS label/ },
  ])('rejects $name', ({ slot, pod, error }) => {
    expect(() => planPodNetwork(plan, node1, slot, 'default', pod)).toThrow(error);
  });

  it('names only our namespaces in root-context batches', () => {
    expect(netnsBatch('del', ['kpt0a1b2c-lan'])).toEqual(['netns del kpt0a1b2c-lan']);
    expect(runPrefixOf('kpt0a1b2c-web-1.default')).toBe('kpt0a1b2c-');
    expect(runPrefixOf('kplane-x')).toBeUndefined();
  });
});

describe('pod files', () => {
  it('points resolv.conf at the cluster DNS with the Kubernetes search path', () => {
    expect(podResolvConf('shop', '10.96.0.10')).toBe('nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
  });
});
