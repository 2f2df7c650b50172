/**
 * The e2e harness's own suite: the namespace cluster carries real packets
 * where a Kubernetes network would (pod to pod across nodes, node to pod,
 * external client to node), pods get their service environment and DNS
 * config, readiness (probe or mark) reaches the EndpointSlices, pods deleted
 * through the API go away, and a run leaves nothing behind: not on success,
 * not on SIGTERM, and a crashed run is swept by the next one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { Node, Pod, Service } from '../../controlplane/api/types.ts';
import { inNamespace, refs } from '../../controlplane/client/types.ts';
import { apiServerAvailable } from './harness/apiserver.ts';
import { createCluster, type ClientHandle, type PodHandle } from './harness/cluster.ts';
import { listNetns, pidsInNetns } from './harness/netns.ts';
import { makeService } from './harness/objects.ts';
import { nodeBinary, nodeFlags, podAppScript, repoRoot } from './harness/paths.ts';
import { spawnInNetns } from './harness/processes.ts';
import { diffSnapshots, snapshotRootNetwork } from './harness/root-snapshot.ts';
import { sweep } from './harness/sweep.ts';
import { isFailure, ok } from './harness/traffic.ts';
import { waitFor } from './harness/wait.ts';
import { e2eSkipReason, leftoverNamespaces, useCluster } from './harness/vitest.ts';

const skip = await e2eSkipReason();
const withApi = skip === undefined && (await apiServerAvailable());
/** Agents arrive one by one; their tests run once `bin/kplane <agent> --help` works. */
async function agentMissing(kind: string): Promise<string | undefined> {
  if (skip || !withApi) return skip ?? 'no API store';
  const result = await execa(join(repoRoot, 'bin/kplane'), [kind, '--help'], { reject: false, timeout: 20_000 });
  return result.exitCode === 0 ? undefined : `\`bin/kplane ${kind}\` is not available yet`;
}
const noProxy = await agentMissing('proxy');
const noDns = noProxy ?? (await agentMissing('dns'));
const noApi = withApi ? undefined : '`bin/kplane apiserver` is not available yet';
if (skip) process.stderr.write(`cluster harness e2e skipped: ${skip}\n`);
else if (noApi) process.stderr.write(`cluster harness e2e: API parts skipped: ${noApi}\n`);

interface Reply {
  pod: string;
  namespace: string;
  node: string;
  client: string;
  clientIP: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  env: Record<string, string>;
}

async function get(from: { http: PodHandle['http'] }, url: string): Promise<Reply> {
  const response = ok(await from.http({ url, timeoutMs: 3_000 }), `GET ${url}`);
  expect(response.status).toBe(200);
  return response.json as Reply;
}

