/**
 * The iptables backend's renderer: (service ports, endpoints, options) →
 * one iptables-restore payload for `--noflush`, laid out like kube-proxy's
 * syncProxyRules (see proxy/README.md for the chain map). Pure: no clock, no
 * environment, no randomness; services are written in key order so the
 * output is byte-stable.
 *
 * A full sync declares every chain and inserts any missing jump from the
 * built-in chains; a partial sync rewrites only the per-service chains of
 * services that changed and the top-level nat chains whose rules differ
 * from what the last sync applied, leaving the rest of the kernel's rules as
 * they are. Both delete per-service chains that are no longer used.
 *
 * With `natChainsPerCommit` (iptables-nft), a nat table whose per-service
 * chains outnumber it is written as several nat commits: first the helper
 * chains, then the service chains in groups that keep each service whole,
 * then the top-level chains that reference them and the deletions, then the
 * jumps from the built-in chains. iptables-nft 1.8.9 keeps the chain names
 * a `--noflush` transaction refers to in a sorted linked list, so one
 * transaction costs O(chains²) in userspace (proxy/README.md, "Performance").
 */
import { LineBuffer } from '../line-buffer.ts';
import { cidrContains, parseIpv4Cidr } from '../ipv4.ts';
import type { EndpointInfo, ServicePortInfo } from '../model.ts';
import { externallyAccessible, usesClusterEndpoints, usesLocalEndpoints } from '../model.ts';
import { categorizeEndpoints } from '../topology.ts';
import { chains, endpointChain, isServiceChain, servicePortChains } from './chain-names.ts';

export type Table = 'filter' | 'nat' | 'mangle';

export interface JumpRule {
  readonly table: Table;
  /** The built-in chain the jump sits in. */
  readonly chain: string;
  readonly target: string;
  readonly comment: string;
  readonly match: readonly string[];
}

const newOnly = ['-m', 'conntrack', '--ctstate', 'NEW'] as const;

/** kube-proxy's iptablesJumpChains, in its order, under kplane's names. */
export const jumpRules: readonly JumpRule[] = [
  { table: 'filter', chain: 'INPUT', target: chains.externalServices, comment: 'kplane externally-visible service portals', match: newOnly },
  { table: 'filter', chain: 'FORWARD', target: chains.externalServices, comment: 'kplane externally-visible service portals', match: newOnly },
  { table: 'filter', chain: 'INPUT', target: chains.nodePorts, comment: 'kplane health check service ports', match: [] },
  { table: 'filter', chain: 'FORWARD', target: chains.services, comment: 'kplane service portals', match: newOnly },
  { table: 'filter', chain: 'OUTPUT', target: chains.services, comment: 'kplane service portals', match: newOnly },
  { table: 'filter', chain: 'FORWARD', target: chains.forward, comment: 'kplane forwarding rules', match: [] },
  { table: 'filter', chain: 'INPUT', target: chains.proxyFirewall, comment: 'kplane load balancer firewall', match: newOnly },
  { table: 'filter', chain: 'OUTPUT', target: chains.proxyFirewall, comment: 'kplane load balancer firewall', match: newOnly },
  { table: 'filter', chain: 'FORWARD', target: chains.proxyFirewall, comment: 'kplane load balancer firewall', match: newOnly },
  { table: 'nat', chain: 'OUTPUT', target: chains.services, comment: 'kplane service portals', match: [] },
  { table: 'nat', chain: 'PREROUTING', target: chains.services, comment: 'kplane service portals', match: [] },
  { table: 'nat', chain: 'POSTROUTING', target: chains.postrouting, comment: 'kplane postrouting rules', match: [] },
];

/** Identifies a jump by where it sits and where it goes, which is how a full sync finds the missing ones. */
export function jumpKey(table: string, chain: string, target: string): string {
  return `${table}/${chain}/${target}`;
}

/**
 * Large-cluster mode, as kube-proxy's: above this many endpoints in total,
 * the per-endpoint comments (SEP rules and the SVC/SVL rules that jump to
 * them) are left out, which makes a 10-endpoint service's payload about 30%
 * smaller; service-level comments stay.
 */
export const LARGE_CLUSTER_ENDPOINTS = 1000;

