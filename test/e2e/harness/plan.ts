/**
 * The cluster's address plan and the `ip -batch` scripts that build it. Pure:
 * options in, names, addresses and command lines out, so the whole topology is
 * pinned by a table test and the side-effect edge (netns.ts) only runs text.
 *
 * Topology (defaults):
 *
 *   <p>lan      bridge br0 172.30.0.1/24 (the LAN; forwards nothing)
 *   <p>node-1   eth0 172.30.0.11/24, pods 10.244.1.0/24 (.1 on each pod veth)
 *   <p>node-2   eth0 172.30.0.12/24, pods 10.244.2.0/24
 *   <p>client-1 eth0 172.30.0.100/24, route 172.31.0.0/24 (LB pool) via 172.30.0.11
 *   <p><pod>.<namespace>  eth0 10.244.N.K/32, default via 10.244.N.1
 *
 * Pods are routed, not bridged: the node has a /32 route per pod to the pod's
 * veth (as the ptp CNI plugin and Calico do), so every packet a pod sends,
 * even to a pod on the same node, crosses the node's IP stack and its
 * iptables rules, and hairpin service traffic needs no br_netfilter.
 */

export interface ClusterPlanOptions {
  /** Unique per run, e.g. "kpt3a4f1c-": every namespace name starts with it. */
  prefix: string;
  nodes: number;
  clients: number;
  /** The LAN, a /24: the bridge takes .1, nodes .11 and up, clients .100 and up. */
  lanCidr: string;
  /** The cluster's pod CIDR, a /16: node N gets the /24 with third octet N. */
  clusterCidr: string;
  serviceCidr: string;
  lbPool: string;
}

export interface LanPlan {
  netns: string;
  bridge: string;
  /** The bridge's own address: the nodes' default gateway, a router that forwards nothing. */
  gatewayIp: string;
  prefixLength: number;
}

export interface NodePlan {
  /** The Node object's name, e.g. "node-1"; also its port name on the bridge. */
  name: string;
  index: number;
  netns: string;
  ip: string;
  podCidr: string;
  /** The node's address inside its pod CIDR (.1), held on every pod veth. */
  podGatewayIp: string;
}

export interface ClientPlan {
  name: string;
  netns: string;
  ip: string;
  /** The node the client routes the LB pool through, as an upstream router would. */
  lbNextHop: string;
}

export interface ClusterPlan {
  prefix: string;
  lan: LanPlan;
  /** A namespace of its own for the API store: only `lo`, reached over its unix socket. */
  apiNetns: string;
  nodes: NodePlan[];
  clients: ClientPlan[];
  clusterCidr: string;
  serviceCidr: string;
  lbPool: string;
}

export interface PodNetworkPlan {
  netns: string;
  ip: string;
  /** The node-side end of the pod's veth (unique inside the node's namespace). */
  hostVeth: string;
}

export const defaultPlanOptions = {
  nodes: 2,
  clients: 1,
  lanCidr: '172.30.0.0/24',
  clusterCidr: '10.244.0.0/16',
  serviceCidr: '10.96.0.0/12',
  lbPool: '172.31.0.0/24',
} as const;

const PREFIX_PATTERN = /^kpt[0-9a-f]{6}-$/;
/** Linux interface names are at most 15 bytes. */
const IFNAME_MAX = 15;

export function isRunPrefix(prefix: string): boolean {
  return PREFIX_PATTERN.test(prefix);
}

/** The run prefix a namespace name belongs to, or undefined when it is not one of ours. */
export function runPrefixOf(netns: string): string | undefined {
  const match = /^(kpt[0-9a-f]{6}-)/.exec(netns);
  return match?.[1];
}

export function parseCidr(cidr: string): { base: number[]; length: number } {
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!match) throw new Error(`not an IPv4 CIDR: "${cidr}"`);
  const base = match.slice(1, 5).map(Number);
  const length = Number(match[5]);
  if (base.some((octet) => octet > 255) || length > 32) throw new Error(`not an IPv4 CIDR: "${cidr}"`);
  return { base, length };
}

