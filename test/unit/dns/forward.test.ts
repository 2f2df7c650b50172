import { Packet, type Question, type Resource } from 'dns2';
import { describe, expect, test } from 'vitest';
import { forwardDefaults, parseResolvConf, storedReply, wireQuestion, withoutSelf } from '../../../dns/forward.ts';
import { Rcode, RRType } from '../../../dns/rr.ts';

describe('parseResolvConf', () => {
  test('takes nameserver lines in order, skipping comments, options and bad addresses', () => {
    const text = ['# generated', 'search default.svc.cluster.local svc.cluster.local', 'nameserver 10.0.0.2', 'nameserver fe80::1%eth0', 'nameserver not-an-ip', 'options ndots:5', '  nameserver   2001:db8::53  '].join('\n');
    expect(parseResolvConf(text)).toEqual([
      { host: '10.0.0.2', port: 53 },
      { host: 'fe80::1', port: 53 },
      { host: '2001:db8::53', port: 53 },
    ]);
  });

  test('keeps at most 15 upstreams', () => {
    const text = Array.from({ length: 20 }, (_, index) => `nameserver 10.0.0.${index + 1}`).join('\n');
    expect(parseResolvConf(text)).toHaveLength(15);
  });
});

describe('withoutSelf', () => {
  const upstreams = [
    { host: '127.0.0.1', port: 53 },
    { host: '127.0.0.1', port: 5353 },
    { host: '10.0.0.5', port: 53 },
  ];

  test.each([
    { name: 'the listen address itself', listen: { host: '127.0.0.1', port: 53 }, self: ['127.0.0.1:53'] },
    { name: 'a local address when listening on every address', listen: { host: '0.0.0.0', port: 53 }, self: ['127.0.0.1:53', '10.0.0.5:53'] },
    { name: 'nothing when the port differs', listen: { host: '127.0.0.1', port: 1053 }, self: [] },
  ])('drops $name', ({ listen, self }) => {
    const result = withoutSelf(upstreams, listen, ['127.0.0.1', '10.0.0.5']);
    expect(result.self.map((upstream) => `${upstream.host}:${upstream.port}`)).toEqual(self);
    expect(result.usable).toHaveLength(upstreams.length - self.length);
  });
});

function upstreamReply(build: (packet: Packet) => void, question: { name: string; type: number } = { name: 'www.Example.com', type: RRType.A }): Buffer {
  const packet = new Packet();
  packet.header.id = 7;
  packet.header.qr = 1;
  packet.header.ra = 1;
  packet.questions.push({ name: question.name, type: question.type, class: 1 } as Question);
  build(packet);
  return packet.toBuffer();
}

const caps = { maxTtl: forwardDefaults.maxTtl, maxNegativeTtl: forwardDefaults.maxNegativeTtl, minTtl: forwardDefaults.minTtl };

describe('storedReply', () => {
  test('keeps the records, cuts the OPT record and caps the lifetime at maxTtl', () => {
    const reply = upstreamReply((packet) => {
      packet.answers.push({ name: 'www.example.com', type: RRType.CNAME, class: 1, ttl: 300, domain: 'web.example.com' } as Resource);
      packet.answers.push({ name: 'web.example.com', type: RRType.A, class: 1, ttl: 120, address: '192.0.2.1' } as Resource);
      packet.additionals.push(Packet.Resource.EDNS([]));
    });
    const stored = storedReply(reply, wireQuestion('www.example.com', RRType.A), caps);
    expect(stored?.lifetime).toBe(30);
    expect(stored?.encoded.counts).toEqual([2, 0, 0]);
    expect(stored?.encoded.ttls?.values).toEqual([30, 30]);
    expect((stored?.encoded.flags ?? 0) & 0x0080).toBe(0x0080);
    const parsed = Packet.parse(stored?.encoded.bytes as Buffer);
    expect(parsed.answers.map((record) => record.type)).toEqual([RRType.CNAME, RRType.A]);
    expect(parsed.additionals).toEqual([]);
  });

  test('caches NXDOMAIN for the SOA minimum when that is shorter', () => {
    const reply = upstreamReply((packet) => {
      packet.header.rcode = Rcode.NXDOMAIN;
      packet.authorities.push({ name: 'example.com', type: RRType.SOA, class: 1, ttl: 3600, primary: 'ns.example.com', admin: 'h.example.com', serial: 1, refresh: 1, retry: 1, expiration: 1, minimum: 10 } as Resource);
    });
    const stored = storedReply(reply, wireQuestion('www.example.com', RRType.A), caps);
    expect(stored?.encoded.rcode).toBe(Rcode.NXDOMAIN);
    expect(stored?.lifetime).toBe(10);
  });

  test('keeps short TTLs for at least minTtl', () => {
    const reply = upstreamReply((packet) => packet.answers.push({ name: 'www.example.com', type: RRType.A, class: 1, ttl: 1, address: '192.0.2.1' } as Resource));
    expect(storedReply(reply, wireQuestion('www.example.com', RRType.A), caps)?.lifetime).toBe(5);
  });

  test('rejects a reply to another question', () => {
    const reply = upstreamReply(() => undefined, { name: 'other.example.com', type: RRType.A });
    expect(storedReply(reply, wireQuestion('www.example.com', RRType.A), caps)).toBeUndefined();
    const otherType = upstreamReply(() => undefined, { name: 'www.example.com', type: RRType.AAAA });
    expect(storedReply(otherType, wireQuestion('www.example.com', RRType.A), caps)).toBeUndefined();
  });

  test('rejects a reply whose records run past its end', () => {
    const reply = upstreamReply((packet) => packet.answers.push({ name: 'www.example.com', type: RRType.A, class: 1, ttl: 60, address: '192.0.2.1' } as Resource));
    expect(storedReply(reply.subarray(0, reply.length - 2), wireQuestion('www.example.com', RRType.A), caps)).toBeUndefined();
  });
});
