import { describe, expect, test } from 'vitest';
import { decideProxy, kubeconfigYaml, nodeNameFrom, planUp, upAddresses } from '../../../launcher/up-plan.ts';
import { proxySkippedLine, upReport } from '../../../launcher/up-report.ts';

describe('decideProxy', () => {
  test.each([
    { name: 'root with iptables-restore → runs', input: { noProxy: false, isRoot: true, iptablesRestore: '/usr/sbin/iptables-restore' }, want: { run: true } },
    { name: '--no-proxy wins over root → skipped', input: { noProxy: true, isRoot: true, iptablesRestore: '/usr/sbin/iptables-restore' }, want: { run: false, why: '--no-proxy was given' } },
    { name: 'not root → skipped', input: { noProxy: false, isRoot: false, iptablesRestore: '/usr/sbin/iptables-restore' }, want: { run: false, why: 'not running as root (it programs iptables)' } },
    { name: 'no iptables-restore → skipped', input: { noProxy: false, isRoot: true, iptablesRestore: undefined }, want: { run: false, why: 'iptables-restore was not found (apt-get install iptables)' } },
  ])('$name', ({ input, want }) => {
    expect(decideProxy(input)).toEqual(want);
  });
});

test.each([
  { name: 'a plain host name stays', hostname: 'vm', want: 'vm' },
  { name: 'upper case and underscores are made valid', hostname: 'My_Laptop.local', want: 'my-laptop.local' },
  { name: 'nothing usable → localhost', hostname: '__', want: 'localhost' },
])('nodeNameFrom: $name', ({ hostname, want }) => {
  expect(nodeNameFrom(hostname)).toBe(want);
});

describe('planUp', () => {
  const plan = planUp({ dataDir: '/srv/k', nodeName: 'vm', proxy: { run: true } });

  test('listens only on loopback, each address once', () => {
    const addresses = Object.values(upAddresses);
    for (const address of addresses) expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(new Set(addresses).size).toBe(addresses.length);
  });

  test('starts the API store on TCP and a unix socket in the data dir, and the agents over that socket', () => {
    expect(plan.apiserver.args).toEqual(['apiserver', '--listen', '127.0.0.1:6443', '--listen', 'unix:/srv/k/api.sock', '--data-dir', '/srv/k']);
    expect(plan.agents.map((agent) => agent.name)).toEqual(['dns', 'ingress', 'proxy']);
    for (const agent of plan.agents) expect(agent.args.slice(1, 3)).toEqual(['--server', 'unix:/srv/k/api.sock']);
    expect(plan.agents.find((agent) => agent.name === 'proxy')?.args).toContain('vm');
    expect(plan.kubeconfig).toBe('/srv/k/kubeconfig');
    expect(plan.logsDir).toBe('/srv/k/logs');
  });

  test('the proxy is ready only after its first sync', () => {
    const check = plan.agents.find((agent) => agent.name === 'proxy')?.readiness;
    expect(check?.accept?.(200, '{"status":{"IPv4":{"healthy":true,"lastUpdated":""}}}')).toBe(false);
    expect(check?.accept?.(200, '{"status":{"IPv4":{"healthy":true,"lastUpdated":"2026-01-01T00:00:00Z"}}}')).toBe(true);
    expect(check?.accept?.(503, '{}')).toBe(false);
  });

  test('without the proxy: no proxy child, and one line says why and how to run it', () => {
    const skipped = planUp({ dataDir: '/srv/k', nodeName: 'vm', proxy: { run: false, why: 'not running as root (it programs iptables)' } });
    expect(skipped.agents.map((agent) => agent.name)).toEqual(['dns', 'ingress']);
    const line = proxySkippedLine(skipped);
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toBe('proxy: not started: not running as root (it programs iptables). To program this machine\'s iptables, run as root: bin/kplane proxy --kubeconfig /srv/k/kubeconfig --node vm (or sudo bin/kplane up)');
  });

  test('the report says where everything listens and how to use it', () => {
    const report = upReport(plan, 'examples/');
    expect(report).toContain('export KUBECONFIG=/srv/k/kubeconfig');
    expect(report).toContain('kubectl apply -f examples/ ');
    expect(report).toContain('dig @127.0.0.1 -p 10053 +short web.default.svc.cluster.local');
    expect(report).toContain('curl --resolve web.example.test:8443:127.0.0.1 --cacert examples/tls/web.example.test.crt https://web.example.test:8443/');
    expect(report).toContain('/srv/k/logs/{apiserver,dns,ingress,proxy}.log');
  });
});

test('the kubeconfig points kubectl at the server, namespace default', () => {
  expect(kubeconfigYaml('http://127.0.0.1:6443')).toContain('    server: http://127.0.0.1:6443\n');
  expect(kubeconfigYaml('http://127.0.0.1:6443')).toContain('current-context: kplane\n');
});
