import { describe, expect, test } from 'vitest';
import { deleteEntries, planConntrackCleanup, udpState } from '../../../proxy/conntrack.ts';
import { buildModel, endpoint, makeService, makeSlice } from './builders.ts';
import { FakeRunner } from './fake-runner.ts';

const udpService = makeService('ns', 'dns', (s) => {
  s.spec.type = 'NodePort';
  s.spec.clusterIP = '172.30.0.10';
  s.spec.externalIPs = ['192.168.99.10'];
  s.spec.ports = [{ name: 'dns', protocol: 'UDP', port: 53, nodePort: 30053 }, { name: 'dns-tcp', protocol: 'TCP', port: 53 }];
});
const slice = (...ips: string[]) =>
  makeSlice('ns', 'dns', 'a', (s) => {
    s.ports = [{ name: 'dns', protocol: 'UDP', port: 5353 }, { name: 'dns-tcp', protocol: 'TCP', port: 5353 }];
    s.endpoints = ips.map((ip) => endpoint(ip));
  });
const state = (...ips: string[]) => {
  const model = buildModel([udpService], [slice(...ips)]);
  return udpState(model.servicePorts, model.endpoints);
};
const none = udpState(new Map(), new Map());

describe('planConntrackCleanup', () => {
  test.each([
    { name: 'nothing changed: nothing to delete', before: state('10.1.0.1', '10.1.0.2'), after: state('10.1.0.1', '10.1.0.2'), plan: [] },
    {
      name: 'an endpoint went away: its DNATed entries, per service IP and NodePort',
      before: state('10.1.0.1', '10.1.0.2'),
      after: state('10.1.0.1'),
      plan: [
        ['-D', '-p', 'udp', '--orig-dst', '172.30.0.10', '--dst-nat', '10.1.0.2'],
        ['-D', '-p', 'udp', '--orig-dst', '192.168.99.10', '--dst-nat', '10.1.0.2'],
        ['-D', '-p', 'udp', '--orig-port-dst', '30053', '--dst-nat', '10.1.0.2'],
      ],
    },
    {
      name: 'from no endpoints to one: every entry of the port (they were rejected)',
      before: state(),
      after: state('10.1.0.3'),
      plan: [
        ['-D', '-p', 'udp', '--orig-dst', '172.30.0.10'],
        ['-D', '-p', 'udp', '--orig-dst', '192.168.99.10'],
        ['-D', '-p', 'udp', '--orig-port-dst', '30053'],
      ],
    },
    {
      name: 'service deleted: entries to its endpoints',
      before: state('10.1.0.1'),
      after: none,
      plan: [
        ['-D', '-p', 'udp', '--orig-dst', '172.30.0.10', '--dst-nat', '10.1.0.1'],
        ['-D', '-p', 'udp', '--orig-dst', '192.168.99.10', '--dst-nat', '10.1.0.1'],
        ['-D', '-p', 'udp', '--orig-port-dst', '30053', '--dst-nat', '10.1.0.1'],
      ],
    },
  ])('$name', ({ before, after, plan }) => {
    expect(planConntrackCleanup(before, after)).toEqual(plan);
  });

  test('TCP ports are left alone: their connections end by themselves', () => {
    expect([...state('10.1.0.1').keys()]).toEqual(['ns/dns:dns/UDP']);
  });
});

describe('deleteEntries', () => {
  test('counts deleted flows and treats "0 flow entries" as success', async () => {
    const runner = new FakeRunner();
    runner.respond((call) =>
      call.args.includes('10.1.0.2')
        ? { exitCode: 0, stdout: '', stderr: 'conntrack v1.4.7 (conntrack-tools): 2 flow entries have been deleted.\n' }
        : { exitCode: 1, stdout: '', stderr: 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n' },
    );
    const result = await deleteEntries(runner.run, [['-D', '-p', 'udp', '--orig-dst', '172.30.0.10', '--dst-nat', '10.1.0.2'], ['-D', '-p', 'udp', '--orig-dst', '172.30.0.10']]);
    expect(result).toEqual({ deleted: 2, failures: [] });
    expect(runner.calls.map((call) => call.file)).toEqual(['conntrack', 'conntrack']);
  });

  test('reports commands that failed for another reason', async () => {
    const runner = new FakeRunner();
    runner.respond(() => ({ exitCode: 1, stdout: '', stderr: 'conntrack v1.4.7 (conntrack-tools): Operation failed: invalid parameters\n' }));
    const result = await deleteEntries(runner.run, [['-D', '-p', 'udp', '--orig-dst', '172.30.0.10']]);
    expect(result.failures).toEqual([{ args: ['-D', '-p', 'udp', '--orig-dst', '172.30.0.10'], error: 'conntrack v1.4.7 (conntrack-tools): Operation failed: invalid parameters' }]);
  });
});
