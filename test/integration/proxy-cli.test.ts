/**
 * `kplane proxy` as a user runs it, against the real API store: --dry-run
 * prints the rules a full sync would write and exits without touching the
 * kernel (so this needs neither root nor a network namespace), and bad
 * flags end in one clear line and exit code 2.
 */
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { EndpointSlice, Service } from '../../controlplane/api/types.ts';
import { createHttpClient, type HttpApiClient } from '../../controlplane/client/http-client.ts';
import { inNamespace, refs } from '../../controlplane/client/types.ts';
import { kplaneBin, startApiServerProcess, tempDir, type ApiServerProcess } from './helpers/apiserver-process.ts';

const work = tempDir('kplane-proxy-cli-');
let server: ApiServerProcess;
let client: HttpApiClient;

beforeAll(async () => {
  server = await startApiServerProcess(join(work.path, 'data'), ['--lb-pool', '192.0.2.0/28']);
  client = createHttpClient({ server: server.url });
  await client.create(inNamespace(refs.services, 'default'), {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
  } satisfies Service);
  // An EndpointSlice as a controller for pods outside this store would write it.
  await client.create(inNamespace(refs.endpointslices, 'default'), {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-manual', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [
      { addresses: ['10.244.1.5'], nodeName: 'node-1' },
      { addresses: ['10.244.2.5'], nodeName: 'node-2' },
    ],
  } satisfies EndpointSlice);
});

afterAll(async () => {
  await client?.close();
  await server?.stop();
  work.remove();
});

const proxy = (args: string[]) => execa(kplaneBin, ['proxy', ...args], { reject: false, timeout: 30_000, stripFinalNewline: false, env: { KPLANE_LOG_FORMAT: 'json' } });

describe('kplane proxy', () => {
  test('--dry-run prints the full-sync payload for what the API holds, then exits', async () => {
    const result = await proxy(['--server', server.url, '--node', 'node-1', '--cluster-cidr', '10.244.0.0/16', '--dry-run']);
    expect(result.exitCode, result.stderr).toBe(0);
    const rules = result.stdout;
    expect(rules).toMatch(/^\*mangle\n:KPLANE-PROXY-CANARY - \[0:0\]\nCOMMIT\n\*filter\n/);
    const clusterIP = (await client.get<Service>(inNamespace(refs.services, 'default'), 'web')).spec.clusterIP as string;
    expect(rules).toContain(`-A KPLANE-SERVICES -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d ${clusterIP} --dport 80 -j KPLANE-SVC-`);
    expect(rules).toMatch(/-m statistic --mode random --probability 0\.5000000000 -j KPLANE-SEP-\w+\n/);
    expect(rules).toContain('-j DNAT --to-destination 10.244.1.5:8080\n');
    expect(rules).toContain('-j DNAT --to-destination 10.244.2.5:8080\n');
    expect(rules).toContain('! -s 10.244.0.0/16 -j KPLANE-MARK-MASQ');
    expect(rules.endsWith('COMMIT\n')).toBe(true);
  });

  test.each([
    { name: 'an unknown flag', args: ['--bogus'], line: "kplane proxy: Unknown option '--bogus' (see kplane proxy --help)" },
    { name: 'a missing node', args: ['--server', 'http://127.0.0.1:1'], line: 'kplane proxy: --node is required (the name of the Node this proxy runs on)' },
    { name: 'an unsupported mode', args: ['--server', 'http://127.0.0.1:1', '--node', 'n', '--mode', 'ipvs'], line: 'kplane proxy: --mode: "ipvs" is not supported (supported: iptables)' },
  ])('exits 2 with one line on $name', async ({ args, line }) => {
    const result = await proxy(args);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(`${line}\n`);
    expect(result.stdout).toBe('');
  });
});
