/**
 * Pure: what `kplane up` runs and where everything listens, from the data
 * dir, the node name and whether the proxy can run. Every address is on
 * loopback and none of them clash: the API store on kube-apiserver's 6443,
 * DNS on 10053 with its health, ready and metrics endpoints on 10054-10056,
 * the ingress on 8080/8443 with health and metrics on ingress-nginx's 10254,
 * and the proxy's health and metrics on kube-proxy's 10256 and 10249.
 */
import { join } from 'node:path';
import type { ReadinessCheck } from './readiness.ts';

export const upAddresses = Object.freeze({
  api: '127.0.0.1:6443',
  dns: '127.0.0.1:10053',
  dnsHealth: '127.0.0.1:10054',
  dnsReady: '127.0.0.1:10055',
  dnsMetrics: '127.0.0.1:10056',
  ingressHttp: '127.0.0.1:8080',
  ingressHttps: '127.0.0.1:8443',
  ingressOps: '127.0.0.1:10254',
  proxyHealthz: '127.0.0.1:10256',
  proxyMetrics: '127.0.0.1:10249',
});

export const ingressClassName = 'kplane';
export const ingressController = 'kplane.io/ingress-controller';

export type ProxyDecision = { run: true } | { run: false; why: string };

/** The proxy programs this machine's iptables: it runs when asked and able to. */
export function decideProxy(input: { noProxy: boolean; isRoot: boolean; iptablesRestore: string | undefined }): ProxyDecision {
  if (input.noProxy) return { run: false, why: '--no-proxy was given' };
  if (!input.isRoot) return { run: false, why: 'not running as root (it programs iptables)' };
  if (input.iptablesRestore === undefined) return { run: false, why: 'iptables-restore was not found (apt-get install iptables)' };
  return { run: true };
}

/** A Node name from the host name, as the kubelet derives it: lower case, a DNS-1123 subdomain. */
export function nodeNameFrom(hostname: string): string {
  const name = hostname
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .slice(0, 253);
  return name === '' ? 'localhost' : name;
}

export interface ChildPlan {
  name: 'apiserver' | 'dns' | 'ingress' | 'proxy';
  args: string[];
  /** Polled until ready. */
  readiness: ReadinessCheck;
}

export interface UpPlan {
  dataDir: string;
  socket: string;
  /** What the agents get as --server. */
  server: string;
  kubeconfig: string;
  logsDir: string;
  nodeName: string;
  proxy: ProxyDecision;
  /** The API store first; the agents need it. */
  apiserver: ChildPlan;
  agents: ChildPlan[];
}

/** The proxy has synced at least once when its /healthz reports a lastUpdated time. */
function proxySynced(status: number, body: string): boolean {
  if (status !== 200) return false;
  try {
    const parsed = JSON.parse(body) as { status?: { IPv4?: { lastUpdated?: string } } };
    return Boolean(parsed.status?.IPv4?.lastUpdated);
  } catch {
    return false;
  }
}

export function planUp(input: { dataDir: string; nodeName: string; proxy: ProxyDecision }): UpPlan {
  const { dataDir, nodeName, proxy } = input;
  const socket = join(dataDir, 'api.sock');
  const server = `unix:${socket}`;
  const a = upAddresses;
  const agents: ChildPlan[] = [
    {
      name: 'dns',
      args: ['dns', '--server', server, '--listen', a.dns, '--health-listen', a.dnsHealth, '--ready-listen', a.dnsReady, '--metrics-listen', a.dnsMetrics],
      readiness: { name: 'dns', url: `http://${a.dnsReady}/ready` },
    },
    {
      name: 'ingress',
      args: ['ingress', '--server', server, '--http-listen', a.ingressHttp, '--https-listen', a.ingressHttps, '--class', ingressClassName, '--health-listen', a.ingressOps, '--metrics-listen', a.ingressOps],
      readiness: { name: 'ingress', url: `http://${a.ingressOps}/healthz` },
    },
  ];
  if (proxy.run) {
    agents.push({
      name: 'proxy',
      args: ['proxy', '--server', server, '--node', nodeName, '--healthz-bind-address', a.proxyHealthz, '--metrics-bind-address', a.proxyMetrics],
      readiness: { name: 'proxy', url: `http://${a.proxyHealthz}/healthz`, accept: proxySynced },
    });
  }
  return {
    dataDir,
    socket,
    server,
    kubeconfig: join(dataDir, 'kubeconfig'),
    logsDir: join(dataDir, 'logs'),
    nodeName,
    proxy,
    apiserver: {
      name: 'apiserver',
      args: ['apiserver', '--listen', a.api, '--listen', server, '--data-dir', dataDir],
      readiness: { name: 'apiserver', url: 'http://localhost/readyz', socketPath: socket },
    },
    agents,
  };
}

/** The kubeconfig kubectl uses to reach the API store (plain HTTP on loopback, no credentials). */
export function kubeconfigYaml(server: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: kplane',
    '  cluster:',
    `    server: ${server}`,
    'users:',
    '- name: kplane',
    '  user: {}',
    'contexts:',
    '- name: kplane',
    '  context:',
    '    cluster: kplane',
    '    user: kplane',
    '    namespace: default',
    'current-context: kplane',
    '',
  ].join('\n');
}
