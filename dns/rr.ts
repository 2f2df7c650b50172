/**
 * The vocabulary shared by answer building and the wire: type, class and
 * response codes, and neutral resource records (plain data, no encoding).
 */

export const RRType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

export const RRClass = { IN: 1, CH: 3, ANY: 255 } as const;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended (RFC 6891): the low 4 bits go in the header, the rest in the OPT record. */
  BADVERS: 16,
} as const;

const typeNames = new Map<number, string>(Object.entries(RRType).map(([name, code]) => [code, name]));
const rcodeNames = new Map<number, string>(Object.entries(Rcode).map(([name, code]) => [code, name]));

/** "A", "SRV", … or RFC 3597's "TYPE65" for types without a mnemonic here. */
export function typeName(type: number): string {
  return typeNames.get(type) ?? `TYPE${type}`;
}

export function rcodeName(rcode: number): string {
  return rcodeNames.get(rcode) ?? `RCODE${rcode}`;
}

export interface SoaData {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

/** Names are written without the trailing dot, in the letter case they are to be sent in. */
export type ResourceRecord =
  | { name: string; type: typeof RRType.A | typeof RRType.AAAA; ttl: number; address: string }
  | { name: string; type: typeof RRType.CNAME | typeof RRType.PTR | typeof RRType.NS; ttl: number; target: string }
  | { name: string; type: typeof RRType.SRV; ttl: number; srv: SrvData }
  | { name: string; type: typeof RRType.TXT; ttl: number; text: string[] }
  | { name: string; type: typeof RRType.SOA; ttl: number; soa: SoaData };

/** One record as a zone-file line ("name. ttl IN TYPE rdata"), the form tests compare. */
export function zoneLine(record: ResourceRecord): string {
  const head = `${record.name}.\t${record.ttl}\tIN\t${typeName(record.type)}\t`;
  switch (record.type) {
    case RRType.A:
    case RRType.AAAA:
      return head + record.address;
    case RRType.CNAME:
    case RRType.PTR:
    case RRType.NS:
      return `${head}${record.target}.`;
    case RRType.SRV:
      return `${head}${record.srv.priority} ${record.srv.weight} ${record.srv.port} ${record.srv.target}.`;
    case RRType.TXT:
      return head + record.text.map((text) => JSON.stringify(text)).join(' ');
    case RRType.SOA: {
      const soa = record.soa;
      return `${head}${soa.mname}. ${soa.rname}. ${soa.serial} ${soa.refresh} ${soa.retry} ${soa.expire} ${soa.minimum}`;
    }
  }
}
