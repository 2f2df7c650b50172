import { describe, expect, test } from 'vitest';
import { silentLogger } from '../../../common/logger.ts';
import type { EndpointSlice, Service } from '../../../controlplane/api/types.ts';
import { ProxyHealth } from '../../../proxy/health.ts';
import { ProxyMetrics } from '../../../proxy/metrics.ts';
import { Proxier } from '../../../proxy/proxier.ts';
import { CLUSTER_CIDR, endpoint, makeService, makeSlice, NODE_IP, NODE_NAME, tcpPort } from './builders.ts';
import { FakeRunner, type RecordedCall } from './fake-runner.ts';
import { undeclaredJumps } from './iptables/tracer.ts';

const emptyKernel = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n';

function setup(options: { fullSyncPeriodMs?: number } = {}) {
  let now = 1_000_000;
  const runner = new FakeRunner();
  runner.respond((call) => (call.file === 'iptables-save' ? { exitCode: 0, stdout: emptyKernel, stderr: '' } : undefined));
  const metrics = new ProxyMetrics();
  const health = new ProxyHealth({ healthTimeoutMs: 60_000, now: () => now });
  const healthChecks: [ReadonlyMap<string, number>, ReadonlyMap<string, number>][] = [];
  const proxier = new Proxier(
    { nodeName: NODE_NAME, clusterCidr: CLUSTER_CIDR, nodePortCidrs: [], masqueradeMark: '0x4000', fullSyncPeriodMs: options.fullSyncPeriodMs ?? 3_600_000, canaryCheckPeriodMs: 30_000 },
    {
      run: runner.run,
      metrics,
      health,
      logger: silentLogger(),
      interfaces: () => [{ address: NODE_IP, family: 'IPv4', internal: false }],
      serviceHealth: { sync: async (ports, local) => void healthChecks.push([ports, local]) },
      now: () => now,
    },
  );
  return { runner, metrics, health, proxier, healthChecks, advance: (ms: number) => (now += ms), now: () => now };
}

const web = makeService('ns1', 'web', (s) => {
  s.spec.clusterIP = '172.30.0.41';
  s.spec.ports = [tcpPort('p80', 80)];
});
const other = makeService('ns1', 'other', (s) => {
  s.spec.clusterIP = '172.30.0.44';
  s.spec.ports = [tcpPort('p80', 80)];
});
const webSlice = (...ips: string[]): EndpointSlice =>
  makeSlice('ns1', 'web', 'a', (s) => {
    s.ports = [{ name: 'p80', port: 80, protocol: 'TCP' }];
    s.endpoints = ips.map((ip) => endpoint(ip, { nodeName: NODE_NAME }));
  });
const otherSlice = makeSlice('ns1', 'other', 'a', (s) => {
  s.ports = [{ name: 'p80', port: 80, protocol: 'TCP' }];
  s.endpoints = [endpoint('10.180.0.9')];
});

const restores = (runner: FakeRunner) => runner.of('iptables-restore').map((call) => call.input ?? '');
const value = async (metric: { get(): Promise<{ values: { value: number; labels: object }[] }> }) => (await metric.get()).values.reduce((sum, entry) => sum + entry.value, 0);
const programs = (calls: readonly RecordedCall[]) => calls.map((call) => call.file);

function seed(proxier: Proxier, services: Service[], slices: EndpointSlice[]): void {
  for (const service of services) proxier.updateService(undefined, service);
  for (const slice of slices) proxier.updateEndpointSlice(undefined, slice);
}

