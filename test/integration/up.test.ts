/**
 * `kplane up` for real, inside a network namespace this suite creates (so the
 * proxy's iptables rules and every listener stay out of the root namespace):
 * the report, kubectl with the written kubeconfig, DNS answers from the DNS it
 * started, HTTP and HTTPS through its ingress to a backend running in the same
 * namespace, the proxy's /healthz and rules (and traffic through them), a
 * clean stop on SIGINT, and a child that dies being named.
 *
 * The backend: the API store rejects loopback endpoint addresses (as
 * kube-apiserver does), so the namespace gets a veth pair "pod0" (its peer stays in the namespace too) with
 * 10.244.0.10 and .11 and a default route through it (nothing behind it: a
 * packet sent there is dropped inside the namespace). Two harness pod apps
 * listen on 10.244.0.10:8081 ("backend") and 10.244.0.11:8080 (standing in for
 * the example pod web-1); Pods get those addresses as their podIP through the
 * status subresource, the way a kubelet reports them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackRun, untrackRun, type LiveRun } from '../e2e/harness/lifecycle.ts';
import { execIn, ipBatch, listNetns, netnsSupport, pidsInNetns } from '../e2e/harness/netns.ts';
import { kplaneBin, nodeBinary, nodeFlags, podAppScript, repoRoot, runDirOf } from '../e2e/harness/paths.ts';
import { spawnInNetns, waitForFile, type ManagedProcess } from '../e2e/harness/processes.ts';
import { diffSnapshots, snapshotRootNetwork, type RootSnapshot } from '../e2e/harness/root-snapshot.ts';
import { listRuns, removeRun, writeOwner } from '../e2e/harness/sweep.ts';
import { waitFor } from '../e2e/harness/wait.ts';

const backendIp = '10.244.0.10';
const webIp = '10.244.0.11';

async function skipReason(): Promise<string | undefined> {
  const support = await netnsSupport();
  if (!support.ok) return support.reason;
  for (const tool of ['kubectl', 'dig', 'curl', 'iptables-save']) {
    const found = await execa('sh', ['-c', `command -v ${tool}`], { reject: false });
    if (found.exitCode !== 0) return `${tool} is not installed`;
  }
  return undefined;
}

const skip = await skipReason();

/** Leftovers of earlier runs of this suite (namespace <prefix>up) whose owner process is gone. */
async function sweepStaleUpRuns(): Promise<void> {
  for (const run of listRuns()) {
    if (run.state !== 'dead' || run.namespaces.length === 0) continue;
    if (!run.namespaces.every((name) => name === `${run.prefix}up`)) continue;
    await removeRun(run.prefix, run.namespaces, { graceMs: 500 });
  }
}

interface UpProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

