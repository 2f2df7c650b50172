import { describe, expect, test } from 'vitest';
import { UsageError } from '../../../common/errors.ts';
import { ingressOptions } from '../../../ingress/options.ts';

describe('ingress options', () => {
  test('defaults', () => {
    expect(ingressOptions({ server: 'http://127.0.0.1:6443' })).toEqual({
      server: 'http://127.0.0.1:6443',
      httpListen: { host: '0.0.0.0', port: 80 },
      httpsListen: { host: '0.0.0.0', port: 443 },
      className: 'kplane',
      publishAddresses: [],
      clientHeaderTimeoutMs: 60_000,
      clientRequestTimeoutMs: 300_000,
      clientIdleTimeoutMs: 75_000,
      shutdownGraceMs: 10_000,
    });
  });

  test('every flag, frozen', () => {
    const options = ingressOptions({
      kubeconfig: '/etc/kubeconfig',
      'http-listen': '127.0.0.1:8080',
      'https-listen': '[::1]:8443',
      class: 'kplane-internal',
      'publish-address': ['10.0.0.1,lb.example.com', 'fd00::1'],
      'default-certificate': 'ingress/default-cert',
      'health-listen': '127.0.0.1:10254',
      'metrics-listen': '127.0.0.1:10254',
      'client-header-timeout': '5s',
      'client-request-timeout': '1m',
      'client-idle-timeout': '500ms',
      'shutdown-grace': '2',
    });
    expect(options).toEqual({
      kubeconfig: '/etc/kubeconfig',
      httpListen: { host: '127.0.0.1', port: 8080 },
      httpsListen: { host: '::1', port: 8443 },
      className: 'kplane-internal',
      publishAddresses: ['10.0.0.1', 'lb.example.com', 'fd00::1'],
      defaultCertificate: { namespace: 'ingress', name: 'default-cert' },
      healthListen: { host: '127.0.0.1', port: 10254 },
      metricsListen: { host: '127.0.0.1', port: 10254 },
      clientHeaderTimeoutMs: 5_000,
      clientRequestTimeoutMs: 60_000,
      clientIdleTimeoutMs: 500,
      shutdownGraceMs: 2_000,
    });
    expect(Object.isFrozen(options)).toBe(true);
  });

  test.each([
    ['127.0.0.1:8080', ['127.0.0.1']],
    ['0.0.0.0:8080', []],
    ['[::]:8080', []],
  ])('without --publish-address, --http-listen %s publishes %j', (listen, expected) => {
    expect(ingressOptions({ 'http-listen': listen }).publishAddresses).toEqual(expected);
  });

  test('every problem is reported at once, each with its flag', () => {
    let error: unknown;
    try {
      ingressOptions({
        server: 'ftp://x',
        'http-listen': 'nowhere',
        'https-listen': '127.0.0.1:99999',
        class: 'Not_A_Name',
        'publish-address': ['not an address'],
        'default-certificate': 'just-a-name',
        'client-header-timeout': 'soon',
        'client-request-timeout': '0',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    const message = (error as Error).message;
    for (const flag of ['--server', '--http-listen', '--https-listen', '--class', '--publish-address', '--default-certificate', '--client-header-timeout', '--client-request-timeout']) {
      expect(message).toContain(flag);
    }
    expect(message.split('\n')).toHaveLength(1);
  });

  test('a header timeout longer than the request timeout is refused', () => {
    expect(() => ingressOptions({ 'client-header-timeout': '10m', 'client-request-timeout': '1m' })).toThrow('--client-header-timeout must not exceed --client-request-timeout');
  });
});
