/**
 * Chain names, hashed exactly as kube-proxy hashes them so upstream test
 * vectors pin the function, under kplane's own prefix so kplane and a
 * leftover kube-proxy never touch each other's chains.
 *
 * hash(s) = base32(sha256(s))[:16], standard alphabet. A service port's
 * SVC/SVL/EXT/FW chains hash `ns/name:port` + lower-case protocol; its SEP
 * chains add the endpoint "ip:port". iptables allows 28 characters per chain
 * name (XT_EXTENSION_MAXNAMELEN 29 with the NUL); the longest here is 27.
 */
import { createHash } from 'node:crypto';

export const MAX_CHAIN_NAME_LENGTH = 28;

export const chains = {
  services: 'KPLANE-SERVICES',
  externalServices: 'KPLANE-EXTERNAL-SERVICES',
  nodePorts: 'KPLANE-NODEPORTS',
  postrouting: 'KPLANE-POSTROUTING',
  markMasq: 'KPLANE-MARK-MASQ',
  forward: 'KPLANE-FORWARD',
  proxyFirewall: 'KPLANE-PROXY-FIREWALL',
  canary: 'KPLANE-PROXY-CANARY',
} as const;

/** Every chain kplane creates starts with this; --cleanup removes whatever carries it. */
export const CHAIN_PREFIX = 'KPLANE-';

const servicePrefixes = ['KPLANE-SVC-', 'KPLANE-SVL-', 'KPLANE-EXT-', 'KPLANE-FW-', 'KPLANE-SEP-'] as const;

const base32Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 of the first `length` characters' worth of bytes (no padding needed below 16). */
function base32(bytes: Uint8Array, length: number): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += base32Alphabet[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
      if (out.length === length) return out;
    }
  }
  return out;
}

/** base32(sha256(input))[:16], kube-proxy's portProtoHash. */
export function hashChainSuffix(input: string): string {
  // 16 base32 characters need 80 bits: the first 10 bytes of the digest.
  return base32(createHash('sha256').update(input).digest().subarray(0, 10), 16);
}

export interface ServicePortChains {
  /** Endpoints for Cluster traffic policy. */
  readonly svc: string;
  /** Local endpoints, for Local traffic policies. */
  readonly svl: string;
  /** Entry for NodePort, LoadBalancer and externalIPs traffic. */
  readonly ext: string;
  /** loadBalancerSourceRanges filter. */
  readonly fw: string;
}

/** The per-service-port chains under `prefix` ("KPLANE-" here; "KUBE-" reproduces kube-proxy's names). */
export function servicePortChains(servicePortName: string, protocol: string, prefix = CHAIN_PREFIX): ServicePortChains {
  const hash = hashChainSuffix(servicePortName + protocol.toLowerCase());
  return { svc: `${prefix}SVC-${hash}`, svl: `${prefix}SVL-${hash}`, ext: `${prefix}EXT-${hash}`, fw: `${prefix}FW-${hash}` };
}

/** The per-endpoint chain: the endpoint's DNAT, hairpin masquerade and affinity record. */
export function endpointChain(servicePortName: string, protocol: string, endpoint: string, prefix = CHAIN_PREFIX): string {
  return `${prefix}SEP-${hashChainSuffix(servicePortName + protocol.toLowerCase() + endpoint)}`;
}

/** True for the per-service chains kplane creates and deletes as services come and go. */
export function isServiceChain(chain: string): boolean {
  return servicePrefixes.some((prefix) => chain.startsWith(prefix));
}