export interface RenderOptions {
  /** Traffic from outside this CIDR to a ClusterIP is masqueraded; without it, pod traffic is not told apart. */
  readonly clusterCidr: string | undefined;
  /** This node's addresses: a loadBalancerSourceRange containing one also admits traffic from the LB IP itself. */
  readonly nodeIPs: readonly string[];
  /** "0x4000": bit 14, kube-proxy's default. */
  readonly masqueradeMark: string;
  /** Large-cluster mode above this many endpoints in total (default LARGE_CLUSTER_ENDPOINTS); tests lower it. */
  readonly largeClusterEndpoints?: number;
}

/** The rules of each top-level nat chain (KPLANE-SERVICES, -NODEPORTS, -POSTROUTING, -MARK-MASQ) as one text. */
export type TopLevelRules = Readonly<Record<string, string>>;

export type SyncKind =
  | {
      readonly full: true;
      /** Jumps already in the built-in chains (jumpKey); the others are inserted. */
      readonly existingJumps: ReadonlySet<string>;
    }
  | {
      readonly full: false;
      /** Services ("ns/name") whose per-service chains are rewritten. */
      readonly changedServices: ReadonlySet<string>;
      /**
       * The top-level nat rules the last successful sync left in the kernel
       * (its RenderResult.topLevel). A chain whose rules are unchanged is not
       * written; without it every top-level chain is.
       */
      readonly appliedTopLevel?: TopLevelRules;
    };

export interface RenderInput {
  readonly servicePorts: ReadonlyMap<string, ServicePortInfo>;
  readonly endpoints: ReadonlyMap<string, readonly EndpointInfo[]>;
  /** Addresses that take NodePort traffic; undefined means every local address. */
  readonly nodePortAddresses: readonly string[] | undefined;
  /** Per-service nat chains present now (read from the kernel, or the last sync's); unused ones are deleted. */
  readonly existingNatChains: ReadonlySet<string>;
  readonly sync: SyncKind;
  /**
   * Split the nat table into several commits when its per-service chains
   * outnumber this (iptables-nft); undefined writes one nat commit.
   */
  readonly natChainsPerCommit?: number;
}

export interface RuleCounts {
  /** filter rules written (the filter table is always written whole). */
  readonly filterRules: number;
  /** nat rules written by this sync. */
  readonly natRules: number;
  /** nat rules in place after this sync, including unchanged services' rules that were not rewritten. */
  readonly natRulesTotal: number;
  /** Per-service nat chains in use. */
  readonly natChains: number;
}

export interface RenderResult {
  readonly text: string;
  /**
   * The *filter section alone, without jump insertions: always complete, and
   * referring to no nat chain, so it can be restored by itself to put the
   * filter table back after a failed payload (iptables-restore commits table
   * by table, so a nat failure leaves the new filter rules applied).
   */
  readonly filterTable: string;
  readonly counts: RuleCounts;
  /** Per-service nat chains in use after this sync: the next partial sync's existingNatChains. */
  readonly activeNatChains: ReadonlySet<string>;
  readonly deletedChains: readonly string[];
  /** Service ports whose Local policy has no local endpoint, per traffic kind (a kube-proxy metric). */
  readonly noLocalEndpoints: { readonly internal: number; readonly external: number };
  readonly largeClusterMode: boolean;
  /** The top-level nat chains' rules after this sync: the next partial sync's appliedTopLevel. */
  readonly topLevel: TopLevelRules;
  /** nat commits in the payload (0 when nothing in nat changed). */
  readonly natCommits: number;
}

const chainLine = (chain: string) => `:${chain} - [0:0]`;
const quote = (text: string) => `"${text}"`;

