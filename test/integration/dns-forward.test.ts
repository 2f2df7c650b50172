/**
 * Forwarding with real sockets: a serving instance (dns/serve.ts) in this
 * process, forwarding to fake upstreams on loopback. Nothing leaves the
 * machine. Then loop detection with the real CLI.
 */
import dgram from 'node:dgram';
import { Packet } from 'dns2';
import { afterEach, describe, expect, test } from 'vitest';
import { forwardDefaults, type ForwardOptions } from '../../dns/forward.ts';
import { Rcode, RRType } from '../../dns/rr.ts';
import { maxUdpSize, serve, type Serving } from '../../dns/serve.ts';
import { eventually, startDnsProcess } from '../unit/dns/dns-process.ts';
import { startFakeUpstream, zoneHandler, type FakeUpstream, type UpstreamHandler } from '../unit/dns/fake-upstream.ts';
import { decodeReply, queryBytes, tcpExchange, udpExchange } from '../unit/dns/wire-client.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function upstream(handler: UpstreamHandler): Promise<FakeUpstream> {
  const started = await startFakeUpstream(handler);
  cleanups.push(() => started.close());
  return started;
}

async function server(upstreams: FakeUpstream[], forward: Partial<ForwardOptions> = {}): Promise<Serving> {
  const serving = await serve(
    {
      host: '127.0.0.1',
      port: 0,
      reusePort: false,
      answer: { zone: 'cluster.local', ttl: 5, pods: 'disabled', nameservers: [] },
      forward: { ...forwardDefaults, timeoutMs: 300, healthCheckMs: 50, ...forward, upstreams: upstreams.map((fake) => ({ host: '127.0.0.1', port: fake.port })) },
      maxUdpSize,
      cacheCapacity: 1000,
      loopProbeName: 'never.asked',
    },
    { onLoop: () => undefined, onError: () => undefined },
  );
  serving.apply({ changes: [], serial: 1, synced: true });
  cleanups.push(() => serving.close());
  return serving;
}

const ask = async (port: number, name: string, type: number = RRType.A, options: { edns?: { dnssecOk?: boolean; udpSize?: number }; tcp?: boolean } = {}) => {
  const message = queryBytes({ name, type, ...(options.edns ? { edns: options.edns } : {}) });
  return decodeReply(options.tcp ? await tcpExchange(port, message) : await udpExchange(port, message));
};

