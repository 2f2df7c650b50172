import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import { inClusterConnection, isInCluster } from '../../../../controlplane/client/in-cluster.ts';

function serviceAccount(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kplane-sa-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

describe('inClusterConnection', () => {
  test.each([
    { name: 'IPv4 service address', host: '10.96.0.1', server: 'https://10.96.0.1:443' },
    { name: 'IPv6 service address', host: 'fd00:10:96::1', server: 'https://[fd00:10:96::1]:443' },
  ])('$name → $server with the mounted CA and token file', ({ host, server }) => {
    const dir = serviceAccount({ 'ca.crt': 'CLUSTER CA', token: 'sa-token' });
    const connection = inClusterConnection({ KUBERNETES_SERVICE_HOST: host, KUBERNETES_SERVICE_PORT: '443' }, dir);
    expect({ ...connection, ca: connection.ca?.toString() }).toEqual({ server, ca: 'CLUSTER CA', tokenFile: join(dir, 'token') });
  });

  test('requires the injected service address', () => {
    expect(isInCluster({ KUBERNETES_SERVICE_HOST: '10.96.0.1' })).toBe(false);
    expect(() => inClusterConnection({}, '/nonexistent')).toThrow('not running in a pod (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset)');
  });

  test('names the missing service account file', () => {
    const dir = serviceAccount({ 'ca.crt': 'CLUSTER CA' });
    expect(() => inClusterConnection({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, dir)).toThrow(`in-cluster config: cannot read ${join(dir, 'token')} (ENOENT)`);
  });
});
