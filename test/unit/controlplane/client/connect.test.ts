import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import { UsageError } from '../../../../common/errors.ts';
import { connectionFromFlags } from '../../../../controlplane/client/connect.ts';

function writeKubeconfig(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kplane-connect-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'config');
  writeFileSync(
    path,
    `current-context: dev
contexts:
- name: dev
  context: { cluster: c1, user: u1 }
- name: lab
  context: { cluster: c2 }
clusters:
- name: c1
  cluster: { server: "https://10.0.0.1:6443" }
- name: c2
  cluster: { server: "http://127.0.0.1:8080" }
users:
- name: u1
  user: { token: abc }
`,
  );
  return path;
}

describe('connectionFromFlags', () => {
  test.each([
    { name: 'http server', server: 'http://127.0.0.1:6443' },
    { name: 'https server', server: 'https://api.example:443' },
    { name: 'unix socket', server: 'unix:/run/kplane/api.sock' },
  ])('--server alone: $name', ({ server }) => {
    expect(connectionFromFlags({ server })).toEqual({ server });
  });

  test('--kubeconfig uses its current context', () => {
    expect(connectionFromFlags({ kubeconfig: writeKubeconfig() })).toEqual({ server: 'https://10.0.0.1:6443', token: 'abc' });
  });

  test('--context picks another context', () => {
    expect(connectionFromFlags({ kubeconfig: writeKubeconfig(), context: 'lab' })).toEqual({ server: 'http://127.0.0.1:8080' });
  });

  test('--server overrides the kubeconfig address and keeps its credentials', () => {
    expect(connectionFromFlags({ kubeconfig: writeKubeconfig(), server: 'https://10.0.0.2:6443' })).toEqual({ server: 'https://10.0.0.2:6443', token: 'abc' });
  });

  test('falls back to the pod service account when the environment says so', () => {
    // Whether a service account is mounted depends on where the test runs; either way the in-cluster path is taken.
    let outcome: string;
    try {
      outcome = connectionFromFlags({}, { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }).server;
    } catch (error) {
      outcome = (error as Error).message;
    }
    expect(outcome).toMatch(/^(https:\/\/10\.96\.0\.1:443|in-cluster config: cannot read .*)$/);
  });

  test.each([
    { name: 'no flags', flags: {}, error: '--server or --kubeconfig is required' },
    { name: 'bad --server', flags: { server: 'localhost:6443' }, error: '--server: invalid API server address "localhost:6443"' },
    { name: '--context without --kubeconfig', flags: { server: 'http://127.0.0.1:1', context: 'dev' }, error: '--context needs --kubeconfig' },
  ])('rejects $name with a usage error', ({ flags, error }) => {
    expect(() => connectionFromFlags(flags, {})).toThrow(UsageError);
    expect(() => connectionFromFlags(flags, {})).toThrow(error);
  });
});
