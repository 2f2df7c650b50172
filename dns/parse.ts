/**
 * Turns a query name into what it asks for, per the Kubernetes DNS schema
 * and CoreDNS's reading of it (plugin/kubernetes/parse.go). Names are lower
 * case and have no trailing dot; matching is case-insensitive, so callers
 * lower-case first and keep the original spelling for owner names.
 */
import { ipFromReverseLabels } from './ip.ts';

export type ReverseZone = 'in-addr.arpa' | 'ip6.arpa';

export type ParsedName =
  /** The zone itself: SOA and NS live here. */
  | { kind: 'apex' }
  /** ns.dns.<zone>: the name server's own addresses. */
  | { kind: 'nameserver' }
  /** dns.<zone>: exists only as the parent of ns.dns. */
  | { kind: 'empty-nonterminal' }
  | { kind: 'dns-version' }
  /** svc.<zone> or pod.<zone>. */
  | { kind: 'section'; section: 'svc' | 'pod' }
  /** <ns>.svc.<zone> or <ns>.pod.<zone>. */
  | { kind: 'namespace'; section: 'svc' | 'pod'; namespace: string }
  /**
   * <svc>.<ns>.svc.<zone>, with one more label an endpoint, with two a
   * _port._protocol pair (leading underscores stripped; "" matches any).
   */
  | { kind: 'service'; namespace: string; service: string; endpoint: string; port: string; protocol: string }
  /** <label>.<ns>.pod.<zone>; the label is an IP address with dashes. */
  | { kind: 'pod'; namespace: string; label: string }
  /** A complete reverse name of one address. */
  | { kind: 'reverse'; zone: ReverseZone; ip: string }
  /** Any other name under a reverse zone (partial, or not an address). */
  | { kind: 'reverse-other'; zone: ReverseZone }
  /** Under the zone but outside the schema (unknown section, too many labels). */
  | { kind: 'invalid' }
  /** Not under the cluster zone or a reverse zone. */
  | { kind: 'outside' };

function under(name: string, zone: string): string[] | undefined {
  if (name === zone) return [];
  if (!name.endsWith(zone) || name.charCodeAt(name.length - zone.length - 1) !== 46 /* "." */) return undefined;
  return name.slice(0, name.length - zone.length - 1).split('.');
}

function stripUnderscore(label: string): string {
  return label.startsWith('_') ? label.slice(1) : label;
}

export function parseName(name: string, zone: string): ParsedName {
  const labels = under(name, zone);
  if (labels === undefined) {
    for (const reverse of ['in-addr.arpa', 'ip6.arpa'] as const) {
      const front = under(name, reverse);
      if (front === undefined) continue;
      const ip = ipFromReverseLabels(front, reverse);
      return ip === undefined ? { kind: 'reverse-other', zone: reverse } : { kind: 'reverse', zone: reverse, ip };
    }
    return { kind: 'outside' };
  }
  const count = labels.length;
  if (count === 0) return { kind: 'apex' };
  const section = labels[count - 1] as string;
  if (count === 1 && section === 'dns-version') return { kind: 'dns-version' };
  if (section === 'dns') {
    if (count === 1) return { kind: 'empty-nonterminal' };
    return count === 2 && labels[0] === 'ns' ? { kind: 'nameserver' } : { kind: 'invalid' };
  }
  if (section !== 'svc' && section !== 'pod') return { kind: 'invalid' };
  if (count === 1) return { kind: 'section', section };
  const namespace = labels[count - 2] as string;
  if (count === 2) return { kind: 'namespace', section, namespace };
  if (section === 'pod') return count === 3 ? { kind: 'pod', namespace, label: labels[0] as string } : { kind: 'invalid' };
  const service = labels[count - 3] as string;
  switch (count) {
    case 3:
      return { kind: 'service', namespace, service, endpoint: '', port: '', protocol: '' };
    case 4:
      return { kind: 'service', namespace, service, endpoint: labels[0] as string, port: '', protocol: '' };
    case 5:
      return { kind: 'service', namespace, service, endpoint: '', port: stripUnderscore(labels[0] as string), protocol: stripUnderscore(labels[1] as string) };
    default:
      return { kind: 'invalid' };
  }
}
