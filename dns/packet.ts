/**
 * DNS messages on the wire. Three jobs:
 *
 * - readQuery: the hot-path decoder. It reads only the header, the one
 *   question and the OPT record, straight from the buffer. dns2's
 *   Packet.parse decodes bit by bit (about 16 µs a query here, most of the
 *   per-core budget at 50k queries per second), so it is kept for responses
 *   from upstreams and for tests.
 * - encodeResponse: a built answer to bytes, with dns2's encoder and its
 *   name compression. It runs once per (name, type) and view change; the
 *   result is cached. Every owner name equal to the question compresses to a
 *   pointer at the question, which is what makes the next job cheap.
 * - finishResponse: a cached encoding turned into the reply to one query:
 *   copy, then patch the ID and flags, the question's letter case (which
 *   the owner names point at), the SOA serial and forwarded TTLs, cut at a
 *   record boundary with TC when it does not fit, and append the OPT record.
 */
import { Packet, type Resource, type Writer } from 'dns2';
import type { Response } from './answer.ts';
import { Rcode, RRClass, RRType, type ResourceRecord } from './rr.ts';

export interface Edns {
  udpSize: number;
  version: number;
  dnssecOk: boolean;
}

export interface Query {
  buffer: Buffer;
  id: number;
  /** Recursion desired and checking disabled, echoed in the reply. */
  rd: boolean;
  cd: boolean;
  /** End of the question name (it starts at byte 12). */
  nameEnd: number;
  /** End of the question (name, type, class). */
  questionEnd: number;
  type: number;
  class: number;
  /** The wire form of the name, lower-cased: the cache key part that identifies the name. */
  wireKey: string;
  edns: Edns | undefined;
}

export type ReadResult =
  | { kind: 'query'; query: Query }
  /** Not worth a reply: too short for a header, or a response (answering it could start a loop). */
  | { kind: 'drop' }
  /** A header-only reply with this rcode: a malformed question (FORMERR) or an opcode other than QUERY (NOTIMP). */
  | { kind: 'reject'; rcode: number; id: number; flags: number };

const headerLength = 12;
const optLength = 11;

/** Skips a name that may hold compression pointers; returns the offset after it, or -1. */
function skipName(buffer: Buffer, offset: number): number {
  let position = offset;
  for (let guard = 0; guard < 128; guard++) {
    if (position >= buffer.length) return -1;
    const length = buffer[position] as number;
    if (length === 0) return position + 1;
    if ((length & 0xc0) === 0xc0) return position + 2 <= buffer.length ? position + 2 : -1;
    if ((length & 0xc0) !== 0) return -1;
    position += 1 + length;
  }
  return -1;
}

