/**
 * Thousands of random and broken messages at the real `kplane dns` over
 * UDP and TCP, then proof it still answers correctly: a DNS server must
 * never crash on what the network sends it. Every reply it does send must
 * be well formed. The generator is seeded, so a failure reproduces.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createHttpClient } from '../../controlplane/client/http-client.ts';
import { refs } from '../../controlplane/client/types.ts';
import { RRType } from '../../dns/rr.ts';
import { eventually, startDnsProcess, type DnsProcess } from '../unit/dns/dns-process.ts';
import { makeNamespace, makeService } from '../unit/dns/fixtures.ts';
import { decodeReply, queryBytes, tcpExchange, udpExchange, wellFormed } from '../unit/dns/wire-client.ts';
import { startApiServerProcess, tempDir, type ApiServerProcess } from './helpers/apiserver-process.ts';

/** mulberry32: small, seeded, good enough to spread bytes. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const valid = [
  queryBytes({ name: 'web.fuzz.svc.cluster.local', type: RRType.A }),
  queryBytes({ name: '_http._tcp.web.fuzz.svc.cluster.local', type: RRType.SRV, edns: { udpSize: 4096, dnssecOk: true } }),
  queryBytes({ name: '1.0.96.10.in-addr.arpa', type: RRType.PTR }),
  queryBytes({ name: 'nope.fuzz.svc.cluster.local', type: RRType.AAAA, edns: {} }),
];

/** One hostile message: random bytes, or a valid query cut short, bit-flipped or with lying counts and lengths. */
function hostile(next: () => number): Buffer {
  const byte = () => Math.floor(next() * 256);
  const base = Buffer.from(valid[Math.floor(next() * valid.length)] as Buffer);
  switch (Math.floor(next() * 7)) {
    case 0:
      return Buffer.from(Array.from({ length: Math.floor(next() * 600) }, byte));
    case 1:
      return base.subarray(0, Math.floor(next() * base.length));
    case 2: {
      for (let flips = 1 + Math.floor(next() * 8); flips > 0; flips--) base[Math.floor(next() * base.length)] = byte();
      base[2] = (base[2] as number) & 0x7f;
      return base;
    }
    case 3:
      base.writeUInt16BE(Math.floor(next() * 65536), 4 + 2 * Math.floor(next() * 4));
      return base;
    case 4:
      // A label length pointing past the end, or a compression pointer loop.
      base[12] = next() < 0.5 ? 0x3f : 0xc0;
      base[13] = next() < 0.5 ? 12 : byte();
      return base;
    case 5:
      // An OPT record whose rdata length lies.
      if (base.length > 11 && base.readUInt16BE(10) === 1) base.writeUInt16BE(Math.floor(next() * 65536), base.length - 2);
      else base.writeUInt16BE(1, 10);
      return base;
    default:
      return Buffer.concat([base, Buffer.from(Array.from({ length: Math.floor(next() * 40) }, byte))]);
  }
}

let dataDir: ReturnType<typeof tempDir>;
let api: ApiServerProcess;
let dns: DnsProcess;

beforeAll(async () => {
  dataDir = tempDir('kplane-dns-fuzz-');
  api = await startApiServerProcess(dataDir.path);
  const client = createHttpClient({ server: api.url });
  await client.create(refs.namespaces, makeNamespace('fuzz'));
  await client.create(refs.services, makeService('fuzz', 'web', { clusterIP: '10.96.0.42', clusterIPs: ['10.96.0.42'], ports: [{ name: 'http', port: 80 }] }));
  await client.close();
  dns = await startDnsProcess(['--server', api.url, '--upstream', '127.0.0.1:9', '--workers', '2']);
  await eventually(async () => ((await fetch(`http://${dns.ready}/ready`)).status === 200 ? true : undefined), 20_000, '/ready');
});

afterAll(async () => {
  await dns?.stop();
  await api?.stop();
  dataDir?.remove();
});

async function stillAnswers(): Promise<void> {
  for (const exchange of [udpExchange, tcpExchange]) {
    const reply = decodeReply(await exchange(dns.port, queryBytes({ name: 'web.fuzz.svc.cluster.local', type: RRType.A, id: 4321 })));
    expect(reply).toMatchObject({ id: 4321, rcode: 0, answer: ['web.fuzz.svc.cluster.local. 5 IN A 10.96.0.42'] });
  }
}

describe('kplane dns under malformed input', () => {
  test('survives 6000 hostile UDP messages, and every reply it sends is well formed', async () => {
    const next = random(20261122);
    const socket = dgram.createSocket('udp4');
    const replies: Buffer[] = [];
    socket.on('message', (reply) => replies.push(reply));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    for (let batch = 0; batch < 30; batch++) {
      for (let index = 0; index < 200; index++) socket.send(hostile(next), dns.port, '127.0.0.1');
      // Let the batch drain before the next one, so the socket buffers hold every message.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await stillAnswers();
    socket.close();
    expect(replies.length).toBeGreaterThan(0);
    for (const reply of replies) {
      expect(reply.length).toBeGreaterThanOrEqual(12);
      expect(((reply[2] as number) & 0x80) !== 0).toBe(true);
      expect(wellFormed(reply)).toBe(true);
    }
  });

  test('survives 300 TCP connections sending garbage, short frames and lying lengths', async () => {
    const next = random(7);
    const connections = Array.from({ length: 300 }, (_, index) =>
      new Promise<void>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port: dns.port });
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.on('connect', () => {
          const message = hostile(next);
          const length = Buffer.alloc(2);
          // Some frames claim more than they carry; some are sent raw, without a length.
          length.writeUInt16BE(index % 5 === 0 ? message.length + 100 : message.length);
          socket.write(index % 7 === 0 ? message : Buffer.concat([length, message]));
          if (index % 3 === 0) socket.write(Buffer.from([0, 0]));
          setTimeout(() => socket.destroy(), 50);
        });
      }),
    );
    await Promise.all(connections);
    await stillAnswers();
  });

  test('counted no internal faults', async () => {
    const metrics = await (await fetch(`http://${dns.metrics}/metrics`)).text();
    expect(metrics).toContain('coredns_panics_total 0');
    expect(metrics).toMatch(/coredns_dns_responses_total\{[^}]*rcode="FORMERR"[^}]*\} \d+/);
  });
});
