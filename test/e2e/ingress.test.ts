/**
 * kplane ingress inside the network-namespace cluster: the controller runs
 * as a pod, backends are pod apps on two nodes, clients are curl and the
 * per-namespace traffic client (which verifies certificates against a CA).
 * Host and path routing, wildcard, default backend, TLS by SNI with two
 * certificates, the HTTPS redirect, WebSocket echo, balancing of new
 * connections over every ready pod, readiness, class ownership and status,
 * and the way in from outside through a LoadBalancer Service and kplane proxy.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Ingress, Service } from '../../controlplane/api/types.ts';
import { ApiStatusError, inNamespace, refs } from '../../controlplane/client/types.ts';
import { selfSignedCertificate } from '../../ingress/self-signed.ts';
import { backend, exact, makeClass, makeIngress, makeTlsSecret, prefix } from '../unit/ingress/builders.ts';
import type { PodHandle } from './harness/cluster.ts';
import { makeService } from './harness/objects.ts';
import { nodeBinary, nodeFlags, repoRoot } from './harness/paths.ts';
import { isFailure, ok, type HttpResponse } from './harness/traffic.ts';
import { e2eSkipReason, useCluster } from './harness/vitest.ts';
import { waitFor } from './harness/wait.ts';

const skip = await e2eSkipReason({ needsApiServer: true });

const validity = { notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86400_000) };
const certA = selfSignedCertificate({ commonName: 'secure-a.test', dnsNames: ['secure-a.test'], ...validity });
const certB = selfSignedCertificate({ commonName: 'secure-b.test', dnsNames: ['secure-b.test'], ...validity });

describe.skipIf(skip)(`ingress: kplane ingress in the cluster${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const env = useCluster({ nodes: 2, podsPerNode: 2, clients: 1 });
  let controller: PodHandle | undefined;
  let publishedIp = '';

  const webPods = () => env.cluster.pods.filter((pod) => pod.labels['app'] === 'web').map((pod) => pod.name).sort();
  const statusOf = async (name: string) => ((await env.cluster.api.get(inNamespace(refs.ingresses, 'default'), name)) as Ingress).status?.loadBalancer?.ingress;

  /** HTTP(S) from node-1 to the controller pod, with a Host header (and SNI for HTTPS). */
  async function request(host: string, path: string, options: { https?: boolean; ca?: string } = {}): Promise<HttpResponse> {
    const ip = controller?.ip ?? '';
    const url = `${options.https ? 'https' : 'http'}://${ip}${path}`;
    return ok(await env.cluster.node(1).http({ url, headers: { host }, timeoutMs: 3_000, ...(options.https ? { servername: host } : {}), ...(options.ca ? { ca: options.ca } : {}) }), `GET ${host}${path}`);
  }
  const podOf = (reply: HttpResponse) => String((reply.json as { pod?: string; backend?: string } | undefined)?.pod ?? (reply.json as { backend?: string } | undefined)?.backend ?? `HTTP ${reply.status}`);

  /** Sets up everything once: backends, Services, classes, Secrets, Ingresses, the controller pod and its LoadBalancer Service. */
  async function setUp(): Promise<void> {
    if (controller) return;
    const { cluster } = env;
    cluster.startProxies();
    // A pod running the integration tests' backend: JSON echo plus WebSocket echo, on 0.0.0.0:8080.
    const script = join(cluster.runDir, 'ingress-backend.ts');
    writeFileSync(script, `import { startBackend } from ${JSON.stringify(join(repoRoot, 'test/integration/ingress-backends.ts'))};\nawait startBackend(process.argv[2] ?? 'backend', { host: '0.0.0.0', port: 8080 });\n`);
    await cluster.addPod({
      name: 'echo-1',
      labels: { app: 'echo' },
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
      readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 1, timeoutSeconds: 3, failureThreshold: 1 },
      run: { command: [nodeBinary, ...nodeFlags, script, 'echo-1'] },
    });
    const services = inNamespace(refs.services, 'default');
    for (const [name, app] of [['web', 'web'], ['echo', 'echo'], ['nobody', 'nobody']] as const) {
      await cluster.api.create(services, makeService('default', name, { selector: { app }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] }));
    }
    // The controller's way in from outside: a LoadBalancer Service, whose IP it publishes as Ingress status.
    await cluster.api.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kplane-ingress' } }).catch((error: unknown) => {
      if (!(error instanceof ApiStatusError && error.code === 409)) throw error;
    });
    const lbServices = inNamespace(refs.services, 'kplane-ingress');
    await cluster.api.create(
      lbServices,
      makeService('kplane-ingress', 'ingress', {
        type: 'LoadBalancer',
        selector: { 'app.kubernetes.io/name': 'kplane-ingress' },
        ports: [
          { name: 'http', port: 80, targetPort: 80 },
          { name: 'https', port: 443, targetPort: 443 },
        ],
      }),
    );
    publishedIp = await waitFor(async () => ((await cluster.api.get(lbServices, 'ingress')) as Service).status?.loadBalancer?.ingress?.[0]?.ip, {
      timeoutMs: 10_000,
      what: 'a LoadBalancer IP for the ingress Service',
    });
    writeFileSync(join(cluster.runDir, 'cert-a.pem'), certA.cert);

    await cluster.api.create(refs.ingressclasses, makeClass('kplane', 'kplane.io/ingress-controller'));
    await cluster.api.create(refs.ingressclasses, makeClass('other', 'example.com/other-controller'));
    const secrets = inNamespace(refs.secrets, 'default');
    await cluster.api.create(secrets, makeTlsSecret('cert-a', certA.cert, certA.key));
    await cluster.api.create(secrets, makeTlsSecret('cert-b', certB.cert, certB.key));
    const ingresses = inNamespace(refs.ingresses, 'default');
    await cluster.api.create(
      ingresses,
      makeIngress('site', {
        className: 'kplane',
        tls: [
          { hosts: ['secure-a.test'], secretName: 'cert-a' },
          { hosts: ['secure-b.test'], secretName: 'cert-b' },
        ],
        rules: [
          { host: 'www.test', paths: [prefix('/', 'web'), prefix('/echo', 'echo'), exact('/exact', 'echo')] },
          { host: '*.wild.test', paths: [prefix('/', 'echo')] },
          { host: 'secure-a.test', paths: [prefix('/', 'web')] },
          { host: 'secure-b.test', paths: [prefix('/', 'echo')] },
          { paths: [prefix('/spread', 'web'), prefix('/ws', 'echo')] },
        ],
      }),
    );
    await cluster.api.create(ingresses, makeIngress('others', { className: 'other', rules: [{ host: 'other.test', paths: [prefix('/', 'web')] }] }));
    controller = await cluster.startIngress({ args: ['--publish-address', publishedIp] });
    await waitFor(async () => (await request('www.test', '/echo')).status === 200, { timeoutMs: 20_000, intervalMs: 200, what: 'the ingress to route www.test/echo' });
  }

  it('routes by host and path to pods on both nodes', async () => {
    await setUp();
    expect(webPods()).toContain(podOf(await request('www.test', '/')));
    expect(podOf(await request('www.test', '/echo/x'))).toBe('echo-1');
    expect(podOf(await request('www.test', '/exact'))).toBe('echo-1');
    expect(webPods()).toContain(podOf(await request('www.test', '/exact/more')));
    const forwarded = (await request('www.test', '/echo')).json as { headers: Record<string, string> };
    expect(forwarded.headers).toMatchObject({ host: 'www.test', 'x-forwarded-proto': 'http', 'x-forwarded-for': env.cluster.node(1).ip });
  });

  it('matches a wildcard host by exactly one label', async () => {
    await setUp();
    expect(podOf(await request('a.wild.test', '/'))).toBe('echo-1');
    expect((await request('a.b.wild.test', '/')).status).toBe(404);
  });

  it('picks the certificate by SNI for two hosts, each verified against its own CA by name', async () => {
    await setUp();
    const a = await request('secure-a.test', '/', { https: true, ca: certA.cert });
    expect(a.status).toBe(200);
    expect(a.cert?.subject?.['CN']).toBe('secure-a.test');
    const b = await request('secure-b.test', '/', { https: true, ca: certB.cert });
    expect(podOf(b)).toBe('echo-1');
    expect(b.cert?.subject?.['CN']).toBe('secure-b.test');
    const wrong = await env.cluster.node(1).http({ url: `https://${controller?.ip}/`, headers: { host: 'secure-b.test' }, servername: 'secure-b.test', ca: certA.cert, timeoutMs: 3_000 });
    expect(isFailure(wrong)).toBe(true);
    const curl = await env.cluster.node(1).curl('https://secure-a.test/', ['--resolve', `secure-a.test:443:${controller?.ip}`, '--cacert', join(env.cluster.runDir, 'cert-a.pem'), '-o', '/dev/null', '-w', '%{http_code}']);
    expect(curl.stdout).toBe('200');
  });

  it('redirects plain HTTP for TLS hosts to HTTPS with 308', async () => {
    await setUp();
    const curl = await env.cluster.node(1).curl(`http://${controller?.ip}/path?q=1`, ['-H', 'Host: secure-a.test', '-o', '/dev/null', '-w', '%{http_code} %{redirect_url}']);
    expect(curl.stdout).toBe('308 https://secure-a.test/path?q=1');
  });

  it('passes a WebSocket through and echoes', async () => {
    await setUp();
    const client = `const ws = new WebSocket('ws://${controller?.ip}/ws'); const replies = [];
ws.onopen = () => { ws.send('one'); ws.send('two'); };
ws.onmessage = (event) => { replies.push(String(event.data)); if (replies.length === 2) { console.log(JSON.stringify(replies)); ws.close(); } };
ws.onerror = () => process.exit(1);
setTimeout(() => process.exit(2), 5000).unref();`;
    const result = await env.cluster.node(1).exec([nodeBinary, '--input-type=module', '-e', client], { timeoutMs: 8_000 });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(['echo-1: one', 'echo-1: two']);
  });

  it('spreads 100 new connections over every ready pod, and a pod made not ready gets nothing', async () => {
    await setUp();
    const { cluster } = env;
    const url = `http://${controller?.ip}/spread`;
    const tally = await cluster.node(1).whoAnswers(url, 100);
    expect(Object.keys(tally).sort()).toEqual(webPods());
    // Round-robin: 25 each; other tests' requests in between may shift a few.
    for (const count of Object.values(tally)) expect(count).toBeGreaterThanOrEqual(15);

    const out = cluster.pod('web-2-1');
    await cluster.setReady(out, false);
    try {
      await waitFor(async () => !Object.keys(await cluster.node(1).whoAnswers(url, 8)).includes(out.name), { timeoutMs: 15_000, intervalMs: 200, what: `${out.name} to leave the rotation` });
      const after = await cluster.node(1).whoAnswers(url, 40);
      expect(Object.keys(after).sort()).toEqual(webPods().filter((name) => name !== out.name));
    } finally {
      await cluster.setReady(out, undefined);
    }
    await waitFor(async () => Object.keys(await cluster.node(1).whoAnswers(url, 8)).includes(out.name), { timeoutMs: 15_000, intervalMs: 200, what: `${out.name} to rejoin` });
  });

  it('ignores an Ingress of another class and publishes status only for its own', async () => {
    await setUp();
    expect((await request('other.test', '/')).status).toBe(404);
    await waitFor(async () => (await statusOf('site'))?.[0]?.ip === publishedIp, { timeoutMs: 15_000, what: 'status on the owned Ingress' });
    expect(await statusOf('site')).toEqual([{ ip: publishedIp }]);
    expect(await statusOf('others')).toBeUndefined();
  });

  it('is reachable from outside through its LoadBalancer Service and kplane proxy', async () => {
    await setUp();
    const client = env.cluster.client;
    await waitFor(async () => {
      const reply = await client.http({ url: `http://${publishedIp}/echo`, headers: { host: 'www.test' }, timeoutMs: 2_000 });
      return !isFailure(reply) && reply.status === 200;
    }, { timeoutMs: 20_000, intervalMs: 200, what: 'the ingress through the LoadBalancer IP' });
    const reply = ok(await client.http({ url: `https://${publishedIp}/`, headers: { host: 'secure-a.test' }, servername: 'secure-a.test', ca: certA.cert, timeoutMs: 3_000 }));
    expect(webPods()).toContain(podOf(reply));
  });

  it('sends unmatched requests to a defaultBackend once one exists', async () => {
    await setUp();
    expect((await request('nowhere.test', '/')).status).toBe(404);
    await env.cluster.api.create(inNamespace(refs.ingresses, 'default'), makeIngress('fallback', { className: 'kplane', defaultBackend: backend('echo', 80) }));
    await waitFor(async () => podOf(await request('nowhere.test', '/anything')) === 'echo-1', { timeoutMs: 15_000, intervalMs: 200, what: 'the default backend' });
    expect(webPods()).toContain(podOf(await request('www.test', '/')));
  });

  it('answers 503 for a Service without ready endpoints', async () => {
    await setUp();
    await env.cluster.api.create(inNamespace(refs.ingresses, 'default'), makeIngress('empty', { className: 'kplane', rules: [{ host: 'empty.test', paths: [prefix('/', 'nobody')] }] }));
    await waitFor(async () => (await request('empty.test', '/')).status === 503, { timeoutMs: 15_000, intervalMs: 200, what: '503 for empty.test' });
  });
});
