/**
 * The demo's steps, each a small script against the namespace cluster (the
 * e2e harness): set up as an operator would, then real traffic from pods and
 * from the external client, DNS from inside a pod, and HTTPS through the
 * ingress. A step gathers observations, prints them, and leaves the verdict
 * to demo-checks.ts. Every wait is bounded.
 */
import type { Service } from '../controlplane/api/types.ts';
import { ApiStatusError, inNamespace, refs } from '../controlplane/client/types.ts';
import { createCluster, type AgentHandle, type Cluster, type PodHandle, type PodSpec } from '../test/e2e/harness/cluster.ts';
import { execIn, type CommandResult } from '../test/e2e/harness/netns.ts';
import type { Place } from '../test/e2e/harness/place.ts';
import { isFailure } from '../test/e2e/harness/traffic.ts';
import { waitFor } from '../test/e2e/harness/wait.ts';
import { ensureIngressClass } from './cluster-setup.ts';
import {
  affinityVerdict, allOf, answersVerdict, clientAddressVerdict, digLines, formatTally, parseSrv, servedByVerdict, spreadVerdict, srvVerdict,
  type Tally, type Verdict,
} from './demo-checks.ts';
import { exampleCertificate, examplePods, examplesDir } from './examples.ts';
import { kubeconfigYaml } from './up-plan.ts';
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export type Say = (text: string) => void;

export interface DemoWorld {
  cluster: Cluster;
  /** Aborted on Ctrl-C: every wait and loop of a step ends early. */
  signal: AbortSignal;
  /** The example pods by name, once they run. */
  pods: Map<string, PodHandle>;
  dns?: PodHandle;
  ingress?: { pod: PodHandle; ip: string };
}

export interface Step {
  title: string;
  /** The rest of the demo cannot run without this step. */
  required?: boolean;
  /** Logs to quote when the step fails: [name, file]. */
  logs?(world: DemoWorld): [string, string][];
  run(world: DemoWorld, say: Say): Promise<Verdict>;
}

const pass: Verdict = { ok: true };
const namespace = 'default';
const zone = 'cluster.local';

// ---- helpers ----

function agentLogs(world: DemoWorld, kind: AgentHandle['kind']): [string, string][] {
  return world.cluster.agents.filter((agent) => agent.kind === kind).map((agent) => [agent.name, agent.logFile]);
}

const proxyLogs = (world: DemoWorld) => agentLogs(world, 'proxy');
const dnsLogs = (world: DemoWorld) => [...agentLogs(world, 'dns'), ...proxyLogs(world)];
const ingressLogs = (world: DemoWorld) => [...agentLogs(world, 'ingress'), ...proxyLogs(world)];

function pod(world: DemoWorld, name: string): PodHandle {
  const handle = world.pods.get(name);
  if (!handle) throw new Error(`pod ${name} is not running (step "Run the example pods" failed)`);
  return handle;
}

function webPods(world: DemoWorld): PodHandle[] {
  return [...world.pods.values()].filter((handle) => handle.labels['app'] === 'web').sort((a, b) => a.name.localeCompare(b.name));
}

async function service(world: DemoWorld, name: string): Promise<Service> {
  return world.cluster.api.get<Service>(inNamespace(refs.services, namespace), name);
}

const stopOn = (signal: AbortSignal) => () => (signal.aborted ? new Error('interrupted') : undefined);

/** Waits (bounded) until `url` answers 200 from `place`; false when it never did. */
async function answersOnce(world: DemoWorld, place: Place, url: string, timeoutMs = 20_000): Promise<boolean> {
  try {
    await waitFor(async () => {
      const reply = await place.http({ url, timeoutMs: 2_000 });
      return !isFailure(reply) && reply.status === 200;
    }, { timeoutMs, intervalMs: 250, what: `${url} to answer`, giveUpIf: stopOn(world.signal) });
    return true;
  } catch {
    return false;
  }
}

