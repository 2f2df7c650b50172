import { describe, expect, test } from 'vitest';
import { depKey, Records, slimPod, slimService, slimSlice } from '../../../dns/records.ts';
import { makePod, makeService, makeSlice } from './fixtures.ts';

describe('slim objects', () => {
  test.each([
    { name: 'a ClusterIP service', spec: { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'] }, kind: 'clusterIP' },
    { name: 'a headless service', spec: { clusterIP: 'None' }, kind: 'headless' },
    { name: 'an ExternalName service', spec: { type: 'ExternalName' as const, externalName: 'Example.COM.' }, kind: 'externalName' },
  ])('digests $name', ({ spec, kind }) => {
    expect(slimService(makeService('ns', 'svc', spec))).toMatchObject({ kind });
  });

  test('lower-cases the ExternalName and drops its trailing dot', () => {
    expect(slimService(makeService('ns', 'svc', { type: 'ExternalName', externalName: 'Example.COM.' }))).toMatchObject({ externalName: 'example.com' });
  });

  test.each([
    { name: 'an ExternalName without a name', spec: { type: 'ExternalName' as const }, problem: 'without spec.externalName' },
    { name: 'a bad cluster IP', spec: { clusterIP: '10.96.0.300' }, problem: 'invalid address' },
  ])('reports $name as a problem', ({ spec, problem }) => {
    expect(slimService(makeService('ns', 'svc', spec))).toContain(problem);
  });

  test('gives a service without ports one portless entry, and lower-cases port names and protocols', () => {
    expect(slimService(makeService('ns', 'svc', { clusterIP: '10.96.0.1' }))).toMatchObject({ ports: [{ name: '', protocol: '', port: -1 }] });
    expect(slimService(makeService('ns', 'svc', { clusterIP: '10.96.0.1', ports: [{ name: 'HTTP', port: 80, protocol: 'TCP' }] }))).toMatchObject({
      ports: [{ name: 'http', protocol: 'tcp', port: 80 }],
    });
  });

  test('ignores slices without an owning service and FQDN slices', () => {
    const slice = makeSlice('ns', 'svc', 's1', 'IPv4', [{ ip: '10.0.0.1' }]);
    expect(slimSlice({ ...slice, metadata: { ...slice.metadata, labels: {} } })).toBeUndefined();
    expect(slimSlice({ ...slice, addressType: 'FQDN' })).toBeUndefined();
  });

  test('counts an endpoint without conditions as ready', () => {
    const slice = makeSlice('ns', 'svc', 's1', 'IPv4', [{ ip: '10.0.0.1' }]);
    const [endpoint] = slice.endpoints;
    if (!endpoint) throw new Error('fixture without an endpoint');
    delete endpoint.conditions;
    expect(slimSlice(slice)?.endpoints).toEqual([{ ip: '10.0.0.1', hostname: '', ready: true }]);
  });

  test('gives a finished pod no IPs', () => {
    const pod = makePod('ns', 'p', '10.0.0.9');
    expect(slimPod(pod).ips).toEqual(['10.0.0.9']);
    expect(slimPod({ ...pod, status: { ...pod.status, phase: 'Succeeded' } }).ips).toEqual([]);
  });
});

describe('Records: the keys each change touches', () => {
  const svc = (ip: string) => {
    const slim = slimService(makeService('ns', 'svc', { clusterIP: ip, clusterIPs: [ip] }));
    if (typeof slim === 'string') throw new Error(slim);
    return slim;
  };

  test('a new service touches its name, its IP and its namespace (which now exists)', () => {
    const records = new Records();
    expect(records.setService('ns/svc', svc('10.96.0.1')).sort()).toEqual([depKey.ip('10.96.0.1'), depKey.namespace('ns'), depKey.service('ns', 'svc')].sort());
    expect(records.namespaceExists('ns')).toBe(true);
  });

  test('a moved cluster IP touches both addresses and moves the PTR', () => {
    const records = new Records();
    records.setService('ns/svc', svc('10.96.0.1'));
    expect(records.setService('ns/svc', svc('10.96.0.2'))).toEqual(expect.arrayContaining([depKey.ip('10.96.0.1'), depKey.ip('10.96.0.2')]));
    expect(records.reverse('10.96.0.1')).toEqual([]);
    expect(records.reverse('10.96.0.2')).toEqual(['svc.ns.svc']);
  });

  test('a slice touches its service and its endpoint IPs', () => {
    const records = new Records();
    records.setService('ns/svc', svc('10.96.0.1'));
    const slim = slimSlice(makeSlice('ns', 'svc', 's1', 'IPv4', [{ ip: '10.0.0.1' }]));
    if (!slim) throw new Error('no slice');
    expect(records.setSlice(slim, slim).sort()).toEqual([depKey.ip('10.0.0.1'), depKey.ip('10.96.0.1'), depKey.service('ns', 'svc')].sort());
  });

  test('a Namespace object keeps a namespace after its last service goes', () => {
    const records = new Records();
    records.setService('ns/svc', svc('10.96.0.1'));
    expect(records.setNamespace('ns', true)).toEqual([]);
    expect(records.setService('ns/svc', undefined)).not.toContain(depKey.namespace('ns'));
    expect(records.namespaceExists('ns')).toBe(true);
    expect(records.setNamespace('ns', false)).toEqual([depKey.namespace('ns')]);
    expect(records.namespaceExists('ns')).toBe(false);
  });

  test('a pod touches its namespace and IPs, and counts pods sharing an IP', () => {
    const records = new Records();
    expect(records.setPod('ns/a', slimPod(makePod('ns', 'a', '10.0.0.9')))).toEqual([depKey.pod('ns', '10.0.0.9')]);
    records.setPod('ns/b', slimPod(makePod('ns', 'b', '10.0.0.9')));
    records.setPod('ns/a', undefined);
    expect(records.podHasIp('ns', '10.0.0.9')).toBe(true);
    records.setPod('ns/b', undefined);
    expect(records.podHasIp('ns', '10.0.0.9')).toBe(false);
  });
});
