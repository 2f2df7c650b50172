/**
 * `kplane demo` end to end, as a user runs it: the whole tour must pass, say
 * so in its summary and exit 0, and leave nothing behind (no namespace,
 * /etc/netns entry or run dir of its run; the root network namespace,
 * iptables included, exactly as before). Ctrl-C in the middle tears
 * everything down too, and without root it refuses in one line.
 */
import { execa, type ResultPromise } from 'execa';
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listNetns } from './harness/netns.ts';
import { etcNetns, kplaneBin, repoRoot, runDirOf } from './harness/paths.ts';
import { diffSnapshots, snapshotRootNetwork, type RootSnapshot } from './harness/root-snapshot.ts';
import { e2eSkipReason } from './harness/vitest.ts';
import { waitFor } from './harness/wait.ts';

const skip = await e2eSkipReason({ needsApiServer: true });

const env = { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: process.env['HOME'] ?? '/root', KPLANE_LOG_FORMAT: 'json' };

function prefixOf(output: string): string {
  const match = /run (kpt[0-9a-f]{6}-)/.exec(output);
  if (!match) throw new Error(`no run prefix in the demo's output:\n${output}`);
  return match[1] as string;
}

function leftovers(prefix: string): string[] {
  const etc = existsSync(etcNetns) ? readdirSync(etcNetns).filter((name) => name.startsWith(prefix)).map((name) => `/etc/netns/${name}`) : [];
  const runDir = existsSync(runDirOf(prefix)) ? [runDirOf(prefix)] : [];
  return [...listNetns().filter((name) => name.startsWith(prefix)), ...etc, ...runDir];
}

/** The summary's step lines: "  PASS  <title>" / "  FAIL  <title> (why)". */
function summaryLines(output: string): string[] {
  const at = output.lastIndexOf('\nSummary\n');
  if (at < 0) return [];
  return output.slice(at).split('\n').filter((line) => /^ {2}(PASS|FAIL) {2}/.test(line));
}

// The unprivileged user must be able to reach bin/kplane; a checkout under a private directory hides it.
const nobodyCanRun = (await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-x', kplaneBin], { reject: false })).exitCode === 0;

describe.skipIf(skip)(`kplane demo${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let rootBefore: RootSnapshot | undefined;
  const running: ResultPromise[] = [];

  beforeAll(async () => {
    rootBefore = await snapshotRootNetwork();
  });

  afterAll(async () => {
    for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
    if (rootBefore) expect(diffSnapshots(rootBefore, await snapshotRootNetwork())).toEqual([]);
  });

  it('walks through every step with real traffic, passes them all, exits 0 and leaves nothing behind', { timeout: 300_000 }, async () => {
    const child = execa(kplaneBin, ['demo'], { cwd: repoRoot, env, extendEnv: false, reject: false, timeout: 280_000 });
    running.push(child);
    const result = await child;
    const output = String(result.stdout);
    const failures = summaryLines(output).filter((line) => line.startsWith('  FAIL'));
    expect(failures, `${output}\n${String(result.stderr).slice(-4000)}`).toEqual([]);
    expect(summaryLines(output)).toHaveLength(15);
    for (const title of [
      'ClusterIP: new connections spread across every ready pod',
      'Session affinity: ClientIP keeps each client on one pod',
      'NodePort: the external client reaches the pods through either node',
      'LoadBalancer: the external client reaches the pods at the Service\'s external IP',
      'externalTrafficPolicy Local: the pod sees the client\'s own address, and only pods on the receiving node answer',
      'DNS: a Service\'s name resolves to its ClusterIP from inside a pod',
      'DNS: a headless Service answers with its pods, and each pod has its own name',
      'DNS: SRV records name each pod and its port',
      'Ingress: by host and path over TLS, from the external client',
      'Tear everything down',
    ]) {
      expect(summaryLines(output)).toContain(`  PASS  ${title}`);
    }
    expect(output).toContain('All 15 steps passed.');
    expect(result.exitCode, String(result.stderr).slice(-2000)).toBe(0);
    expect(leftovers(prefixOf(output))).toEqual([]);
    expect(rootBefore && diffSnapshots(rootBefore, await snapshotRootNetwork())).toEqual([]);
  });

  it('tears everything down on Ctrl-C in the middle of the tour and exits non-zero', { timeout: 120_000 }, async () => {
    const child = execa(kplaneBin, ['demo'], { cwd: repoRoot, env, extendEnv: false, reject: false, timeout: 110_000, buffer: true });
    running.push(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(() => output.includes('[5] '), { timeoutMs: 90_000, intervalMs: 100, what: 'the demo to reach its first traffic step' });
    const prefix = prefixOf(output);
    expect(listNetns().filter((name) => name.startsWith(prefix)).length).toBeGreaterThan(0);
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).not.toBe(0);
    expect(output).toContain('interrupted: tearing everything down');
    expect(String(result.stderr)).toContain('kplane demo: interrupted; the cluster was torn down');
    expect(leftovers(prefix)).toEqual([]);
  });

  it.skipIf(!nobodyCanRun)('refuses in one line without root, suggesting kplane up', async () => {
    const result = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', kplaneBin, 'demo'], { cwd: repoRoot, env: { ...env, HOME: '/tmp' }, extendEnv: false, reject: false, timeout: 30_000 });
    expect(result.exitCode).not.toBe(0);
    expect(String(result.stdout)).toBe('');
    expect(String(result.stderr).trim()).toBe('kplane demo: needs root (it builds a cluster from network namespaces); to run the stack on this machine without root, use "bin/kplane up"');
  });
});