/** `count` GETs, one at a time: who answered, and the client address each pod saw. */
async function sample(world: DemoWorld, place: Place, url: string, count: number): Promise<{ tally: Tally; clients: string[] }> {
  const tally: Record<string, number> = {};
  const clients: string[] = [];
  for (let i = 0; i < count && !world.signal.aborted; i++) {
    const reply = await place.http({ url, timeoutMs: 2_000 });
    const body = isFailure(reply) ? undefined : (reply.json as { pod?: string; clientIP?: string } | undefined);
    const who = isFailure(reply) ? reply.code : (body?.pod ?? `HTTP ${reply.status}`);
    tally[who] = (tally[who] ?? 0) + 1;
    if (body?.clientIP) clients.push(body.clientIP);
  }
  return { tally, clients };
}

/** `dig` from a pod until `accept` likes the answer (bounded); returns the last answer either way. */
async function digUntil(world: DemoWorld, place: Place, name: string, type: string, accept: (result: CommandResult) => boolean, timeoutMs = 15_000): Promise<CommandResult> {
  let last: CommandResult | undefined;
  try {
    await waitFor(async () => {
      last = await place.dig(name, type, ['+short']);
      return accept(last);
    }, { timeoutMs, intervalMs: 300, what: `${name} ${type}`, giveUpIf: stopOn(world.signal) });
  } catch {
    // the caller judges the last answer
  }
  return last ?? (await place.dig(name, type, ['+short']));
}

function shown(result: CommandResult): string {
  const lines = digLines(result.stdout);
  if (lines.length > 0) return lines.join(', ');
  return result.exitCode === 0 ? '(no answer)' : `(dig failed: ${(result.stderr || result.stdout).trim().split('\n')[0] ?? result.exitCode})`;
}

// ---- setup ----

export const buildStep = (signal: AbortSignal, onBuilt: (world: DemoWorld) => void): Step => ({
  title: 'Build a 2-node cluster from network namespaces',
  required: true,
  async run(_world, say) {
    const cluster = await createCluster({ nodes: 2, clients: 1, agentLogLevel: 'info' });
    onBuilt({ cluster, signal, pods: new Map() });
    say(`run ${cluster.prefix} (every namespace of this run starts with it)`);
    for (const node of cluster.nodes) say(`${node.name}: ${node.ip} on the LAN, pods in ${node.podCidr} (namespace ${node.netns})`);
    say(`${cluster.client.name}: ${cluster.client.ip}, outside the cluster; routes the LoadBalancer pool ${cluster.plan.lbPool} via ${cluster.client.lbNextHop}`);
    say(`API store: kplane apiserver on ${cluster.server} (service CIDR ${cluster.plan.serviceCidr}); built in ${cluster.timings['create'] ?? '?'} ms`);
    say(`logs: ${join(cluster.runDir, 'logs')}`);
    return pass;
  },
});

