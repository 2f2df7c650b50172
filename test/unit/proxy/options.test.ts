import { describe, expect, test } from 'vitest';
import { parseDuration, proxyOptions, type ProxyFlags } from '../../../proxy/options.ts';

const base: ProxyFlags = { server: 'unix:/run/kplane.sock', node: 'node1' };

describe('proxyOptions', () => {
  test('defaults', () => {
    expect(proxyOptions(base)).toEqual({
      server: 'unix:/run/kplane.sock',
      kubeconfig: undefined,
      nodeName: 'node1',
      mode: 'iptables',
      clusterCidr: undefined,
      nodePortAddresses: [],
      dryRun: false,
      cleanup: false,
      healthzBindAddress: { host: '0.0.0.0', port: 10256 },
      metricsBindAddress: { host: '127.0.0.1', port: 10249 },
      syncPeriodMs: 30_000,
      minSyncPeriodMs: 1_000,
      fullSyncPeriodMs: 3_600_000,
      masqueradeMark: '0x4000',
    });
  });

  test('the result is frozen', () => {
    expect(Object.isFrozen(proxyOptions(base))).toBe(true);
  });

  test('reads every flag', () => {
    const options = proxyOptions({
      ...base,
      'cluster-cidr': '10.244.7.0/16',
      'nodeport-addresses': '192.168.0.0/24, 10.0.0.5/32',
      'healthz-bind-address': '127.0.0.1:0',
      'metrics-bind-address': '[::1]:9000',
      'sync-period': '1m',
      'min-sync-period': '250ms',
      'dry-run': true,
    });
    expect(options).toMatchObject({
      clusterCidr: '10.244.0.0/16',
      nodePortAddresses: ['192.168.0.0/24', '10.0.0.5/32'],
      healthzBindAddress: { host: '127.0.0.1', port: 0 },
      metricsBindAddress: { host: '::1', port: 9000 },
      syncPeriodMs: 60_000,
      minSyncPeriodMs: 250,
      dryRun: true,
    });
  });

  test('--cleanup needs neither --server nor --node', () => {
    expect(proxyOptions({ cleanup: true }).cleanup).toBe(true);
  });

  test.each([
    { name: 'missing node and server', flags: {}, error: 'kplane proxy: --node is required (the name of the Node this proxy runs on); --server or --kubeconfig is required' },
    { name: 'unsupported mode', flags: { ...base, mode: 'nftables' }, error: 'kplane proxy: --mode: "nftables" is not supported (supported: iptables)' },
    { name: 'bad server address', flags: { ...base, server: 'ftp://x' }, error: 'kplane proxy: --server: invalid API server address "ftp://x": expected http://host:port, https://host:port or unix:/path/to.sock' },
    { name: 'bad CIDRs, each named', flags: { ...base, 'cluster-cidr': '10.0.0.0/40', 'nodeport-addresses': '1.2.3.0/24,fd00::/64' }, error: 'kplane proxy: --cluster-cidr: "10.0.0.0/40" is not an IPv4 CIDR; --nodeport-addresses: "fd00::/64": IPv6 is not supported by the iptables mode yet' },
    { name: 'bad bind address', flags: { ...base, 'healthz-bind-address': '0.0.0.0' }, error: 'kplane proxy: --healthz-bind-address: expected HOST:PORT, got "0.0.0.0"' },
    { name: 'bad durations', flags: { ...base, 'sync-period': '30', 'min-sync-period': '2m' }, error: 'kplane proxy: --sync-period: "30" is not a duration like 500ms, 30s or 1m' },
    { name: 'min longer than period', flags: { ...base, 'sync-period': '1s', 'min-sync-period': '2s' }, error: 'kplane proxy: --min-sync-period must not be longer than --sync-period' },
    { name: 'cleanup with dry-run', flags: { ...base, cleanup: true, 'dry-run': true }, error: 'kplane proxy: --cleanup and --dry-run cannot be combined' },
  ])('rejects $name in one line listing every problem', ({ flags, error }) => {
    expect(() => proxyOptions(flags)).toThrow(error);
  });
});

test.each([
  ['500ms', 500],
  ['1s', 1000],
  ['1.5m', 90_000],
  ['1h', 3_600_000],
  ['1', undefined],
  ['s', undefined],
])('parseDuration(%j) = %s', (text, ms) => {
  expect(parseDuration(text)).toBe(ms);
});