export function readQuery(buffer: Buffer): ReadResult {
  if (buffer.length < headerLength) return { kind: 'drop' };
  const id = buffer.readUInt16BE(0);
  const flags = buffer.readUInt16BE(2);
  if (flags & 0x8000) return { kind: 'drop' };
  if ((flags >> 11) & 0xf) return { kind: 'reject', rcode: Rcode.NOTIMP, id, flags };
  const formErr: ReadResult = { kind: 'reject', rcode: Rcode.FORMERR, id, flags };
  // miekg/dns's default accept rules: one question, at most one answer/authority RR, two additional.
  if (buffer.readUInt16BE(4) !== 1 || buffer.readUInt16BE(6) > 1 || buffer.readUInt16BE(8) > 1 || buffer.readUInt16BE(10) > 2) return formErr;
  let position = headerLength;
  let upper = false;
  for (;;) {
    if (position >= buffer.length) return formErr;
    const length = buffer[position] as number;
    if (length === 0) break;
    // A question comes first in the message: there is nothing before it a pointer could reuse.
    if (length > 63) return formErr;
    const end = position + 1 + length;
    if (end > buffer.length) return formErr;
    for (let index = position + 1; index < end && !upper; index++) {
      const byte = buffer[index] as number;
      if (byte >= 0x41 && byte <= 0x5a) upper = true;
    }
    position = end;
  }
  const nameEnd = position + 1;
  if (nameEnd - headerLength > 255 || nameEnd + 4 > buffer.length) return formErr;
  const type = buffer.readUInt16BE(nameEnd);
  const klass = buffer.readUInt16BE(nameEnd + 2);
  const questionEnd = nameEnd + 4;
  let edns: Edns | undefined;
  position = questionEnd;
  const records = buffer.readUInt16BE(6) + buffer.readUInt16BE(8) + buffer.readUInt16BE(10);
  for (let index = 0; index < records; index++) {
    const nameStart = position;
    position = skipName(buffer, position);
    if (position < 0 || position + 10 > buffer.length) return formErr;
    const rrType = buffer.readUInt16BE(position);
    const rdataEnd = position + 10 + buffer.readUInt16BE(position + 8);
    if (rdataEnd > buffer.length) return formErr;
    if (rrType === RRType.OPT) {
      // RFC 6891: one OPT, owned by the root, in the additional section.
      if (edns !== undefined || buffer[nameStart] !== 0 || index < records - buffer.readUInt16BE(10)) return formErr;
      edns = { udpSize: buffer.readUInt16BE(position + 2), version: buffer[position + 5] as number, dnssecOk: ((buffer[position + 6] as number) & 0x80) !== 0 };
    }
    position = rdataEnd;
  }
  return {
    kind: 'query',
    query: {
      buffer,
      id,
      rd: (flags & 0x0100) !== 0,
      cd: (flags & 0x0010) !== 0,
      nameEnd,
      questionEnd,
      type,
      class: klass,
      wireKey: upper ? nameKey(buffer, headerLength, nameEnd) : buffer.toString('latin1', headerLength, nameEnd),
      edns,
    },
  };
}

/**
 * A name's wire bytes with ASCII letters folded, as a string: what caches
 * key names by. Only A-Z fold; other bytes are distinct, as DNS has them.
 */
export function nameKey(buffer: Buffer, start: number, end: number): string {
  const folded = Buffer.from(buffer.subarray(start, end));
  for (let index = 0; index < folded.length; index++) {
    const byte = folded[index] as number;
    if (byte >= 0x41 && byte <= 0x5a) folded[index] = byte + 32;
  }
  return folded.toString('latin1');
}

/**
 * The question name's labels as text, lower case. Bytes that would make
 * the text ambiguous are escaped as in zone files ("\.", "\\", "\DDD"), so
 * such a label can never equal a Kubernetes name.
 */
export function questionLabels(query: Query): string[] {
  const buffer = query.buffer;
  const labels: string[] = [];
  let position = headerLength;
  while (position < query.nameEnd - 1) {
    const length = buffer[position] as number;
    let label = '';
    for (let index = position + 1; index <= position + length; index++) {
      const byte = buffer[index] as number;
      const lower = byte >= 0x41 && byte <= 0x5a ? byte + 32 : byte;
      if (lower === 0x2e || lower === 0x5c) label += `\\${String.fromCharCode(lower)}`;
      else if (lower <= 0x20 || lower >= 0x7f) label += `\\${String(lower).padStart(3, '0')}`;
      else label += String.fromCharCode(lower);
    }
    labels.push(label);
    position += 1 + length;
  }
  return labels;
}

/** A reply ready to be finished for any query with the same question. */
export interface Encoded {
  /** Header (ID 0, no per-query flags) + question + records; no OPT. */
  bytes: Buffer;
  questionEnd: number;
  /** Where each record ends, in wire order: the places a reply may be cut. */
  ends: number[];
  counts: [answer: number, authority: number, additional: number];
  rcode: number;
  /** AA, RA and AD as they go out. */
  flags: number;
  /** Where SOA serials sit: the serial is the view's, stamped on the way out. */
  serialOffsets: number[];
  /** Forwarded replies: where each TTL sits and its value when stored, to count them down. */
  ttls?: { offsets: number[]; values: number[] };
}