export const componentsStep: Step = {
  title: 'Start every component as an operator would: proxy on each node, DNS behind kube-dns, the ingress in a pod',
  logs: (world) => [...proxyLogs(world), ...agentLogs(world, 'dns'), ...agentLogs(world, 'ingress')],
  async run(world, say) {
    const { cluster } = world;
    const problems: string[] = [];
    // The IngressClass an ingress-nginx install would create: ours, the default.
    await ensureIngressClass(cluster.api);
    say('IngressClass kplane (controller kplane.io/ingress-controller, the default class)');

    const proxies = cluster.startProxies();
    for (const proxy of proxies) {
      const node = proxy.target as Place;
      try {
        await waitFor(async () => (await node.curl('http://127.0.0.1:10256/healthz', ['-o', '/dev/null', '-w', '%{http_code}'])).stdout === '200', {
          timeoutMs: 20_000, intervalMs: 250, what: `the proxy on ${node.name} to answer /healthz`,
          giveUpIf: () => (proxy.exit ? new Error(`the proxy on ${node.name} exited (${proxy.exit.code ?? proxy.exit.signal})`) : stopOn(world.signal)()),
        });
        say(`kplane proxy --node ${node.name} --cluster-cidr ${cluster.plan.clusterCidr}: /healthz 200`);
      } catch (error) {
        problems.push((error as Error).message);
      }
    }

    try {
      // Upstream: the LAN's gateway, inside the demo's namespaces (nothing answers there): no query leaves the machine.
      world.dns = await cluster.startDns({ node: 2, args: ['--upstream', `${cluster.lan.gatewayIp}:53`] });
      await cluster.waitForReadyEndpoints('kube-system', 'kube-dns', [world.dns.ip]);
      say(`kplane dns in pod kube-system/${world.dns.name} (${world.dns.node.name}, ${world.dns.ip}) behind Service kube-dns ${cluster.dnsIp}:53`);
    } catch (error) {
      problems.push(`DNS: ${(error as Error).message.split('\n')[0]}`);
    }

    try {
      const ingressNamespace = 'kplane-ingress';
      try {
        await cluster.api.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ingressNamespace } });
      } catch (error) {
        if (!(error instanceof ApiStatusError && error.code === 409)) throw error;
      }
      const services = inNamespace(refs.services, ingressNamespace);
      const lb: Service = {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'ingress', namespace: ingressNamespace },
        spec: {
          type: 'LoadBalancer',
          selector: { 'app.kubernetes.io/name': 'kplane-ingress' },
          ports: [
            { name: 'http', port: 80, targetPort: 80, protocol: 'TCP' },
            { name: 'https', port: 443, targetPort: 443, protocol: 'TCP' },
          ],
        },
      };
      await cluster.api.create(services, lb);
      const ip = await waitFor(async () => (await cluster.api.get<Service>(services, 'ingress')).status?.loadBalancer?.ingress?.[0]?.ip, {
        timeoutMs: 10_000, what: 'a LoadBalancer IP for the ingress', giveUpIf: stopOn(world.signal),
      });
      const ingressPod = await cluster.startIngress({ node: 1, args: ['--publish-address', ip, '--health-listen', '0.0.0.0:10254'] });
      world.ingress = { pod: ingressPod, ip };
      say(`kplane ingress in pod ${ingressNamespace}/${ingressPod.name} (${ingressPod.node.name}, ${ingressPod.ip}) behind LoadBalancer Service ${ingressNamespace}/ingress ${ip}:80/443`);
    } catch (error) {
      problems.push(`ingress: ${(error as Error).message.split('\n')[0]}`);
    }
    return problems.length === 0 ? pass : { ok: false, why: problems.join('; ') };
  },
};

export const podsStep: Step = {
  title: 'Run the example pods (examples/web-pods.yaml) on the nodes, as their kubelets would',
  required: true,
  async run(world, say) {
    const { cluster } = world;
    const specs = examplePods();
    if (specs.length === 0) return { ok: false, why: 'examples/ defines no Pods' };
    say('(the namespace cluster\'s kubelet runs kplane\'s test pod app in place of the image: same name, labels, ports and readiness probe)');
    const started = await Promise.all(
      specs.map(async (example, i) => {
        const spec: PodSpec = { name: example.name, namespace, node: (i % 2) + 1, labels: example.labels, ports: example.ports };
        if (example.readinessProbe) spec.readinessProbe = example.readinessProbe;
        if (example.hostname) spec.hostname = example.hostname;
        if (example.subdomain) spec.subdomain = example.subdomain;
        return cluster.addPod(spec);
      }),
    );
    for (const handle of started) {
      world.pods.set(handle.name, handle);
      say(`${handle.name.padEnd(6)} ${Object.entries(handle.labels).map(([k, v]) => `${k}=${v}`).join(',').padEnd(8)} on ${handle.node.name}  ${handle.ip}  ready`);
    }
    return pass;
  },
};

export const applyStep: Step = {
  title: 'kubectl apply -f examples/',
  required: true,
  async run(world, say) {
    const { cluster } = world;
    const kubeconfig = join(cluster.runDir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml('http://127.0.0.1:6443'));
    say(`(kubectl runs in the API store's namespace ${cluster.plan.apiNetns}, against http://127.0.0.1:6443)`);
    const result = await execIn(cluster.plan.apiNetns, ['kubectl', 'apply', '-f', examplesDir], {
      env: { KUBECONFIG: kubeconfig, KUBECACHEDIR: join(cluster.runDir, 'kube-cache'), HOME: process.env['HOME'] ?? '/root' },
      timeoutMs: 60_000,
    });
    for (const line of result.stdout.trim().split('\n')) if (line) say(line);
    const warnings = result.stderr.split('\n').filter((line) => line.trim() !== '' && !/missing the kubectl.kubernetes.io\/last-applied-configuration annotation|will be patched automatically/.test(line));
    if (result.exitCode !== 0) return { ok: false, why: `kubectl exited ${result.exitCode ?? 'by timeout'}: ${warnings.join(' ') || result.stderr.trim()}` };
    const web = webPods(world).map((handle) => handle.ip);
    await cluster.waitForReadyEndpoints(namespace, 'web', web, 20_000);
    say(`Service web has ${web.length} ready endpoints: ${web.join(', ')}`);
    return pass;
  },
};

