/**
 * kplane proxy with real packets, inside the cluster: ClusterIP balancing,
 * session affinity, refusal without endpoints, hairpin, readiness, UDP
 * failover (stale conntrack entries) and Service deletion, plus the
 * proxy's own /healthz and /metrics. Two nodes, three pods each, a proxy in
 * every node namespace.
 */
import { describe, expect, it } from 'vitest';
import type { Service } from '../../controlplane/api/types.ts';
import { inNamespace, refs } from '../../controlplane/client/types.ts';
import type { PodHandle } from './harness/cluster.ts';
import { makeService } from './harness/objects.ts';
import { isFailure, ok } from './harness/traffic.ts';
import { e2eSkipReason, useCluster } from './harness/vitest.ts';
import { waitFor } from './harness/wait.ts';

const skip = await e2eSkipReason({ needsApiServer: true });

interface Reply {
  pod: string;
  clientIP: string;
}

const services = inNamespace(refs.services, 'default');

describe.skipIf(skip)(`proxy: service traffic inside the cluster${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const env = useCluster({ nodes: 2, podsPerNode: 3, clients: 1 });
  let proxiesStarted = false;

  /** Creates a Service and waits until the proxy on every node answers on it (or refuses, for one without endpoints). */
  async function createService(name: string, spec: Parameters<typeof makeService>[2]): Promise<Service> {
    const { cluster } = env;
    if (!proxiesStarted) {
      cluster.startProxies();
      proxiesStarted = true;
    }
    return (await cluster.api.create(services, makeService('default', name, spec))) as Service;
  }

  async function waitAnswering(from: PodHandle, url: string): Promise<void> {
    await waitFor(async () => !isFailure(await from.http({ url, timeoutMs: 1_000 })), { timeoutMs: 20_000, intervalMs: 200, what: `${url} to answer from ${from.name}` });
  }

  const webPods = () => env.cluster.pods.filter((pod) => pod.labels['app'] === 'web');

  async function get(from: PodHandle, url: string): Promise<Reply> {
    return ok(await from.http({ url, timeoutMs: 3_000 }), `GET ${url}`).json as Reply;
  }

  it('spreads 300 new connections from a pod evenly over every ready backend', async () => {
    const { cluster } = env;
    const service = await createService('spread', { selector: { app: 'web' } });
    const url = `http://${service.spec.clusterIP}/`;
    const client = cluster.pod('web-1-1');
    await waitAnswering(client, url);
    const tally = await client.whoAnswers(url, 300);
    const backends = webPods().map((pod) => pod.name).sort();
    expect(Object.keys(tally).sort()).toEqual(backends);
    // 50 expected per backend; 20..90 is more than 4.5 standard deviations either side.
    for (const name of backends) {
      expect(tally[name], `${name} got ${tally[name]} of 300: ${JSON.stringify(tally)}`).toBeGreaterThanOrEqual(20);
      expect(tally[name], `${name} got ${tally[name]} of 300: ${JSON.stringify(tally)}`).toBeLessThanOrEqual(90);
    }
  });

  it('pins a client to one backend with ClientIP affinity, while different clients land on different backends', async () => {
    const { cluster } = env;
    const service = await createService('sticky', { selector: { app: 'web' }, sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 300 } } });
    const url = `http://${service.spec.clusterIP}/`;
    const first = cluster.pod('web-1-1');
    await waitAnswering(first, url);
    const tally = await first.whoAnswers(url, 30);
    expect(Object.values(tally)).toEqual([30]);
    const chosen = new Set(Object.keys(tally));
    for (const pod of webPods().filter((p) => p !== first)) {
      const answers = await pod.whoAnswers(url, 5);
      expect(Object.keys(answers), `${pod.name}: ${JSON.stringify(answers)}`).toHaveLength(1);
      chosen.add(Object.keys(answers)[0] as string);
    }
    // Six clients each picking one of six backends at random all pick the same one with probability 6^-5.
    expect(chosen.size).toBeGreaterThan(1);
  });

  it('refuses a connection at once when the service has no endpoints', async () => {
    const { cluster } = env;
    const service = await createService('nobody', { selector: { app: 'nobody' } });
    const from = cluster.pod('web-2-1');
    const outcome = await waitFor(
      async () => {
        const result = await from.connect(service.spec.clusterIP as string, 80, 3_000);
        return isFailure(result) && result.code === 'ECONNREFUSED' ? result : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'the connection to be refused' },
    );
    expect(outcome.code).toBe('ECONNREFUSED');
  });

  it('lets a pod reach itself through its own service (hairpin)', async () => {
    const { cluster } = env;
    const self = await cluster.addPod({ name: 'loner', node: 2, labels: { app: 'loner' } });
    const service = await createService('loner', { selector: { app: 'loner' } });
    await cluster.waitForReadyEndpoints('default', 'loner', [self.ip]);
    const url = `http://${service.spec.clusterIP}/`;
    await waitAnswering(self, url);
    const reply = await get(self, url);
    expect(reply.pod).toBe('loner');
    // Masqueraded to the node, or the reply would go straight back inside the pod and be dropped.
    expect(reply.clientIP).toBe(self.node.podGatewayIp);
  });

  it('sends no new connections to a pod that is not ready', async () => {
    const { cluster } = env;
    const service = await createService('readiness', { selector: { app: 'web' } });
    const url = `http://${service.spec.clusterIP}/`;
    const client = cluster.pod('web-2-2');
    const sick = cluster.pod('web-1-2');
    await waitAnswering(client, url);
    await cluster.setReady(sick, false);
    try {
      await cluster.waitForReadyEndpoints('default', 'readiness', webPods().filter((p) => p !== sick).map((p) => p.ip).sort());
      await waitFor(async () => !(sick.name in (await client.whoAnswers(url, 20))), { timeoutMs: 20_000, intervalMs: 200, what: 'the not-ready pod to leave the rules' });
      const tally = await client.whoAnswers(url, 60);
      expect(tally).not.toHaveProperty(sick.name);
      expect(Object.values(tally).reduce((a, b) => a + b, 0)).toBe(60);
    } finally {
      await cluster.setReady(sick, undefined);
    }
  });

  it('moves a UDP client to a live backend when its backend goes away, even from the same source port', async () => {
    const { cluster } = env;
    const [a, b] = [await cluster.addPod({ name: 'udp-a', node: 2, labels: { app: 'udp' } }), await cluster.addPod({ name: 'udp-b', node: 2, labels: { app: 'udp' } })];
    const service = await createService('udp', { selector: { app: 'udp' }, ports: [{ name: 'echo', port: 53, targetPort: 9001, protocol: 'UDP' }] });
    await cluster.waitForReadyEndpoints('default', 'udp', [a.ip, b.ip].sort());
    const client = cluster.pod('web-1-3');
    const ask = async () => {
      const reply = await client.udp({ host: service.spec.clusterIP as string, port: 53, send: 'who', localPort: 40053, timeoutMs: 700 });
      return isFailure(reply) ? undefined : (JSON.parse(reply.data) as { pod: string }).pod;
    };
    const first = await waitFor(ask, { timeoutMs: 20_000, intervalMs: 200, what: 'a UDP answer through the service' });
    // Same source port every time: the conntrack entry keeps steering to the first backend until the proxy deletes it.
    expect(await ask()).toBe(first);
    const gone = first === 'udp-a' ? a : b;
    await cluster.deletePod(gone);
    const next = await waitFor(ask, { timeoutMs: 20_000, intervalMs: 300, what: 'a UDP answer from the remaining backend' });
    expect(next).toBe(gone === a ? 'udp-b' : 'udp-a');
  });

  it('removes a deleted service\'s rules', async () => {
    const { cluster } = env;
    const service = await createService('doomed', { selector: { app: 'web' } });
    const url = `http://${service.spec.clusterIP}/`;
    await waitAnswering(cluster.pod('web-1-1'), url);
    const rules = async () => (await cluster.node(1).exec(['iptables-save'])).stdout;
    expect(await rules()).toContain('default/doomed:http');
    await cluster.api.delete(services, 'doomed');
    await waitFor(async () => !(await rules()).includes('default/doomed'), { timeoutMs: 20_000, intervalMs: 200, what: 'the rules of default/doomed to go' });
    expect(isFailure(await cluster.pod('web-1-1').http({ url, timeoutMs: 1_000 }))).toBe(true);
  });

  it('serves /healthz and /livez on 10256 and metrics on 127.0.0.1:10249 in each node', async () => {
    const { cluster } = env;
    for (const node of cluster.nodes) {
      const healthz = await node.curl('http://127.0.0.1:10256/healthz', ['-i']);
      expect(healthz.stdout).toMatch(/^HTTP\/1\.1 200/);
      expect(JSON.parse(healthz.stdout.slice(healthz.stdout.indexOf('{')))).toMatchObject({ healthy: true, nodeEligible: true });
      expect((await node.curl('http://127.0.0.1:10256/livez', ['-o', '/dev/null', '-w', '%{http_code}'])).stdout).toBe('200');
      const metrics = (await node.curl('http://127.0.0.1:10249/metrics')).stdout;
      expect(metrics).toMatch(/^kubeproxy_sync_proxy_rules_duration_seconds_count [1-9]/m);
      expect(metrics).toMatch(/^kubeproxy_sync_proxy_rules_iptables_total\{table="nat"\} [1-9]/m);
      expect(metrics).toMatch(/^kubeproxy_sync_proxy_rules_iptables_restore_failures_total 0$/m);
      expect(metrics).toMatch(/^kubeproxy_sync_full_proxy_rules_duration_seconds_count [1-9]/m);
    }
  });
});