/**
 * A copy with its own memory. Small buffers are slices of shared 8 KiB
 * pool slabs, and one cached slice keeps its whole slab alive; answers
 * live long, so they get exactly their size.
 */
export function ownBuffer(bytes: Buffer): Buffer {
  const own = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(own);
  return own;
}

type Dns2Writer = Writer & { names: Map<string, number>; byteLength(): number };

function dns2Record(record: ResourceRecord): Resource {
  const base = { name: record.name, type: record.type, class: RRClass.IN, ttl: record.ttl };
  switch (record.type) {
    case RRType.A:
    case RRType.AAAA:
      return { ...base, address: record.address } as Resource;
    case RRType.CNAME:
    case RRType.PTR:
      return { ...base, domain: record.target } as Resource;
    case RRType.NS:
      return { ...base, ns: record.target } as Resource;
    case RRType.SRV:
      return { ...base, priority: record.srv.priority, weight: record.srv.weight, port: record.srv.port, target: record.srv.target } as Resource;
    case RRType.TXT:
      return { ...base, data: record.text } as Resource;
    case RRType.SOA: {
      const soa = record.soa;
      return { ...base, primary: soa.mname, admin: soa.rname, serial: soa.serial, refresh: soa.refresh, retry: soa.retry, expiration: soa.expire, minimum: soa.minimum } as Resource;
    }
  }
}

/**
 * Encodes a response to `query`'s question. Records owned by the question
 * name become pointers to the question, and so do names ending in its last
 * `zoneLabels` labels (the zone): both then take the question's letter case
 * when it is patched in, as CoreDNS spells them. Other labels of a name
 * (a service or endpoint) keep their own spelling. `upstream` records (dns2
 * objects decoded from an upstream reply) follow the built answer records,
 * for ExternalName targets outside the zone.
 */
export function encodeResponse(query: Query, response: Response, zoneLabels: number, upstream: Resource[] = []): Encoded {
  const writer = new Packet.Writer() as Dns2Writer;
  writer.names = new Map();
  const counts: Encoded['counts'] = [response.answer.length + upstream.length, response.authority.length, response.additional.length];
  new Packet.Header({ id: 0, qdcount: 1, ancount: counts[0], nscount: counts[1], arcount: counts[2] }).toBuffer(writer);
  // The question as the client sent it (lower-cased), each suffix registered for compression.
  const labels = questionLabels(query);
  let position = headerLength;
  for (let index = 0; index < labels.length; index++) {
    if (index === 0 || labels.length - index <= zoneLabels) writer.names.set(labels.slice(index).join('.'), position);
    position += 1 + (query.buffer[position] as number);
  }
  for (let index = headerLength; index < query.questionEnd; index++) {
    const byte = query.buffer[index] as number;
    // Only the name's letters fold; the type and class bytes after it go as they are.
    writer.write(index < query.nameEnd && byte >= 0x41 && byte <= 0x5a ? byte + 32 : byte, 8);
  }
  const ends: number[] = [];
  const serialOffsets: number[] = [];
  const write = (records: Resource[], ours: boolean) => {
    for (const record of records) {
      Packet.Resource.encode(record, writer);
      ends.push(writer.byteLength());
      if (ours && record.type === RRType.SOA) serialOffsets.push(writer.byteLength() - 20);
    }
  };
  write(response.answer.map(dns2Record), true);
  write(upstream, false);
  write(response.authority.map(dns2Record), true);
  write(response.additional.map(dns2Record), true);
  return {
    bytes: ownBuffer(writer.toBuffer()),
    questionEnd: query.questionEnd,
    ends,
    counts,
    rcode: response.rcode,
    flags: response.authoritative ? 0x0400 : 0,
    serialOffsets,
  };
}

export interface FinishOptions {
  /** Largest reply the transport allows: 512 without EDNS, the negotiated size with it, 65535 over TCP. */
  limit: number;
  /** The UDP size this server advertises in its OPT record. */
  advertisedSize: number;
  serial: number;
  /** Seconds since a forwarded reply was stored, subtracted from its (capped) TTLs. */
  age?: number;
}