describe('Proxier.sync', () => {
  test('the first sync is full: it asks for the iptables mode, reads the kernel, inserts the jumps and plants the canary', async () => {
    const { runner, metrics, proxier } = setup();
    seed(proxier, [web], [webSlice('10.180.0.1')]);
    expect(await proxier.sync('change')).toBe(true);
    expect(runner.calls.map((call) => [call.file, ...call.args].join(' '))).toEqual(['iptables -V', 'iptables-save', 'iptables-restore -w 5 --noflush --counters']);
    const [payload = ''] = restores(runner);
    expect(payload).toMatch(/^\*mangle\n:KPLANE-PROXY-CANARY - \[0:0\]\nCOMMIT\n/);
    expect(payload).toContain('-I PREROUTING -m comment --comment "kplane service portals" -j KPLANE-SERVICES\n');
    expect(undeclaredJumps(payload)).toEqual([]);
    expect((await metrics.syncFullDuration.get()).values.find((entry) => entry.metricName?.endsWith('_count'))?.value).toBe(1);
    expect(await value(metrics.servicePorts)).toBe(1);
  });

  test('later syncs are partial: only the changed service\'s chains, the kernel is not read again', async () => {
    const { runner, proxier } = setup();
    seed(proxier, [web, other], [webSlice('10.180.0.1'), otherSlice]);
    await proxier.sync('change');
    runner.clear();
    proxier.updateEndpointSlice(webSlice('10.180.0.1'), webSlice('10.180.0.1', '10.180.0.2'));
    expect(await proxier.sync('change')).toBe(true);
    expect(programs(runner.calls)).toEqual(['iptables-restore']);
    const [payload = ''] = restores(runner);
    expect(payload).not.toContain('*mangle');
    expect(payload).not.toContain('-I ');
    expect(payload).toContain(':KPLANE-SVC-');
    expect(payload).toContain('--to-destination 10.180.0.2:80');
    // The other service's chains are not rewritten, and neither are the top-level nat chains:
    // the endpoint change left their rules as they were.
    expect(payload).not.toContain('10.180.0.9');
    const nat = payload.slice(payload.indexOf('*nat\n'));
    expect(nat).not.toMatch(/^:KPLANE-(SERVICES|NODEPORTS|POSTROUTING|MARK-MASQ) /m);
    expect(nat).not.toContain('-A KPLANE-SERVICES');
    expect(undeclaredJumps(payload, new Set(['KPLANE-MARK-MASQ']))).toEqual([]);
  });

  test('a partial sync rewrites KPLANE-SERVICES when a service comes or goes, and nothing else at the top', async () => {
    const { runner, proxier } = setup();
    seed(proxier, [web], [webSlice('10.180.0.1')]);
    await proxier.sync('change');
    runner.clear();
    seed(proxier, [other], [otherSlice]);
    expect(await proxier.sync('change')).toBe(true);
    const [payload = ''] = restores(runner);
    const nat = payload.slice(payload.indexOf('*nat\n'));
    expect(nat).toContain(':KPLANE-SERVICES - [0:0]\n');
    expect(nat).toContain('"ns1/web:p80 cluster IP"');
    expect(nat).toContain('"ns1/other:p80 cluster IP"');
    expect(nat).not.toContain(':KPLANE-NODEPORTS ');
    expect(nat).not.toContain(':KPLANE-POSTROUTING ');
    expect(nat).not.toContain(':KPLANE-MARK-MASQ ');
  });

  test('the periodic sync rewrites the top-level nat chains even when their rules did not change', async () => {
    const { runner, proxier } = setup();
    seed(proxier, [web], [webSlice('10.180.0.1')]);
    await proxier.sync('change');
    runner.clear();
    await proxier.sync('change');
    expect(restores(runner)[0]).not.toContain('-A KPLANE-SERVICES');
    runner.clear();
    await proxier.sync('periodic');
    const [payload = ''] = restores(runner);
    const nat = payload.slice(payload.indexOf('*nat\n'));
    for (const chain of ['KPLANE-SERVICES', 'KPLANE-NODEPORTS', 'KPLANE-POSTROUTING', 'KPLANE-MARK-MASQ']) expect(nat).toContain(`:${chain} - [0:0]\n`);
    expect(nat).toContain('"ns1/web:p80 cluster IP"');
  });

  test.each([
    ['iptables v1.8.9 (nf_tables)', 'splits a large nat payload into several commits', true],
    ['iptables v1.8.9 (legacy)', 'keeps a large nat payload in one commit', false],
  ])('with "%s" the proxier %s', async (version, _what, split) => {
    const { runner, proxier } = setup();
    runner.respond((call) => (call.file === 'iptables' && call.args[0] === '-V' ? { exitCode: 0, stdout: `${version}\n`, stderr: '' } : undefined));
    // 60 services of 10 endpoints: 660 per-service chains, more than one nft commit takes on an empty node.
    const services = Array.from({ length: 60 }, (_, i) =>
      makeService('ns1', `s${i}`, (s) => {
        s.spec.clusterIP = `172.30.1.${i + 1}`;
        s.spec.ports = [tcpPort('p80', 80)];
      }),
    );
    const slices = services.map((service, i) =>
      makeSlice('ns1', service.metadata.name as string, 'a', (s) => {
        s.ports = [{ name: 'p80', port: 80, protocol: 'TCP' }];
        s.endpoints = Array.from({ length: 10 }, (_, j) => endpoint(`10.181.${i}.${j + 1}`));
      }),
    );
    seed(proxier, services, slices);
    expect(await proxier.sync('change')).toBe(true);
    const [payload = ''] = restores(runner);
    const natCommits = payload.split('*nat\n').length - 1;
    if (split) expect(natCommits).toBeGreaterThan(2);
    else expect(natCommits).toBe(1);
    expect(undeclaredJumps(payload)).toEqual([]);
  });

  test('a partial sync deletes the chain of an endpoint that went away', async () => {
    const { runner, proxier } = setup();
    seed(proxier, [web], [webSlice('10.180.0.1', '10.180.0.2')]);
    await proxier.sync('change');
    const sepOf2 = /:(KPLANE-SEP-\w+) - \[0:0\]\n(?=[^]*-A \1 [^\n]*10\.180\.0\.2:80)/.exec(restores(runner)[0] ?? '')?.[1];
    expect(sepOf2).toBeDefined();
    runner.clear();
    proxier.updateEndpointSlice(webSlice('10.180.0.1', '10.180.0.2'), webSlice('10.180.0.1'));
    await proxier.sync('change');
    expect(restores(runner)[0]).toContain(`-X ${sepOf2}\n`);
  });

  test('a failed restore keeps the last good rules, is counted, and makes the next sync full', async () => {
    const { runner, metrics, proxier } = setup();
    seed(proxier, [web], [webSlice('10.180.0.1')]);
    await proxier.sync('change');
    const lastGood = restores(runner)[0] ?? '';
    proxier.updateService(web, other);
    const stop = runner.respond((call) => (call.file === 'iptables-restore' && call.input?.includes('ns1/other') ? { exitCode: 2, stdout: '', stderr: 'iptables-restore: line 30 failed\n' } : undefined));
    runner.clear();
    expect(await proxier.sync('change')).toBe(false);
    // The restore commits table by table: the filter table of the last good sync is put back,
    // and nothing else touches the kernel (no flush, no conntrack).
    expect(programs(runner.calls)).toEqual(['iptables-restore', 'iptables-restore']);
    const rollback = restores(runner)[1] ?? '';
    expect(rollback).toMatch(/^\*filter\n[^]*COMMIT\n$/);
    expect(rollback).not.toContain('-I ');
    expect(lastGood).toContain(rollback.replace(/^\*filter\n:KPLANE-SERVICES - \[0:0\]\n:KPLANE-EXTERNAL-SERVICES - \[0:0\]\n:KPLANE-FORWARD - \[0:0\]\n:KPLANE-NODEPORTS - \[0:0\]\n:KPLANE-PROXY-FIREWALL - \[0:0\]\n:KPLANE-PROXY-CANARY - \[0:0\]\n/, '').replace(/COMMIT\n$/, ''));
    expect(await value(metrics.restoreFailures)).toBe(1);
    expect(await value(metrics.partialRestoreFailures)).toBe(1);
    stop();
    runner.clear();
    expect(await proxier.sync('retry')).toBe(true);
    expect(programs(runner.calls)).toEqual(['iptables-save', 'iptables-restore']);
    expect(restores(runner)[0]).toContain('*mangle');
    expect(await value(metrics.restoreFailures)).toBe(1);
  });

  test('once per sync period a sync checks the canary first; a missing canary forces a full sync', async () => {
    const { runner, proxier, advance } = setup();
    seed(proxier, [web], [webSlice('10.180.0.1')]);
    await proxier.sync('change');
    runner.clear();
    advance(29_000);
    await proxier.sync('periodic');
    expect(programs(runner.calls)).toEqual(['iptables-restore']);

    advance(1_000);
    runner.clear();
    // Any sync does the check when it is due, not only periodic ones.
    await proxier.sync('change');
    expect(programs(runner.calls)).toEqual(['iptables', 'iptables', 'iptables', 'iptables-restore']);
    expect(restores(runner)[0]).not.toContain('*mangle');

    runner.respond((call) => (call.file === 'iptables' && call.args.includes('nat') ? { exitCode: 1, stdout: '', stderr: 'iptables: No chain/target/match by that name.\n' } : undefined));
    advance(30_000);
    runner.clear();
    expect(await proxier.sync('periodic')).toBe(true);
    expect(programs(runner.calls)).toEqual(['iptables', 'iptables', 'iptables-save', 'iptables-restore']);
    expect(restores(runner)[0]).toContain('*mangle');
  });

  test('a full sync is done once the full-sync period has passed', async () => {
    const { runner, proxier, advance } = setup({ fullSyncPeriodMs: 60_000 });
    seed(proxier, [web], [webSlice('10.180.0.1')]);
    await proxier.sync('change');
    advance(30_000);
    runner.clear();
    await proxier.sync('change');
    expect(runner.of('iptables-save')).toHaveLength(0);
    advance(30_000);
    runner.clear();
    await proxier.sync('change');
    expect(runner.of('iptables-save')).toHaveLength(1);
  });

  test('a full sync skips jumps the kernel already has and deletes kplane chains left by an earlier run', async () => {
    const { runner, proxier } = setup();
    runner.respond((call) =>
      call.file === 'iptables-save'
        ? { exitCode: 0, stdout: '*nat\n:PREROUTING ACCEPT [0:0]\n:KPLANE-SVC-OLDOLDOLDOLDOLDO - [0:0]\n-A PREROUTING -m comment --comment "kplane service portals" -j KPLANE-SERVICES\nCOMMIT\n', stderr: '' }
        : undefined,
    );
    seed(proxier, [web], [webSlice('10.180.0.1')]);
    await proxier.sync('change');
    const [payload = ''] = restores(runner);
    expect(payload).not.toContain('-I PREROUTING');
    expect(payload).toContain('-I OUTPUT -m comment --comment "kplane service portals" -j KPLANE-SERVICES');
    expect(payload).toContain('-X KPLANE-SVC-OLDOLDOLDOLDOLDO\n');
  });

  test('stale UDP conntrack entries are removed after the rules are in place', async () => {
    const { runner, proxier } = setup();
    const dns = makeService('ns1', 'dns', (s) => {
      s.spec.clusterIP = '172.30.0.10';
      s.spec.ports = [{ name: 'dns', protocol: 'UDP', port: 53 }];
    });
    const dnsSlice = (...ips: string[]) =>
      makeSlice('ns1', 'dns', 'a', (s) => {
        s.ports = [{ name: 'dns', port: 53, protocol: 'UDP' }];
        s.endpoints = ips.map((ip) => endpoint(ip));
      });
    seed(proxier, [dns], [dnsSlice('10.180.0.1', '10.180.0.2')]);
    await proxier.sync('change');
    expect(programs(runner.calls)).toEqual(['iptables', 'iptables-save', 'iptables-restore', 'conntrack']);
    runner.clear();
    proxier.updateEndpointSlice(dnsSlice('10.180.0.1', '10.180.0.2'), dnsSlice('10.180.0.2'));
    await proxier.sync('change');
    expect(runner.calls.map((call) => [call.file, ...call.args].join(' '))).toEqual(['iptables-restore -w 5 --noflush --counters', 'conntrack -D -p udp --orig-dst 172.30.0.10 --dst-nat 10.180.0.1']);
  });

  test('health: applied changes make the proxy healthy and health check ports follow local endpoints', async () => {
    const { proxier, health, healthChecks, advance } = setup();
    const lb = makeService('ns1', 'lb', (s) => {
      s.spec.type = 'LoadBalancer';
      s.spec.clusterIP = '172.30.0.50';
      s.spec.externalTrafficPolicy = 'Local';
      s.spec.healthCheckNodePort = 32000;
      s.spec.ports = [tcpPort('p80', 80, { nodePort: 30080 }), tcpPort('p81', 81, { nodePort: 30081 })];
    });
    const lbSlice = makeSlice('ns1', 'lb', 'a', (s) => {
      s.ports = [{ name: 'p80', port: 80, protocol: 'TCP' }, { name: 'p81', port: 81, protocol: 'TCP' }];
      s.endpoints = [endpoint('10.180.0.1', { nodeName: NODE_NAME }), endpoint('10.180.0.2', { nodeName: 'node2' })];
    });
    seed(proxier, [lb], [lbSlice]);
    advance(61_000);
    expect(health.status().healthy).toBe(false);
    await proxier.sync('change');
    expect(health.status().healthy).toBe(true);
    expect(healthChecks).toEqual([[new Map([['ns1/lb', 32000]]), new Map([['ns1/lb', 1]])]]);
  });

  test('network programming latency is measured from the slice\'s trigger time', async () => {
    const { proxier, metrics, now, advance } = setup();
    const slice = webSlice('10.180.0.1');
    slice.metadata.annotations = { 'endpoints.kubernetes.io/last-change-trigger-time': new Date(now() + 1000).toISOString() };
    seed(proxier, [web], [slice]);
    advance(3_500);
    await proxier.sync('change');
    const histogram = (await metrics.networkProgrammingDuration.get()).values;
    expect(histogram.find((entry) => entry.metricName?.endsWith('_sum'))?.value).toBeCloseTo(2.5);
  });

  test('renderFull is what a full sync on an empty node would write, without touching the kernel', async () => {
    const { runner, proxier } = setup();
    seed(proxier, [web], [webSlice('10.180.0.1')]);
    const text = proxier.renderFull();
    expect(runner.calls).toEqual([]);
    await proxier.sync('change');
    expect(restores(runner)[0]).toBe(text);
  });
});