// ---- traffic ----

export const clusterIpStep: Step = {
  title: 'ClusterIP: new connections spread across every ready pod',
  logs: proxyLogs,
  async run(world, say) {
    const web = await service(world, 'web');
    const from = pod(world, 'api-1');
    const url = `http://${web.spec.clusterIP}/`;
    const names = webPods(world).map((handle) => handle.name);
    say(`Service default/web ${web.spec.clusterIP}:80 selects ${names.join(', ')} (targetPort http = 8080)`);
    await answersOnce(world, from, url);
    const { tally } = await sample(world, from, url, 30);
    say(`30 requests from pod api-1 (${from.node.name}): ${formatTally(tally)}`);
    return spreadVerdict(tally, names);
  },
};

export const affinityStep: Step = {
  title: 'Session affinity: ClientIP keeps each client on one pod',
  logs: proxyLogs,
  async run(world, say) {
    const sticky = await service(world, 'web-sticky');
    const url = `http://${sticky.spec.clusterIP}/`;
    const names = webPods(world).map((handle) => handle.name);
    say(`Service default/web-sticky ${sticky.spec.clusterIP}:80, sessionAffinity ClientIP`);
    const bySource: Record<string, Tally> = {};
    for (const sourceName of ['api-1', 'web-2']) {
      const from = pod(world, sourceName);
      await answersOnce(world, from, url);
      const { tally } = await sample(world, from, url, 15);
      bySource[`${sourceName} (${from.ip})`] = tally;
      say(`15 requests from pod ${sourceName} (${from.ip}): ${formatTally(tally)}`);
    }
    return affinityVerdict(bySource, names);
  },
};

export const nodePortStep: Step = {
  title: 'NodePort: the external client reaches the pods through either node',
  logs: proxyLogs,
  async run(world, say) {
    const { cluster } = world;
    const svc = await service(world, 'web-nodeport');
    const nodePort = svc.spec.ports?.[0]?.nodePort;
    const names = webPods(world).map((handle) => handle.name);
    say(`Service default/web-nodeport: port 80, nodePort ${nodePort} on every node (externalTrafficPolicy Cluster)`);
    const verdicts: Verdict[] = [];
    for (const node of cluster.nodes) {
      const url = `http://${node.ip}:${nodePort}/`;
      await answersOnce(world, cluster.client, url);
      const { tally, clients } = await sample(world, cluster.client, url, 10);
      say(`10 requests from ${cluster.client.name} (${cluster.client.ip}) to ${node.name} ${node.ip}:${nodePort}: ${formatTally(tally)}; the pods saw the client as ${[...new Set(clients)].join(', ') || '?'} (masqueraded)`);
      verdicts.push(servedByVerdict(tally, names));
    }
    return allOf(...verdicts);
  },
};

async function loadBalancerIp(world: DemoWorld): Promise<string> {
  return waitFor(async () => (await service(world, 'web-lb')).status?.loadBalancer?.ingress?.[0]?.ip, { timeoutMs: 10_000, what: 'a LoadBalancer IP for web-lb', giveUpIf: stopOn(world.signal) });
}

export const loadBalancerStep: Step = {
  title: 'LoadBalancer: the external client reaches the pods at the Service\'s external IP',
  logs: proxyLogs,
  async run(world, say) {
    const { cluster } = world;
    const ip = await loadBalancerIp(world);
    const url = `http://${ip}/`;
    const names = webPods(world).map((handle) => handle.name);
    say(`Service default/web-lb got ${ip} from the pool ${cluster.plan.lbPool}; the client routes it via ${cluster.client.lbNextHop}`);
    await answersOnce(world, cluster.client, url);
    const { tally } = await sample(world, cluster.client, url, 12);
    say(`12 requests from ${cluster.client.name} to ${ip}:80: ${formatTally(tally)}`);
    return servedByVerdict(tally, names);
  },
};

