/**
 * A small DNS client for tests, independent of the server's own encoder:
 * builds query bytes by hand (so tests can also build broken ones), sends
 * them over UDP or TCP on loopback, and renders dns2-decoded replies as the
 * zone-file lines the spec tables use.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { Packet, type Resource } from 'dns2';

export interface QuerySpec {
  name: string;
  type: number;
  id?: number;
  klass?: number;
  rd?: boolean;
  /** Adds an OPT record. */
  edns?: { udpSize?: number; version?: number; dnssecOk?: boolean };
}

export function queryBytes(spec: QuerySpec): Buffer {
  const labels = spec.name === '' ? [] : spec.name.split('.');
  const name = Buffer.concat([...labels.map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'latin1')])), Buffer.from([0])]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(spec.id ?? 0x1234, 0);
  header[2] = spec.rd === false ? 0 : 0x01;
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(spec.edns ? 1 : 0, 10);
  const question = Buffer.alloc(4);
  question.writeUInt16BE(spec.type, 0);
  question.writeUInt16BE(spec.klass ?? 1, 2);
  const parts = [header, name, question];
  if (spec.edns) {
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(41, 1);
    opt.writeUInt16BE(spec.edns.udpSize ?? 1232, 3);
    opt[6] = spec.edns.version ?? 0;
    opt[7] = spec.edns.dnssecOk ? 0x80 : 0;
    parts.push(opt);
  }
  return Buffer.concat(parts);
}

export function udpExchange(port: number, message: Buffer, timeoutMs = 2000, host = '127.0.0.1'): Promise<Buffer> {
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  return new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no UDP reply from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('message', (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    });
    socket.send(message, port, host);
  });
}

export function tcpExchange(port: number, message: Buffer, timeoutMs = 2000, host = '127.0.0.1'): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const socket = net.connect({ host, port });
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TCP reply from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(received.subarray(2, 2 + received.readUInt16BE(0)));
      }
    });
    const length = Buffer.alloc(2);
    length.writeUInt16BE(message.length);
    socket.write(Buffer.concat([length, message]));
  });
}

const typeNames = new Map<number, string>(Object.entries(Packet.TYPE).map(([name, code]) => [code, name]));

/** A decoded record as "name. ttl IN TYPE rdata", single-spaced; rdata names in lower case when `foldRdata`. */
export function recordLine(record: Resource, foldRdata = false): string {
  const type = typeNames.get(record.type) ?? `TYPE${record.type}`;
  const name = (text: string | undefined) => `${foldRdata ? (text ?? '').toLowerCase() : (text ?? '')}.`;
  let rdata: string;
  switch (record.type) {
    case Packet.TYPE.A:
    case Packet.TYPE.AAAA:
      rdata = record.address ?? '';
      break;
    case Packet.TYPE.CNAME:
    case Packet.TYPE.PTR:
      rdata = name(record.domain);
      break;
    case Packet.TYPE.NS:
      rdata = name(record.ns);
      break;
    case Packet.TYPE.SRV:
      rdata = `${record.priority} ${record.weight} ${record.port} ${name(record.target)}`;
      break;
    case Packet.TYPE.TXT:
      rdata = ([] as string[]).concat(record.data ?? []).map((text) => JSON.stringify(text)).join(' ');
      break;
    case Packet.TYPE.SOA:
      rdata = `${name(record.primary)} ${name(record.admin)} ${record.serial} ${record.refresh} ${record.retry} ${record.expiration} ${record.minimum}`;
      break;
    default:
      rdata = '';
  }
  return `${record.name}. ${record.ttl} IN ${type} ${rdata}`;
}

export interface DecodedReply {
  id: number;
  rcode: number;
  flags: { aa: boolean; tc: boolean; rd: boolean; ra: boolean };
  questions: { name: string; type: number }[];
  answer: string[];
  authority: string[];
  additional: string[];
  /** The OPT record, if any: UDP size, extended rcode bits, version, DO. */
  opt: { udpSize: number; extendedRcode: number; version: number; dnssecOk: boolean } | undefined;
}

export function decodeReply(reply: Buffer, foldRdata = false): DecodedReply {
  const packet = Packet.parse(reply);
  const lines = (records: Resource[]) => records.filter((record) => record.type !== Packet.TYPE.EDNS).map((record) => recordLine(record, foldRdata));
  const opt = packet.additionals.find((record) => record.type === Packet.TYPE.EDNS);
  return {
    id: reply.readUInt16BE(0),
    rcode: (reply[3] as number) & 0xf,
    flags: { aa: ((reply[2] as number) & 0x04) !== 0, tc: ((reply[2] as number) & 0x02) !== 0, rd: ((reply[2] as number) & 0x01) !== 0, ra: ((reply[3] as number) & 0x80) !== 0 },
    questions: packet.questions.map((question) => ({ name: question.name, type: question.type })),
    answer: lines(packet.answers),
    authority: lines(packet.authorities),
    additional: lines(packet.additionals),
    opt: opt ? { udpSize: opt.class, extendedRcode: (opt.ttl >>> 24) & 0xff, version: (opt.ttl >>> 16) & 0xff, dnssecOk: (opt.ttl & 0x8000) !== 0 } : undefined,
  };
}

/** Reads a name at `offset` strictly (pointers only backwards, no loops); returns the offset after it or -1. */
function skipNameStrict(message: Buffer, offset: number): number {
  let position = offset;
  for (let labels = 0; labels < 128; labels++) {
    if (position >= message.length) return -1;
    const length = message[position] as number;
    if (length === 0) return position + 1;
    if ((length & 0xc0) === 0xc0) {
      if (position + 2 > message.length) return -1;
      const target = message.readUInt16BE(position) & 0x3fff;
      return target < position && skipNameStrict(message, target) !== -1 ? position + 2 : -1;
    }
    if ((length & 0xc0) !== 0) return -1;
    position += 1 + length;
  }
  return -1;
}

/** True when every section the header counts is present, well formed, and the message ends there. */
export function wellFormed(message: Buffer): boolean {
  if (message.length < 12) return false;
  let position = 12;
  for (let index = 0; index < message.readUInt16BE(4); index++) {
    position = skipNameStrict(message, position);
    if (position < 0 || position + 4 > message.length) return false;
    position += 4;
  }
  const records = message.readUInt16BE(6) + message.readUInt16BE(8) + message.readUInt16BE(10);
  for (let index = 0; index < records; index++) {
    position = skipNameStrict(message, position);
    if (position < 0 || position + 10 > message.length) return false;
    position += 10 + message.readUInt16BE(position + 8);
    if (position > message.length) return false;
  }
  return position === message.length;
}
