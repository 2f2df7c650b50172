/**
 * A DNS server for tests to forward to, on loopback: answers from a list of
 * zone-file lines (NXDOMAIN for anything else) or from a custom handler, over
 * UDP and TCP, and records what it was asked.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { Packet, type Resource } from 'dns2';

export interface UpstreamQuery {
  name: string;
  type: number;
  proto: 'udp' | 'tcp';
  dnssecOk: boolean;
}

/** What to reply: a packet (its ID and question are filled in), raw bytes, or nothing. */
export type UpstreamHandler = (query: UpstreamQuery, request: Packet) => Packet | Buffer | undefined | Promise<Packet | Buffer | undefined>;

export interface FakeUpstream {
  port: number;
  queries: UpstreamQuery[];
  close(): Promise<void>;
}

const types = Packet.TYPE as Record<string, number>;

/** Parses "name. ttl IN TYPE rdata" into a dns2 record. */
export function recordFromLine(line: string): Resource {
  const [owner = '', ttl = '0', , typeName = '', ...rdata] = line.trim().split(/\s+/);
  const name = owner.replace(/\.$/, '');
  const type = types[typeName] ?? 0;
  const base = { name, type, class: 1, ttl: Number(ttl) };
  const target = (rdata[0] ?? '').replace(/\.$/, '');
  switch (typeName) {
    case 'A':
    case 'AAAA':
      return { ...base, address: rdata[0] } as Resource;
    case 'CNAME':
    case 'PTR':
      return { ...base, domain: target } as Resource;
    case 'TXT':
      return { ...base, data: rdata.map((text) => JSON.parse(text) as string) } as Resource;
    default:
      throw new Error(`fake upstream: unsupported record ${line}`);
  }
}

/** A handler answering from zone lines: matching name and type, else NXDOMAIN. */
export function zoneHandler(lines: readonly string[]): UpstreamHandler {
  const records = lines.map(recordFromLine);
  return (query) => {
    const reply = new Packet();
    const matches = records.filter((record) => record.name.toLowerCase() === query.name.toLowerCase());
    if (matches.length === 0) reply.header.rcode = 3;
    reply.answers.push(...matches.filter((record) => record.type === query.type));
    return reply;
  };
}

function finish(request: Packet, reply: Packet | Buffer): Buffer {
  if (Buffer.isBuffer(reply)) return reply;
  reply.header.id = request.header.id;
  reply.header.qr = 1;
  reply.header.ra = 1;
  reply.header.rd = request.header.rd;
  reply.questions = request.questions;
  const opt = request.additionals.find((record) => record.type === Packet.TYPE.EDNS);
  if (opt && !reply.additionals.some((record) => record.type === Packet.TYPE.EDNS)) reply.additionals.push(Packet.Resource.EDNS([]));
  return reply.toBuffer();
}

export async function startFakeUpstream(handler: UpstreamHandler): Promise<FakeUpstream> {
  const queries: UpstreamQuery[] = [];
  const answer = async (message: Buffer, proto: 'udp' | 'tcp'): Promise<Buffer | undefined> => {
    const request = Packet.parse(message);
    const question = request.questions[0];
    if (!question) return undefined;
    const opt = request.additionals.find((record) => record.type === Packet.TYPE.EDNS);
    const query = { name: question.name, type: question.type, proto, dnssecOk: opt ? (opt.ttl & 0x8000) !== 0 : false };
    queries.push(query);
    const reply = await handler(query, request);
    return reply === undefined ? undefined : finish(request, reply);
  };
  const onUdp = (udp: dgram.Socket) => (message: Buffer, remote: dgram.RemoteInfo) => {
    void answer(message, 'udp').then((reply) => reply && udp.send(reply, remote.port, remote.address));
  };
  const connections = new Set<net.Socket>();
  const onTcp = (socket: net.Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
    let pending = Buffer.alloc(0);
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const message = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + message.length);
        void answer(message, 'tcp').then((reply) => {
          if (!reply) return;
          const length = Buffer.alloc(2);
          length.writeUInt16BE(reply.length);
          socket.write(Buffer.concat([length, reply]));
        });
      }
    });
  };
  // UDP picks the port; if TCP has it taken, pick again.
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket('udp4');
    udp.on('message', onUdp(udp));
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
    const port = udp.address().port;
    const tcp = net.createServer(onTcp);
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, '127.0.0.1', () => resolve());
      });
    } catch (error) {
      udp.close();
      if (attempt < 10) continue;
      throw error;
    }
    return {
      port,
      queries,
      async close() {
        await new Promise<void>((resolve) => udp.close(() => resolve()));
        for (const socket of connections) socket.destroy();
        await new Promise<void>((resolve) => tcp.close(() => resolve()));
      },
    };
  }
}
