/**
 * Which of this node's addresses take NodePort traffic. Without
 * --nodeport-addresses every local address does (the rules match
 * `--dst-type LOCAL`); with it, only the node's IPv4 addresses inside those
 * CIDRs, read from the interfaces each sync so an address added later is
 * picked up. Loopback is never one: NodePorts on 127.0.0.1 need
 * route_localnet, which kplane does not turn on (kubernetes#90259).
 */
import { networkInterfaces } from 'node:os';
import { cidrContains, compareIpv4, isIpv4, parseIpv4Cidr } from './ipv4.ts';

export interface InterfaceAddress {
  readonly address: string;
  readonly family: string;
  readonly internal: boolean;
}

/** Pure: undefined means "every local address"; otherwise the matching addresses, sorted. */
export function nodePortAddresses(cidrs: readonly string[], interfaces: readonly InterfaceAddress[]): string[] | undefined {
  if (cidrs.length === 0) return undefined;
  const ranges = cidrs.map((cidr) => parseIpv4Cidr(cidr)).filter((cidr) => cidr !== undefined);
  const matches = new Set<string>();
  for (const { address, internal } of interfaces) {
    if (internal || !isIpv4(address) || address.startsWith('127.')) continue;
    if (ranges.some((range) => cidrContains(range, address))) matches.add(address);
  }
  return [...matches].sort(compareIpv4);
}

/** The addresses of this network namespace's interfaces. */
export function localInterfaceAddresses(): InterfaceAddress[] {
  return Object.values(networkInterfaces()).flatMap((list) => list ?? []);
}
