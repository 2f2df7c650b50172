/**
 * examples/ hangs together: every Service selects pods that exist, the
 * Ingress names Services and ports that exist and a Secret whose certificate
 * covers its host, and tls/web.example.test.crt is that same certificate.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import type { Ingress, Service } from '../../../controlplane/api/types.ts';
import { exampleCertificate, examplePods, readManifests } from '../../../launcher/examples.ts';

const objects = readManifests().map(({ object }) => object);
const byKind = (kind: string) => objects.filter((object) => object['kind'] === kind);
const services = byKind('Service') as unknown as Service[];
const pods = examplePods();

test('has a Service of each type, a headless one, an ExternalName and a TLS Ingress', () => {
  const types = services.map((service) => service.spec.type ?? 'ClusterIP');
  expect(new Set(types)).toEqual(new Set(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']));
  expect(services.some((service) => service.spec.clusterIP === 'None')).toBe(true);
  expect(services.some((service) => service.spec.sessionAffinity === 'ClientIP')).toBe(true);
  expect(services.some((service) => service.spec.type === 'LoadBalancer' && service.spec.externalTrafficPolicy === 'Local')).toBe(true);
  expect(byKind('Ingress')).toHaveLength(1);
});

test('every selector matches at least one example pod, on a port the pods name', () => {
  for (const service of services.filter((s) => s.spec.selector)) {
    const selector = service.spec.selector as Record<string, string>;
    const selected = pods.filter((pod) => Object.entries(selector).every(([key, value]) => pod.labels[key] === value));
    expect(selected.length, service.metadata.name).toBeGreaterThan(0);
    for (const port of service.spec.ports ?? []) {
      if (typeof port.targetPort === 'string') for (const pod of selected) expect(pod.ports.map((p) => p.name), `${service.metadata.name} → ${pod.name}`).toContain(port.targetPort);
    }
  }
});

test('the Ingress routes to existing Services and ports, with a certificate that covers its host', () => {
  const ingress = byKind('Ingress')[0] as unknown as Ingress;
  for (const rule of ingress.spec.rules ?? []) {
    for (const path of rule.http?.paths ?? []) {
      const service = services.find((s) => s.metadata.name === path.backend.service?.name);
      expect(service, path.path).toBeDefined();
      expect(service?.spec.ports?.map((port) => port.name)).toContain(path.backend.service?.port?.name);
    }
  }
  const tls = ingress.spec.tls?.[0];
  const secret = byKind('Secret').find((object) => (object['metadata'] as { name: string }).name === tls?.secretName) as { type: string; data: Record<string, string> } | undefined;
  expect(secret?.type).toBe('kubernetes.io/tls');
  const pem = Buffer.from(secret?.data['tls.crt'] ?? '', 'base64').toString('utf8');
  const certificate = new X509Certificate(pem);
  for (const host of tls?.hosts ?? []) expect(certificate.checkHost(host)).toBe(host);
  const key = Buffer.from(secret?.data['tls.key'] ?? '', 'base64').toString('utf8');
  expect(certificate.checkPrivateKey(createPrivateKey(key))).toBe(true);
  expect(readFileSync(exampleCertificate, 'utf8').trim()).toBe(pem.trim());
});
