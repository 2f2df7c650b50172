/**
 * The DNS spec table against the real thing: the API store holds the
 * fixture objects (created through the API), `kplane dns` watches it and
 * forwards to a fake upstream on loopback, and every row is asked over UDP
 * and TCP and compared section by section. Then the changes a cluster
 * makes: a new service, a deleted one, an endpoint turning not ready.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { KubeObject } from '../../controlplane/api/types.ts';
import { createHttpClient, type HttpApiClient } from '../../controlplane/client/http-client.ts';
import { refs } from '../../controlplane/client/types.ts';
import { RRType } from '../../dns/rr.ts';
import { startDnsProcess, eventually, type DnsProcess } from '../unit/dns/dns-process.ts';
import { startFakeUpstream, zoneHandler, type FakeUpstream } from '../unit/dns/fake-upstream.ts';
import { fixtureObjects, makeService, makeSlice } from '../unit/dns/fixtures.ts';
import { nameserverIp, specCases, upstreamZone, type SpecCase } from '../unit/dns/spec-cases.ts';
import { decodeReply, queryBytes, tcpExchange, udpExchange, wellFormed } from '../unit/dns/wire-client.ts';
import { startApiServerProcess, tempDir, type ApiServerProcess } from './helpers/apiserver-process.ts';

const rcodes = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

let dataDir: ReturnType<typeof tempDir>;
let api: ApiServerProcess;
let client: HttpApiClient;
let upstream: FakeUpstream;
let dns: DnsProcess;

async function create(ref: (typeof refs)[keyof typeof refs], object: KubeObject): Promise<void> {
  await client.create(ref, object);
}

beforeAll(async () => {
  dataDir = tempDir('kplane-dns-spec-');
  api = await startApiServerProcess(dataDir.path);
  client = createHttpClient({ server: api.url });
  for (const namespace of fixtureObjects.namespaces) await create(refs.namespaces, namespace);
  for (const service of fixtureObjects.services) await create(refs.services, service);
  for (const slice of fixtureObjects.slices) await create(refs.endpointslices, slice);
  for (const pod of fixtureObjects.pods) {
    const created = await client.create(refs.pods, { ...pod, status: undefined });
    await client.updateStatus(refs.pods, { ...created, status: pod.status });
  }
  upstream = await startFakeUpstream(zoneHandler(upstreamZone));
  dns = await startDnsProcess(['--server', api.url, '--upstream', `127.0.0.1:${upstream.port}`, '--pods', 'verified', '--workers', '2']);
  await eventually(async () => ((await fetch(`http://${dns.ready}/ready`)).status === 200 ? true : undefined), 20_000, '/ready');
});

afterAll(async () => {
  await dns?.stop();
  await upstream?.close();
  await client?.close();
  await api?.stop();
  dataDir?.remove();
});

/**
 * A section as comparable lines, letter case included (it is part of the
 * contract), with the SOA serial masked (it is the time of the last change)
 * and TTLs masked where the record came through the forwarder's cache.
 */
function normalize(lines: readonly string[], maskTtl: boolean): string[] {
  return lines
    .map((line) => {
      const [owner = '', ttl = '', klass = '', type = '', ...data] = line.split(/\s+/);
      if (type === 'SOA') data[2] = 'SERIAL';
      return [owner, maskTtl ? 'TTL' : ttl, klass, type, ...data].join(' ');
    })
    .sort();
}

function expectedSections(row: SpecCase): { answer: string[]; ns: string[]; extra: string[] } {
  const local = (lines: readonly string[] | undefined) => (lines ?? []).map((line) => line.replaceAll(nameserverIp, '127.0.0.1'));
  const upstreamAnswers = row.external ? upstreamZone.filter((line) => line.startsWith(`${row.external}. `)) : [];
  return { answer: [...local(row.answer), ...upstreamAnswers], ns: local(row.ns), extra: local(row.extra) };
}

const liveRows = specCases.filter((row) => !row.unitOnly && (row.pods === undefined || row.pods === 'verified'));