export const localPolicyStep: Step = {
  title: 'externalTrafficPolicy Local: the pod sees the client\'s own address, and only pods on the receiving node answer',
  logs: proxyLogs,
  async run(world, say) {
    const { cluster } = world;
    const ip = await loadBalancerIp(world);
    const entry = cluster.nodes.find((node) => node.ip === cluster.client.lbNextHop);
    const local = webPods(world).filter((handle) => handle.node === entry).map((handle) => handle.name);
    await answersOnce(world, cluster.client, `http://${ip}/`);
    const { tally, clients } = await sample(world, cluster.client, `http://${ip}/`, 10);
    say(`traffic to ${ip} enters at ${entry?.name ?? '?'}, whose web pods are ${local.join(', ') || 'none'}: ${formatTally(tally)}`);
    say(`client address seen by the pods: ${[...new Set(clients)].join(', ') || '?'} (the client is ${cluster.client.ip})`);
    return allOf(clientAddressVerdict(clients, cluster.client.ip), servedByVerdict(tally, local));
  },
};

// ---- DNS ----

export const dnsServiceStep: Step = {
  title: 'DNS: a Service\'s name resolves to its ClusterIP from inside a pod',
  logs: dnsLogs,
  async run(world, say) {
    const web = await service(world, 'web');
    const from = pod(world, 'web-1');
    const ip = web.spec.clusterIP as string;
    const name = `web.${namespace}.svc.${zone}`;
    const dig = await digUntil(world, from, name, 'A', (result) => digLines(result.stdout).includes(ip));
    say(`pod web-1: dig ${name} → ${shown(dig)}`);
    const getent = await from.getent('web');
    const short = getent.stdout.trim().split(/\s+/)[0] ?? '';
    say(`pod web-1: getent hosts web (resolv.conf search path) → ${getent.stdout.trim().replace(/\s+/g, ' ') || `(failed: ${getent.exitCode})`}`);
    return allOf(answersVerdict(dig.stdout, [ip]), short === ip ? pass : { ok: false, why: `getent hosts web gave "${short}", not ${ip}` });
  },
};

export const dnsHeadlessStep: Step = {
  title: 'DNS: a headless Service answers with its pods, and each pod has its own name',
  logs: dnsLogs,
  async run(world, say) {
    const from = pod(world, 'web-1');
    const web = webPods(world);
    const ips = web.map((handle) => handle.ip);
    const name = `web-headless.${namespace}.svc.${zone}`;
    const all = await digUntil(world, from, name, 'A', (result) => answersVerdict(result.stdout, ips).ok);
    say(`pod web-1: dig ${name} → ${shown(all)}`);
    const second = web[1] ?? web[0];
    if (!second) return { ok: false, why: 'no web pods' };
    const podName = `${second.name}.${name}`;
    const one = await digUntil(world, from, podName, 'A', (result) => digLines(result.stdout).includes(second.ip));
    say(`pod web-1: dig ${podName} → ${shown(one)}`);
    return allOf(answersVerdict(all.stdout, ips), answersVerdict(one.stdout, [second.ip]));
  },
};

export const dnsSrvStep: Step = {
  title: 'DNS: SRV records name each pod and its port',
  logs: dnsLogs,
  async run(world, say) {
    const from = pod(world, 'web-1');
    const targets = webPods(world).map((handle) => `${handle.name}.web-headless.${namespace}.svc.${zone}.`);
    const name = `_http._tcp.web-headless.${namespace}.svc.${zone}`;
    const srv = await digUntil(world, from, name, 'SRV', (result) => srvVerdict(parseSrv(result.stdout), 8080, targets).ok);
    say(`pod web-1: dig SRV ${name} →`);
    for (const line of digLines(srv.stdout)) say(`  ${line}`);
    if (digLines(srv.stdout).length === 0) say(`  ${shown(srv)}`);
    return srvVerdict(parseSrv(srv.stdout), 8080, targets);
  },
};

