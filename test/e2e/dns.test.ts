/**
 * Cluster DNS as pods see it, on the network-namespace cluster: `kplane dns`
 * runs in a pod behind kube-system/kube-dns (10.96.0.10), the proxies DNAT
 * to it, and pods resolve through their /etc/netns resolv.conf (search path,
 * ndots:5) with glibc (getent) and dig. Names outside the cluster go to a
 * knotd pod inside the cluster, the only upstream: nothing leaves the
 * namespaces.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Service } from '../../controlplane/api/types.ts';
import { inNamespace, refs } from '../../controlplane/client/types.ts';
import { apiServerAvailable } from './harness/apiserver.ts';
import type { PodHandle } from './harness/cluster.ts';
import { makeService } from './harness/objects.ts';
import { e2eSkipReason, useCluster } from './harness/vitest.ts';
import { waitFor } from './harness/wait.ts';

const skip = (await e2eSkipReason()) ?? ((await apiServerAvailable()) ? undefined : 'no API store');

/** The records knotd holds for the outside world. */
const upstreamZone = ['$ORIGIN example.test.', '$TTL 60', '@ SOA ns.example.test. hostmaster.example.test. 1 7200 1800 86400 60', '@ NS ns', 'ns A 192.0.2.53', 'www A 192.0.2.80', ''].join('\n');