function octets(cidr: string, expectedLength: number, what: string): number[] {
  const { base, length } = parseCidr(cidr);
  if (length !== expectedLength) throw new Error(`${what} must be a /${expectedLength}, got "${cidr}"`);
  return base;
}

export function planCluster(options: ClusterPlanOptions): ClusterPlan {
  if (!isRunPrefix(options.prefix)) throw new Error(`run prefix must look like "kpt1a2b3c-", got "${options.prefix}"`);
  if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > 80) throw new Error(`nodes must be 1..80, got ${options.nodes}`);
  if (!Number.isInteger(options.clients) || options.clients < 0 || options.clients > 50) throw new Error(`clients must be 0..50, got ${options.clients}`);
  const [l0, l1, l2] = octets(options.lanCidr, 24, 'lanCidr');
  const [c0, c1] = octets(options.clusterCidr, 16, 'clusterCidr');
  parseCidr(options.serviceCidr);
  parseCidr(options.lbPool);
  const lanIp = (host: number) => `${l0}.${l1}.${l2}.${host}`;
  const p = options.prefix;
  const nodes: NodePlan[] = [];
  for (let i = 1; i <= options.nodes; i++) {
    nodes.push({
      name: `node-${i}`,
      index: i,
      netns: `${p}node-${i}`,
      ip: lanIp(10 + i),
      podCidr: `${c0}.${c1}.${i}.0/24`,
      podGatewayIp: `${c0}.${c1}.${i}.1`,
    });
  }
  const firstNode = nodes[0] as NodePlan;
  const clients: ClientPlan[] = [];
  for (let j = 1; j <= options.clients; j++) {
    clients.push({ name: `client-${j}`, netns: `${p}client-${j}`, ip: lanIp(99 + j), lbNextHop: firstNode.ip });
  }
  return {
    prefix: p,
    lan: { netns: `${p}lan`, bridge: 'br0', gatewayIp: lanIp(1), prefixLength: 24 },
    apiNetns: `${p}api`,
    nodes,
    clients,
    clusterCidr: options.clusterCidr,
    serviceCidr: options.serviceCidr,
    lbPool: options.lbPool,
  };
}

/** Kubernetes object names are DNS labels/subdomains; the harness accepts the label subset. */
export function checkObjectName(what: string, name: string): void {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) throw new Error(`${what} "${name}" is not a valid DNS label`);
}

/** The pod's namespace name: `<prefix><pod>.<namespace>` (dots cannot occur in either part). */
export function podNetnsName(prefix: string, namespace: string, name: string): string {
  return `${prefix}${name}.${namespace}`;
}

/**
 * The pod's address and veth: host part `slot` (2..254) of the node's pod CIDR;
 * the host-side veth is named after it ("veth5" for 10.244.1.5).
 */
export function planPodNetwork(plan: ClusterPlan, node: NodePlan, slot: number, namespace: string, name: string): PodNetworkPlan {
  if (!Number.isInteger(slot) || slot < 2 || slot > 254) throw new Error(`pod slot must be 2..254, got ${slot}`);
  checkObjectName('pod name', name);
  checkObjectName('namespace', namespace);
  const [a, b, c] = octets(node.podCidr, 24, 'podCidr');
  const hostVeth = `veth${slot}`;
  if (hostVeth.length > IFNAME_MAX) throw new Error(`interface name too long: ${hostVeth}`);
  return { netns: podNetnsName(plan.prefix, namespace, name), ip: `${a}.${b}.${c}.${slot}`, hostVeth };
}

/** Namespaces the cluster creates up front (pods come and go later). */
export function baseNamespaces(plan: ClusterPlan): string[] {
  return [plan.lan.netns, plan.apiNetns, ...plan.nodes.map((n) => n.netns), ...plan.clients.map((c) => c.netns)];
}

/** Root-context batch: only `netns add` / `netns del` of our own names, nothing else. */
export function netnsBatch(verb: 'add' | 'del', names: readonly string[]): string[] {
  return names.map((name) => `netns ${verb} ${name}`);
}

