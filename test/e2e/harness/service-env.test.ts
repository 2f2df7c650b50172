import { describe, expect, it } from 'vitest';
import type { Service, ServiceSpec } from '../../../controlplane/api/types.ts';
import { envVariableName, podServiceEnv, serviceEnvVars } from './service-env.ts';

function svc(namespace: string, name: string, spec: ServiceSpec): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace, name }, spec };
}

describe('service environment variables', () => {
  it('upper-cases names and turns dashes into underscores', () => {
    expect(envVariableName('my-svc-2')).toBe('MY_SVC_2');
  });

  it('gives host, first port, named ports and the Docker link variables', () => {
    const service = svc('default', 'web-app', {
      clusterIP: '10.96.0.20',
      ports: [
        { name: 'http', port: 80, protocol: 'TCP' },
        { name: 'dns-udp', port: 53, protocol: 'UDP' },
      ],
    });
    expect(serviceEnvVars(service)).toEqual({
      WEB_APP_SERVICE_HOST: '10.96.0.20',
      WEB_APP_SERVICE_PORT: '80',
      WEB_APP_SERVICE_PORT_HTTP: '80',
      WEB_APP_SERVICE_PORT_DNS_UDP: '53',
      WEB_APP_PORT: 'tcp://10.96.0.20:80',
      WEB_APP_PORT_80_TCP: 'tcp://10.96.0.20:80',
      WEB_APP_PORT_80_TCP_PROTO: 'tcp',
      WEB_APP_PORT_80_TCP_PORT: '80',
      WEB_APP_PORT_80_TCP_ADDR: '10.96.0.20',
      WEB_APP_PORT_53_UDP: 'udp://10.96.0.20:53',
      WEB_APP_PORT_53_UDP_PROTO: 'udp',
      WEB_APP_PORT_53_UDP_PORT: '53',
      WEB_APP_PORT_53_UDP_ADDR: '10.96.0.20',
    });
  });

  it.each([
    { name: 'headless', spec: { clusterIP: 'None', ports: [{ port: 80 }] } },
    { name: 'ExternalName', spec: { type: 'ExternalName' as const, externalName: 'example.org' } },
    { name: 'no cluster IP yet', spec: { ports: [{ port: 80 }] } },
  ])('gives nothing for a $name service', ({ spec }) => {
    expect(serviceEnvVars(svc('default', 'x', spec))).toEqual({});
  });

  it('sees its own namespace plus default/kubernetes, not other namespaces', () => {
    const env = podServiceEnv('shop', [
      svc('default', 'kubernetes', { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443 }] }),
      svc('default', 'web', { clusterIP: '10.96.0.2', ports: [{ port: 80 }] }),
      svc('shop', 'cart', { clusterIP: '10.96.0.3', ports: [{ port: 8080 }] }),
    ]);
    expect(Object.keys(env).filter((k) => k.endsWith('_SERVICE_HOST')).sort()).toEqual(['CART_SERVICE_HOST', 'KUBERNETES_SERVICE_HOST']);
  });
});