describe.skipIf(skip)(`cluster DNS from pods${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const env = useCluster({ nodes: 2, podsPerNode: 2, clients: 0 });
  let web: Service;
  let dnsPod: PodHandle;

  const client = () => env.cluster.pod('web-1-1');
  /** `dig +short` from a pod, the lines it prints. */
  const short = async (name: string, type = 'A', from: PodHandle = client()) => (await from.dig(name, type, ['+short'])).stdout.trim().split('\n').filter(Boolean).sort();

  it('starts the proxies, an upstream and the DNS pod', async () => {
    const { cluster } = env;
    cluster.startProxies();
    const dir = join(cluster.runDir, 'knot');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'example.test.zone'), upstreamZone);
    writeFileSync(
      join(dir, 'knot.conf'),
      ['server:', '    listen: 0.0.0.0@53', `    rundir: ${dir}`, 'database:', `    storage: ${dir}`, 'zone:', '  - domain: example.test', `    file: ${join(dir, 'example.test.zone')}`, ''].join('\n'),
    );
    // Ready once knotd listens: a query forwarded before that would wait out the forwarder's timeout.
    const upstream = await cluster.addPod({
      name: 'upstream',
      namespace: 'dns-upstream',
      node: 2,
      labels: { app: 'upstream' },
      run: { command: ['knotd', '-c', join(dir, 'knot.conf')] },
      readinessProbe: { tcpSocket: { port: 53 }, periodSeconds: 0.2, failureThreshold: 1 },
      // knotd resolves the host name as it starts; in the pod's hosts file it need not wait on a resolver it cannot reach.
      hostname: hostname(),
      dnsPolicy: 'Default',
    });
    dnsPod = await cluster.startDns({ node: 2, args: ['--upstream', `${upstream.ip}:53`, '--pods', 'insecure'] });
    await cluster.waitForReadyEndpoints('kube-system', 'kube-dns', [dnsPod.ip]);
    web = await cluster.api.create(refs.services, makeService('default', 'web', { selector: { app: 'web' } }));
    await waitFor(async () => ((await short('kube-dns.kube-system.svc.cluster.local')).join() === '10.96.0.10' ? true : undefined), { timeoutMs: 20_000, what: 'cluster DNS to answer' });
  });

  it('resolves a short service name through the search path (getent, glibc)', async () => {
    const result = await waitFor(async () => {
      const lookup = await client().getent('web');
      return lookup.exitCode === 0 ? lookup : undefined;
    }, { timeoutMs: 10_000, what: 'getent hosts web' });
    expect(result.stdout).toMatch(new RegExp(`^${web.spec.clusterIP?.replaceAll('.', '\\.')}\\s+web\\.default\\.svc\\.cluster\\.local`));
  });

  it('answers dig for the full name, authoritatively', async () => {
    const result = await client().dig('web.default.svc.cluster.local', 'A');
    expect(result.stdout).toContain('status: NOERROR');
    expect(result.stdout).toMatch(/flags: qr aa rd;/);
    expect(result.stdout).toMatch(new RegExp(`web\\.default\\.svc\\.cluster\\.local\\.\\s+5\\s+IN\\s+A\\s+${web.spec.clusterIP?.replaceAll('.', '\\.')}`));
  });

  it('answers a headless service with every ready pod, and SRV with pod targets', async () => {
    const { cluster } = env;
    await cluster.api.create(refs.services, makeService('default', 'web-headless', { selector: { app: 'web' }, clusterIP: 'None' }));
    const ips = cluster.pods.filter((pod) => pod.labels['app'] === 'web').map((pod) => pod.ip).sort();
    await waitFor(async () => ((await short('web-headless.default.svc.cluster.local')).join() === ips.join() ? true : undefined), { timeoutMs: 10_000, what: 'the headless answer' });
    const srv = await short('_http._tcp.web-headless.default.svc.cluster.local', 'SRV');
    // A headless service's SRV records carry the endpoints' port (the pods' 8080), not the service port.
    expect(srv).toEqual(ips.map((ip) => `0 25 8080 ${ip.replaceAll('.', '-')}.web-headless.default.svc.cluster.local.`).sort());
  });

  it('gives a pod with hostname and subdomain its own name', async () => {
    const { cluster } = env;
    await cluster.api.create(refs.services, makeService('default', 'db', { selector: { app: 'db' }, clusterIP: 'None' }));
    const db = await cluster.addPod({ name: 'db-0', labels: { app: 'db' }, hostname: 'db-0', subdomain: 'db', node: 1 });
    await waitFor(async () => ((await short('db-0.db.default.svc.cluster.local')).join() === db.ip ? true : undefined), { timeoutMs: 10_000, what: 'db-0.db to resolve' });
  });

  it('resolves an ExternalName through the upstream, CNAME first', async () => {
    const { cluster } = env;
    await cluster.api.create(refs.services, makeService('default', 'external', { type: 'ExternalName', externalName: 'www.example.test', ports: [] }));
    const answer = await waitFor(async () => {
      const result = await client().dig('external.default.svc.cluster.local', 'A', ['+noall', '+answer']);
      return result.stdout.includes('192.0.2.80') ? result.stdout : undefined;
    }, { timeoutMs: 10_000, what: 'the ExternalName to resolve' });
    const lines = answer.trim().split('\n').map((line) => line.split(/\s+/));
    expect(lines.map((fields) => [fields[0], fields[3], fields[4]])).toEqual([
      ['external.default.svc.cluster.local.', 'CNAME', 'www.example.test.'],
      ['www.example.test.', 'A', '192.0.2.80'],
    ]);
    expect(await short('www.example.test')).toEqual(['192.0.2.80']);
  });

  it('answers reverse lookups for cluster IPs and pod IPs', async () => {
    const { cluster } = env;
    expect((await client().dig(web.spec.clusterIP as string, 'PTR', ['+short', '-x'])).stdout.trim()).toBe('web.default.svc.cluster.local.');
    const pod = cluster.pod('web-2-1');
    const names = (await client().dig(pod.ip, 'PTR', ['+short', '-x'])).stdout.trim().split('\n').sort();
    expect(names).toEqual([`${pod.ip.replaceAll('.', '-')}.web-headless.default.svc.cluster.local.`, `${pod.ip.replaceAll('.', '-')}.web.default.svc.cluster.local.`]);
  });

  it('resolves a new service, and answers NXDOMAIN once it is deleted', async () => {
    const { cluster } = env;
    const fresh = await cluster.api.create(refs.services, makeService('default', 'fresh', { selector: { app: 'web' } }));
    await waitFor(async () => ((await short('fresh.default.svc.cluster.local')).join() === fresh.spec.clusterIP ? true : undefined), { timeoutMs: 5_000, intervalMs: 20, what: 'the new service to resolve' });
    await cluster.api.delete(inNamespace(refs.services, 'default'), 'fresh');
    await waitFor(async () => ((await client().dig('fresh.default.svc.cluster.local')).stdout.includes('status: NXDOMAIN') ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 20,
      what: 'the deleted service to be NXDOMAIN',
    });
  });

  it('drops a pod that turns not ready from the headless answer', async () => {
    const { cluster } = env;
    const pod = cluster.pod('web-1-2');
    await cluster.setReady(pod, false);
    await waitFor(async () => ((await short('web-headless.default.svc.cluster.local')).includes(pod.ip) ? undefined : true), { timeoutMs: 10_000, what: 'the not-ready pod to leave the answer' });
    await cluster.setReady(pod, undefined);
    await waitFor(async () => ((await short('web-headless.default.svc.cluster.local')).includes(pod.ip) ? true : undefined), { timeoutMs: 10_000, what: 'the pod to come back' });
  });

  it('answers pod names in insecure mode and NXDOMAIN for names that do not exist', async () => {
    const pod = env.cluster.pod('web-2-2');
    expect(await short(`${pod.ip.replaceAll('.', '-')}.default.pod.cluster.local`)).toEqual([pod.ip]);
    expect((await client().dig('nothing-here.default.svc.cluster.local')).stdout).toContain('status: NXDOMAIN');
  });
});
