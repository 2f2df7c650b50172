/**
 * The real kubectl (on the PATH) against a running `kplane apiserver`: the
 * commands an operator types, with the output they expect.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execa } from 'execa';
import { startApiServerProcess, tempDir, type ApiServerProcess } from './helpers/apiserver-process.ts';
import { kubectlFor, type Kubectl } from './helpers/kubectl.ts';

const hasKubectl = (await execa('kubectl', ['version', '--client'], { reject: false })).exitCode === 0;

const manifest = (targetPort: number, secondPort: string) => `
apiVersion: v1
kind: Service
metadata:
  name: web
  labels: { app: web, tier: front }
spec:
  selector: { app: web }
  ports:
  - { name: http, port: 80, targetPort: ${targetPort} }
  ${secondPort}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  labels: { app: web }
spec:
  containers:
  - name: web
    image: nginx
    ports: [{ name: http, containerPort: 8080 }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
data: { mode: fast }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: site }
spec:
  rules:
  - host: www.example.com
    http:
      paths:
      - { path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }
`;

describe.skipIf(!hasKubectl)('kubectl against the kplane API store', () => {
  const work = tempDir('kplane-kubectl-');
  let server: ApiServerProcess;
  let kubectl: Kubectl;
  const ok = async (args: string[], input?: string) => {
    const result = await kubectl(args, input !== undefined ? { input } : {});
    if (result.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.exitCode}):\n${result.stderr}\n${result.stdout}\n--- server logs ---\n${server.logs.slice(-30).join('\n')}`);
    return result.stdout;
  };

  beforeAll(async () => {
    server = await startApiServerProcess(`${work.path}/data`, ['--lb-pool', '172.31.0.0/28']);
    kubectl = kubectlFor(server.url, work.path);
  });
  afterAll(async () => {
    await server?.stop();
    work.remove();
  });

  test('applies a multi-document manifest, then reports it unchanged, then configures a change', async () => {
    const first = await ok(['apply', '-f', '-'], manifest(8080, ''));
    expect(first).toMatch(/service\/web created/);
    expect(first).toMatch(/pod\/web-1 created/);
    expect(first).toMatch(/configmap\/settings created/);
    expect(first).toMatch(/ingress.networking.k8s.io\/site created/);

    const again = await ok(['apply', '-f', '-'], manifest(8080, ''));
    expect(again).toMatch(/service\/web unchanged/);

    const changed = await ok(['apply', '-f', '-'], manifest(9090, '- { name: metrics, port: 9100 }'));
    expect(changed).toMatch(/service\/web configured/);
    const ports = JSON.parse(await ok(['get', 'svc', 'web', '-o', 'jsonpath={.spec.ports}']));
    expect(ports).toEqual([
      { name: 'http', port: 80, protocol: 'TCP', targetPort: 9090 },
      { name: 'metrics', port: 9100, protocol: 'TCP', targetPort: 9100 },
    ]);
  });

  test('prints the usual columns, wide columns and machine formats', async () => {
    const table = await ok(['get', 'svc', 'web']);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/);
    expect(table).toMatch(/^web\s+ClusterIP\s+10\.\d+\.\d+\.\d+\s+<none>\s+80\/TCP,9100\/TCP\s+\d+s$/m);
    const wide = await ok(['get', 'svc', 'web', '-o', 'wide']);
    expect(wide).toMatch(/SELECTOR/);
    expect(wide).toMatch(/app=web/);
    const yaml = await ok(['get', 'svc', 'web', '-o', 'yaml']);
    expect(yaml).toMatch(/kind: Service/);
    expect(yaml).toMatch(/resourceVersion: "\d+"/);
    const list = JSON.parse(await ok(['get', 'svc', '-o', 'json']));
    expect(list.kind).toBe('List');
    expect(list.items.map((s: { metadata: { name: string } }) => s.metadata.name).sort()).toEqual(['kubernetes', 'web']);
    const all = await ok(['get', 'ns', '-A']);
    expect(all).toMatch(/^kube-system\s+Active/m);
    const byLabel = await ok(['get', 'svc', '-l', 'tier=front', '-o', 'name']);
    expect(byLabel.trim()).toBe('service/web');
    const ingress = await ok(['get', 'ing']);
    expect(ingress.split('\n')[0]).toMatch(/^NAME\s+CLASS\s+HOSTS\s+ADDRESS\s+PORTS\s+AGE$/);
    expect(ingress).toMatch(/^site\s+<none>\s+www\.example\.com\s+80\s+/m);
  });

  test('allocates the kubernetes service the first service address', async () => {
    expect(await ok(['get', 'svc', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}'])).toBe('10.96.0.1');
  });

  test('labels, annotates and describes a service', async () => {
    await ok(['label', 'svc', 'web', 'team=net']);
    await ok(['annotate', 'svc', 'web', 'owner=alice']);
    const described = await ok(['describe', 'svc', 'web']);
    expect(described).toMatch(/Labels:\s+app=web/);
    expect(described).toMatch(/team=net/);
    expect(described).toMatch(/owner: alice|owner=alice/);
    expect(described).toMatch(/IP:\s+10\./);
    await ok(['label', 'svc', 'web', 'team-']);
    expect(await ok(['get', 'svc', 'web', '-o', 'jsonpath={.metadata.labels.team}'])).toBe('');
  });

  test('marks a pod ready through the status subresource and its endpoints follow', async () => {
    const status = { status: { phase: 'Running', podIP: '10.244.1.5', conditions: [{ type: 'Ready', status: 'True' }] } };
    await ok(['patch', 'pod', 'web-1', '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
    expect(await ok(['get', 'pod', 'web-1', '-o', 'jsonpath={.status.podIP}'])).toBe('10.244.1.5');
    let slices = '';
    for (let attempt = 0; attempt < 50 && !slices.includes('10.244.1.5'); attempt++) {
      slices = await ok(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web', '-o', 'json']);
      if (!slices.includes('10.244.1.5')) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(slices).toContain('10.244.1.5');
    const endpoints = await ok(['get', 'ep', 'web']);
    expect(endpoints).toMatch(/10\.244\.1\.5:9090/);
  });

  test('exposes a pod as a service', async () => {
    const out = await ok(['expose', 'pod', 'web-1', '--name', 'web-direct', '--port', '8080', '--type', 'NodePort']);
    expect(out).toMatch(/service\/web-direct exposed/);
    const nodePort = Number(await ok(['get', 'svc', 'web-direct', '-o', 'jsonpath={.spec.ports[0].nodePort}']));
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    expect(nodePort).toBeLessThanOrEqual(32767);
  });

  test('creates namespaces, secrets, configmaps and services from generators (protobuf bodies)', async () => {
    await ok(['create', 'namespace', 'team-a']);
    await ok(['create', 'configmap', 'c1', '-n', 'team-a', '--from-literal=k=v']);
    await ok(['create', 'secret', 'generic', 's1', '-n', 'team-a', '--from-literal=password=hunter2']);
    await ok(['create', 'service', 'loadbalancer', 'lb', '-n', 'team-a', '--tcp=443:8443']);
    expect(await ok(['get', 'cm', 'c1', '-n', 'team-a', '-o', 'jsonpath={.data.k}'])).toBe('v');
    expect(Buffer.from(await ok(['get', 'secret', 's1', '-n', 'team-a', '-o', 'jsonpath={.data.password}']), 'base64').toString()).toBe('hunter2');
    expect(await ok(['get', 'svc', 'lb', '-n', 'team-a', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).toMatch(/^172\.31\.0\.\d+$/);
  });

  test('sees a change with get -w', async () => {
    const watcher = execa('kubectl', ['get', 'cm', '-w', '--output-watch-events'], {
      env: { KUBECONFIG: `${work.path}/kubeconfig`, KUBECACHEDIR: `${work.path}/kube-cache` },
      reject: false,
      timeout: 30_000,
    });
    let seen = '';
    const changed = new Promise<void>((resolve) => {
      watcher.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (/MODIFIED\s+settings/.test(seen)) resolve();
      });
    });
    // The watch is open once the initial list has printed.
    for (let attempt = 0; attempt < 100 && !seen.includes('settings'); attempt++) await new Promise((resolve) => setTimeout(resolve, 50));
    await ok(['patch', 'cm', 'settings', '--type=merge', '-p', '{"data":{"mode":"slow"}}']);
    await changed;
    watcher.kill();
    expect(seen).toMatch(/MODIFIED\s+settings/);
  });

  test('rejects an invalid object with a clear error and keeps serving', async () => {
    const bad = await kubectl(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: Service\nmetadata: { name: bad }\nspec:\n  ports: [{ port: 70000 }]\n' });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/The Service "bad" is invalid/);
    expect(bad.stderr).toMatch(/spec.ports\[0\].port: Invalid value: 70000: must be between 1 and 65535, inclusive/);
    const missing = await kubectl(['get', 'svc', 'nope']);
    expect(missing.stderr).toMatch(/Error from server \(NotFound\): services "nope" not found/);
    await ok(['get', 'svc', 'web']);
  });

  test('deletes by name, by label and by file', async () => {
    await ok(['delete', 'svc', 'web-direct']);
    await ok(['create', 'configmap', 'tmp1', '--from-literal=a=b']);
    await ok(['label', 'cm', 'tmp1', 'scratch=yes']);
    await ok(['delete', 'cm', '-l', 'scratch=yes']);
    await ok(['delete', '-f', '-'], manifest(9090, '- { name: metrics, port: 9100 }'));
    const left = await ok(['get', 'svc,cm,ing,pods', '-o', 'name']);
    expect(left.trim().split('\n')).toEqual(['service/kubernetes']);
  });
});
