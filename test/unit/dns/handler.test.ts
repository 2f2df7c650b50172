import { describe, expect, test, vi } from 'vitest';
import { AnswerCache } from '../../../dns/answer-cache.ts';
import { Forwarder, forwardDefaults } from '../../../dns/forward.ts';
import { QueryHandler, type Proto } from '../../../dns/handler.ts';
import { QueryStats } from '../../../dns/stats.ts';
import { applyBatch, Records, slimService } from '../../../dns/records.ts';
import { Rcode, RRType } from '../../../dns/rr.ts';
import { fixtureObjects, fixtureView, makeService, makeSlice, viewOf } from './fixtures.ts';
import { decodeReply, queryBytes, type QuerySpec } from './wire-client.ts';

function setup(view: Records = fixtureView()) {
  const cache = new AnswerCache(1000);
  const stats = new QueryStats('cluster.local.');
  const forwarder = new Forwarder({ ...forwardDefaults, upstreams: [] });
  const onLoop = vi.fn();
  const handler = new QueryHandler(view, { answer: { zone: 'cluster.local', ttl: 5, pods: 'disabled', nameservers: ['10.96.0.10'] }, maxUdpSize: 1232, loopProbeName: '123.456', onLoop }, cache, forwarder, stats);
  const ask = async (spec: QuerySpec | Buffer, proto: Proto = 'udp') => {
    const reply = await handler.handle(Buffer.isBuffer(spec) ? spec : queryBytes(spec), proto, 1);
    return reply;
  };
  return { view, cache, stats, forwarder, handler, onLoop, ask };
}

async function answered(ask: ReturnType<typeof setup>['ask'], spec: QuerySpec, proto: Proto = 'udp') {
  const reply = await ask(spec, proto);
  if (!reply) throw new Error('no reply');
  return { reply, decoded: decodeReply(reply) };
}

const bigHeadless = viewOf({
  namespaces: fixtureObjects.namespaces,
  services: [makeService('testns', 'big', { clusterIP: 'None', clusterIPs: ['None'], ports: [{ name: 'http', port: 80 }] })],
  slices: [makeSlice('testns', 'big', 'big-a', 'IPv4', Array.from({ length: 100 }, (_, index) => ({ ip: `172.1.0.${index + 1}` })))],
});

