import { describe, expect, test } from 'vitest';
import { defaultRouteSettings, routeSettings, type RouteSettings } from '../../../ingress/annotations.ts';
import { makeIngress } from './builders.ts';

describe('route settings from annotations', () => {
  const cases: { name: string; annotations: Record<string, string>; expected: Partial<RouteSettings>; problems?: string[] }[] = [
    { name: 'no annotations: ingress-nginx defaults', annotations: {}, expected: {} },
    {
      name: 'kplane.io names',
      annotations: { 'kplane.io/ssl-redirect': 'false', 'kplane.io/force-ssl-redirect': 'true', 'kplane.io/proxy-body-size': '8m', 'kplane.io/proxy-connect-timeout': '2', 'kplane.io/proxy-read-timeout': '120' },
      expected: { sslRedirect: false, forceSslRedirect: true, maxBodyBytes: 8 * 1024 * 1024, connectTimeoutMs: 2000, readTimeoutMs: 120_000 },
    },
    {
      name: 'nginx.ingress.kubernetes.io names work unchanged',
      annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'FALSE', 'nginx.ingress.kubernetes.io/proxy-body-size': '512k', 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' },
      expected: { sslRedirect: false, maxBodyBytes: 512 * 1024, rewriteTarget: '/$2' },
    },
    {
      name: 'the kplane.io name wins when both are set',
      annotations: { 'kplane.io/proxy-body-size': '2m', 'nginx.ingress.kubernetes.io/proxy-body-size': '16m' },
      expected: { maxBodyBytes: 2 * 1024 * 1024 },
    },
    { name: 'a body size of 0 means no limit; plain bytes and g work', annotations: { 'kplane.io/proxy-body-size': '0' }, expected: { maxBodyBytes: Infinity } },
    { name: 'sizes in bytes and gigabytes', annotations: { 'kplane.io/proxy-body-size': '1G' }, expected: { maxBodyBytes: 1024 ** 3 } },
    { name: 'timeouts take fractions and units', annotations: { 'kplane.io/proxy-read-timeout': '0.5', 'kplane.io/proxy-connect-timeout': '250ms' }, expected: { readTimeoutMs: 500, connectTimeoutMs: 250 } },
    {
      name: 'cookie affinity with its name, max age and path',
      annotations: {
        'nginx.ingress.kubernetes.io/affinity': 'cookie',
        'nginx.ingress.kubernetes.io/session-cookie-name': 'route',
        'nginx.ingress.kubernetes.io/session-cookie-max-age': '3600',
        'nginx.ingress.kubernetes.io/session-cookie-path': '/app',
      },
      expected: { affinity: { cookieName: 'route', maxAgeSeconds: 3600, path: '/app' } },
    },
    { name: 'cookie affinity defaults to INGRESSCOOKIE', annotations: { 'kplane.io/affinity': 'cookie' }, expected: { affinity: { cookieName: 'INGRESSCOOKIE' } } },
    { name: 'use-regex', annotations: { 'kplane.io/use-regex': 'true' }, expected: { useRegex: true } },
    {
      name: 'unusable values keep the default and are reported',
      annotations: {
        'kplane.io/ssl-redirect': 'yes',
        'kplane.io/proxy-body-size': '10 MB',
        'kplane.io/proxy-read-timeout': '0',
        'kplane.io/rewrite-target': 'relative',
        'kplane.io/affinity': 'cookie',
        'kplane.io/session-cookie-name': 'bad name',
      },
      expected: { affinity: { cookieName: 'INGRESSCOOKIE' } },
      problems: [
        'annotation kplane.io/ssl-redirect: "yes" is not true or false; using the default',
        'annotation kplane.io/proxy-body-size: "10 MB" is not a size such as 8m, 512k or 0; using the default',
        'annotation kplane.io/proxy-read-timeout: "0" is not a positive number of seconds; using the default',
        'annotation kplane.io/rewrite-target: "relative" is not a path starting with /; using the default',
        'annotation kplane.io/session-cookie-name: "bad name" is not a cookie name; using the default',
      ],
    },
  ];
  test.each(cases)('$name', ({ annotations, expected, problems = [] }) => {
    const parsed = routeSettings(makeIngress('site', { annotations }));
    expect(parsed.settings).toEqual({ ...defaultRouteSettings, ...expected });
    expect(parsed.problems).toEqual(problems);
  });
});
