/**
 * IPv4 addresses and CIDRs as the proxy needs them: strict parsing (so no
 * malformed value from the API reaches an iptables-restore payload), a
 * numeric order for stable output, and containment. The iptables backend is
 * IPv4 only; IPv6 values are recognised so callers can skip them quietly.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface Ipv4Cidr {
  /** The network address as an unsigned 32-bit number (host bits cleared). */
  readonly network: number;
  readonly prefix: number;
  /** Canonical text, host bits cleared: "10.0.0.0/8". */
  readonly text: string;
}

export function ipv4ToNumber(ip: string): number {
  let value = 0;
  for (const part of ip.split('.')) value = value * 256 + Number(part);
  return value;
}

function numberToIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

export function isIpv4(value: string): boolean {
  return isIPv4(value);
}

export function isIpv6(value: string): boolean {
  return isIPv6(value);
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses "a.b.c.d/n" (surrounding spaces allowed, as the API tolerates them in source ranges); undefined if it is not one. */
export function parseIpv4Cidr(value: string): Ipv4Cidr | undefined {
  const match = /^([0-9.]+)\/(\d{1,2})$/.exec(value.trim());
  if (!match || !isIPv4(match[1] as string)) return undefined;
  const prefix = Number(match[2]);
  if (prefix > 32) return undefined;
  const network = (ipv4ToNumber(match[1] as string) & maskOf(prefix)) >>> 0;
  return { network, prefix, text: `${numberToIpv4(network)}/${prefix}` };
}

export function cidrContains(cidr: Ipv4Cidr, ip: string): boolean {
  return isIPv4(ip) && ((ipv4ToNumber(ip) & maskOf(cidr.prefix)) >>> 0) === cidr.network;
}

/** Orders IPv4 addresses numerically ("10.0.0.9" before "10.0.0.10"). */
export function compareIpv4(a: string, b: string): number {
  return ipv4ToNumber(a) - ipv4ToNumber(b);
}
