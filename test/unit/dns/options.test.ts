import { describe, expect, test } from 'vitest';
import { dnsOptions, type DnsFlags } from '../../../dns/options.ts';

describe('dnsOptions', () => {
  test('fills CoreDNS-like defaults', () => {
    expect(dnsOptions({ server: 'http://127.0.0.1:6443' }, 2)).toEqual({
      server: 'http://127.0.0.1:6443',
      listen: { host: '0.0.0.0', port: 53 },
      zone: 'cluster.local',
      upstreams: [],
      resolvConf: '/etc/resolv.conf',
      ttl: 5,
      pods: 'disabled',
      healthListen: { host: '0.0.0.0', port: 8080 },
      readyListen: { host: '0.0.0.0', port: 8181 },
      metricsListen: { host: '0.0.0.0', port: 9153 },
      workers: 2,
    });
  });

  test('parses every flag', () => {
    const options = dnsOptions(
      {
        server: 'http://127.0.0.1:6443',
        listen: '127.0.0.1:1053',
        zone: 'K8S.Example.ORG.',
        upstream: ['10.0.0.1,10.0.0.2:5353', '[2001:db8::1]:53', '2001:db8::2'],
        ttl: '30',
        pods: 'insecure',
        'metrics-listen': '[::1]:9153',
        workers: '1',
      },
      4,
    );
    expect(options).toMatchObject({
      listen: { host: '127.0.0.1', port: 1053 },
      zone: 'k8s.example.org',
      upstreams: [
        { host: '10.0.0.1', port: 53 },
        { host: '10.0.0.2', port: 5353 },
        { host: '2001:db8::1', port: 53 },
        { host: '2001:db8::2', port: 53 },
      ],
      ttl: 30,
      pods: 'insecure',
      metricsListen: { host: '::1', port: 9153 },
      workers: 1,
    });
  });

  test.each<{ name: string; flags: DnsFlags; message: string }>([
    { name: 'a listen address without a port', flags: { listen: '127.0.0.1' }, message: '--listen: expected IP:PORT' },
    { name: 'a listen host that is not an IP', flags: { listen: 'localhost:53' }, message: '--listen: expected IP:PORT' },
    { name: 'a TTL out of range', flags: { ttl: '3601' }, message: '--ttl: expected an integer from 0 to 3600' },
    { name: 'an unknown pods mode', flags: { pods: 'all' }, message: '--pods: expected disabled, insecure or verified' },
    { name: 'an upstream that is a hostname', flags: { upstream: ['dns.google'] }, message: '--upstream: expected IP[:PORT], got "dns.google"' },
    { name: 'a zone with an empty label', flags: { zone: 'cluster..local' }, message: '--zone' },
    { name: 'zero workers', flags: { workers: '0' }, message: '--workers' },
  ])('rejects $name', ({ flags, message }) => {
    expect(() => dnsOptions({ server: 'http://127.0.0.1:6443', ...flags }, 2)).toThrow(message);
  });

  test('reports every problem at once', () => {
    expect(() => dnsOptions({ ttl: 'x', pods: 'y' }, 2)).toThrow(/--pods.*; --ttl/);
  });
});