/** Probability of taking endpoint i of n when the earlier ones were not taken: 1/(n-i), as kube-proxy formats it. */
export function probability(remaining: number): string {
  return (1 / remaining).toFixed(10);
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * What one service port contributes: its lines in the top-level chains, and
 * its own nat chains with their rules. It depends only on the port, its
 * endpoints and the render settings, so it is computed once and reused
 * until one of them changes.
 */
interface PortOutput {
  readonly filterRules: readonly string[];
  /** Lines in KPLANE-SERVICES (nat). */
  readonly servicesRules: readonly string[];
  /** Lines in KPLANE-NODEPORTS (nat). */
  readonly nodePortRules: readonly string[];
  /** The port's own nat chains (SVC, SVL, EXT, FW, SEP): names, declarations and rules. */
  readonly chainNames: readonly string[];
  readonly natChains: readonly string[];
  readonly natRules: readonly string[];
  readonly noLocalInternal: boolean;
  readonly noLocalExternal: boolean;
}

/**
 * Per-port outputs of earlier renders, keyed by the digest objects
 * themselves: the model replaces a ServicePortInfo or an endpoint list when
 * it changes and keeps it otherwise. With it, a sync of 10,000 unchanged
 * services costs string joins, not hashing. Holds nothing a render could
 * not recompute, so output never depends on it.
 */
export class RenderCache {
  readonly #entries = new WeakMap<ServicePortInfo, { endpoints: readonly EndpointInfo[] | undefined; settings: string; output: PortOutput }>();

  get(info: ServicePortInfo, endpoints: readonly EndpointInfo[] | undefined, settings: string): PortOutput | undefined {
    const entry = this.#entries.get(info);
    return entry && entry.endpoints === endpoints && entry.settings === settings ? entry.output : undefined;
  }

  set(info: ServicePortInfo, endpoints: readonly EndpointInfo[] | undefined, settings: string, output: PortOutput): void {
    this.#entries.set(info, { endpoints, settings, output });
  }
}

interface PortSettings {
  readonly clusterCidr: string | undefined;
  readonly nodeIPs: readonly string[];
  readonly comments: boolean;
}

export function renderRules(input: RenderInput, options: RenderOptions, cache?: RenderCache): RenderResult {
  const filterChains = new LineBuffer();
  const filterRules = new LineBuffer();
  // Jumps from the built-in chains are kept apart: they are not kplane's rules and not counted.
  const filterJumps = new LineBuffer();
  const natJumps = new LineBuffer();
  const { sync } = input;
  const { full } = sync;
  const mark = options.masqueradeMark;

  for (const chain of [chains.services, chains.externalServices, chains.forward, chains.nodePorts, chains.proxyFirewall]) filterChains.write(chainLine(chain));
  if (full) {
    filterChains.write(chainLine(chains.canary));
    // Inserted last-first so they end up in jumpRules order at the top of each built-in chain.
    for (const jump of [...jumpRules].reverse()) {
      if (sync.existingJumps.has(jumpKey(jump.table, jump.chain, jump.target))) continue;
      (jump.table === 'filter' ? filterJumps : natJumps).write('-I', jump.chain, jump.match, '-m', 'comment', '--comment', quote(jump.comment), '-j', jump.target);
    }
  }

  const postroutingRules = new LineBuffer();
  postroutingRules.write('-A', chains.postrouting, '-m', 'mark', '!', '--mark', `${mark}/${mark}`, '-j', 'RETURN');
  // Clearing the mark keeps a packet that traverses the stack again from being masqueraded twice.
  postroutingRules.write('-A', chains.postrouting, '-j', 'MARK', '--xor-mark', mark);
  postroutingRules.write('-A', chains.postrouting, '-m', 'comment', '--comment', quote('kplane service traffic requiring SNAT'), '-j', 'MASQUERADE', '--random-fully');
  const markMasqRules = new LineBuffer();
  markMasqRules.write('-A', chains.markMasq, '-j', 'MARK', '--or-mark', mark);

  const keys = [...input.servicePorts.keys()].sort(compareKeys);
  let totalEndpoints = 0;
  for (const key of keys) totalEndpoints += input.endpoints.get(key)?.length ?? 0;
  const largeClusterMode = totalEndpoints > (options.largeClusterEndpoints ?? LARGE_CLUSTER_ENDPOINTS);
  const settings: PortSettings = { clusterCidr: options.clusterCidr, nodeIPs: options.nodeIPs, comments: !largeClusterMode };
  const settingsKey = JSON.stringify(settings);

  const outputs: PortOutput[] = [];
  /** Per-port flag: its own chains are written by this sync. */
  const rewritten: boolean[] = [];
  const activeNatChains = new Set<string>();
  const servicesRules: string[] = [];
  const nodePortRules: string[] = [];
  let serviceChainRules = 0;
  let writtenChains = 0;
  let noLocalInternal = 0;
  let noLocalExternal = 0;
  for (const key of keys) {
    const info = input.servicePorts.get(key) as ServicePortInfo;
    const endpoints = input.endpoints.get(key);
    let output = cache?.get(info, endpoints, settingsKey);
    if (!output) {
      output = renderServicePort(info, endpoints ?? [], settings);
      cache?.set(info, endpoints, settingsKey, output);
    }
    outputs.push(output);
    const write = full || sync.changedServices.has(info.service);
    rewritten.push(write);
    if (write) writtenChains += output.chainNames.length;
    filterRules.writeLines(output.filterRules);
    for (const line of output.servicesRules) servicesRules.push(line);
    for (const line of output.nodePortRules) nodePortRules.push(line);
    for (const chain of output.chainNames) activeNatChains.add(chain);
    serviceChainRules += output.natRules.length;
    if (output.noLocalInternal) noLocalInternal += 1;
    if (output.noLocalExternal) noLocalExternal += 1;
  }

  // The NodePort jump must stay last in KPLANE-SERVICES: it matches every local destination.
  const nodePortsJumps = new LineBuffer();
  const nodePortsComment = quote('kplane service nodeports; NOTE: this must be the last rule in this chain');
  if (input.nodePortAddresses === undefined) {
    // Without route_localnet (kplane never sets it) a NodePort on 127.0.0.1 cannot work.
    nodePortsJumps.write('-A', chains.services, '-m', 'comment', '--comment', nodePortsComment, '-m', 'addrtype', '--dst-type', 'LOCAL', '!', '-d', '127.0.0.0/8', '-j', chains.nodePorts);
  } else {
    for (const ip of input.nodePortAddresses) nodePortsJumps.write('-A', chains.services, '-m', 'comment', '--comment', nodePortsComment, '-d', ip, '-j', chains.nodePorts);
  }

  const joined = (...parts: readonly (readonly string[])[]) => parts.flat().join('\n');
  const topLevel: TopLevelRules = {
    [chains.services]: joined(servicesRules, nodePortsJumps.lineList()),
    [chains.nodePorts]: joined(nodePortRules),
    [chains.postrouting]: joined(postroutingRules.lineList()),
    [chains.markMasq]: joined(markMasqRules.lineList()),
  };
  const applied = full ? undefined : sync.appliedTopLevel;
  const writeTop = (chain: string) => applied === undefined || applied[chain] !== topLevel[chain];
  const writeServices = writeTop(chains.services);
  const writeNodePorts = writeTop(chains.nodePorts);
  const writePostrouting = writeTop(chains.postrouting);
  const writeMarkMasq = writeTop(chains.markMasq);

  const deletedChains: string[] = [];
  for (const chain of input.existingNatChains) if (!activeNatChains.has(chain) && isServiceChain(chain)) deletedChains.push(chain);
  deletedChains.sort(compareKeys);

  // INVALID packets would otherwise reach the pod un-NATed and make it send resets (kubernetes#74839).
  filterRules.write('-A', chains.forward, '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP');
  // Marked traffic is service traffic: accept it even when the FORWARD policy is DROP.
  filterRules.write('-A', chains.forward, '-m', 'comment', '--comment', quote('kplane forwarding rules'), '-m', 'mark', '--mark', `${mark}/${mark}`, '-j', 'ACCEPT');
  filterRules.write('-A', chains.forward, '-m', 'comment', '--comment', quote('kplane forwarding conntrack rule'), '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT');

  const nat: NatParts = {
    full,
    outputs,
    rewritten,
    writeServices,
    writeNodePorts,
    writePostrouting,
    writeMarkMasq,
    postroutingRules: postroutingRules.lineList(),
    markMasqRules: markMasqRules.lineList(),
    nodePortsJumps: nodePortsJumps.lineList(),
    deletedChains,
    jumps: natJumps.lineList(),
  };
  const split = input.natChainsPerCommit !== undefined && writtenChains > input.natChainsPerCommit;
  const natText = split ? natCommits(nat, input.natChainsPerCommit as number) : [natCommit(nat)];

  const topRulesWritten =
    (writeServices ? servicesRules.length + nodePortsJumps.lines : 0) + (writeNodePorts ? nodePortRules.length : 0) + (writePostrouting ? postroutingRules.lines : 0) + (writeMarkMasq ? markMasqRules.lines : 0);
  let serviceRulesWritten = 0;
  outputs.forEach((output, i) => {
    if (rewritten[i]) serviceRulesWritten += output.natRules.length;
  });
  const natRulesTotal = servicesRules.length + nodePortsJumps.lines + nodePortRules.length + postroutingRules.lines + markMasqRules.lines + serviceChainRules;

  const mangle = full ? `*mangle\n${chainLine(chains.canary)}\nCOMMIT\n` : '';
  const filter = ['*filter\n', filterChains.text(), filterJumps.text(), filterRules.text(), 'COMMIT\n'].join('');
  const natCommitTexts = natText.filter((text) => text !== '');
  return {
    text: mangle + filter + natCommitTexts.join(''),
    filterTable: ['*filter\n', filterChains.text(), filterRules.text(), 'COMMIT\n'].join(''),
    counts: {
      filterRules: filterRules.lines,
      natRules: topRulesWritten + serviceRulesWritten,
      natRulesTotal,
      natChains: activeNatChains.size,
    },
    activeNatChains,
    deletedChains,
    noLocalEndpoints: { internal: noLocalInternal, external: noLocalExternal },
    largeClusterMode,
    topLevel,
    natCommits: natCommitTexts.length,
  };
}

/** What the nat table's commits are made of. */
interface NatParts {
  readonly full: boolean;
  readonly outputs: readonly PortOutput[];
  readonly rewritten: readonly boolean[];
  readonly writeServices: boolean;
  readonly writeNodePorts: boolean;
  readonly writePostrouting: boolean;
  readonly writeMarkMasq: boolean;
  readonly postroutingRules: readonly string[];
  readonly markMasqRules: readonly string[];
  readonly nodePortsJumps: readonly string[];
  readonly deletedChains: readonly string[];
  readonly jumps: readonly string[];
}

/** One line per element, each ending in a newline. */
function lines(list: readonly string[]): string {
  return list.length === 0 ? '' : list.join('\n') + '\n';
}

function commit(body: readonly string[]): string {
  return body.length === 0 ? '' : `*nat\n${lines(body)}COMMIT\n`;
}

/**
 * The whole nat table as one commit, in kube-proxy's order: declarations,
 * jumps, then each service's top-level rules followed by its own chains'
 * rules, deletions, and the NodePort jump last. Empty when nothing changes.
 */
function natCommit(nat: NatParts): string {
  const declarations: string[] = [];
  const rules: string[] = [];
  if (nat.writeServices) declarations.push(chainLine(chains.services));
  if (nat.writeNodePorts) declarations.push(chainLine(chains.nodePorts));
  if (nat.writePostrouting) declarations.push(chainLine(chains.postrouting));
  if (nat.writeMarkMasq) declarations.push(chainLine(chains.markMasq));
  if (nat.full) declarations.push(chainLine(chains.canary));
  if (nat.writePostrouting) rules.push(...nat.postroutingRules);
  if (nat.writeMarkMasq) rules.push(...nat.markMasqRules);
  nat.outputs.forEach((output, i) => {
    if (nat.writeServices) for (const line of output.servicesRules) rules.push(line);
    if (nat.writeNodePorts) for (const line of output.nodePortRules) rules.push(line);
    if (nat.rewritten[i]) {
      for (const line of output.natChains) declarations.push(line);
      for (const line of output.natRules) rules.push(line);
    }
  });
  for (const chain of nat.deletedChains) {
    // Declaring the chain flushes it, so the delete cannot fail on rules it still holds.
    declarations.push(chainLine(chain));
    rules.push(`-X ${chain}`);
  }
  if (nat.writeServices) rules.push(...nat.nodePortsJumps);
  if (declarations.length === 0 && rules.length === 0 && nat.jumps.length === 0) return '';
  return commit([...declarations, ...nat.jumps, ...rules]);
}

/**
 * The nat table as several commits, each consistent on its own, so a failure
 * half-way leaves every service either as it was or as it should be:
 * helper chains first (the service chains jump to KPLANE-MARK-MASQ), then
 * the rewritten services' own chains in groups of about `perCommit` chains
 * (a service is never split; nothing refers to a new chain yet), then the
 * top-level chains that refer to them, with the deletions of chains nothing
 * refers to any more, and last the jumps from the built-in chains, so a
 * first sync hooks in only once everything is in place.
 */
function natCommits(nat: NatParts, perCommit: number): string[] {
  const texts: string[] = [];
  const helpers: string[] = [];
  if (nat.writePostrouting) helpers.push(chainLine(chains.postrouting));
  if (nat.writeMarkMasq) helpers.push(chainLine(chains.markMasq));
  if (nat.full) helpers.push(chainLine(chains.canary));
  if (nat.writePostrouting) helpers.push(...nat.postroutingRules);
  if (nat.writeMarkMasq) helpers.push(...nat.markMasqRules);
  texts.push(commit(helpers));

  let declarations: string[] = [];
  let rules: string[] = [];
  let chainsInCommit = 0;
  const flush = () => {
    texts.push(commit([...declarations, ...rules]));
    declarations = [];
    rules = [];
    chainsInCommit = 0;
  };
  nat.outputs.forEach((output, i) => {
    if (!nat.rewritten[i] || output.chainNames.length === 0) return;
    if (chainsInCommit > 0 && chainsInCommit + output.chainNames.length > perCommit) flush();
    for (const line of output.natChains) declarations.push(line);
    for (const line of output.natRules) rules.push(line);
    chainsInCommit += output.chainNames.length;
  });
  flush();

  const top: string[] = [];
  const topRules: string[] = [];
  if (nat.writeServices) top.push(chainLine(chains.services));
  if (nat.writeNodePorts) top.push(chainLine(chains.nodePorts));
  for (const chain of nat.deletedChains) top.push(chainLine(chain));
  for (const output of nat.outputs) {
    if (nat.writeServices) for (const line of output.servicesRules) topRules.push(line);
    if (nat.writeNodePorts) for (const line of output.nodePortRules) topRules.push(line);
  }
  if (nat.writeServices) topRules.push(...nat.nodePortsJumps);
  for (const chain of nat.deletedChains) topRules.push(`-X ${chain}`);
  texts.push(commit([...top, ...topRules]));
  texts.push(commit(nat.jumps));
  return texts;
}

function renderServicePort(info: ServicePortInfo, endpoints: readonly EndpointInfo[], settings: PortSettings): PortOutput {
  const filterRules = new LineBuffer();
  const servicesRules = new LineBuffer();
  const nodePortRules = new LineBuffer();
  const natChains = new LineBuffer();
  const natRules = new LineBuffer();
  const chainNames: string[] = [];
  const declare = (chain: string) => {
    chainNames.push(chain);
    natChains.write(chainLine(chain));
  };
  const { clusterCidr } = settings;
  const comment = (text: string): string[] => (settings.comments ? ['-m', 'comment', '--comment', text] : []);
  const protocol = info.protocol.toLowerCase();
  const name = info.name;
  const names = servicePortChains(name, protocol);
  const proto = ['-m', protocol, '-p', protocol];
  const { cluster, local, allReachable, hasAnyEndpoints } = categorizeEndpoints(endpoints, info);

  const usesClusterChain = cluster.length > 0 && usesClusterEndpoints(info);
  const usesLocalChain = local.length > 0 && usesLocalEndpoints(info);
  const internalChain = info.internalPolicyLocal ? names.svl : names.svc;
  const hasInternalEndpoints = hasAnyEndpoints && (!info.internalPolicyLocal || local.length > 0);
  const externalPolicyChain = info.externalPolicyLocal ? names.svl : names.svc;
  const hasExternalEndpoints = hasAnyEndpoints && (!info.externalPolicyLocal || local.length > 0);
  // The EXT chain exists whenever there is any endpoint: its short-circuit rules for pod and
  // node traffic matter even when no local endpoint takes outside traffic.
  const usesExternalChain = hasAnyEndpoints && externallyAccessible(info);
  const usesFirewallChain = hasAnyEndpoints && info.loadBalancerIPs.length > 0 && info.loadBalancerSourceRanges.length > 0;
  const loadBalancerChain = usesFirewallChain ? names.fw : names.ext;

  let internalFilter: { target: string; comment: string } | undefined;
  let externalFilter: { target: string; comment: string } | undefined;
  if (!hasAnyEndpoints) {
    internalFilter = externalFilter = { target: 'REJECT', comment: quote(`${name} has no endpoints`) };
  } else {
    if (!hasInternalEndpoints) internalFilter = { target: 'DROP', comment: quote(`${name} has no local endpoints`) };
    if (!hasExternalEndpoints) externalFilter = { target: 'DROP', comment: quote(`${name} has no local endpoints`) };
  }

  if (internalFilter === undefined) {
    servicesRules.write('-A', chains.services, '-m', 'comment', '--comment', quote(`${name} cluster IP`), proto, '-d', info.clusterIP, '--dport', String(info.port), '-j', internalChain);
  } else {
    filterRules.write('-A', chains.services, '-m', 'comment', '--comment', internalFilter.comment, proto, '-d', info.clusterIP, '--dport', String(info.port), '-j', internalFilter.target);
  }
  for (const ip of info.externalIPs) {
    if (hasAnyEndpoints) servicesRules.write('-A', chains.services, '-m', 'comment', '--comment', quote(`${name} external IP`), proto, '-d', ip, '--dport', String(info.port), '-j', names.ext);
    if (externalFilter) filterRules.write('-A', chains.externalServices, '-m', 'comment', '--comment', externalFilter.comment, proto, '-d', ip, '--dport', String(info.port), '-j', externalFilter.target);
  }
  for (const ip of info.loadBalancerIPs) {
    if (hasAnyEndpoints) servicesRules.write('-A', chains.services, '-m', 'comment', '--comment', quote(`${name} loadbalancer IP`), proto, '-d', ip, '--dport', String(info.port), '-j', loadBalancerChain);
    if (usesFirewallChain) {
      // Sources the FW chain did not send on were not DNATed and still carry the LB IP: drop them here.
      filterRules.write('-A', chains.proxyFirewall, '-m', 'comment', '--comment', quote(`${name} traffic not accepted by ${names.fw}`), proto, '-d', ip, '--dport', String(info.port), '-j', 'DROP');
    }
  }
  if (externalFilter) {
    for (const ip of info.loadBalancerIPs) {
      filterRules.write('-A', chains.externalServices, '-m', 'comment', '--comment', externalFilter.comment, proto, '-d', ip, '--dport', String(info.port), '-j', externalFilter.target);
    }
  }
  if (info.nodePort !== 0) {
    // NodePorts bypass loadBalancerSourceRanges, as in Kubernetes.
    if (hasAnyEndpoints) nodePortRules.write('-A', chains.nodePorts, '-m', 'comment', '--comment', name, proto, '--dport', String(info.nodePort), '-j', names.ext);
    if (externalFilter) {
      filterRules.write('-A', chains.externalServices, '-m', 'comment', '--comment', externalFilter.comment, '-m', 'addrtype', '--dst-type', 'LOCAL', proto, '--dport', String(info.nodePort), '-j', externalFilter.target);
    }
  }
  if (info.healthCheckNodePort !== 0) {
    filterRules.write('-A', chains.nodePorts, '-m', 'comment', '--comment', quote(`${name} health check node port`), '-m', 'tcp', '-p', 'tcp', '--dport', String(info.healthCheckNodePort), '-j', 'ACCEPT');
  }

  if (internalFilter === undefined && clusterCidr !== undefined) {
    // Off-cluster clients reach a ClusterIP through a route to some node; the endpoint may be
    // on another node, so the reply must come back through this one.
    natRules.write('-A', internalChain, '-m', 'comment', '--comment', quote(`${name} cluster IP`), proto, '-d', info.clusterIP, '--dport', String(info.port), '!', '-s', clusterCidr, '-j', chains.markMasq);
  }

  if (usesExternalChain) {
    declare(names.ext);
    if (!info.externalPolicyLocal) {
      natRules.write('-A', names.ext, '-m', 'comment', '--comment', quote(`masquerade traffic for ${name} external destinations`), '-j', chains.markMasq);
    } else {
      if (clusterCidr !== undefined) {
        // A pod calling an external address of the service behaves as if it went out to the
        // load balancer and came back: neither traffic policy applies.
        natRules.write('-A', names.ext, '-m', 'comment', '--comment', quote(`pod traffic for ${name} external destinations`), '-s', clusterCidr, '-j', names.svc);
      }
      // The node's own traffic has a local source address that the endpoint could not reply to.
      natRules.write('-A', names.ext, '-m', 'comment', '--comment', quote(`masquerade LOCAL traffic for ${name} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', chains.markMasq);
      natRules.write('-A', names.ext, '-m', 'comment', '--comment', quote(`route LOCAL traffic for ${name} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', names.svc);
    }
    if (hasExternalEndpoints) natRules.write('-A', names.ext, '-j', externalPolicyChain);
  }

  if (usesFirewallChain) {
    declare(names.fw);
    const head = ['-A', names.fw, '-m', 'comment', '--comment', quote(`${name} loadbalancer IP`)];
    let allowFromNode = false;
    for (const range of info.loadBalancerSourceRanges) {
      natRules.write(head, '-s', range, '-j', names.ext);
      const cidr = parseIpv4Cidr(range);
      if (cidr && settings.nodeIPs.some((ip) => cidrContains(cidr, ip))) allowFromNode = true;
    }
    // A node that has the LB IP as a local address reaches it with the LB IP as source.
    if (allowFromNode) for (const ip of info.loadBalancerIPs) natRules.write(head, '-s', ip, '-j', names.ext);
    natRules.write('-A', names.fw, '-m', 'comment', '--comment', quote(`other traffic to ${name} will be dropped by ${chains.proxyFirewall}`));
  }

  if (usesClusterChain) {
    declare(names.svc);
    writeServiceToEndpoints(natRules, info, names.svc, cluster, comment);
  }
  if (usesLocalChain) {
    declare(names.svl);
    writeServiceToEndpoints(natRules, info, names.svl, local, comment);
  }
  for (const endpoint of allReachable) {
    const chain = endpointChain(name, protocol, endpoint.endpoint);
    declare(chain);
    const head = ['-A', chain, ...comment(name)];
    // Hairpin: a pod reaching itself through the service needs a source it does not own.
    natRules.write(head, '-s', endpoint.ip, '-j', chains.markMasq);
    const affinity = info.affinitySeconds > 0 ? ['-m', 'recent', '--name', chain, '--set'] : [];
    natRules.write(head, affinity, proto, '-j', 'DNAT', '--to-destination', endpoint.endpoint);
  }
  return {
    chainNames,
    filterRules: filterRules.lineList(),
    servicesRules: servicesRules.lineList(),
    nodePortRules: nodePortRules.lineList(),
    natChains: natChains.lineList(),
    natRules: natRules.lineList(),
    noLocalInternal: hasAnyEndpoints && !hasInternalEndpoints,
    noLocalExternal: hasAnyEndpoints && !hasExternalEndpoints,
  };
}

function writeServiceToEndpoints(rules: LineBuffer, info: ServicePortInfo, chain: string, endpoints: readonly EndpointInfo[], comment: (text: string) => string[]): void {
  const protocol = info.protocol.toLowerCase();
  const chainsOf = endpoints.map((endpoint) => endpointChain(info.name, protocol, endpoint.endpoint));
  if (info.affinitySeconds > 0) {
    // A client seen within the timeout goes back to the endpoint that recorded it.
    endpoints.forEach((endpoint, i) => {
      const target = chainsOf[i] as string;
      rules.write('-A', chain, comment(quote(`${info.name} -> ${endpoint.endpoint}`)), '-m', 'recent', '--name', target, '--rcheck', '--seconds', String(info.affinitySeconds), '--reap', '-j', target);
    });
  }
  endpoints.forEach((endpoint, i) => {
    const random = i < endpoints.length - 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', probability(endpoints.length - i)] : [];
    rules.write('-A', chain, comment(quote(`${info.name} -> ${endpoint.endpoint}`)), random, '-j', chainsOf[i] as string);
  });
}