describe.skipIf(skip)(`namespace cluster harness${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const env = useCluster({ nodes: 2, podsPerNode: 3, clients: 1, api: withApi });

  describe('topology', () => {
    it('gives each node a LAN address and each pod an address from its node\'s pod CIDR', () => {
      const { cluster } = env;
      expect(cluster.nodes.map((n) => [n.name, n.ip, n.podCidr])).toEqual([
        ['node-1', '172.30.0.11', '10.244.1.0/24'],
        ['node-2', '172.30.0.12', '10.244.2.0/24'],
      ]);
      expect(cluster.pods).toHaveLength(6);
      for (const pod of cluster.pods) expect(pod.ip).toMatch(new RegExp(`^10\\.244\\.${pod.node.index}\\.\\d+$`));
      const ours = listNetns().filter((n) => n.startsWith(cluster.prefix));
      expect(ours).toEqual(expect.arrayContaining([`${cluster.prefix}lan`, `${cluster.prefix}node-1`, `${cluster.prefix}client-1`, `${cluster.prefix}web-1-1.default`]));
    });

    it('enables forwarding in node namespaces only', async () => {
      const { cluster } = env;
      const forwarding = async (place: { exec: PodHandle['exec'] }) => (await place.exec(['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout.trim();
      expect(await forwarding(cluster.node(1))).toBe('1');
      expect(await forwarding(cluster.node(2))).toBe('1');
      expect(await forwarding(cluster.client)).toBe('0');
      expect(await forwarding(cluster.pod('web-1-1'))).toBe('0');
    });

    it('routes the external client to the LB pool via a node and to nothing else cluster-internal', async () => {
      const { cluster } = env;
      const routes = (await cluster.client.exec(['ip', '-4', 'route', 'show'])).stdout.trim().split('\n').map((r) => r.trim()).sort();
      expect(routes).toEqual(['172.30.0.0/24 dev eth0 proto kernel scope link src 172.30.0.100', '172.31.0.0/24 via 172.30.0.11 dev eth0']);
    });

    it('writes the cluster DNS resolv.conf that `ip netns exec` shows the pod', async () => {
      const resolv = await env.cluster.pod('web-2-1').exec(['cat', '/etc/resolv.conf']);
      expect(resolv.stdout).toBe('nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
    });
  });

  describe('traffic', () => {
    it('carries HTTP pod to pod across nodes, with the source pod IP preserved', async () => {
      const { cluster } = env;
      const [from, to] = [cluster.pod('web-1-1'), cluster.pod('web-2-2')];
      const reply = await get(from, to.url('/hello?x=1'));
      expect(reply).toMatchObject({ pod: 'web-2-2', node: 'node-2', namespace: 'default', clientIP: from.ip, path: '/hello?x=1', method: 'GET' });
      expect(await from.whoAnswers(to.url('/'), 3)).toEqual({ 'web-2-2': 3 });
    });

    it('carries HTTP between pods on the same node through the node', async () => {
      const { cluster } = env;
      const [from, to] = [cluster.pod('web-1-1'), cluster.pod('web-1-3')];
      expect(await get(from, to.url('/'))).toMatchObject({ pod: 'web-1-3', clientIP: from.ip });
      const trace = await from.exec(['ip', 'route', 'get', to.ip]);
      expect(trace.stdout).toContain(`via ${from.node.podGatewayIp}`);
    });

    it('echoes TCP and UDP across nodes, UDP reporting the pod and the client it saw', async () => {
      const { cluster } = env;
      const [from, to] = [cluster.pod('web-2-1'), cluster.pod('web-1-2')];
      expect(ok(await from.tcp({ host: to.ip, port: 9000, send: 'ping over tcp' })).data).toBe('ping over tcp');
      const udp = JSON.parse(ok(await from.udp({ host: to.ip, port: 9001, send: 'ping over udp' })).data) as { pod: string; client: string; data: string };
      expect(udp).toMatchObject({ pod: 'web-1-2', data: 'ping over udp' });
      expect(udp.client).toMatch(new RegExp(`^${from.ip.replaceAll('.', '\\.')}:\\d+$`));
    });

    it('reaches pods from nodes: the local node by its pod gateway, another node over the LAN', async () => {
      const { cluster } = env;
      const pod = cluster.pod('web-1-1');
      expect((await get(cluster.node(1), pod.url('/'))).clientIP).toBe(cluster.node(1).podGatewayIp);
      expect((await get(cluster.node(2), pod.url('/'))).clientIP).toBe(cluster.node(2).ip);
      expect((await cluster.node(2).curl(pod.url('/healthz'))).stdout).toBe('ok\n');
    });

    it('reaches a node IP from the external client, but not pod IPs', async () => {
      const { cluster } = env;
      const node = cluster.node(2);
      // A host-network listener in the node's namespace stands in for a NodePort.
      const listener = spawnInNetns(node.netns, [nodeBinary, ...nodeFlags, podAppScript, '--name', 'host-listener', '--node', node.name, '--http', '18080'], {
        name: 'host listener',
        logFile: join(cluster.runDir, 'logs', 'host-listener.log'),
      });
      try {
        await listener.waitForLog(/"listening"/, 10_000);
        const reply = await get(cluster.client, `http://${node.ip}:18080/from-outside`);
        expect(reply).toMatchObject({ pod: 'host-listener', node: 'node-2', clientIP: cluster.client.ip, path: '/from-outside' });
      } finally {
        await listener.stop();
      }
      const unreachable = await cluster.client.connect(cluster.pod('web-2-1').ip, 8080, 1_000);
      expect(isFailure(unreachable) && unreachable.code).toBe('ENETUNREACH');
    });

    it('runs commands in a namespace with a timeout and reports the exit code', async () => {
      const pod = env.cluster.pod('web-1-1');
      const done = await pod.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
      expect(done).toMatchObject({ stdout: 'out\n', stderr: 'err\n', exitCode: 3, timedOut: false });
      const slow = await pod.exec(['sleep', '5'], { timeoutMs: 200 });
      expect(slow.timedOut).toBe(true);
    });
  });

  describe('kubelet', () => {
    it('takes a pod out of readiness when its probe starts failing, and back', async () => {
      const { cluster } = env;
      const pod = cluster.pod('web-2-3');
      pod.setAppReady(false);
      await cluster.waitPodReady(pod, false);
      expect(ok(await cluster.node(2).http(pod.url('/ready'))).status).toBe(503);
      pod.setAppReady(true);
      await cluster.waitPodReady(pod, true);
    });

    it('runs exec and tcpSocket probes inside the pod namespace', async () => {
      const { cluster } = env;
      const flag = join(cluster.runDir, 'exec-probe-ok');
      const execPod = await cluster.addPod({ name: 'exec-probe', node: 1, labels: { app: 'probe' }, readinessProbe: { exec: { command: ['test', '-f', flag] }, periodSeconds: 0.2, failureThreshold: 1 }, waitReady: false });
      // 127.0.0.1:9000 only answers inside the pod's own namespace: the probe must run there.
      const tcpPod = await cluster.addPod({ name: 'tcp-probe', node: 2, labels: { app: 'probe' }, readinessProbe: { tcpSocket: { port: 'tcp-echo', host: '127.0.0.1' }, periodSeconds: 0.2 } });
      expect(execPod.node.kubelet.isReady(execPod.key)).toBe(false);
      writeFileSync(flag, 'ok\n');
      await cluster.waitPodReady(execPod, true);
      await cluster.stopPod(tcpPod);
      await cluster.waitPodReady(tcpPod, false);
      await cluster.startPod(tcpPod);
      await cluster.waitPodReady(tcpPod, true);
      await cluster.deletePod(execPod);
      await cluster.deletePod(tcpPod);
      expect(listNetns()).not.toContain(execPod.netns);
    });

    it.skipIf(noApi)('registers nodes with InternalIP, podCIDR and Ready, and pods with podIP, hostIP and Running', async () => {
      const { cluster } = env;
      const node = await cluster.api.get<Node>(refs.nodes, 'node-2');
      expect(node.spec?.podCIDR).toBe('10.244.2.0/24');
      expect(node.status?.addresses).toContainEqual({ type: 'InternalIP', address: '172.30.0.12' });
      expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      const pod = cluster.pod('web-1-2');
      const object = await cluster.api.get<Pod>(inNamespace(refs.pods, 'default'), 'web-1-2');
      expect(object.spec.nodeName).toBe('node-1');
      expect(object.status).toMatchObject({ phase: 'Running', podIP: pod.ip, hostIP: '172.30.0.11' });
      expect(object.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    });

    it.skipIf(noApi)('gives pods the <NAME>_SERVICE_HOST/_PORT variables of services in their namespace', async () => {
      const { cluster } = env;
      const service = await cluster.api.create(inNamespace(refs.services, 'default'), makeService('default', 'env-check', { selector: { app: 'nobody' } }));
      const clusterIp = (service as Service).spec.clusterIP;
      expect(clusterIp).toMatch(/^10\.(9[6-9]|1[01]\d)\./);
      const pod = await cluster.addPod({ name: 'env-reader', labels: { app: 'env' } });
      const reply = await get(pod.node, pod.url('/'));
      expect(reply.env).toMatchObject({ ENV_CHECK_SERVICE_HOST: clusterIp, ENV_CHECK_SERVICE_PORT: '80', ENV_CHECK_SERVICE_PORT_HTTP: '80', ENV_CHECK_PORT: `tcp://${clusterIp}:80` });
      await cluster.deletePod(pod);
    });

    it.skipIf(noApi)('drops a pod from its Service\'s ready endpoints when its probe fails or it is marked not ready', async () => {
      const { cluster } = env;
      await cluster.api.create(inNamespace(refs.services, 'default'), makeService('default', 'web', { selector: { app: 'web' } }));
      const all = cluster.pods.filter((p) => p.labels['app'] === 'web');
      expect(all).toHaveLength(6);
      await cluster.waitForReadyEndpoints('default', 'web', all.map((p) => p.ip));

      const failing = cluster.pod('web-1-1');
      failing.setAppReady(false);
      await cluster.waitForReadyEndpoints('default', 'web', all.filter((p) => p !== failing).map((p) => p.ip));
      const endpoints = await cluster.sliceEndpoints('default', 'web');
      expect(endpoints.find((e) => e.ip === failing.ip)?.ready ?? false).toBe(false);

      const marked = cluster.pod('web-2-1');
      await cluster.setReady(marked, false);
      await cluster.waitForReadyEndpoints('default', 'web', all.filter((p) => p !== failing && p !== marked).map((p) => p.ip));

      failing.setAppReady(true);
      await cluster.setReady(marked, undefined);
      await cluster.waitForReadyEndpoints('default', 'web', all.map((p) => p.ip));
    });

    it.skipIf(noApi)('stops a pod deleted through the API and removes its namespace', async () => {
      const { cluster } = env;
      const pod = await cluster.addPod({ name: 'doomed', node: 2, labels: { app: 'doomed' } });
      await cluster.api.delete(inNamespace(refs.pods, 'default'), 'doomed');
      await waitFor(() => !listNetns().includes(pod.netns), { timeoutMs: 10_000, what: 'the deleted pod\'s namespace to go' });
      expect(() => cluster.pod('doomed')).toThrow(/no pod/);
      // The kubelet confirmed the graceful deletion, so the object is gone well before the 30 s grace period.
      await waitFor(async () => {
        try {
          await cluster.api.get(inNamespace(refs.pods, 'default'), 'doomed');
          return false;
        } catch (error) {
          return (error as { code?: number }).code === 404;
        }
      }, { timeoutMs: 5_000, what: 'the Pod object to be removed' });
    });

    it.skipIf(noApi)('keeps a deleted pod serving as a terminating endpoint for its shutdown delay', async () => {
      const { cluster } = env;
      await cluster.api.create(inNamespace(refs.services, 'default'), makeService('default', 'drain', { selector: { app: 'drain' } }));
      const pod = await cluster.addPod({ name: 'drainer', node: 1, labels: { app: 'drain' }, shutdownDelaySeconds: 2 });
      await cluster.waitForReadyEndpoints('default', 'drain', [pod.ip]);
      const deleting = cluster.deletePod(pod);
      const terminating = await waitFor(async () => (await cluster.sliceEndpoints('default', 'drain')).find((e) => e.ip === pod.ip && e.terminating), {
        timeoutMs: 5_000,
        what: 'the endpoint to turn terminating',
      });
      expect(terminating).toMatchObject({ ready: false, serving: true });
      expect((await get(cluster.node(1), pod.url('/'))).pod).toBe('drainer');
      await deleting;
      await waitFor(async () => (await cluster.sliceEndpoints('default', 'drain')).length === 0, { timeoutMs: 5_000, what: 'the endpoint to go' });
    });
  });

  describe('agents and logs', () => {
    it('captures what a pod\'s process prints into the cluster logs', async () => {
      const { cluster } = env;
      const pod = await cluster.addPod({ name: 'chatty', node: 1, run: { command: ['sh', '-c', 'echo hello-from-chatty; echo oops >&2; sleep 30'] }, readinessProbe: null, waitReady: false });
      await pod.process?.waitForLog(/oops/, 5_000);
      expect(cluster.logs()).toMatch(/===== pod default\/chatty .*\n(.*\n)*hello-from-chatty\noops/);
      await cluster.deletePod(pod);
    });

    it.skipIf(noProxy)('runs kplane proxy in every node namespace against the unix socket', async () => {
      const { cluster } = env;
      const proxies = cluster.startProxies();
      await Promise.all(proxies.map((proxy) => proxy.waitForLog(/\S/, 15_000)));
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      for (const proxy of proxies) expect(proxy.exit, proxy.log(2048)).toBeUndefined();
    });

    it.skipIf(noProxy)('carries ClusterIP, NodePort and LoadBalancer traffic through the proxies to pods on both nodes', async () => {
      const { cluster } = env;
      const created = (await cluster.api.create(inNamespace(refs.services, 'default'), makeService('default', 'via-proxy', { type: 'LoadBalancer', selector: { app: 'web' } }))) as Service;
      const clusterIp = created.spec.clusterIP as string;
      const nodePort = created.spec.ports?.[0]?.nodePort as number;
      const lbIp = await waitFor(async () => {
        const service = await cluster.api.get<Service>(inNamespace(refs.services, 'default'), 'via-proxy');
        return service.status?.loadBalancer?.ingress?.[0]?.ip;
      }, { timeoutMs: 10_000, what: 'a LoadBalancer IP from the pool' });
      expect(lbIp).toMatch(/^172\.31\.0\./);
      const web = cluster.pods.filter((p) => p.labels['app'] === 'web').map((p) => p.name).sort();
      const reach = async (from: ClientHandle | PodHandle, url: string) => {
        const seen = new Set<string>();
        await waitFor(async () => {
          const tally = await from.whoAnswers(url, 12, 1_000);
          for (const name of Object.keys(tally)) if (web.includes(name)) seen.add(name);
          return [...seen].some((n) => n.startsWith('web-1-')) && [...seen].some((n) => n.startsWith('web-2-'));
        }, { timeoutMs: 20_000, intervalMs: 200, what: `${url} from ${from.name} to reach pods on both nodes` });
      };
      await reach(cluster.pod('web-1-1'), `http://${clusterIp}/`);
      await reach(cluster.client, `http://${cluster.node(2).ip}:${nodePort}/`);
      await reach(cluster.client, `http://${lbIp}/`);
    });

    it.skipIf(noDns)('serves cluster DNS from a pod behind kube-system/kube-dns (10.96.0.10), reached through the proxy', async () => {
      const { cluster } = env;
      const dns = await cluster.startDns({ node: 2 });
      await cluster.waitForReadyEndpoints('kube-system', 'kube-dns', [dns.ip]);
      const answer = await waitFor(async () => {
        const result = await cluster.pod('web-1-1').dig('kube-dns.kube-system.svc.cluster.local', 'A', ['+short']);
        return result.stdout.trim() === '10.96.0.10' ? result : undefined;
      }, { timeoutMs: 15_000, what: 'kube-dns.kube-system to resolve from a pod' });
      expect(answer.exitCode).toBe(0);
    });
  });
});

