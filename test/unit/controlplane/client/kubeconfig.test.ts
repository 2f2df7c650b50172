import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadKubeconfig, parseKubeconfig } from '../../../../controlplane/client/kubeconfig.ts';

// One directory of credential files shared by the table: <dir>/certs/{ca,client}.pem, <dir>/token.
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kplane-kubeconfig-'));
  mkdirSync(join(dir, 'certs'));
  writeFileSync(join(dir, 'certs', 'ca.pem'), 'CA FROM FILE');
  writeFileSync(join(dir, 'certs', 'client.pem'), 'CERT FROM FILE');
  writeFileSync(join(dir, 'certs', 'client-key.pem'), 'KEY FROM FILE');
  writeFileSync(join(dir, 'token'), 'token-from-file');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const b64 = (text: string) => Buffer.from(text).toString('base64');

function kubeconfig(cluster: string, user: string | undefined, extra = ''): string {
  return `apiVersion: v1
kind: Config
current-context: dev
contexts:
- name: dev
  context:
    cluster: c1
${user === undefined ? '' : '    user: u1\n'}- name: other
  context:
    cluster: c2
clusters:
- name: c1
  cluster:
${cluster}
- name: c2
  cluster:
    server: http://127.0.0.1:8080
users:
- name: u1
  user:
${user ?? '    {}'}
${extra}`;
}

function written(text: string): Record<string, unknown> {
  const connection = parseKubeconfig(text, join(dir, 'config'));
  return Object.fromEntries(Object.entries(connection).map(([key, value]) => [key, Buffer.isBuffer(value) ? value.toString() : value]));
}

describe('parseKubeconfig', () => {
  test.each<{ name: string; cluster: string; user?: string; expected: Record<string, unknown> }>([
    {
      name: 'inline data fields',
      cluster: `    server: https://10.0.0.1:6443\n    certificate-authority-data: ${b64('CA DATA')}`,
      user: `    client-certificate-data: ${b64('CERT DATA')}\n    client-key-data: ${b64('KEY DATA')}`,
      expected: { server: 'https://10.0.0.1:6443', ca: 'CA DATA', cert: 'CERT DATA', key: 'KEY DATA' },
    },
    {
      name: 'file fields relative to the kubeconfig directory',
      cluster: '    server: https://10.0.0.1:6443\n    certificate-authority: certs/ca.pem',
      user: '    client-certificate: ./certs/client.pem\n    client-key: certs/client-key.pem',
      expected: { server: 'https://10.0.0.1:6443', ca: 'CA FROM FILE', cert: 'CERT FROM FILE', key: 'KEY FROM FILE' },
    },
    {
      name: 'data wins over file',
      cluster: `    server: https://10.0.0.1:6443\n    certificate-authority: certs/missing.pem\n    certificate-authority-data: ${b64('CA DATA')}`,
      expected: { server: 'https://10.0.0.1:6443', ca: 'CA DATA' },
    },
    {
      name: 'token and tokenFile (resolved, read by the client)',
      cluster: '    server: https://api.example:443',
      user: '    token: abc\n    tokenFile: token',
      expected: { server: 'https://api.example:443', token: 'abc', tokenFile: '<dir>/token' },
    },
    {
      name: 'insecure-skip-tls-verify and tls-server-name',
      cluster: '    server: https://10.0.0.1:6443\n    insecure-skip-tls-verify: true\n    tls-server-name: kubernetes.default',
      expected: { server: 'https://10.0.0.1:6443', insecureSkipTlsVerify: true, tlsServerName: 'kubernetes.default' },
    },
    {
      name: 'context without a user is unauthenticated',
      cluster: '    server: unix:/run/kplane/api.sock',
      expected: { server: 'unix:/run/kplane/api.sock' },
    },
  ])('$name', ({ cluster, user, expected }) => {
    const resolved = Object.fromEntries(Object.entries(expected).map(([key, value]) => [key, typeof value === 'string' ? value.replace('<dir>', dir) : value]));
    expect(written(kubeconfig(cluster, user))).toEqual(resolved);
  });

  test('a context other than current-context', () => {
    expect(parseKubeconfig(kubeconfig('    server: https://10.0.0.1:6443', undefined), join(dir, 'config'), { context: 'other' })).toEqual({ server: 'http://127.0.0.1:8080' });
  });

  test.each([
    { name: 'no current-context', text: 'apiVersion: v1\nkind: Config\nclusters: []\n', error: 'no current-context is set' },
    { name: 'missing context', text: 'current-context: prod\ncontexts: []\n', error: 'context "prod" not found' },
    { name: 'missing cluster', text: 'current-context: dev\ncontexts:\n- name: dev\n  context:\n    cluster: gone\n', error: 'cluster "gone" (of context "dev") not found' },
    { name: 'missing user', text: kubeconfig('    server: https://10.0.0.1:6443', '    token: x').replace('name: u1', 'name: someone-else'), error: 'user "u1" (of context "dev") not found' },
    { name: 'cluster without server', text: kubeconfig('    insecure-skip-tls-verify: true', undefined), error: 'cluster "c1" has no server' },
    { name: 'bad server address', text: kubeconfig('    server: 10.0.0.1:6443', undefined), error: 'cluster "c1": invalid API server address "10.0.0.1:6443"' },
    { name: 'unreadable file field', text: kubeconfig('    server: https://10.0.0.1:6443\n    certificate-authority: nope.pem', undefined), error: 'certificate-authority <dir>/nope.pem: cannot read it (ENOENT)' },
    { name: 'certificate without key', text: kubeconfig('    server: https://10.0.0.1:6443', `    client-certificate-data: ${b64('CERT')}`), error: 'user "u1" needs both client-certificate and client-key' },
    { name: 'exec plugin', text: kubeconfig('    server: https://10.0.0.1:6443', '    exec:\n      command: aws'), error: 'user "u1" uses exec credential plugins, which kplane does not support' },
    { name: 'not YAML', text: 'a: [', error: 'not valid YAML' },
    { name: 'not a mapping', text: '- a\n- b\n', error: 'not a kubeconfig' },
  ])('reports $name', ({ text, error }) => {
    const path = join(dir, 'config');
    expect(() => parseKubeconfig(text, path)).toThrow(`kubeconfig ${path}: ${error.replace('<dir>', dir)}`);
  });
});

describe('loadKubeconfig', () => {
  test('reads the file and resolves paths against its directory', () => {
    const path = join(dir, 'loaded-config');
    writeFileSync(path, kubeconfig('    server: https://10.0.0.1:6443\n    certificate-authority: certs/ca.pem', undefined));
    expect(loadKubeconfig(path).ca?.toString()).toBe('CA FROM FILE');
  });

  test('names a missing file', () => {
    const path = join(dir, 'absent');
    expect(() => loadKubeconfig(path)).toThrow(`kubeconfig ${path}: cannot read it (ENOENT)`);
  });
});
