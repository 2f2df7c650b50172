/**
 * The environment variables a kubelet gives a container for the Services it
 * can see (pkg/kubelet/envvars): `<NAME>_SERVICE_HOST`, `<NAME>_SERVICE_PORT`,
 * `<NAME>_SERVICE_PORT_<PORTNAME>` and the Docker-link `<NAME>_PORT…` family.
 * Pure: services in, variables out.
 */
import type { Service } from '../../../controlplane/api/types.ts';

/** "my-svc" -> "MY_SVC", as Kubernetes names service variables. */
export function envVariableName(name: string): string {
  return name.replaceAll('-', '_').toUpperCase();
}

function hasClusterIp(service: Service): service is Service & { spec: { clusterIP: string } } {
  const ip = service.spec.clusterIP;
  return typeof ip === 'string' && ip !== '' && ip !== 'None';
}

/** Variables for one Service; none for headless, ExternalName or port-less Services. */
export function serviceEnvVars(service: Service): Record<string, string> {
  const env: Record<string, string> = {};
  const ports = service.spec.ports ?? [];
  const first = ports[0];
  const name = service.metadata.name;
  if (!hasClusterIp(service) || first === undefined || name === undefined) return env;
  const ip = service.spec.clusterIP;
  const prefix = envVariableName(name);
  env[`${prefix}_SERVICE_HOST`] = ip;
  env[`${prefix}_SERVICE_PORT`] = String(first.port);
  for (const port of ports) {
    if (port.name) env[`${prefix}_SERVICE_PORT_${envVariableName(port.name)}`] = String(port.port);
  }
  ports.forEach((port, i) => {
    const protocol = port.protocol ?? 'TCP';
    const url = `${protocol.toLowerCase()}://${ip}:${port.port}`;
    if (i === 0) env[`${prefix}_PORT`] = url;
    const portPrefix = `${prefix}_PORT_${port.port}_${protocol.toUpperCase()}`;
    env[portPrefix] = url;
    env[`${portPrefix}_PROTO`] = protocol.toLowerCase();
    env[`${portPrefix}_PORT`] = String(port.port);
    env[`${portPrefix}_ADDR`] = ip;
  });
  return env;
}

/**
 * The service variables of a pod in `namespace`: every Service of that
 * namespace, plus `default/kubernetes` for pods of every namespace (the
 * kubelet's master service). Services are applied in name order, so the
 * result does not depend on list order.
 */
export function podServiceEnv(namespace: string, services: readonly Service[]): Record<string, string> {
  const visible = services.filter(
    (s) => s.metadata.namespace === namespace || (s.metadata.namespace === 'default' && s.metadata.name === 'kubernetes'),
  );
  // The pod's own namespace wins over default/kubernetes when both define KUBERNETES_*.
  visible.sort((a, b) => {
    const own = Number(a.metadata.namespace === namespace) - Number(b.metadata.namespace === namespace);
    return own !== 0 ? own : (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
  });
  const env: Record<string, string> = {};
  for (const service of visible) Object.assign(env, serviceEnvVars(service));
  return env;
}