describe('QueryHandler: cluster answers on the wire', () => {
  test('answers with the ID, RD and question of the query, authoritative, without RA', async () => {
    const { ask } = setup();
    const { decoded } = await answered(ask, { name: 'svc1.testns.svc.cluster.local', type: RRType.A, id: 4242 });
    expect(decoded).toMatchObject({ id: 4242, rcode: Rcode.NOERROR, flags: { aa: true, tc: false, rd: true, ra: false } });
    expect(decoded.questions).toEqual([{ name: 'svc1.testns.svc.cluster.local', type: RRType.A }]);
    expect(decoded.answer).toEqual(['svc1.testns.svc.cluster.local. 5 IN A 10.96.0.11']);
  });

  test('keeps each query’s letter case when the answer comes from the cache', async () => {
    const { ask, stats } = setup();
    await answered(ask, { name: 'svc1.testns.svc.cluster.local', type: RRType.A });
    const { decoded } = await answered(ask, { name: 'SvC1.TeStNs.SvC.cLuStEr.LoCaL', type: RRType.A, id: 7 });
    expect(decoded.questions[0]?.name).toBe('SvC1.TeStNs.SvC.cLuStEr.LoCaL');
    expect(decoded.answer).toEqual(['SvC1.TeStNs.SvC.cLuStEr.LoCaL. 5 IN A 10.96.0.11']);
    expect(stats.snapshot().cacheHits).toContainEqual(['cluster.local.|success', 1]);
  });

  test('names the zone in the SOA of a negative answer as the query spelt it', async () => {
    const { ask } = setup();
    const { decoded } = await answered(ask, { name: 'missing.testns.svc.CLUSTER.local', type: RRType.A });
    expect(decoded.rcode).toBe(Rcode.NXDOMAIN);
    expect(decoded.authority).toEqual(['CLUSTER.local. 5 IN SOA ns.dns.CLUSTER.local. hostmaster.CLUSTER.local. 1499347823 7200 1800 86400 5']);
  });

  test('stamps the current serial on cached negative answers', async () => {
    const { ask, view } = setup();
    await answered(ask, { name: 'missing.testns.svc.cluster.local', type: RRType.A });
    view.serial = 1700000000;
    const { decoded } = await answered(ask, { name: 'missing.testns.svc.cluster.local', type: RRType.A });
    expect(decoded.authority[0]).toContain(' 1700000000 ');
  });

  test('echoes EDNS: an OPT with the server’s size and the client’s DO bit', async () => {
    const { ask } = setup();
    const { decoded } = await answered(ask, { name: 'svc1.testns.svc.cluster.local', type: RRType.A, edns: { udpSize: 4096, dnssecOk: true } });
    expect(decoded.opt).toEqual({ udpSize: 1232, extendedRcode: 0, version: 0, dnssecOk: true });
    const plain = await answered(ask, { name: 'svc1.testns.svc.cluster.local', type: RRType.A });
    expect(plain.decoded.opt).toBeUndefined();
  });

  test('truncates to 512 bytes without EDNS and sets TC, cutting at a record boundary', async () => {
    const { ask } = setup(bigHeadless);
    const { reply, decoded } = await answered(ask, { name: 'big.testns.svc.cluster.local', type: RRType.A });
    expect(reply.length).toBeLessThanOrEqual(512);
    expect(decoded.flags.tc).toBe(true);
    expect(decoded.answer.length).toBeGreaterThan(10);
    expect(decoded.answer.length).toBeLessThan(100);
  });

  test('honours the EDNS size, capped at 1232, and sends everything over TCP', async () => {
    const { ask } = setup(bigHeadless);
    const edns = await answered(ask, { name: 'big.testns.svc.cluster.local', type: RRType.A, edns: { udpSize: 65000 } });
    expect(edns.reply.length).toBeLessThanOrEqual(1232);
    expect(edns.reply.length).toBeGreaterThan(512);
    expect(edns.decoded.flags.tc).toBe(true);
    expect(edns.decoded.opt?.udpSize).toBe(1232);
    const tcp = await answered(ask, { name: 'big.testns.svc.cluster.local', type: RRType.A }, 'tcp');
    expect(tcp.decoded.flags.tc).toBe(false);
    expect(tcp.decoded.answer).toHaveLength(100);
  });

  test('an answer that fits is not truncated', async () => {
    const { ask } = setup(bigHeadless);
    const { decoded } = await answered(ask, { name: '172-1-0-1.big.testns.svc.cluster.local', type: RRType.A });
    expect(decoded.flags.tc).toBe(false);
  });
});

