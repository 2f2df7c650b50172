/**
 * Builds the answer to one question from the cluster view: pure, no clock,
 * no I/O. It follows the Kubernetes DNS schema and, where the schema is
 * silent, what CoreDNS's kubernetes plugin returns (handler.go,
 * kubernetes.go, backend_lookup.go), because that is what pods expect:
 *
 * - A lookup yields neutral entries (an address or a CNAME target, a port
 *   and the name the entry is known by), as CoreDNS's msg.Service does; the
 *   per-type builders turn them into A, AAAA, SRV, CNAME records.
 * - Whether a name exists is decided per name: NXDOMAIN when it does not,
 *   NOERROR with no data when it exists with other types; both carry the
 *   zone's SOA in the authority section.
 * - Owner names keep the query's spelling; so does the zone part of SOA and
 *   SRV targets. Names taken from API objects are lower case.
 */
import { canonicalIp, ipFamily, ipFromPodLabel } from './ip.ts';
import { parseName, type ParsedName } from './parse.ts';
import type { ClusterView, PortSpec } from './records.ts';
import { Rcode, RRType, type ResourceRecord } from './rr.ts';

export type PodsMode = 'disabled' | 'insecure' | 'verified';

export interface AnswerOptions {
  /** Lower case, no trailing dot. */
  zone: string;
  ttl: number;
  pods: PodsMode;
  /** The server's own addresses: ns.dns.<zone> and the glue of the apex NS. */
  nameservers: readonly string[];
}

export interface Question {
  /** As asked (any letter case), without the trailing dot. */
  name: string;
  type: number;
}

export interface Response {
  rcode: number;
  authoritative: boolean;
  answer: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
}

export type Outcome =
  | { kind: 'response'; response: Response }
  /** Not the cluster's to answer (outside the zone, or a reverse name it has no record of): forward it. */
  | { kind: 'forward' }
  /**
   * An ExternalName whose target lies outside the zone: the answer is
   * `records` (the CNAME chain) followed by the upstream answer for `target`;
   * `fallback` (no data) when that lookup fails.
   */
  | { kind: 'external'; records: ResourceRecord[]; target: string; type: number; fallback: Response };

/** What the version TXT record says: the schema version this server implements. */
export const schemaVersion = '1.1.0';
const schemaVersionTtl = 28800;
/** CoreDNS stops following a CNAME chain after this many links. */
const maxChain = 8;

interface Entry {
  /** An IP, or a CNAME target (lower case, no trailing dot). */
  host: string;
  family: 4 | 6 | 'cname';
  /** -1: no port (the object declares none), so no SRV. */
  port: number;
  /** The name this entry is known by, relative to the zone ("svc.ns.svc", "ep.svc.ns.svc"). */
  key: string;
}

/** undefined: the name does not exist. */
type Lookup = Entry[] | undefined;

interface Context {
  view: ClusterView;
  options: AnswerOptions;
  /** The zone as spelt in the question. */
  zone: string;
}

function matchesPort(request: { port: string; protocol: string }, port: PortSpec): boolean {
  return (request.port === '' || request.port === port.name) && (request.protocol === '' || request.protocol === port.protocol);
}

function findServices(view: ClusterView, request: Extract<ParsedName, { kind: 'service' }>): Lookup {
  const { namespace, service: name, endpoint } = request;
  if (!view.namespaceExists(namespace)) return undefined;
  const record = view.service(namespace, name);
  if (!record) return undefined;
  const service = record.service;
  const serviceKey = `${name}.${namespace}.svc`;
  if (service.kind === 'externalName') {
    // No endpoints under an ExternalName; an IP is not a name to alias (kubernetes/dns spec 2.5).
    if (endpoint !== '' || canonicalIp(service.externalName) !== undefined) return undefined;
    return [{ host: service.externalName, family: 'cname', port: -1, key: serviceKey }];
  }
  let found = false;
  const entries: Entry[] = [];
  if (service.kind === 'headless' || endpoint !== '') {
    for (const address of record.endpoints) {
      if (endpoint !== '' && address.name !== endpoint) continue;
      for (const port of address.ports) {
        if (!matchesPort(request, port)) continue;
        found = true;
        entries.push({ host: address.ip, family: ipFamily(address.ip), port: port.port, key: `${address.name}.${serviceKey}` });
      }
    }
    return found ? entries : undefined;
  }
  for (const port of service.ports) {
    if (!matchesPort(request, port)) continue;
    found = true;
    for (const ip of service.clusterIPs) entries.push({ host: ip, family: ipFamily(ip), port: port.port, key: serviceKey });
  }
  return found ? entries : undefined;
}

