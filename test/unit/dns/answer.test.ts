import { describe, expect, test } from 'vitest';
import { answer, type AnswerOptions, type PodsMode } from '../../../dns/answer.ts';
import { Records } from '../../../dns/records.ts';
import { Rcode, rcodeName, RRType, zoneLine, type ResourceRecord } from '../../../dns/rr.ts';
import { fixtureObjects, fixtureView, makeService, makeSlice, serial, viewOf } from './fixtures.ts';
import { nameserverIp, soa, specCases, type SpecCase } from './spec-cases.ts';

const view = fixtureView();

function options(pods: PodsMode): AnswerOptions {
  return { zone: 'cluster.local', ttl: 5, pods, nameservers: [nameserverIp] };
}

/** Zone-file lines with single spaces, sorted: sections compare as sets, as CoreDNS's SortAndCheck does. */
function lines(records: readonly ResourceRecord[]): string[] {
  return records.map((record) => zoneLine(record).split(/\s+/).join(' ')).sort();
}

function expected(lines: readonly string[] | undefined): string[] {
  return [...(lines ?? [])].sort();
}

const modes: PodsMode[] = ['disabled', 'insecure', 'verified'];
const rows = specCases.flatMap((row) => (row.pods ? [{ ...row, mode: row.pods }] : modes.map((mode) => ({ ...row, mode }))));

describe('answer: the DNS spec table', () => {
  test.each(rows)('$name ($qname $qtype, pods $mode)', (row: SpecCase & { mode: PodsMode }) => {
    const outcome = answer(view, { name: row.qname, type: RRType[row.qtype as keyof typeof RRType] }, options(row.mode));
    if (row.forward) {
      expect(outcome).toEqual({ kind: 'forward' });
      return;
    }
    if (row.external) {
      expect(outcome.kind).toBe('external');
      if (outcome.kind !== 'external') return;
      expect(outcome.target).toBe(row.external);
      expect(lines(outcome.records)).toEqual(expected(row.answer));
      expect(lines(outcome.fallback.authority)).toEqual([soa]);
      return;
    }
    expect(outcome.kind).toBe('response');
    if (outcome.kind !== 'response') return;
    const response = outcome.response;
    expect(rcodeName(response.rcode)).toBe(row.rcode);
    expect(lines(response.answer)).toEqual(expected(row.answer));
    expect(lines(response.authority)).toEqual(expected(row.ns));
    expect(lines(response.additional)).toEqual(expected(row.extra));
    expect(response.authoritative).toBe(row.rcode !== 'REFUSED');
  });
});

describe('answer: beyond the table', () => {
  test('answers SERVFAIL instead of NXDOMAIN until the view has synced', () => {
    const unsynced = new Records();
    unsynced.serial = serial;
    const outcome = answer(unsynced, { name: 'svc1.testns.svc.cluster.local', type: RRType.A }, options('disabled'));
    expect(outcome).toMatchObject({ kind: 'response', response: { rcode: Rcode.SERVFAIL } });
    if (outcome.kind === 'response') expect(lines(outcome.response.authority)).toEqual([soa]);
  });

  test('answers the apex SOA before the view has synced', () => {
    const outcome = answer(new Records(), { name: 'cluster.local', type: RRType.SOA }, options('disabled'));
    expect(outcome).toMatchObject({ kind: 'response', response: { rcode: Rcode.NOERROR } });
  });

  test('uses the configured TTL everywhere but the schema version, and caps the SOA TTL at 300', () => {
    const long = { ...options('disabled'), ttl: 600 };
    const positive = answer(view, { name: '_http._tcp.svc1.testns.svc.cluster.local', type: RRType.SRV }, long);
    const negative = answer(view, { name: 'svc0.testns.svc.cluster.local', type: RRType.A }, long);
    if (positive.kind !== 'response' || negative.kind !== 'response') throw new Error('expected responses');
    expect([...positive.response.answer, ...positive.response.additional].map((record) => record.ttl)).toEqual([600, 600]);
    expect(lines(negative.response.authority)).toEqual([
      'cluster.local. 300 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1499347823 7200 1800 86400 600',
    ]);
  });

  test('cuts an ExternalName chain after 8 links', () => {
    const chain = Array.from({ length: 12 }, (_, index) =>
      makeService('testns', `hop${index}`, { type: 'ExternalName', externalName: `hop${index + 1}.testns.svc.cluster.local` }),
    );
    const last = makeService('testns', 'hop12', { type: 'ClusterIP', clusterIP: '10.96.0.99', clusterIPs: ['10.96.0.99'], ports: [{ port: 80 }] });
    const hops = viewOf({ namespaces: fixtureObjects.namespaces, services: [...chain, last] });
    expect(answer(hops, { name: 'hop5.testns.svc.cluster.local', type: RRType.A }, options('disabled'))).toMatchObject({
      kind: 'response',
      response: { rcode: Rcode.NOERROR, answer: expect.arrayContaining([expect.objectContaining({ address: '10.96.0.99' })]) },
    });
    const cut = answer(hops, { name: 'hop0.testns.svc.cluster.local', type: RRType.A }, options('disabled'));
    expect(cut).toMatchObject({ kind: 'response', response: { rcode: Rcode.NOERROR, answer: [] } });
  });

  test('counts one endpoint once when two slices carry it', () => {
    const twice = viewOf({
      namespaces: fixtureObjects.namespaces,
      services: [makeService('testns', 'moving', { clusterIP: 'None', clusterIPs: ['None'], ports: [{ name: 'http', port: 80 }] })],
      slices: [makeSlice('testns', 'moving', 'old', 'IPv4', [{ ip: '172.0.2.1' }]), makeSlice('testns', 'moving', 'new', 'IPv4', [{ ip: '172.0.2.1' }])],
    });
    const outcome = answer(twice, { name: 'moving.testns.svc.cluster.local', type: RRType.A }, options('disabled'));
    expect(outcome).toMatchObject({ kind: 'response', response: { answer: [{ address: '172.0.2.1' }] } });
    const reverse = answer(twice, { name: '1.2.0.172.in-addr.arpa', type: RRType.PTR }, options('disabled'));
    expect(reverse).toMatchObject({ kind: 'response', response: { answer: [{ target: '172-0-2-1.moving.testns.svc.cluster.local' }] } });
  });

  test('returns one PTR per service selecting an endpoint IP', () => {
    const shared = viewOf({
      namespaces: fixtureObjects.namespaces,
      services: ['a', 'b'].map((name) => makeService('testns', name, { clusterIP: 'None', clusterIPs: ['None'], ports: [{ name: 'http', port: 80 }] })),
      slices: ['a', 'b'].map((name) => makeSlice('testns', name, `${name}-1`, 'IPv4', [{ ip: '172.0.3.1' }])),
    });
    const outcome = answer(shared, { name: '1.3.0.172.in-addr.arpa', type: RRType.PTR }, options('disabled'));
    if (outcome.kind !== 'response') throw new Error('expected a response');
    expect(lines(outcome.response.answer)).toEqual([
      '1.3.0.172.in-addr.arpa. 5 IN PTR 172-0-3-1.a.testns.svc.cluster.local.',
      '1.3.0.172.in-addr.arpa. 5 IN PTR 172-0-3-1.b.testns.svc.cluster.local.',
    ]);
  });
});