describe.skipIf(skip)(`kplane up in a network namespace${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const prefix = `kpt${randomBytes(3).toString('hex')}-`;
  const netns = `${prefix}up`;
  const runDir = runDirOf(prefix);
  const dataDir = join(runDir, 'data');
  const kubeconfig = join(dataDir, 'kubeconfig');
  const run: LiveRun = { prefix, namespaces: () => [netns], keep: () => false };
  let rootBefore: RootSnapshot | undefined;
  const apps: ManagedProcess[] = [];
  let up: UpProcess | undefined;
  let serviceIp = '';

  function startUp(args: string[] = []): UpProcess {
    const child = spawn('ip', ['netns', 'exec', netns, kplaneBin, 'up', '--data-dir', dataDir, ...args], {
      env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: process.env['HOME'] ?? '/root', KPLANE_LOG_FORMAT: 'json', KPLANE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: repoRoot,
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const handle: UpProcess = {
      child,
      stdout: () => out,
      stderr: () => err,
      exit: undefined,
      exited: new Promise((resolve) => {
        child.once('exit', (code, signal) => {
          handle.exit = { code, signal };
          resolve(handle.exit);
        });
      }),
    };
    return handle;
  }

  async function waitForReport(process_: UpProcess): Promise<string> {
    return waitFor(() => (/kplane is up/.test(process_.stdout()) ? process_.stdout() : undefined), {
      timeoutMs: 90_000,
      intervalMs: 200,
      what: 'kplane up to print its report',
      giveUpIf: () => (process_.exit ? new Error(`kplane up exited (${JSON.stringify(process_.exit)}) before its report:\n${process_.stdout()}\n${process_.stderr()}`) : undefined),
    });
  }

  async function waitForExit(process_: UpProcess, timeoutMs = 45_000) {
    return Promise.race([
      process_.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`kplane up did not exit within ${timeoutMs} ms:\n${process_.stderr().slice(-4000)}`)), timeoutMs).unref()),
    ]);
  }

  /** kubectl inside the namespace, with the kubeconfig kplane up wrote. */
  async function kubectl(args: string[], input?: string) {
    const result = await execIn(netns, ['kubectl', ...args], {
      env: { KUBECONFIG: kubeconfig, KUBECACHEDIR: join(runDir, 'kube-cache'), HOME: process.env['HOME'] ?? '/root' },
      timeoutMs: 30_000,
      ...(input !== undefined ? { input } : {}),
    });
    return result;
  }

  async function kubectlOk(args: string[], input?: string): Promise<string> {
    const result = await kubectl(args, input);
    if (result.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.exitCode}): ${result.stderr}${result.stdout}`);
    return result.stdout;
  }

  /** Pids in our namespace other than the pod apps': what kplane up started (and up itself). */
  function upPids(): number[] {
    const all = pidsInNetns([netns]).get(netns) ?? [];
    const keep = new Set(apps.flatMap((app) => pidsOfGroup(app.pid)));
    return all.filter((pid) => !keep.has(pid));
  }

  function pidsOfGroup(pgid: number): number[] {
    const pids: number[] = [];
    for (const pid of pidsInNetns([netns]).get(netns) ?? []) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[2]) === pgid) pids.push(pid);
      } catch {
        // gone
      }
    }
    return pids;
  }

  function cmdline(pid: number): string {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      return '';
    }
  }

  beforeAll(async () => {
    rootBefore = await snapshotRootNetwork();
    await sweepStaleUpRuns();
    mkdirSync(dataDir, { recursive: true });
    writeOwner(prefix, false);
    trackRun(run);
    await ipBatch(null, [`netns add ${netns}`], prefix);
    await ipBatch(netns, ['link set lo up', 'link add pod0 type veth peer name pod0-peer', 'link set pod0 up', 'link set pod0-peer up', `addr add ${backendIp}/32 dev pod0`, `addr add ${webIp}/32 dev pod0`, 'route add default dev pod0'], prefix);
    for (const [name, ip, port] of [['backend', backendIp, '8081'], ['web-1', webIp, '8080']] as const) {
      const stateDir = join(runDir, name);
      mkdirSync(stateDir, { recursive: true });
      const app = spawnInNetns(netns, [nodeBinary, ...nodeFlags, podAppScript, '--name', name, '--namespace', 'default', '--node', 'up', '--bind', ip, '--http', port, '--state-dir', stateDir], {
        name,
        logFile: join(runDir, `${name}.log`),
      });
      apps.push(app);
      await waitForFile(join(stateDir, 'listening'), app, 15_000);
    }
  });

  afterAll(async () => {
    if (up && !up.exit) {
      try {
        process.kill(up.child.pid as number, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await Promise.all(apps.map((app) => app.stop(1_000)));
    await removeRun(prefix, [netns], { graceMs: 1_000 });
    untrackRun(run);
    expect(listNetns().filter((name) => name.startsWith(prefix))).toEqual([]);
    if (rootBefore) expect(diffSnapshots(rootBefore, await snapshotRootNetwork())).toEqual([]);
  });

  it('starts the API store, DNS, ingress and proxy as children and reports where each listens', { timeout: 120_000 }, async () => {
    up = startUp();
    const report = await waitForReport(up);
    expect(report).toContain('http://127.0.0.1:6443');
    expect(report).toContain(`unix:${join(dataDir, 'api.sock')}`);
    expect(report).toContain('127.0.0.1:10053 UDP+TCP');
    expect(report).toContain('http://127.0.0.1:8080 and https://127.0.0.1:8443');
    expect(report).toMatch(/Proxy +node "[^"]+", iptables/);
    expect(report).toContain(`export KUBECONFIG=${kubeconfig}`);
    expect(report).toMatch(/kubectl apply -f examples\//);
    expect(report).toContain('dig @127.0.0.1 -p 10053');
    expect(report).toContain('curl --resolve web.example.test:8443:127.0.0.1');
    for (const name of ['apiserver', 'dns', 'ingress', 'proxy']) expect(existsSync(join(dataDir, 'logs', `${name}.log`)), name).toBe(true);
    // Four children plus kplane up itself, in our namespace only.
    const children = upPids().map(cmdline);
    for (const name of ['apiserver', 'dns', 'ingress', 'proxy']) expect(children.some((line) => line.includes(`main.ts ${name} `)), `${name} among ${children.join(' | ')}`).toBe(true);

    const classes = JSON.parse(await kubectlOk(['get', 'ingressclass', 'kplane', '-o', 'json'])) as { spec: { controller: string }; metadata: { annotations?: Record<string, string> } };
    expect(classes.spec.controller).toBe('kplane.io/ingress-controller');
    expect(classes.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class']).toBe('true');
    const nodes = await kubectlOk(['get', 'nodes', '-o', 'name']);
    expect(nodes.trim()).toMatch(/^node\/\S+$/);
  });

  it('serves a Service and an Ingress made with kubectl: DNS answers for it and the ingress reaches its ready pod', async () => {
    await kubectlOk(['apply', '-f', '-'], [
      'apiVersion: v1',
      'kind: Pod',
      'metadata: { name: backend, labels: { app: backend } }',
      'spec:',
      '  containers:',
      '  - { name: app, image: kplane.test/backend, ports: [{ name: http, containerPort: 8081 }] }',
      '---',
      'apiVersion: v1',
      'kind: Service',
      'metadata: { name: backend }',
      'spec:',
      '  selector: { app: backend }',
      '  ports: [{ name: http, port: 80, targetPort: http }]',
      '---',
      'apiVersion: networking.k8s.io/v1',
      'kind: Ingress',
      'metadata: { name: backend }',
      'spec:',
      '  rules:',
      '  - host: backend.test',
      '    http:',
      '      paths: [{ path: /, pathType: Prefix, backend: { service: { name: backend, port: { name: http } } } }]',
      '',
    ].join('\n'));
    const status = { status: { phase: 'Running', podIP: backendIp, podIPs: [{ ip: backendIp }], conditions: [{ type: 'Ready', status: 'True' }] } };
    await kubectlOk(['patch', 'pod', 'backend', '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
    serviceIp = (await kubectlOk(['get', 'service', 'backend', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    expect(serviceIp).toMatch(/^10\.96\./);
    await waitFor(async () => (await kubectlOk(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=backend', '-o', 'jsonpath={.items[*].endpoints[*].addresses[*]}'])).includes(backendIp), {
      timeoutMs: 15_000,
      intervalMs: 200,
      what: 'the backend pod in the Service\'s EndpointSlice',
    });

    const dig = await waitFor(async () => {
      const result = await execIn(netns, ['dig', '@127.0.0.1', '-p', '10053', '+short', '+time=1', '+tries=2', 'backend.default.svc.cluster.local', 'A'], { timeoutMs: 8_000 });
      return result.stdout.trim() === serviceIp ? result : undefined;
    }, { timeoutMs: 15_000, intervalMs: 200, what: 'DNS to answer backend.default.svc.cluster.local' });
    expect(dig.exitCode).toBe(0);

    const reply = await waitFor(async () => {
      const result = await execIn(netns, ['curl', '-sS', '--max-time', '3', '--resolve', 'backend.test:8080:127.0.0.1', 'http://backend.test:8080/through-ingress'], { timeoutMs: 6_000 });
      if (result.exitCode !== 0) return undefined;
      const body = JSON.parse(result.stdout) as { pod?: string; podIP?: string; path?: string; headers?: Record<string, string> };
      return body.pod === 'backend' ? body : undefined;
    }, { timeoutMs: 20_000, intervalMs: 250, what: 'the ingress to route backend.test to the backend pod' });
    expect(reply.podIP).toBe(backendIp);
    expect(reply.path).toBe('/through-ingress');
    expect(reply.headers?.['host']).toBe('backend.test:8080');
  });

  it('ran the proxy: its /healthz answers, its rules are in the namespace\'s iptables and the ClusterIP reaches the pod', async () => {
    const health = await execIn(netns, ['curl', '-sS', '--max-time', '3', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:10256/healthz']);
    expect(health.stdout).toBe('200');
    const rules = await waitFor(async () => {
      const saved = await execIn(netns, ['iptables-save', '-t', 'nat']);
      return saved.stdout.includes(`-d ${serviceIp}/32`) ? saved.stdout : undefined;
    }, { timeoutMs: 15_000, intervalMs: 200, what: `the proxy's rule for ${serviceIp} in the namespace's nat table` });
    expect(rules).toContain(':KPLANE-SERVICES');
    expect(rules).toMatch(new RegExp(`-j DNAT --to-destination ${backendIp.replaceAll('.', '\\.')}:8081`));
    const viaClusterIp = await execIn(netns, ['curl', '-sS', '--max-time', '3', `http://${serviceIp}/via-cluster-ip`], { timeoutMs: 6_000 });
    expect(viaClusterIp.exitCode, viaClusterIp.stderr).toBe(0);
    expect((JSON.parse(viaClusterIp.stdout) as { pod: string }).pod).toBe('backend');
  });

  it('applies examples/ cleanly, and serves the example Ingress over TLS with the example certificate', async () => {
    const applied = await kubectl(['apply', '-f', join(repoRoot, 'examples')]);
    expect(applied.exitCode, applied.stderr).toBe(0);
    for (const object of ['pod/web-1', 'service/web', 'service/web-sticky', 'service/web-nodeport', 'service/web-lb', 'service/web-headless', 'service/docs', 'secret/web-example-tls', 'ingress.networking.k8s.io/web']) {
      expect(applied.stdout).toContain(`${object} created`);
    }
    const status = { status: { phase: 'Running', podIP: webIp, podIPs: [{ ip: webIp }], conditions: [{ type: 'Ready', status: 'True' }] } };
    await kubectlOk(['patch', 'pod', 'web-1', '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
    const cacert = join(repoRoot, 'examples/tls/web.example.test.crt');
    const reply = await waitFor(async () => {
      const result = await execIn(netns, ['curl', '-sS', '--max-time', '3', '--resolve', 'web.example.test:8443:127.0.0.1', '--cacert', cacert, 'https://web.example.test:8443/hello'], { timeoutMs: 6_000 });
      if (result.exitCode !== 0) return undefined;
      const body = JSON.parse(result.stdout) as { pod?: string; headers?: Record<string, string> };
      return body.pod === 'web-1' ? body : undefined;
    }, { timeoutMs: 20_000, intervalMs: 250, what: 'https://web.example.test:8443/ through the ingress to web-1' });
    expect(reply.headers?.['x-forwarded-proto']).toBe('https');
    const redirect = await execIn(netns, ['curl', '-sS', '--max-time', '3', '-o', '/dev/null', '-w', '%{http_code}', '--resolve', 'web.example.test:8080:127.0.0.1', 'http://web.example.test:8080/']);
    expect(redirect.stdout).toBe('308');
    const srv = await execIn(netns, ['dig', '@127.0.0.1', '-p', '10053', '+short', 'SRV', '_http._tcp.web-headless.default.svc.cluster.local']);
    expect(srv.stdout).toContain('8080 web-1.web-headless.default.svc.cluster.local.');
  });

  it('stops every child on SIGINT, exits 0 and removes the proxy\'s rules', { timeout: 90_000 }, async () => {
    const process_ = up as UpProcess;
    process_.child.kill('SIGINT');
    const exit = await waitForExit(process_);
    expect(exit, process_.stderr().slice(-3000)).toEqual({ code: 0, signal: null });
    expect(process_.stdout()).toContain('kplane up stopped (apiserver, dns, ingress, proxy); the proxy\'s iptables rules were removed.');
    expect(upPids().map(cmdline)).toEqual([]);
    const saved = await execIn(netns, ['iptables-save']);
    expect(saved.stdout).not.toContain('KPLANE');
    // Every port is free again: nothing listens in the namespace but the pod apps.
    const listening = await execIn(netns, ['ss', '-Htlnu']);
    const ports = listening.stdout.split('\n').filter((line) => line.trim() !== '').map((line) => line.split(/\s+/)[4] ?? '');
    expect(ports.sort()).toEqual([`${backendIp}:8081`, `${webIp}:8080`]);
  });

  it('with --no-proxy says why in one line; a child that dies is named with its log, and the rest are stopped', { timeout: 180_000 }, async () => {
    up = startUp(['--no-proxy']);
    const report = await waitForReport(up);
    expect(report).toMatch(/Proxy +not started: --no-proxy was given\. To program this machine's iptables, run as root: bin\/kplane proxy --kubeconfig \S+ --node \S+/);
    const dnsPid = upPids().find((pid) => cmdline(pid).includes('main.ts dns '));
    expect(dnsPid).toBeDefined();
    process.kill(dnsPid as number, 'SIGKILL');
    const exit = await waitForExit(up);
    expect(exit.code).not.toBe(0);
    const lastLine = up.stderr().trim().split('\n').at(-1) ?? '';
    expect(lastLine).toBe(`kplane up: dns was killed by SIGKILL unexpectedly; its log is ${join(dataDir, 'logs', 'dns.log')}`);
    expect(upPids().map(cmdline)).toEqual([]);
  });
});