function findPod(view: ClusterView, options: AnswerOptions, request: Extract<ParsedName, { kind: 'pod' }>): Lookup {
  if (options.pods === 'disabled' || !view.namespaceExists(request.namespace)) return undefined;
  const ip = ipFromPodLabel(request.label);
  if (ip === undefined) return undefined;
  if (options.pods === 'verified' && !view.podHasIp(request.namespace, ip)) return undefined;
  return [{ host: ip, family: ipFamily(ip), port: -1, key: `${request.label}.${request.namespace}.pod` }];
}

/** The entries of a name under the svc and pod sections; undefined when it does not exist. */
function lookup(context: Context, parsed: ParsedName): Lookup {
  switch (parsed.kind) {
    case 'section':
      return [];
    case 'namespace':
      if (parsed.section === 'pod' && context.options.pods === 'disabled') return undefined;
      return context.view.namespaceExists(parsed.namespace) ? [] : undefined;
    case 'service':
      return findServices(context.view, parsed);
    case 'pod':
      return findPod(context.view, context.options, parsed);
    default:
      return undefined;
  }
}

function soa(context: Context, zone: string): ResourceRecord {
  const ttl = context.options.ttl;
  return {
    name: zone,
    type: RRType.SOA,
    ttl: Math.min(ttl, 300),
    soa: { mname: `ns.dns.${zone}`, rname: `hostmaster.${zone}`, serial: context.view.serial, refresh: 7200, retry: 1800, expire: 86400, minimum: ttl },
  };
}

function response(rcode: number, answer: ResourceRecord[] = [], additional: ResourceRecord[] = []): Outcome {
  return { kind: 'response', response: { rcode, authoritative: true, answer, authority: [], additional } };
}

function negative(context: Context, rcode: number, zone = context.zone): Response {
  return { rcode, authoritative: true, answer: [], authority: [soa(context, zone)], additional: [] };
}

function noData(context: Context): Outcome {
  return { kind: 'response', response: negative(context, Rcode.NOERROR) };
}

/** NXDOMAIN, or SERVFAIL while the view has not synced (the name may just not have arrived yet). */
function nameError(context: Context): Outcome {
  return { kind: 'response', response: negative(context, context.view.synced ? Rcode.NXDOMAIN : Rcode.SERVFAIL) };
}

function addressRecord(name: string, ip: string, ttl: number): ResourceRecord {
  return { name, type: ipFamily(ip) === 4 ? RRType.A : RRType.AAAA, ttl, address: ip };
}

function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

interface Chased {
  records: ResourceRecord[];
  /** The chain ends outside the zone: append the upstream answer for this name. */
  external?: string;
}

/**
 * A, AAAA and TXT answers for a name's entries, following ExternalName
 * CNAMEs inside the zone. A CNAME is kept only when what it points to
 * answers (CoreDNS: "not only have we found something we should add the
 * CNAME"), and loops or chains longer than maxChain are cut.
 */
function chase(context: Context, owner: string, entries: Entry[], type: number, previous: ResourceRecord[]): Chased {
  const records: ResourceRecord[] = [];
  let external: string | undefined;
  const seen = new Set<string>();
  const ttl = context.options.ttl;
  for (const entry of entries) {
    if (entry.family === 'cname') {
      const cname: ResourceRecord = { name: owner, type: RRType.CNAME, ttl, target: entry.host };
      const lowerOwner = owner.toLowerCase();
      const duplicate = previous.some((record) => record.type === RRType.CNAME && record.name.toLowerCase() === lowerOwner && record.target === entry.host);
      if (entry.host === lowerOwner || previous.length >= maxChain || duplicate) continue;
      if (!inZone(entry.host, context.options.zone)) {
        records.push(cname);
        external = entry.host;
        continue;
      }
      const next = lookup(context, parseName(entry.host, context.options.zone));
      if (next === undefined) continue;
      const inner = chase(context, entry.host, next, type, [...previous, cname]);
      if (inner.records.length > 0) {
        records.push(cname, ...inner.records);
        external ??= inner.external;
      }
      continue;
    }
    const wanted = type === RRType.A ? 4 : type === RRType.AAAA ? 6 : undefined;
    if (entry.family !== wanted || seen.has(entry.host)) continue;
    seen.add(entry.host);
    records.push(addressRecord(owner, entry.host, ttl));
  }
  return external === undefined ? { records } : { records, external };
}

/**
 * SRV records with CoreDNS's weights: priority 0, and each (address, port)
 * entry counts 100 towards the total, so weight = floor(100/total × 100),
 * at least 1. One SRV per (target, port); the additional section holds each
 * target's address records.
 */