describe('kplane dns answers the spec table from the live API store', () => {
  test.each(liveRows.flatMap((row) => (['udp', 'tcp'] as const).map((proto) => ({ ...row, proto }))))('$name ($qname $qtype over $proto)', async (row) => {
    const message = queryBytes({ name: row.qname, type: RRType[row.qtype as keyof typeof RRType], edns: { udpSize: 1232 } });
    const reply = row.proto === 'udp' ? await udpExchange(dns.port, message) : await tcpExchange(dns.port, message);
    expect(wellFormed(reply)).toBe(true);
    const decoded = decodeReply(reply);
    const expected = expectedSections(row);
    const maskTtl = row.forward === true || row.external !== undefined;
    expect(rcodes[decoded.rcode]).toBe(row.rcode);
    expect(decoded.questions).toEqual([{ name: row.qname, type: RRType[row.qtype as keyof typeof RRType] }]);
    expect(normalize(decoded.answer, maskTtl)).toEqual(normalize(expected.answer, maskTtl));
    expect(normalize(decoded.authority, false)).toEqual(normalize(expected.ns, false));
    expect(normalize(decoded.additional, false)).toEqual(normalize(expected.extra, false));
    if (!row.forward && row.rcode !== 'REFUSED') expect(decoded.flags.aa).toBe(true);
  });
});

describe('kplane dns follows the cluster', () => {
  const ask = async (name: string, type: number = RRType.A) => decodeReply(await udpExchange(dns.port, queryBytes({ name, type })));

  test('a new service resolves, and stops resolving once deleted', async () => {
    await client.create(refs.services, makeService('testns', 'fresh', { type: 'ClusterIP', clusterIP: '10.96.0.50', clusterIPs: ['10.96.0.50'], ports: [{ name: 'http', port: 80 }] }));
    const added = await eventually(async () => {
      const reply = await ask('fresh.testns.svc.cluster.local');
      return reply.answer.length > 0 ? reply : undefined;
    });
    expect(added.answer).toEqual(['fresh.testns.svc.cluster.local. 5 IN A 10.96.0.50']);
    await client.delete({ ...refs.services, namespace: 'testns' }, 'fresh');
    await eventually(async () => ((await ask('fresh.testns.svc.cluster.local')).rcode === 3 ? true : undefined));
    expect((await ask('50.0.96.10.in-addr.arpa', RRType.PTR)).answer).not.toContain('50.0.96.10.in-addr.arpa. 5 IN PTR fresh.testns.svc.cluster.local.');
  });

  test('an endpoint that turns not ready leaves the headless answer', async () => {
    await client.create(refs.services, makeService('testns', 'peers', { clusterIP: 'None', clusterIPs: ['None'], ports: [{ name: 'http', port: 80 }] }));
    const slice = await client.create(refs.endpointslices, makeSlice('testns', 'peers', 'peers-a', 'IPv4', [{ ip: '172.0.5.1' }, { ip: '172.0.5.2' }]));
    await eventually(async () => ((await ask('peers.testns.svc.cluster.local')).answer.length === 2 ? true : undefined));
    await client.update(refs.endpointslices, { ...slice, endpoints: [slice.endpoints[0], { ...slice.endpoints[1], conditions: { ready: false } }] });
    const after = await eventually(async () => {
      const reply = await ask('peers.testns.svc.cluster.local');
      return reply.answer.length === 1 ? reply : undefined;
    });
    expect(after.answer).toEqual(['peers.testns.svc.cluster.local. 5 IN A 172.0.5.1']);
  });

  test('serves /health, /ready and CoreDNS metrics', async () => {
    expect(await (await fetch(`http://${dns.health}/health`)).text()).toBe('OK');
    expect((await fetch(`http://${dns.ready}/ready`)).status).toBe(200);
    const metrics = await (await fetch(`http://${dns.metrics}/metrics`)).text();
    expect(metrics).toMatch(/coredns_dns_requests_total\{server="dns:\/\/127\.0\.0\.1:\d+",zone="\.",proto="udp",family="1",type="A"\} \d+/);
    expect(metrics).toMatch(/coredns_dns_responses_total\{[^}]*rcode="NXDOMAIN",plugin="kubernetes"\} \d+/);
    expect(metrics).toContain('coredns_dns_request_duration_seconds_bucket');
    expect(metrics).toMatch(/coredns_forward_request_duration_seconds_count\{to="127\.0\.0\.1:\d+",rcode="NOERROR"\} \d+/);
  });

  test('stops cleanly on SIGTERM', async () => {
    expect(await dns.stop('SIGTERM')).toBe(0);
  });
});