describe('forwarding', () => {
  test('forwards names outside the zone and answers repeats from the cache', async () => {
    const fake = await upstream(zoneHandler(['example.com. 60 IN A 192.0.2.10']));
    const serving = await server([fake]);
    const first = await ask(serving.port, 'example.com');
    const second = await ask(serving.port, 'EXAMPLE.com');
    expect(first.answer).toEqual(['example.com. 30 IN A 192.0.2.10']);
    expect(second.answer).toHaveLength(1);
    expect(second.answer[0]).toMatch(/^EXAMPLE\.com\. \d+ IN A 192\.0\.2\.10$/);
    expect(fake.queries).toHaveLength(1);
    expect(first.flags).toMatchObject({ aa: false, ra: true });
  });

  test('caches NXDOMAIN too', async () => {
    const fake = await upstream(zoneHandler([]));
    const serving = await server([fake]);
    expect((await ask(serving.port, 'missing.example.com')).rcode).toBe(Rcode.NXDOMAIN);
    expect((await ask(serving.port, 'missing.example.com')).rcode).toBe(Rcode.NXDOMAIN);
    expect(fake.queries).toHaveLength(1);
  });

  test('passes the DO bit upstream and keeps DO and non-DO answers apart', async () => {
    const fake = await upstream(zoneHandler(['example.com. 60 IN A 192.0.2.10']));
    const serving = await server([fake]);
    await ask(serving.port, 'example.com', RRType.A, { edns: { dnssecOk: true } });
    await ask(serving.port, 'example.com');
    expect(fake.queries.map((query) => query.dnssecOk)).toEqual([true, false]);
  });

  test('asks again over TCP when the UDP reply is truncated, then cuts the answer to each client', async () => {
    const many = Array.from({ length: 60 }, (_, index) => `big.example.com. 60 IN A 192.0.2.${index + 1}`);
    const full = zoneHandler(many);
    const fake = await upstream(async (query, request) => {
      if (query.proto === 'tcp') return full(query, request);
      const truncated = new Packet();
      truncated.header.tc = 1;
      return truncated;
    });
    const serving = await server([fake]);
    const overTcp = await ask(serving.port, 'big.example.com', RRType.A, { tcp: true });
    expect(overTcp.answer).toHaveLength(60);
    expect(overTcp.flags.tc).toBe(false);
    const overUdp = await ask(serving.port, 'big.example.com');
    expect(overUdp.flags.tc).toBe(true);
    expect(overUdp.answer.length).toBeLessThan(60);
    expect(fake.queries.map((query) => query.proto)).toEqual(['udp', 'tcp']);
  });

  test('takes an upstream that stops answering out, and back once it answers again', async () => {
    let silent = true;
    const answer = zoneHandler(['example.com. 60 IN A 192.0.2.10', 'other.example.com. 60 IN A 192.0.2.11', 'third.example.com. 60 IN A 192.0.2.12']);
    const flaky = await upstream((query, request) => (silent ? undefined : answer(query, request)));
    const good = await upstream(answer);
    const serving = await server([flaky, good], { maxFails: 1 });
    // Whichever upstream is picked, every answer arrives: a silent one is followed by the other.
    for (const name of ['example.com', 'other.example.com', 'third.example.com']) expect((await ask(serving.port, name)).rcode).toBe(Rcode.NOERROR);
    await eventually(async () => {
      expect((await ask(serving.port, `probe-${Math.random()}.example.com`)).rcode).toBe(Rcode.NXDOMAIN);
      return flaky.queries.length > 0 ? true : undefined;
    }, 5000, 'a query to the flaky upstream');
    const before = flaky.queries.length;
    for (let index = 0; index < 5; index++) expect((await ask(serving.port, `n${index}.example.com`)).rcode).toBe(Rcode.NXDOMAIN);
    // Out of rotation, the silent upstream only sees health checks (". NS"), no client names.
    expect(flaky.queries.slice(before).filter((query) => query.name !== '')).toEqual([]);
    silent = false;
    await eventually(async () => (flaky.queries.slice(before).some((query) => query.name === '') ? true : undefined), 5000, 'a health check');
    const after = flaky.queries.length;
    await eventually(async () => {
      await ask(serving.port, `back-${Math.random()}.example.com`);
      return flaky.queries.slice(after).some((query) => query.name !== '') ? true : undefined;
    }, 5000, 'client queries reaching the recovered upstream');
  });

  test('answers SERVFAIL when no upstream answers', async () => {
    const silent = await upstream(() => undefined);
    const serving = await server([silent]);
    expect((await ask(serving.port, 'example.com')).rcode).toBe(Rcode.SERVFAIL);
  });

  test('refuses queries past the concurrency limit', async () => {
    const slow = await upstream(async (query, request) => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      return zoneHandler([`${query.name}. 60 IN A 192.0.2.1`])(query, request);
    });
    const serving = await server([slow], { maxConcurrent: 2, timeoutMs: 2000 });
    const replies = await Promise.all(Array.from({ length: 6 }, (_, index) => ask(serving.port, `q${index}.example.com`)));
    const rcodes = replies.map((reply) => reply.rcode).sort();
    expect(rcodes.filter((rcode) => rcode === Rcode.NOERROR)).toHaveLength(2);
    expect(rcodes.filter((rcode) => rcode === Rcode.REFUSED)).toHaveLength(4);
    expect(serving.stats.snapshot().forwardRejects).toBe(4);
  });

  test('asks once for identical questions in flight', async () => {
    const slow = await upstream(async (query, request) => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return zoneHandler(['example.com. 60 IN A 192.0.2.10'])(query, request);
    });
    const serving = await server([slow]);
    await Promise.all(Array.from({ length: 5 }, () => ask(serving.port, 'example.com')));
    expect(slow.queries).toHaveLength(1);
  });

  test('resolves an ExternalName target upstream and puts the CNAME first', async () => {
    const fake = await upstream(zoneHandler(['ext.example.com. 60 IN A 192.0.2.20']));
    const serving = await server([fake]);
    serving.apply({
      changes: [
        { kind: 'namespace', name: 'ns', present: true },
        { kind: 'service', key: 'ns/ext', service: { namespace: 'ns', name: 'ext', kind: 'externalName', clusterIPs: [], externalName: 'ext.example.com', ports: [], publishNotReadyAddresses: false } },
      ],
      serial: 2,
      synced: true,
    });
    const reply = await ask(serving.port, 'ext.ns.svc.cluster.local');
    expect(reply.answer).toEqual(['ext.ns.svc.cluster.local. 5 IN CNAME ext.example.com.', 'ext.example.com. 30 IN A 192.0.2.20']);
    expect(reply.flags.aa).toBe(true);
  });
});

/** A port free for UDP and TCP on loopback right now. */
async function freePort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

describe('loop detection (the CLI)', () => {
  test('does not forward to its own address', async () => {
    const port = await freePort();
    const dns = await startDnsProcess(['--server', 'http://127.0.0.1:1', '--upstream', `127.0.0.1:${port}`, '--listen', `127.0.0.1:${port}`, '--workers', '1']);
    cleanups.push(() => dns.stop());
    expect(dns.logs.join('\n')).toContain('not forwarding to upstreams that are this server');
    expect((await ask(dns.port, 'example.com')).rcode).toBe(Rcode.REFUSED);
  });

  test('stops forwarding when its probe comes back through another resolver', async () => {
    let target = 0;
    // A resolver that sends everything back to kplane: the classic 127.0.0.53 loop.
    const relay = await upstream(async (query) => {
      if (target === 0) return undefined;
      const reply = await udpExchange(target, queryBytes({ name: query.name, type: query.type }), 1000).catch(() => undefined);
      return reply;
    });
    const dns = await startDnsProcess(['--server', 'http://127.0.0.1:1', '--upstream', `127.0.0.1:${relay.port}`, '--workers', '2']);
    cleanups.push(() => dns.stop());
    target = dns.port;
    await eventually(async () => (dns.logs.some((line) => line.includes('forwarding loop detected')) ? true : undefined), 10_000, 'the loop to be detected');
    expect((await ask(dns.port, 'example.com')).rcode).toBe(Rcode.REFUSED);
    const metrics = await (await fetch(`http://${dns.metrics}/metrics`)).text();
    expect(metrics).toContain('kplane_dns_forward_loop_detected 1');
  });
});