function srv(context: Context, owner: string, entries: Entry[]): { answer: ResourceRecord[]; additional: ResourceRecord[] } {
  const internal = entries.filter((entry) => entry.family !== 'cname');
  const weight = Math.max(1, Math.floor((100 / (internal.length * 100)) * 100));
  const answer: ResourceRecord[] = [];
  const additional: ResourceRecord[] = [];
  const seenSrv = new Set<string>();
  const seenAddress = new Set<string>();
  const ttl = context.options.ttl;
  for (const entry of internal) {
    if (entry.port === -1) continue;
    const target = `${entry.key}.${context.zone}`;
    const srvKey = `${target.toLowerCase()}/${entry.port}`;
    if (!seenSrv.has(srvKey)) {
      seenSrv.add(srvKey);
      answer.push({ name: owner, type: RRType.SRV, ttl, srv: { priority: 0, weight, port: entry.port, target } });
    }
    const addressKey = `${target.toLowerCase()}/${entry.host}`;
    if (!seenAddress.has(addressKey)) {
      seenAddress.add(addressKey);
      additional.push(addressRecord(target, entry.host, ttl));
    }
  }
  return { answer, additional };
}

function apex(context: Context, question: Question): Outcome {
  const ttl = context.options.ttl;
  if (question.type === RRType.SOA) return response(Rcode.NOERROR, [soa(context, context.zone)]);
  if (question.type !== RRType.NS) return noData(context);
  const nameserver = `ns.dns.${context.zone}`;
  const glue = context.options.nameservers.map((ip) => addressRecord(nameserver, ip, ttl));
  return response(Rcode.NOERROR, [{ name: context.zone, type: RRType.NS, ttl, target: nameserver }], glue);
}

function reverse(context: Context, question: Question, parsed: Extract<ParsedName, { kind: 'reverse' }>): Outcome {
  const names = context.view.reverse(parsed.ip);
  // What the cluster has no record of goes upstream, as CoreDNS's default "fallthrough in-addr.arpa ip6.arpa" does.
  if (names.length === 0) return { kind: 'forward' };
  if (question.type !== RRType.PTR) return { kind: 'response', response: negative(context, Rcode.NOERROR, question.name.slice(-parsed.zone.length)) };
  const ttl = context.options.ttl;
  return response(
    Rcode.NOERROR,
    names.map((name) => ({ name: question.name, type: RRType.PTR, ttl, target: `${name}.${context.options.zone}` })),
  );
}

export function answer(view: ClusterView, question: Question, options: AnswerOptions): Outcome {
  const parsed = parseName(question.name.toLowerCase(), options.zone);
  if (parsed.kind === 'outside' || parsed.kind === 'reverse-other') return { kind: 'forward' };
  const context: Context = { view, options, zone: question.name.slice(question.name.length - options.zone.length) };
  if (question.type === RRType.AXFR || question.type === RRType.IXFR) {
    return { kind: 'response', response: { rcode: Rcode.REFUSED, authoritative: false, answer: [], authority: [], additional: [] } };
  }
  if (parsed.kind === 'reverse') return reverse(context, question, parsed);
  const ttl = options.ttl;
  switch (parsed.kind) {
    case 'apex':
      return apex(context, question);
    case 'nameserver': {
      const family = question.type === RRType.A ? 4 : question.type === RRType.AAAA ? 6 : 0;
      const addresses = options.nameservers.filter((ip) => ipFamily(ip) === family);
      return addresses.length === 0 ? noData(context) : response(Rcode.NOERROR, addresses.map((ip) => addressRecord(question.name, ip, ttl)));
    }
    case 'dns-version':
      if (question.type !== RRType.TXT) return noData(context);
      return response(Rcode.NOERROR, [{ name: question.name, type: RRType.TXT, ttl: schemaVersionTtl, text: [schemaVersion] }]);
    case 'empty-nonterminal':
      return noData(context);
    case 'invalid':
      return nameError(context);
  }
  const entries = lookup(context, parsed);
  if (entries === undefined) return nameError(context);
  switch (question.type) {
    case RRType.A:
    case RRType.AAAA:
    case RRType.TXT: {
      const chased = chase(context, question.name, entries, question.type, []);
      if (chased.external !== undefined) {
        return { kind: 'external', records: chased.records, target: chased.external, type: question.type, fallback: negative(context, Rcode.NOERROR) };
      }
      return chased.records.length === 0 ? noData(context) : response(Rcode.NOERROR, chased.records);
    }
    case RRType.CNAME: {
      const first = entries[0];
      if (first?.family !== 'cname') return noData(context);
      return response(Rcode.NOERROR, [{ name: question.name, type: RRType.CNAME, ttl, target: first.host }]);
    }
    case RRType.SRV: {
      const built = srv(context, question.name, entries);
      return built.answer.length === 0 ? noData(context) : response(Rcode.NOERROR, built.answer, built.additional);
    }
    default:
      return noData(context);
  }
}