describe('QueryHandler: malformed and unsupported messages', () => {
  test.each([
    { name: 'a message shorter than a header', bytes: Buffer.from([1, 2, 3]) },
    { name: 'a response (QR set)', bytes: (() => { const query = queryBytes({ name: 'a.b', type: 1 }); query[2] = (query[2] as number) | 0x80; return query; })() },
    { name: 'an empty message', bytes: Buffer.alloc(0) },
  ])('drops $name', async ({ bytes }) => {
    const { ask } = setup();
    expect(await ask(bytes)).toBeUndefined();
  });

  test.each([
    { name: 'two questions', mutate: (query: Buffer) => query.writeUInt16BE(2, 4), rcode: Rcode.FORMERR },
    { name: 'no question', mutate: (query: Buffer) => query.writeUInt16BE(0, 4), rcode: Rcode.FORMERR },
    { name: 'an opcode other than QUERY', mutate: (query: Buffer) => (query[2] = 2 << 3), rcode: Rcode.NOTIMP },
  ])('answers $name with a header-only rcode', async ({ mutate, rcode }) => {
    const { ask } = setup();
    const query = queryBytes({ name: 'svc1.testns.svc.cluster.local', type: RRType.A, id: 99 });
    mutate(query);
    const reply = await ask(query);
    expect(reply?.length).toBe(12);
    expect(reply?.readUInt16BE(0)).toBe(99);
    expect((reply?.[3] as number) & 0xf).toBe(rcode);
    expect((reply?.[2] as number) & 0x80).toBe(0x80);
  });

  test('answers FORMERR for a question cut short', async () => {
    const { ask } = setup();
    const query = queryBytes({ name: 'svc1.testns.svc.cluster.local', type: RRType.A });
    expect(((await ask(query.subarray(0, query.length - 3)))?.[3] as number) & 0xf).toBe(Rcode.FORMERR);
  });

  test('answers FORMERR for a compression pointer in the question', async () => {
    const { ask } = setup();
    const query = Buffer.concat([queryBytes({ name: '', type: RRType.A }).subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    expect(((await ask(query))?.[3] as number) & 0xf).toBe(Rcode.FORMERR);
  });

  test('answers BADVERS for EDNS version 1, its upper bits in the OPT record', async () => {
    const { ask } = setup();
    const { decoded } = await answered(ask, { name: 'svc1.testns.svc.cluster.local', type: RRType.A, edns: { version: 1 } });
    expect(decoded.rcode).toBe(0);
    expect(decoded.opt).toMatchObject({ extendedRcode: 1, version: 0 });
    expect(decoded.answer).toEqual([]);
  });

  test('refuses classes other than IN', async () => {
    const { ask } = setup();
    const { decoded } = await answered(ask, { name: 'version.bind', type: RRType.TXT, klass: 3 });
    expect(decoded.rcode).toBe(Rcode.REFUSED);
  });

  test('answers a name with a dot inside a label as a name that does not exist', async () => {
    const { ask } = setup();
    const query = queryBytes({ name: 'svc1.testns.svc.cluster.local', type: RRType.A });
    query[12 + 3] = 0x2e;
    const reply = await ask(query);
    expect((reply?.[3] as number) & 0xf).toBe(Rcode.NXDOMAIN);
  });
});

describe('QueryHandler: the view changing', () => {
  test('serves a changed service after its batch, and keeps other answers cached', async () => {
    const { ask, view, cache } = setup();
    await answered(ask, { name: 'svc1.testns.svc.cluster.local', type: RRType.A });
    await answered(ask, { name: 'svcempty.testns.svc.cluster.local', type: RRType.A });
    const moved = slimService(makeService('testns', 'svc1', { clusterIP: '10.96.0.99', clusterIPs: ['10.96.0.99'], ports: [{ name: 'http', port: 80 }] }));
    if (typeof moved === 'string') throw new Error(moved);
    const before = cache.size;
    cache.invalidate(applyBatch(view, { changes: [{ kind: 'service', key: 'testns/svc1', service: moved }], serial: 1499347900, synced: true }));
    expect(cache.size).toBe(before - 1);
    const { decoded } = await answered(ask, { name: 'svc1.testns.svc.cluster.local', type: RRType.A });
    expect(decoded.answer).toEqual(['svc1.testns.svc.cluster.local. 5 IN A 10.96.0.99']);
  });

  test('turns a cached NXDOMAIN into an answer when the service appears', async () => {
    const { ask, view, cache } = setup();
    expect((await answered(ask, { name: 'late.testns.svc.cluster.local', type: RRType.A })).decoded.rcode).toBe(Rcode.NXDOMAIN);
    const late = slimService(makeService('testns', 'late', { clusterIP: '10.96.0.77', clusterIPs: ['10.96.0.77'] }));
    if (typeof late === 'string') throw new Error(late);
    cache.invalidate(applyBatch(view, { changes: [{ kind: 'service', key: 'testns/late', service: late }], serial: 1499347901, synced: true }));
    expect((await answered(ask, { name: 'late.testns.svc.cluster.local', type: RRType.A })).decoded.answer).toEqual(['late.testns.svc.cluster.local. 5 IN A 10.96.0.77']);
  });

  test('answers SERVFAIL before the first sync and caches nothing', async () => {
    const { ask, cache } = setup(new Records());
    expect((await answered(ask, { name: 'svc1.testns.svc.cluster.local', type: RRType.A })).decoded.rcode).toBe(Rcode.SERVFAIL);
    expect(cache.size).toBe(0);
  });
});

describe('QueryHandler: forwarding edges', () => {
  test('refuses names outside the zone when there is no upstream', async () => {
    const { ask } = setup();
    expect((await answered(ask, { name: 'example.com', type: RRType.A })).decoded.rcode).toBe(Rcode.REFUSED);
  });

  test('disables forwarding when its own loop probe arrives', async () => {
    const { ask, forwarder, onLoop, stats } = setup();
    expect((await answered(ask, { name: '123.456', type: RRType.HINFO })).decoded.rcode).toBe(Rcode.REFUSED);
    expect(forwarder.disabled).toBe(true);
    expect(onLoop).toHaveBeenCalledTimes(1);
    expect(stats.snapshot().loopDetected).toBe(true);
  });
});
