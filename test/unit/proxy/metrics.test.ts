import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { ProxyMetrics } from '../../../proxy/metrics.ts';

test('every proxy metric has an upstream or kplane name and is listed in proxy/README.md', async () => {
  const readme = readFileSync(new URL('../../../proxy/README.md', import.meta.url), 'utf8');
  const metrics = new ProxyMetrics();
  const names = (await metrics.registry.getMetricsAsJSON()).map((metric) => metric.name);
  expect(names.length).toBeGreaterThan(20);
  for (const name of names) {
    expect(name).toMatch(/^(kubeproxy_|kplane_proxy_)/);
    expect(readme, name).toMatch(new RegExp(`\\| \`${name}(\\{[a-z_,]+\\})?\` \\|`));
  }
});

test('two proxies in one process keep separate registries', async () => {
  const [a, b] = [new ProxyMetrics(), new ProxyMetrics()];
  a.restoreFailures.inc();
  expect((await b.restoreFailures.get()).values[0]?.value ?? 0).toBe(0);
});