export const dnsExternalNameStep: Step = {
  title: 'DNS: an ExternalName Service is a CNAME',
  logs: dnsLogs,
  async run(world, say) {
    const from = pod(world, 'web-1');
    const name = `docs.${namespace}.svc.${zone}`;
    const cname = await digUntil(world, from, name, 'CNAME', (result) => digLines(result.stdout).includes('www.example.com.'));
    say(`pod web-1: dig CNAME ${name} → ${shown(cname)}`);
    return answersVerdict(cname.stdout, ['www.example.com.']);
  },
};

// ---- ingress ----

interface CurlReply {
  exitCode: number | undefined;
  status: string;
  body: string;
  error: string;
}

async function curl(place: Place, url: string, args: string[]): Promise<CurlReply> {
  const result = await place.curl(url, [...args, '-w', '\n%{http_code}'], 4_000);
  const text = result.stdout;
  const cut = text.lastIndexOf('\n');
  return { exitCode: result.exitCode, status: text.slice(cut + 1).trim(), body: text.slice(0, Math.max(0, cut)), error: result.stderr.trim() };
}

function podOf(reply: CurlReply): string {
  try {
    return String((JSON.parse(reply.body) as { pod?: string }).pod ?? `HTTP ${reply.status}`);
  } catch {
    return reply.exitCode === 0 ? `HTTP ${reply.status}` : `curl failed (${reply.exitCode}): ${reply.error}`;
  }
}

export const ingressStep: Step = {
  title: 'Ingress: by host and path over TLS, from the external client',
  logs: ingressLogs,
  async run(world, say) {
    const { cluster } = world;
    if (!world.ingress) return { ok: false, why: 'the ingress controller is not running (see step 2)' };
    const { ip } = world.ingress;
    const host = 'web.example.test';
    const cert = relative(process.cwd(), exampleCertificate).startsWith('..') ? exampleCertificate : relative(process.cwd(), exampleCertificate);
    const tls = ['--resolve', `${host}:443:${ip}`, '--cacert', exampleCertificate];
    say(`Ingress default/web: https://${host}/ → Service web, /api → Service api; certificate from Secret web-example-tls`);
    say(`from ${cluster.client.name}: curl --resolve ${host}:443:${ip} --cacert ${cert} https://${host}/…`);
    try {
      await waitFor(async () => (await curl(cluster.client, `https://${host}/`, tls)).status === '200', { timeoutMs: 20_000, intervalMs: 300, what: `https://${host}/ to answer`, giveUpIf: stopOn(world.signal) });
    } catch {
      // judged below
    }
    const names = webPods(world).map((handle) => handle.name);
    const root = await curl(cluster.client, `https://${host}/`, tls);
    say(`GET https://${host}/        → ${root.status} from ${podOf(root)}${root.exitCode === 0 ? ' (certificate verified)' : ''}`);
    const api = await curl(cluster.client, `https://${host}/api/items`, tls);
    say(`GET https://${host}/api/items → ${api.status} from ${podOf(api)}`);
    const plain = await curl(cluster.client, `http://${host}/`, ['--resolve', `${host}:80:${ip}`, '-o', '/dev/null']);
    say(`GET http://${host}/         → ${plain.status} (redirect to HTTPS)`);
    return allOf(
      root.exitCode === 0 ? pass : { ok: false, why: `HTTPS to ${host} failed: ${root.error || `curl exit ${root.exitCode}`}` },
      names.includes(podOf(root)) ? pass : { ok: false, why: `/ was answered by ${podOf(root)}, not a web pod` },
      podOf(api) === 'api-1' ? pass : { ok: false, why: `/api was answered by ${podOf(api)}, not api-1` },
      plain.status === '308' ? pass : { ok: false, why: `plain HTTP got ${plain.status}, not a 308 redirect` },
    );
  },
};

/** The traffic and DNS steps, in the order the demo walks them. */
export const tourSteps: readonly Step[] = [
  clusterIpStep,
  affinityStep,
  nodePortStep,
  loadBalancerStep,
  localPolicyStep,
  dnsServiceStep,
  dnsHeadlessStep,
  dnsSrvStep,
  dnsExternalNameStep,
  ingressStep,
];
