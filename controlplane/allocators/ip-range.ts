/**
 * IP addresses as numbers, and allocation of addresses out of a CIDR (the
 * service ClusterIP range, the LoadBalancer pool).
 *
 * Layout, as kube-apiserver's ipallocator: the network address is never
 * handed out, nor the IPv4 broadcast address; offset 0 is network+1 (the
 * address the caller gives default/kubernetes). IPv6 ranges are capped at
 * 65535 usable addresses. KEP-3070 keeps the lowest
 * min(max(16, size/16), 256) addresses as a static band that dynamic
 * allocation uses only when the rest is full.
 */
import { Address4, Address6 } from 'ip-address';
import { UsageError } from '../../common/errors.ts';
import type { IPFamily } from '../api/types.ts';
import { BandedBitmap, staticBandSize, type SpecificResult } from './port-range.ts';

export interface ParsedIp {
  family: IPFamily;
  value: bigint;
}

export interface ParsedCidr {
  family: IPFamily;
  /** The address with host bits cleared. */
  network: bigint;
  prefix: number;
  /** 32 or 128. */
  bits: number;
}

/** A bare IPv4 or IPv6 address (no prefix, no zone), or undefined. */
export function parseIp(text: string): ParsedIp | undefined {
  if (text.includes('/') || text.includes('%')) return undefined;
  if (Address4.isValid(text)) return { family: 'IPv4', value: new Address4(text).bigInt() };
  if (Address6.isValid(text)) return { family: 'IPv6', value: new Address6(text).bigInt() };
  return undefined;
}

/** "address/prefix" (host bits may be set, as Go's ParseCIDR allows), or undefined. */
export function parseCidr(text: string): ParsedCidr | undefined {
  const parts = text.split('/');
  if (parts.length !== 2 || !/^\d{1,3}$/.test(parts[1] ?? '')) return undefined;
  const ip = parseIp(parts[0] ?? '');
  if (!ip) return undefined;
  const bits = ip.family === 'IPv4' ? 32 : 128;
  const prefix = Number(parts[1]);
  if (prefix > bits) return undefined;
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  return { family: ip.family, network: ip.value & ~hostMask, prefix, bits };
}

export function formatIp(family: IPFamily, value: bigint): string {
  return family === 'IPv4' ? Address4.fromBigInt(value).correctForm() : Address6.fromBigInt(value).correctForm();
}

/** IPv6 ranges keep a bitmap of at most this many addresses, as upstream does. */
const maxIPv6RangeSize = 65536n;
/** Larger IPv4 ranges would cost megabytes of bitmap; kube-apiserver refuses them for the same reason. */
const maxIPv4HostBits = 20;

export class IpRange {
  /** The range in canonical form, e.g. "10.96.0.0/12". */
  readonly cidr: string;
  readonly family: IPFamily;
  /** network + 1: the address at offset 0. */
  readonly #base: bigint;
  readonly #bitmap: BandedBitmap;

  constructor(cidr: string) {
    const parsed = parseCidr(cidr);
    if (!parsed) throw new UsageError(`invalid CIDR "${cidr}"`);
    const hostBits = parsed.bits - parsed.prefix;
    if (parsed.family === 'IPv4' && hostBits > maxIPv4HostBits) {
      throw new UsageError(`CIDR "${cidr}" is too large: at most ${maxIPv4HostBits} host bits are supported`);
    }
    this.family = parsed.family;
    this.cidr = `${formatIp(parsed.family, parsed.network)}/${parsed.prefix}`;
    this.#base = parsed.network + 1n;
    const total = 1n << BigInt(hostBits);
    // Neither network nor (IPv4) broadcast is usable.
    const usable = parsed.family === 'IPv4' ? total - 2n : (total < maxIPv6RangeSize ? total : maxIPv6RangeSize) - 1n;
    const size = usable > 0n ? Number(usable) : 0;
    // The band is sized on the whole CIDR, as kube-apiserver's calculateRangeOffset does.
    this.#bitmap = new BandedBitmap(size, staticBandSize(total, 16, 16, 256));
  }

  /** The first usable address (network + 1), the one kube-apiserver gives default/kubernetes. */
  get first(): string | undefined {
    return this.#bitmap.size > 0 ? formatIp(this.family, this.#base) : undefined;
  }

  /** Addresses in the lower static band. */
  get staticBand(): number {
    return this.#bitmap.band;
  }

  get size(): number {
    return this.#bitmap.size;
  }

  get used(): number {
    return this.#bitmap.used;
  }

  get free(): number {
    return this.#bitmap.free;
  }

  contains(ip: string): boolean {
    return this.#offset(ip) !== undefined;
  }

  has(ip: string): boolean {
    const offset = this.#offset(ip);
    return offset !== undefined && this.#bitmap.has(offset);
  }

  /** A free address, upper band first; undefined when the range is exhausted. */
  allocate(): string | undefined {
    const offset = this.#bitmap.next();
    return offset === undefined ? undefined : formatIp(this.family, this.#base + BigInt(offset));
  }

  allocateSpecific(ip: string): SpecificResult {
    const offset = this.#offset(ip);
    if (offset === undefined) return 'out-of-range';
    return this.#bitmap.set(offset) ? 'ok' : 'taken';
  }

  /** Records an address a stored object already holds (rebuild); 'taken' means two objects claim it. */
  markUsed(ip: string): SpecificResult {
    return this.allocateSpecific(ip);
  }

  release(ip: string): void {
    const offset = this.#offset(ip);
    if (offset !== undefined) this.#bitmap.clear(offset);
  }

  #offset(ip: string): number | undefined {
    const parsed = parseIp(ip);
    if (!parsed || parsed.family !== this.family) return undefined;
    const offset = parsed.value - this.#base;
    return offset >= 0n && offset < BigInt(this.#bitmap.size) ? Number(offset) : undefined;
  }
}
