/**
 * IP address text forms the DNS answers depend on: one canonical spelling per
 * address (so an index keyed by IP matches however the API object wrote it),
 * the dashed labels of endpoint and pod names, and reverse-zone names.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

/** IPv4 as dotted decimal, IPv6 per RFC 5952 (lower case, longest zero run as "::"). */
export function canonicalIp(text: string): string | undefined {
  if (isIPv4(text)) return text;
  if (!isIPv6(text)) return undefined;
  const groups = ipv6Groups(text);
  return groups === undefined ? undefined : formatIpv6(groups);
}

export function ipFamily(ip: string): IpFamily {
  return ip.includes(':') ? 6 : 4;
}

/** The eight 16-bit groups of a valid IPv6 text address (an embedded IPv4 tail included). */
function ipv6Groups(text: string): number[] | undefined {
  let hexText = text;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const [a = 0, b = 0, c = 0, d = 0] = text.slice(lastColon + 1).split('.').map(Number);
    hexText = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left = '', right] = hexText.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const leftGroups = parse(left);
  const rightGroups = right === undefined ? [] : parse(right);
  const missing = 8 - leftGroups.length - rightGroups.length;
  if (missing < 0 || (right === undefined && missing !== 0)) return undefined;
  return [...leftGroups, ...new Array<number>(missing).fill(0), ...rightGroups];
}

function formatIpv6(groups: number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; ) {
    if (groups[start] !== 0) {
      start += 1;
      continue;
    }
    let end = start;
    while (end < 8 && groups[end] === 0) end += 1;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/**
 * An endpoint's name when it has no hostname: "172-0-0-2", "5678-abcd--1".
 * A trailing "-" (from "2001:db8::") gets a "0" so the label stays valid.
 */
export function dashedIp(ip: string): string {
  const dashed = ip.replaceAll(ipFamily(ip) === 4 ? '.' : ':', '-');
  return dashed.endsWith('-') ? `${dashed}0` : dashed;
}

/**
 * The IP a pod-name label stands for, as CoreDNS reads it: three dashes and
 * no "--" is IPv4, anything else is IPv6 with "-" for ":".
 */
export function ipFromPodLabel(label: string): string | undefined {
  const dashes = label.split('-').length - 1;
  const text = dashes === 3 && !label.includes('--') ? label.replaceAll('-', '.') : label.replaceAll('-', ':');
  return canonicalIp(text);
}

const decimalOctet = /^(?:0|[1-9]\d{0,2})$/;
const nibble = /^[0-9a-f]$/;

/**
 * The address of a complete reverse name, given the labels in front of
 * "in-addr.arpa" (4 octets) or "ip6.arpa" (32 nibbles), least significant
 * first; undefined for anything else (a partial or malformed name).
 */
export function ipFromReverseLabels(labels: readonly string[], zone: 'in-addr.arpa' | 'ip6.arpa'): string | undefined {
  if (zone === 'in-addr.arpa') {
    if (labels.length !== 4 || !labels.every((label) => decimalOctet.test(label) && Number(label) <= 255)) return undefined;
    return [...labels].reverse().join('.');
  }
  if (labels.length !== 32 || !labels.every((label) => nibble.test(label))) return undefined;
  const digits = [...labels].reverse();
  const groups: number[] = [];
  for (let index = 0; index < 32; index += 4) groups.push(parseInt(digits.slice(index, index + 4).join(''), 16));
  return formatIpv6(groups);
}