export function finishResponse(encoded: Encoded, query: Query, options: FinishOptions): Buffer {
  const opt = query.edns ? optLength : 0;
  let cut = encoded.bytes.length;
  let kept = encoded.ends.length;
  if (cut + opt > options.limit) {
    // Pointers only point backwards, so any record boundary is a valid place to stop.
    while (kept > 0 && (encoded.ends[kept - 1] as number) + opt > options.limit) kept -= 1;
    cut = kept === 0 ? encoded.questionEnd : (encoded.ends[kept - 1] as number);
  }
  const truncated = kept < encoded.ends.length;
  const out = Buffer.allocUnsafe(cut + opt);
  encoded.bytes.copy(out, 0, 0, cut);
  out.writeUInt16BE(query.id, 0);
  out[2] = 0x80 | (encoded.flags >> 8) | (truncated ? 0x02 : 0) | (query.rd ? 0x01 : 0);
  out[3] = (encoded.flags & 0xff) | (query.cd ? 0x10 : 0) | (encoded.rcode & 0xf);
  const [answers, authority, additional] = encoded.counts;
  const answerKept = Math.min(kept, answers);
  const authorityKept = Math.min(kept - answerKept, authority);
  out.writeUInt16BE(answerKept, 6);
  out.writeUInt16BE(authorityKept, 8);
  out.writeUInt16BE(Math.min(kept - answerKept - authorityKept, additional) + (opt ? 1 : 0), 10);
  query.buffer.copy(out, headerLength, headerLength, query.nameEnd);
  for (const offset of encoded.serialOffsets) if (offset + 4 <= cut) out.writeUInt32BE(options.serial >>> 0, offset);
  const age = options.age ?? 0;
  if (encoded.ttls) {
    const { offsets, values } = encoded.ttls;
    for (let index = 0; index < offsets.length; index++) {
      const offset = offsets[index] as number;
      if (offset + 4 <= cut) out.writeUInt32BE(Math.max(0, (values[index] as number) - age), offset);
    }
  }
  if (opt) writeOpt(out, cut, options.advertisedSize, 0, query.edns?.dnssecOk === true);
  return out;
}

function writeOpt(out: Buffer, offset: number, udpSize: number, extendedRcode: number, dnssecOk: boolean): void {
  out[offset] = 0;
  out.writeUInt16BE(RRType.OPT, offset + 1);
  out.writeUInt16BE(udpSize, offset + 3);
  out[offset + 5] = extendedRcode;
  out[offset + 6] = 0;
  out[offset + 7] = dnssecOk ? 0x80 : 0;
  out[offset + 8] = 0;
  out.writeUInt16BE(0, offset + 9);
}

/**
 * A reply that carries the question and no records: REFUSED, SERVFAIL, and
 * BADVERS (whose upper bits travel in the OPT record, RFC 6891 6.1.3).
 */
export function errorResponse(query: Query, rcode: number, advertisedSize: number): Buffer {
  const opt = query.edns ? optLength : 0;
  const out = Buffer.allocUnsafe(query.questionEnd + opt);
  query.buffer.copy(out, 0, 0, query.questionEnd);
  out[2] = 0x80 | (query.rd ? 0x01 : 0);
  out[3] = (query.cd ? 0x10 : 0) | (rcode & 0xf);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(opt ? 1 : 0, 10);
  if (opt) writeOpt(out, query.questionEnd, advertisedSize, rcode >> 4, query.edns?.dnssecOk === true);
  return out;
}

/** The header-only reply to a message whose question cannot be used (FORMERR, NOTIMP). */
export function rejectResponse(id: number, flags: number, rcode: number): Buffer {
  const out = Buffer.alloc(headerLength);
  out.writeUInt16BE(id, 0);
  // Keep the opcode and RD; set QR; no counts.
  out.writeUInt16BE(0x8000 | (flags & 0x7900) | (rcode & 0xf), 2);
  return out;
}