/** Batch run inside the LAN namespace: the bridge, and a veth per node/client whose peer lands as eth0 in that namespace. */
export function lanBatch(plan: ClusterPlan): string[] {
  const { lan } = plan;
  const lines = [
    'link set lo up',
    `link add ${lan.bridge} type bridge`,
    `addr add ${lan.gatewayIp}/${lan.prefixLength} dev ${lan.bridge}`,
    `link set ${lan.bridge} up`,
  ];
  for (const member of [...plan.nodes, ...plan.clients]) {
    if (member.name.length > IFNAME_MAX) throw new Error(`interface name too long: ${member.name}`);
    lines.push(`link add ${member.name} type veth peer name eth0 netns ${member.netns}`);
    lines.push(`link set ${member.name} master ${lan.bridge}`);
    lines.push(`link set ${member.name} up`);
  }
  return lines;
}

/** Batch run inside a node namespace once its eth0 exists: LAN address, default gateway, routes to the other nodes' pod CIDRs. */
export function nodeBatch(plan: ClusterPlan, node: NodePlan): string[] {
  const lines = [
    'link set lo up',
    `addr add ${node.ip}/${plan.lan.prefixLength} dev eth0`,
    'link set eth0 up',
    `route add default via ${plan.lan.gatewayIp} dev eth0`,
  ];
  for (const other of plan.nodes) {
    if (other !== node) lines.push(`route add ${other.podCidr} via ${other.ip} dev eth0`);
  }
  return lines;
}

/** Batch run inside a client namespace: its LAN address and the LB pool via a node; nothing else cluster-internal. */
export function clientBatch(plan: ClusterPlan, client: ClientPlan): string[] {
  return [
    'link set lo up',
    `addr add ${client.ip}/${plan.lan.prefixLength} dev eth0`,
    'link set eth0 up',
    `route add ${plan.lbPool} via ${client.lbNextHop} dev eth0`,
  ];
}

/** Batch run inside the node namespace to attach a pod: the veth (peer lands as eth0 in the pod), the gateway /32 and the pod's /32 route. */
export function podHostBatch(node: NodePlan, pod: PodNetworkPlan): string[] {
  return [
    `link add ${pod.hostVeth} type veth peer name eth0 netns ${pod.netns}`,
    `addr add ${node.podGatewayIp}/32 dev ${pod.hostVeth}`,
    `link set ${pod.hostVeth} up`,
    `route add ${pod.ip}/32 dev ${pod.hostVeth} src ${node.podGatewayIp}`,
  ];
}

/** Batch run inside the pod namespace: its /32, an on-link route to the node's gateway address and the default route. */
export function podBatch(node: NodePlan, pod: PodNetworkPlan): string[] {
  return [
    'link set lo up',
    `addr add ${pod.ip}/32 dev eth0`,
    'link set eth0 up',
    `route add ${node.podGatewayIp}/32 dev eth0 scope link`,
    `route add default via ${node.podGatewayIp} dev eth0 src ${pod.ip}`,
  ];
}

/** Batch run inside the node namespace when a pod goes away (deleting the pod's namespace would do it too). */
export function podHostCleanupBatch(pod: PodNetworkPlan): string[] {
  return [`link del ${pod.hostVeth}`];
}

/** /etc/netns/<pod>/resolv.conf: the cluster DNS and the Kubernetes search path for the pod's namespace. */
export function podResolvConf(namespace: string, dnsIp: string, zone = 'cluster.local'): string {
  return [`nameserver ${dnsIp}`, `search ${namespace}.svc.${zone} svc.${zone} ${zone}`, 'options ndots:5', ''].join('\n');
}

/** /etc/netns/<pod>/hosts, as the kubelet writes it. */
export function podHosts(ip: string, hostname: string): string {
  return ['# Kubernetes-managed hosts file (kplane e2e harness).', '127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `${ip}\t${hostname}`, ''].join('\n');
}
