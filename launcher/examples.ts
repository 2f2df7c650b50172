/**
 * examples/: where it is, and the Pods it defines, read as a kubelet would
 * need them (name, labels, ports, readiness probe, hostname, subdomain), so
 * `kplane demo` can run them on the namespace cluster's nodes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ContainerPort, Pod, Probe } from '../controlplane/api/types.ts';

export const examplesDir = resolve(import.meta.dirname, '..', 'examples');
/** The example Ingress's certificate, for clients that verify it (curl --cacert). */
export const exampleCertificate = join(examplesDir, 'tls', 'web.example.test.crt');

export interface ExamplePod {
  name: string;
  labels: Record<string, string>;
  ports: ContainerPort[];
  readinessProbe?: Probe;
  hostname?: string;
  subdomain?: string;
}

/** Every object of every *.yaml file in `dir` (sorted by file name), as kubectl apply -f dir would read them. */
export function readManifests(dir: string = examplesDir): { file: string; object: Record<string, unknown> }[] {
  const files = readdirSync(dir).filter((name) => /\.ya?ml$/.test(name)).sort();
  const objects: { file: string; object: Record<string, unknown> }[] = [];
  for (const file of files) {
    for (const document of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`);
      const object = document.toJS() as Record<string, unknown> | null;
      if (object) objects.push({ file, object });
    }
  }
  return objects;
}

/** The Pods among the manifests, reduced to what a kubelet needs to run them. */
export function examplePods(dir: string = examplesDir): ExamplePod[] {
  return readManifests(dir)
    .map(({ object }) => object)
    .filter((object) => object['kind'] === 'Pod')
    .map((object) => {
      const pod = object as unknown as Pod;
      const container = pod.spec.containers[0];
      const result: ExamplePod = {
        name: pod.metadata.name ?? '',
        labels: { ...pod.metadata.labels },
        ports: (container?.ports ?? []).map((port) => ({ ...port, protocol: port.protocol ?? 'TCP' })),
      };
      if (container?.readinessProbe) result.readinessProbe = container.readinessProbe;
      if (pod.spec.hostname) result.hostname = pod.spec.hostname;
      if (pod.spec.subdomain) result.subdomain = pod.spec.subdomain;
      return result;
    });
}