describe.skipIf(skip)(`namespace cluster teardown${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('removes every namespace, process and /etc/netns entry and leaves the root namespace as it was', async () => {
    const before = await snapshotRootNetwork();
    const cluster = await createCluster({ nodes: 2, podsPerNode: 3, clients: 1, api: false });
    const namespaces = listNetns().filter((n) => n.startsWith(cluster.prefix));
    expect(namespaces.length).toBe(2 /* lan, api */ + 2 /* nodes */ + 1 /* client */ + 6 /* pods */);
    const build = cluster.timings['create'];
    await cluster.destroy();
    process.stderr.write(`2 nodes + 6 pods: built in ${build} ms, destroyed in ${cluster.timings['destroy']} ms\n`);
    expect(leftoverNamespaces(cluster.prefix)).toEqual([]);
    expect(listNetns().filter((n) => n.startsWith(cluster.prefix))).toEqual([]);
    expect(diffSnapshots(before, await snapshotRootNetwork())).toEqual([]);
  });

  const childScript = (then: string) => `
    import { createCluster } from ${JSON.stringify(join(repoRoot, 'test/e2e/harness/cluster.ts'))};
    const cluster = await createCluster({ nodes: 1, podsPerNode: 1, clients: 0, api: false });
    process.stdout.write('PREFIX ' + cluster.prefix + '\\n');
    ${then}
  `;

  async function startChild(then: string) {
    const child = execa(nodeBinary, [...nodeFlags, '--input-type=module', '-e', childScript(then)], { reject: false, timeout: 60_000, cwd: repoRoot, buffer: false, stdout: 'pipe' });
    const prefix = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /PREFIX (kpt[0-9a-f]{6}-)/.exec(out);
        if (match) resolve(match[1] as string);
      });
      void child.then((result) => reject(new Error(`child exited early: ${result.exitCode} ${String(result.stderr ?? '')}`)));
    });
    return { child, prefix };
  }

  it('tears the cluster down when the test process gets SIGTERM', async () => {
    const { child, prefix } = await startChild('setInterval(() => {}, 1000);');
    const namespaces = listNetns().filter((n) => n.startsWith(prefix));
    const pids = [...pidsInNetns(namespaces).values()].flat();
    expect(pids.length).toBeGreaterThan(0);
    child.kill('SIGTERM');
    await child;
    expect(leftoverNamespaces(prefix)).toEqual([]);
    // SIGKILLed processes may linger as zombies until init reaps them: wait (bounded) for that.
    const running = (pid: number) => {
      try {
        return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    await waitFor(() => pids.filter(running).length === 0, { timeoutMs: 5_000, what: `processes ${pids.join(', ')} to end` });
  });

  it('sweeps the leftovers of a run that was killed outright', async () => {
    const { child, prefix } = await startChild('setInterval(() => {}, 1000);');
    const namespaces = listNetns().filter((n) => n.startsWith(prefix));
    child.kill('SIGKILL');
    await child;
    expect(leftoverNamespaces(prefix)).toEqual(namespaces);
    const report = await sweep({ prefixes: [prefix] });
    expect(report.removed).toEqual([prefix]);
    expect(leftoverNamespaces(prefix)).toEqual([]);
  });
});
