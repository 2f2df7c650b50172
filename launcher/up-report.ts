/**
 * Pure: the text `kplane up` prints once everything is ready (what listens
 * where, how to use it), the one line about a proxy that is not running, and
 * the line printed after a clean stop.
 */
import { join } from 'node:path';
import { upAddresses, type UpPlan } from './up-plan.ts';

const port = (address: string) => address.slice(address.lastIndexOf(':') + 1);

/** Says why the proxy is not running and how to run it: one line. */
export function proxySkippedLine(plan: UpPlan): string {
  if (plan.proxy.run) return '';
  return `proxy: not started: ${plan.proxy.why}. To program this machine's iptables, run as root: bin/kplane proxy --kubeconfig ${plan.kubeconfig} --node ${plan.nodeName} (or sudo bin/kplane up)`;
}

function table(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return rows.map(([label, text]) => `  ${label.padEnd(width)}${text}`);
}

/**
 * @param examplesDir how to name examples/ in commands (relative to the user's
 *   working directory when it is inside it).
 */
export function upReport(plan: UpPlan, examplesDir: string): string {
  const a = upAddresses;
  const logs = plan.agents.map((agent) => agent.name);
  const rows: [string, string][] = [
    ['API store', `http://${a.api} and unix:${plan.socket} (database ${join(plan.dataDir, 'kplane.db')})`],
    ['DNS', `${a.dns} UDP+TCP, zone cluster.local; health http://${a.dnsHealth}/health, ready http://${a.dnsReady}/ready, metrics http://${a.dnsMetrics}/metrics`],
    ['Ingress', `http://${a.ingressHttp} and https://${a.ingressHttps}, IngressClass "kplane" (the default class); health and metrics http://${a.ingressOps}/healthz /metrics`],
    plan.proxy.run
      ? ['Proxy', `node "${plan.nodeName}", iptables; health http://${a.proxyHealthz}/healthz, metrics http://${a.proxyMetrics}/metrics; its rules are removed when kplane up stops`]
      : ['Proxy', proxySkippedLine(plan).replace(/^proxy: /, '')],
    ['Logs', `${plan.logsDir}/{${['apiserver', ...logs].join(',')}}.log`],
  ];
  const ex = examplesDir.endsWith('/') ? examplesDir : `${examplesDir}/`;
  return [
    `kplane is up (data dir ${plan.dataDir}).`,
    '',
    ...table(rows),
    '',
    'Use it from another terminal:',
    `  export KUBECONFIG=${plan.kubeconfig}`,
    `  kubectl apply -f ${ex}                # pods, a Service of each type, an Ingress with TLS`,
    '  kubectl get pods,services,endpointslices,ingresses',
    `  dig @127.0.0.1 -p ${port(a.dns)} +short web.default.svc.cluster.local`,
    `  dig @127.0.0.1 -p ${port(a.dns)} +short SRV _http._tcp.web-headless.default.svc.cluster.local`,
    `  curl --resolve web.example.test:${port(a.ingressHttps)}:127.0.0.1 --cacert ${ex}tls/web.example.test.crt https://web.example.test:${port(a.ingressHttps)}/`,
    '',
    'Nothing runs pods on this machine: a pod is a ready endpoint once its status says so, e.g.',
    `  kubectl patch pod web-1 --subresource=status --type=merge -p '{"status":{"phase":"Running","podIP":"10.244.0.11","conditions":[{"type":"Ready","status":"True"}]}}'`,
    'and the ingress then sends web.example.test to 10.244.0.11:8080.',
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n');
}

export function stoppedLine(plan: UpPlan, rulesRemoved: boolean | undefined): string {
  const parts = ['apiserver', ...plan.agents.map((agent) => agent.name)].join(', ');
  const rules = rulesRemoved === undefined ? '' : rulesRemoved ? '; the proxy\'s iptables rules were removed' : `; removing the proxy's iptables rules failed (see ${plan.logsDir}/proxy.log; run bin/kplane proxy --cleanup)`;
  return `kplane up stopped (${parts})${rules}.\n`;
}
