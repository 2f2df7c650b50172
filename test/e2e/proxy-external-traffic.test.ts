/**
 * kplane proxy with real packets from outside the cluster: NodePort on each
 * node, LoadBalancer IPs with loadBalancerSourceRanges, both external
 * traffic policies (who the backend sees, which pods answer, the health
 * check node port), a service without endpoints, and what stopping the
 * proxy and `kplane proxy --cleanup` leave on the node. Two nodes with three
 * app=web pods each, two more pods only on node 1, two external clients
 * (both route the LB pool via node 1).
 */
import { describe, expect, it } from 'vitest';
import type { Service } from '../../controlplane/api/types.ts';
import { inNamespace, refs } from '../../controlplane/client/types.ts';
import type { ClientHandle, NodeHandle } from './harness/cluster.ts';
import { makeService } from './harness/objects.ts';
import { kplaneBin } from './harness/paths.ts';
import { isFailure, ok } from './harness/traffic.ts';
import { e2eSkipReason, useCluster } from './harness/vitest.ts';
import { waitFor } from './harness/wait.ts';

const skip = await e2eSkipReason({ needsApiServer: true });

interface Reply {
  pod: string;
  node: string;
  clientIP: string;
}

const services = inNamespace(refs.services, 'default');

describe.skipIf(skip)(`proxy: traffic from outside the cluster${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const env = useCluster({ nodes: 2, podsPerNode: 3, clients: 2 });
  let ready: Promise<void> | undefined;

  /** Proxies on both nodes, and two pods only node 1 has (app=node1-only). */
  function setUp(): Promise<void> {
    ready ??= (async () => {
      const { cluster } = env;
      cluster.startProxies();
      await cluster.addPod({ name: 'only-1a', node: 1, labels: { app: 'node1-only' } });
      await cluster.addPod({ name: 'only-1b', node: 1, labels: { app: 'node1-only' } });
    })();
    return ready;
  }

  async function createService(name: string, spec: Parameters<typeof makeService>[2]): Promise<Service> {
    await setUp();
    const created = (await env.cluster.api.create(services, makeService('default', name, spec))) as Service;
    if (spec?.type !== 'LoadBalancer') return created;
    return waitFor(
      async () => {
        const service = await env.cluster.api.get<Service>(services, name);
        return service.status?.loadBalancer?.ingress?.[0]?.ip ? service : undefined;
      },
      { timeoutMs: 10_000, what: `a LoadBalancer IP for ${name}` },
    );
  }

  const nodePortOf = (service: Service) => service.spec.ports?.[0]?.nodePort as number;
  const lbIpOf = (service: Service) => service.status?.loadBalancer?.ingress?.[0]?.ip as string;

  /** Who answers `count` requests from `client`, once the first one gets through. */
  async function answers(client: ClientHandle, url: string, count: number): Promise<Reply[]> {
    await waitFor(async () => !isFailure(await client.http({ url, timeoutMs: 1_000 })), { timeoutMs: 20_000, intervalMs: 200, what: `${url} to answer ${client.name}` });
    const replies: Reply[] = [];
    for (let i = 0; i < count; i++) replies.push(ok(await client.http({ url, timeoutMs: 3_000 }), `GET ${url}`).json as Reply);
    return replies;
  }

  const nodeAddresses = (node: NodeHandle) => [node.ip, node.podGatewayIp];

  it('serves a NodePort on every node\'s address, reaching pods on both nodes, masqueraded (Cluster policy)', async () => {
    const { cluster } = env;
    const service = await createService('np-cluster', { type: 'NodePort', selector: { app: 'web' } });
    for (const node of cluster.nodes) {
      const replies = await answers(cluster.client, `http://${node.ip}:${nodePortOf(service)}/`, 40);
      expect(new Set(replies.map((reply) => reply.node))).toEqual(new Set(['node-1', 'node-2']));
      // The backend sees the node that took the traffic, never the client.
      for (const reply of replies) expect(nodeAddresses(node), JSON.stringify(reply)).toContain(reply.clientIP);
    }
  });

  it('externalTrafficPolicy Local: only that node\'s pods answer, and they see the client\'s own address', async () => {
    const { cluster } = env;
    const service = await createService('np-local', { type: 'NodePort', externalTrafficPolicy: 'Local', selector: { app: 'web' } });
    for (const node of cluster.nodes) {
      const replies = await answers(cluster.client, `http://${node.ip}:${nodePortOf(service)}/`, 30);
      expect(new Set(replies.map((reply) => reply.node))).toEqual(new Set([node.name]));
      expect(new Set(replies.map((reply) => reply.clientIP))).toEqual(new Set([cluster.client.ip]));
    }
  });

  it('externalTrafficPolicy Local: a node without local endpoints drops, and its health check port says so', async () => {
    const { cluster } = env;
    const service = await createService('lb-local', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', selector: { app: 'node1-only' } });
    const healthPort = service.spec.healthCheckNodePort as number;
    expect(healthPort).toBeGreaterThan(0);
    const [node1, node2] = [cluster.node(1), cluster.node(2)];
    const replies = await answers(cluster.client, `http://${node1.ip}:${nodePortOf(service)}/`, 20);
    expect(new Set(replies.map((reply) => reply.pod))).toEqual(new Set(['only-1a', 'only-1b']));
    expect(new Set(replies.map((reply) => reply.clientIP))).toEqual(new Set([cluster.client.ip]));
    // The LB IP is routed to node 1, which has the endpoints.
    expect((await answers(cluster.client, `http://${lbIpOf(service)}/`, 5)).map((reply) => reply.clientIP)).toEqual(Array(5).fill(cluster.client.ip));

    const health = async (node: NodeHandle) => {
      const result = await cluster.client.curl(`http://${node.ip}:${healthPort}/`, ['-i']);
      const [head = '', body = ''] = result.stdout.split(/\r\n\r\n/);
      return { head, body: JSON.parse(body) as unknown };
    };
    const good = await waitFor(async () => {
      const answer = await health(node1);
      return answer.head.startsWith('HTTP/1.1 200') ? answer : undefined;
    }, { timeoutMs: 20_000, intervalMs: 200, what: 'the health check port of node 1 to say 200' });
    expect(good.head).toMatch(/^X-Load-Balancing-Endpoint-Weight: 2$/im);
    expect(good.body).toEqual({ service: { namespace: 'default', name: 'lb-local' }, localEndpoints: 2, serviceProxyHealthy: true });
    // Node 2's proxy syncs on its own schedule: wait until it has programmed this Service before judging it.
    const bad = await waitFor(async () => {
      const answer = await health(node2).catch(() => undefined);
      return answer?.head.startsWith('HTTP/1.1 503') ? answer : undefined;
    }, { timeoutMs: 20_000, intervalMs: 200, what: 'the health check port of node 2 to say 503' });
    expect(bad.body).toEqual({ service: { namespace: 'default', name: 'lb-local' }, localEndpoints: 0, serviceProxyHealthy: true });
    const dropped = await cluster.client.connect(node2.ip, nodePortOf(service), 1_500);
    expect(isFailure(dropped) && dropped.code).toBe('ETIMEDOUT');
  });

  it('admits LoadBalancer traffic only from loadBalancerSourceRanges, while the NodePort stays open', async () => {
    const { cluster } = env;
    const [allowed, denied] = cluster.clients as [ClientHandle, ClientHandle];
    const service = await createService('lb-ranges', { type: 'LoadBalancer', loadBalancerSourceRanges: [`${allowed.ip}/32`], selector: { app: 'web' } });
    const url = `http://${lbIpOf(service)}/`;
    expect(await answers(allowed, url, 5)).toHaveLength(5);
    for (let i = 0; i < 3; i++) {
      const outcome = await denied.connect(lbIpOf(service), 80, 1_500);
      expect(isFailure(outcome) && outcome.code, JSON.stringify(outcome)).toBe('ETIMEDOUT');
    }
    expect(await answers(denied, `http://${cluster.node(2).ip}:${nodePortOf(service)}/`, 3)).toHaveLength(3);
  });

  it('refuses external connections to a service without endpoints at once', async () => {
    const { cluster } = env;
    const service = await createService('np-empty', { type: 'NodePort', selector: { app: 'nobody' } });
    const refused = await waitFor(async () => {
      const outcome = await cluster.client.connect(cluster.node(1).ip, nodePortOf(service), 3_000);
      return isFailure(outcome) && outcome.code === 'ECONNREFUSED' ? outcome : undefined;
    }, { timeoutMs: 20_000, intervalMs: 200, what: 'the NodePort connection to be refused' });
    expect(refused.code).toBe('ECONNREFUSED');
  });

  it('leaves its rules working when stopped, and --cleanup leaves the node namespace clean', async () => {
    const { cluster } = env;
    const service = await createService('np-after-stop', { type: 'NodePort', selector: { app: 'web' } });
    const node2 = cluster.node(2);
    const url = `http://${node2.ip}:${nodePortOf(service)}/`;
    await answers(cluster.client, url, 1);
    const proxy = cluster.agents.find((agent) => agent.kind === 'proxy' && agent.target === node2);
    expect(proxy).toBeDefined();
    await proxy?.stop();
    expect(proxy?.exit?.code, proxy?.log(2048)).toBe(0);
    const saved = async () => (await node2.exec(['iptables-save'])).stdout;
    expect(await saved()).toContain('KPLANE-SERVICES');
    expect(await answers(cluster.client, url, 3)).toHaveLength(3);

    const cleanup = await node2.exec([kplaneBin, 'proxy', '--cleanup'], { timeoutMs: 30_000, env: { KPLANE_LOG_FORMAT: 'json' } });
    expect(cleanup.exitCode, cleanup.stderr).toBe(0);
    expect((await saved()).toLowerCase()).not.toContain('kplane');
    expect(isFailure(await cluster.client.http({ url, timeoutMs: 1_000 }))).toBe(true);
  });
});
