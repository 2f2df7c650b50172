import { describe, expect, test } from 'vitest';
import type { EndpointSlice, Ingress, Service } from '../../../controlplane/api/types.ts';
import { buildRouteTable, matchRoute, rewritePath, type RouteTable } from '../../../ingress/routes.ts';
import { backend, exact, makeIngress, makeService, makeSlice, prefix, specific } from './builders.ts';

/** Every service the cases route to: port 80 named http, one ready endpoint each. */
const serviceNames = ['web', 'api', 'long', 'short', 'wild', 'exact', 'fallback', 'catchall', 'other', 'old', 'new', 'regex'];
const world = {
  services: serviceNames.map((name) => makeService(name)),
  endpointSlices: serviceNames.map((name, index) => makeSlice(name, `${name}-1`, 'http', 8080, [`10.0.0.${index + 1}`])),
};

/** What a request gets: the service it reaches, 503 when that has no endpoints, or 404. */
function outcome(table: RouteTable, host: string, pathText: string): string {
  const route = matchRoute(table, host, pathText);
  if (!route) return '404';
  if (route.backend.endpoints.length === 0) return '503';
  const [namespace, rest = ''] = route.backend.key.split('/');
  const service = rest.split(':')[0] ?? '';
  return namespace === 'default' ? service : `${namespace}/${service}`;
}

interface RoutingCase {
  name: string;
  ingresses: Ingress[];
  services?: Service[];
  endpointSlices?: EndpointSlice[];
  /** [Host (as routing sees it: lower case, no port), path, expected outcome] */
  requests: [string, string, string][];
}

const host = (name: string, paths: ReturnType<typeof prefix>[]) => ({ host: name, paths });
const anyHost = (paths: ReturnType<typeof prefix>[]) => ({ paths });

const routingCases: RoutingCase[] = [
  {
    name: 'exact host routes; another host gets 404',
    ingresses: [makeIngress('site', { rules: [host('www.example.com', [prefix('/', 'web')])] })],
    requests: [
      ['www.example.com', '/', 'web'],
      ['www.example.com', '/any/path', 'web'],
      ['other.example.com', '/', '404'],
      ['', '/', '404'],
    ],
  },
  {
    name: 'rule hosts compare case-insensitively',
    ingresses: [makeIngress('site', { rules: [host('WWW.Example.COM', [prefix('/', 'web')])] })],
    requests: [['www.example.com', '/', 'web']],
  },
  {
    name: 'a wildcard matches exactly one label',
    ingresses: [makeIngress('wild', { rules: [host('*.foo.com', [prefix('/', 'wild')])] })],
    requests: [
      ['bar.foo.com', '/', 'wild'],
      ['x-1.foo.com', '/deep/path', 'wild'],
      ['foo.com', '/', '404'],
      ['baz.bar.foo.com', '/', '404'],
      ['barfoo.com', '/', '404'],
    ],
  },
  {
    name: 'an exact host wins over a wildcard, and keeps its unmatched paths (404)',
    ingresses: [
      makeIngress('wild', { rules: [host('*.foo.com', [prefix('/', 'wild')])] }),
      makeIngress('exact', { rules: [host('api.foo.com', [prefix('/v1', 'exact')])] }),
    ],
    requests: [
      ['api.foo.com', '/v1/users', 'exact'],
      ['api.foo.com', '/other', '404'],
      ['www.foo.com', '/other', 'wild'],
    ],
  },
  {
    name: 'host-less rules serve hosts no rule names, not unmatched paths of named hosts',
    ingresses: [
      makeIngress('named', { rules: [host('www.example.com', [prefix('/app', 'web')])] }),
      makeIngress('any', { rules: [anyHost([prefix('/', 'catchall')])] }),
    ],
    requests: [
      ['www.example.com', '/app', 'web'],
      ['www.example.com', '/', '404'],
      ['unknown.example.com', '/', 'catchall'],
      ['', '/whatever', 'catchall'],
      ['10.1.2.3', '/', 'catchall'],
    ],
  },
  {
    name: 'Prefix matches element by element',
    ingresses: [makeIngress('site', { rules: [host('a.test', [prefix('/foo', 'web'), prefix('/aaa/bbb', 'api')])] })],
    requests: [
      ['a.test', '/foo', 'web'],
      ['a.test', '/foo/', 'web'],
      ['a.test', '/foo/bar', 'web'],
      ['a.test', '/foobar', '404'],
      ['a.test', '/aaa/bbb', 'api'],
      ['a.test', '/aaa/bbb/ccc', 'api'],
      ['a.test', '/aaa/bbbxyz', '404'],
      ['a.test', '/aaa', '404'],
      ['a.test', '/FOO', '404'],
    ],
  },
  {
    name: 'Prefix "/" matches every path; a trailing slash on the rule is ignored',
    ingresses: [makeIngress('site', { rules: [host('a.test', [prefix('/', 'web'), prefix('/api/', 'api')])] })],
    requests: [
      ['a.test', '/', 'web'],
      ['a.test', '/x/y', 'web'],
      ['a.test', '/api', 'api'],
      ['a.test', '/api/', 'api'],
      ['a.test', '/api/v1', 'api'],
      ['a.test', '/apiv1', 'web'],
    ],
  },
  {
    name: 'doubled slashes in the request are collapsed before matching',
    ingresses: [makeIngress('site', { rules: [host('a.test', [prefix('/foo/bar', 'web'), exact('/exact', 'exact')])] })],
    requests: [
      ['a.test', '//foo//bar', 'web'],
      ['a.test', '/foo//bar/baz', 'web'],
      ['a.test', '//exact', 'exact'],
    ],
  },
  {
    name: 'Exact matches the whole path, case-sensitively, trailing slash included',
    ingresses: [makeIngress('site', { rules: [host('a.test', [exact('/foo', 'exact'), exact('/bar/', 'web')])] })],
    requests: [
      ['a.test', '/foo', 'exact'],
      ['a.test', '/foo/', '404'],
      ['a.test', '/Foo', '404'],
      ['a.test', '/foo/x', '404'],
      ['a.test', '/bar/', 'web'],
      ['a.test', '/bar', '404'],
    ],
  },
  {
    name: 'the longest path wins whatever the rule order',
    ingresses: [makeIngress('site', { rules: [host('a.test', [prefix('/', 'short'), prefix('/aaa/bbb', 'long'), prefix('/aaa', 'web')])] })],
    requests: [
      ['a.test', '/aaa/bbb/c', 'long'],
      ['a.test', '/aaa/b', 'web'],
      ['a.test', '/ccc', 'short'],
    ],
  },
  {
    name: 'Exact beats Prefix for the same path',
    ingresses: [makeIngress('site', { rules: [host('a.test', [prefix('/foo', 'web'), exact('/foo', 'exact')])] })],
    requests: [
      ['a.test', '/foo', 'exact'],
      ['a.test', '/foo/', 'web'],
      ['a.test', '/foo/bar', 'web'],
    ],
  },
  {
    name: 'Prefix /foo/ is longer than Exact /foo and wins for /foo (longest path first)',
    ingresses: [makeIngress('site', { rules: [host('a.test', [exact('/foo', 'exact'), prefix('/foo/', 'long')])] })],
    requests: [['a.test', '/foo', 'long']],
  },
  {
    name: 'precedence holds across Ingresses of the same host',
    ingresses: [
      makeIngress('old', { created: '2026-01-01T00:00:00Z', rules: [host('a.test', [prefix('/', 'old')])] }),
      makeIngress('new', { created: '2026-02-01T00:00:00Z', rules: [host('a.test', [prefix('/api', 'new')])] }),
    ],
    requests: [
      ['a.test', '/api/x', 'new'],
      ['a.test', '/x', 'old'],
    ],
  },
  {
    name: 'the oldest Ingress keeps a host and path two of them claim',
    ingresses: [
      makeIngress('old', { created: '2026-01-01T00:00:00Z', rules: [host('a.test', [prefix('/', 'old')])] }),
      makeIngress('new', { created: '2026-02-01T00:00:00Z', rules: [host('a.test', [prefix('/', 'new')])] }),
    ],
    requests: [['a.test', '/', 'old']],
  },
  {
    name: 'ImplementationSpecific is Prefix; without a path it is "/"',
    ingresses: [makeIngress('site', { rules: [host('a.test', [specific('/foo', 'web')]), host('b.test', [specific(undefined, 'api')])] })],
    requests: [
      ['a.test', '/foo/bar', 'web'],
      ['a.test', '/foobar', '404'],
      ['b.test', '/anything', 'api'],
    ],
  },
  {
    name: 'use-regex makes ImplementationSpecific paths anchored regular expressions (case-sensitive), ranked by length',
    ingresses: [
      makeIngress('regex', {
        annotations: { 'nginx.ingress.kubernetes.io/use-regex': 'true' },
        rules: [host('a.test', [specific('/api/v[0-9]+', 'regex'), specific('/', 'web'), prefix('/plain', 'api')])],
      }),
    ],
    requests: [
      ['a.test', '/api/v2/users', 'regex'],
      ['a.test', '/api/vx', 'web'],
      ['a.test', '/API/v2', 'web'],
      ['a.test', '/plain/x', 'api'],
      ['a.test', '/plainx', 'web'],
    ],
  },
  {
    name: 'a defaultBackend of an Ingress without rules catches every unmatched request',
    ingresses: [
      makeIngress('default', { defaultBackend: backend('fallback', 80) }),
      makeIngress('site', { rules: [host('www.example.com', [prefix('/app', 'web')])] }),
    ],
    requests: [
      ['random.example.org', '/x', 'fallback'],
      ['', '/', 'fallback'],
      ['www.example.com', '/app', 'web'],
      ['www.example.com', '/other', '404'],
    ],
  },
  {
    name: 'a defaultBackend of an Ingress with rules catches unmatched paths of its own hosts only',
    ingresses: [makeIngress('site', { defaultBackend: backend('fallback', 80), rules: [host('a.test', [prefix('/app', 'web')]), host('*.wild.test', [prefix('/app', 'wild')])] })],
    requests: [
      ['a.test', '/app', 'web'],
      ['a.test', '/other', 'fallback'],
      ['x.wild.test', '/other', 'fallback'],
      ['b.test', '/other', '404'],
    ],
  },
  {
    name: 'with host-less rules, an Ingress defaultBackend is also the catch-all fallback',
    ingresses: [makeIngress('site', { defaultBackend: backend('fallback', 80), rules: [anyHost([prefix('/app', 'web')])] })],
    requests: [
      ['any.test', '/app', 'web'],
      ['any.test', '/other', 'fallback'],
    ],
  },
  {
    name: 'the oldest defaultBackend wins the catch-all',
    ingresses: [
      makeIngress('old', { created: '2026-01-01T00:00:00Z', defaultBackend: backend('old', 80) }),
      makeIngress('new', { created: '2026-02-01T00:00:00Z', defaultBackend: backend('new', 80) }),
    ],
    requests: [['x.test', '/', 'old']],
  },
  {
    name: 'backends resolve by service port number or name, in the Ingress namespace',
    ingresses: [
      makeIngress('site', { rules: [host('a.test', [prefix('/number', 'web', 80), prefix('/name', 'web', 'http'), prefix('/metrics', 'web', 'metrics')])] }),
      makeIngress('team', { namespace: 'team', rules: [host('team.test', [prefix('/', 'web', 80)])] }),
    ],
    services: [makeService('web', [{ name: 'http', port: 80 }, { name: 'metrics', port: 9100 }]), makeService('web', [{ name: 'http', port: 80 }], 'team')],
    endpointSlices: [
      makeSlice('web', 'web-http', 'http', 8080, ['10.0.0.1']),
      makeSlice('web', 'web-metrics', 'metrics', 9100, ['10.0.0.1']),
      makeSlice('web', 'web-team', 'http', 8080, ['10.1.0.1'], { namespace: 'team' }),
    ],
    requests: [
      ['a.test', '/number', 'web'],
      ['a.test', '/name', 'web'],
      ['a.test', '/metrics', 'web'],
      ['team.test', '/', 'team/web'],
    ],
  },
  {
    name: 'a missing Service, port or endpoint set, and a resource backend, answer 503',
    ingresses: [
      makeIngress('site', {
        rules: [
          host('a.test', [
            prefix('/no-service', 'missing'),
            prefix('/no-port', 'web', 81),
            prefix('/no-name', 'web', 'grpc'),
            prefix('/no-endpoints', 'empty'),
            { path: '/bucket', pathType: 'Prefix', backend: { resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'assets' } } },
          ]),
        ],
      }),
    ],
    services: [makeService('web'), makeService('empty')],
    endpointSlices: [makeSlice('web', 'web-1', 'http', 8080, ['10.0.0.1']), makeSlice('empty', 'empty-1', 'http', 8080, [{ address: '10.0.0.9', ready: false }])],
    requests: [
      ['a.test', '/no-service', '503'],
      ['a.test', '/no-port', '503'],
      ['a.test', '/no-name', '503'],
      ['a.test', '/no-endpoints', '503'],
      ['a.test', '/bucket', '503'],
    ],
  },
  {
    name: 'invalid hosts and paths are skipped; the rest of the Ingress still routes',
    ingresses: [
      makeIngress('site', {
        rules: [host('*', [prefix('/', 'other')]), host('a.*.test', [prefix('/', 'other')]), host('a.test', [prefix('relative', 'other'), exact('', 'other'), prefix('/ok', 'web')])],
      }),
    ],
    requests: [
      ['a.test', '/ok', 'web'],
      ['a.test', '/', '404'],
      ['b.test', '/', '404'],
    ],
  },
];

describe('route table: ingresses × requests → backend or status', () => {
  test.each(routingCases)('$name', ({ ingresses, services, endpointSlices, requests }) => {
    const { table } = buildRouteTable({ ingresses, services: services ?? world.services, endpointSlices: endpointSlices ?? world.endpointSlices });
    const actual = requests.map(([hostName, pathText]) => [hostName, pathText, outcome(table, hostName, pathText)]);
    expect(actual).toEqual(requests);
  });
});

describe('endpoints: service port → EndpointSlice port → ready addresses', () => {
  const site = makeIngress('site', { rules: [host('a.test', [prefix('/', 'web', 'http')])] });
  const cases: { name: string; port?: number; services: Service[]; endpointSlices: EndpointSlice[]; expected: string[] }[] = [
    {
      name: 'ready and unset-ready endpoints are used; not-ready ones are not',
      services: [makeService('web')],
      endpointSlices: [makeSlice('web', 'web-1', 'http', 8080, ['10.0.0.2', { address: '10.0.0.1', ready: true }, { address: '10.0.0.3', ready: false }])],
      expected: ['http://10.0.0.1:8080', 'http://10.0.0.2:8080'],
    },
    {
      name: 'endpoints of every slice of the service are merged, duplicates once; other services and ports are ignored',
      services: [makeService('web')],
      endpointSlices: [
        makeSlice('web', 'web-1', 'http', 8080, ['10.0.0.1']),
        makeSlice('web', 'web-2', 'http', 8080, ['10.0.0.2', '10.0.0.1']),
        makeSlice('web', 'web-3', 'metrics', 9100, ['10.0.0.3']),
        makeSlice('api', 'api-1', 'http', 8080, ['10.0.0.4']),
      ],
      expected: ['http://10.0.0.1:8080', 'http://10.0.0.2:8080'],
    },
    {
      name: 'a named port may map to different numbers in different slices',
      services: [makeService('web')],
      endpointSlices: [makeSlice('web', 'web-1', 'http', 8080, ['10.0.0.1']), makeSlice('web', 'web-2', 'http', 9090, ['10.0.0.2'])],
      expected: ['http://10.0.0.1:8080', 'http://10.0.0.2:9090'],
    },
    {
      name: 'an unnamed service port matches the unnamed slice port',
      port: 80,
      services: [makeService('web', [{ port: 80 }])],
      endpointSlices: [makeSlice('web', 'web-1', '', 8080, ['10.0.0.1'])],
      expected: ['http://10.0.0.1:8080'],
    },
    {
      name: 'IPv6 endpoints are bracketed',
      services: [makeService('web')],
      endpointSlices: [makeSlice('web', 'web-1', 'http', 8080, ['fd00::1'], { addressType: 'IPv6' })],
      expected: ['http://[fd00::1]:8080'],
    },
    {
      name: 'FQDN endpoints are connected to by name',
      services: [makeService('web')],
      endpointSlices: [makeSlice('web', 'web-1', 'http', 8080, ['backend.example.net'], { addressType: 'FQDN' })],
      expected: ['http://backend.example.net:8080'],
    },
    {
      name: 'an ExternalName service is its name and port',
      services: [makeService('web', [{ name: 'http', port: 8443 }], 'default', { type: 'ExternalName', externalName: 'db.example.net' })],
      endpointSlices: [],
      expected: ['http://db.example.net:8443'],
    },
  ];
  test.each(cases)('$name', ({ port, services, endpointSlices, expected }) => {
    const ingress = port === undefined ? site : makeIngress('site', { rules: [host('a.test', [prefix('/', 'web', port)])] });
    const { table } = buildRouteTable({ ingresses: [ingress], services, endpointSlices });
    const route = matchRoute(table, 'a.test', '/');
    expect(route?.backend.endpoints.map((endpoint) => endpoint.origin)).toEqual(expected);
  });

  test('endpoint ids are stable digests, distinct per address and port', () => {
    const slices = [makeSlice('web', 'web-1', 'http', 8080, ['10.0.0.1', '10.0.0.2'])];
    const first = buildRouteTable({ ingresses: [site], services: [makeService('web')], endpointSlices: slices }).table;
    const second = buildRouteTable({ ingresses: [site], services: [makeService('web')], endpointSlices: slices }).table;
    const ids = (table: RouteTable) => matchRoute(table, 'a.test', '/')?.backend.endpoints.map((endpoint) => endpoint.id);
    expect(ids(first)).toEqual(ids(second));
    expect(new Set(ids(first)).size).toBe(2);
    expect(ids(first)?.[0]).toMatch(/^[0-9a-f]{16}$/);
  });

  test('routes to the same service port share one backend', () => {
    const ingress = makeIngress('site', { rules: [host('a.test', [prefix('/a', 'web', 80), prefix('/b', 'web', 'http')])] });
    const { table } = buildRouteTable({ ingresses: [ingress], services: world.services, endpointSlices: world.endpointSlices });
    expect(matchRoute(table, 'a.test', '/a')?.backend).toBe(matchRoute(table, 'a.test', '/b')?.backend);
    expect([...table.backends.keys()]).toEqual(['default/web:80']);
  });
});

describe('HTTPS redirects', () => {
  const cases: { name: string; ingresses: Ingress[]; requests: [string, string, boolean][] }[] = [
    {
      name: 'hosts listed under tls redirect; others do not',
      ingresses: [makeIngress('site', { tls: [{ hosts: ['secure.test'], secretName: 'cert' }], rules: [host('secure.test', [prefix('/', 'web')]), host('plain.test', [prefix('/', 'web')])] })],
      requests: [
        ['secure.test', '/', true],
        ['plain.test', '/', false],
      ],
    },
    {
      name: 'tls without a secretName still redirects; tls without hosts covers the rule hosts',
      ingresses: [
        makeIngress('sni-only', { tls: [{ hosts: ['a.test'] }], rules: [host('a.test', [prefix('/', 'web')])] }),
        makeIngress('no-hosts', { tls: [{ secretName: 'cert' }], rules: [host('b.test', [prefix('/', 'web')])] }),
      ],
      requests: [
        ['a.test', '/', true],
        ['b.test', '/', true],
      ],
    },
    {
      name: 'TLS is per host: another Ingress on a TLS host redirects too; a wildcard tls host covers one label',
      ingresses: [
        makeIngress('tls', { tls: [{ hosts: ['a.test', '*.wild.test'], secretName: 'cert' }], rules: [host('a.test', [prefix('/app', 'web')])] }),
        makeIngress('more', { rules: [host('a.test', [prefix('/api', 'api')]), host('x.wild.test', [prefix('/', 'web')]), host('*.wild.test', [prefix('/', 'wild')])] }),
      ],
      requests: [
        ['a.test', '/api', true],
        ['x.wild.test', '/', true],
        ['y.wild.test', '/', true],
      ],
    },
    {
      name: 'ssl-redirect "false" turns it off; force-ssl-redirect turns it on without TLS',
      ingresses: [
        makeIngress('off', { annotations: { 'kplane.io/ssl-redirect': 'false' }, tls: [{ hosts: ['a.test'], secretName: 'cert' }], rules: [host('a.test', [prefix('/', 'web')])] }),
        makeIngress('forced', { annotations: { 'nginx.ingress.kubernetes.io/force-ssl-redirect': 'true' }, rules: [host('b.test', [prefix('/', 'web')])] }),
      ],
      requests: [
        ['a.test', '/', false],
        ['b.test', '/', true],
      ],
    },
    {
      name: 'host-less rules never redirect unless forced',
      ingresses: [makeIngress('any', { tls: [{ secretName: 'cert' }], rules: [anyHost([prefix('/', 'web')])] })],
      requests: [['x.test', '/', false]],
    },
  ];
  test.each(cases)('$name', ({ ingresses, requests }) => {
    const { table } = buildRouteTable({ ingresses, services: world.services, endpointSlices: world.endpointSlices });
    expect(requests.map(([hostName, pathText]) => [hostName, pathText, matchRoute(table, hostName, pathText)?.httpsRedirect])).toEqual(requests);
  });
});

describe('rewrite-target', () => {
  const cases: { name: string; target: string; rule: ReturnType<typeof prefix>; regex?: boolean; requests: [string, string][] }[] = [
    {
      name: 'without capture groups the matched prefix is replaced',
      target: '/',
      rule: prefix('/app', 'web'),
      requests: [
        ['/app', '/'],
        ['/app/', '/'],
        ['/app/users/1', '/users/1'],
      ],
    },
    {
      name: 'a target with a path keeps the rest after it',
      target: '/v2',
      rule: prefix('/api/', 'web'),
      requests: [
        ['/api', '/v2'],
        ['/api/users', '/v2/users'],
      ],
    },
    { name: 'an Exact rule becomes the target', target: '/health', rule: exact('/status', 'web'), requests: [['/status', '/health']] },
    {
      name: 'capture groups make the path a regex ($2 of the ingress-nginx idiom)',
      target: '/$2',
      rule: specific('/something(/|$)(.*)', 'web'),
      requests: [
        ['/something', '/'],
        ['/something/', '/'],
        ['/something/new', '/new'],
      ],
    },
  ];
  test.each(cases)('$name', ({ target, rule, requests }) => {
    const ingress = makeIngress('site', { annotations: { 'nginx.ingress.kubernetes.io/rewrite-target': target }, rules: [host('a.test', [rule])] });
    const { table } = buildRouteTable({ ingresses: [ingress], services: world.services, endpointSlices: world.endpointSlices });
    const actual = requests.map(([requested]) => {
      const route = matchRoute(table, 'a.test', requested);
      return [requested, route ? rewritePath(route, requested) : '404'];
    });
    expect(actual).toEqual(requests);
  });

  test('without rewrite-target the path goes upstream unchanged', () => {
    const { table } = buildRouteTable({ ingresses: [makeIngress('site', { rules: [host('a.test', [prefix('/app', 'web')])] })], services: world.services, endpointSlices: world.endpointSlices });
    const route = matchRoute(table, 'a.test', '/app//x');
    expect(route && rewritePath(route, '/app//x')).toBe('/app//x');
  });
});

describe('problems are reported per Ingress, once each, and the rest still routes', () => {
  test('every kind of unusable part yields one problem naming it', () => {
    const ingresses = [
      makeIngress('old', { created: '2026-01-01T00:00:00Z', rules: [host('a.test', [prefix('/', 'web')])] }),
      makeIngress('broken', {
        created: '2026-02-01T00:00:00Z',
        annotations: { 'kplane.io/proxy-body-size': 'lots', 'nginx.ingress.kubernetes.io/affinity': 'ip' },
        rules: [
          host('a.test', [prefix('/', 'web'), prefix('/x', 'missing'), prefix('/y', 'missing'), prefix('/p', 'web', 81)]),
          host('*', [prefix('/', 'web')]),
          host('b.test', [exact('nope', 'web'), { path: '/r', pathType: 'Prefix', backend: { resource: { kind: 'Bucket', name: 'b' } } }]),
        ],
      }),
      makeIngress('regex', { annotations: { 'kplane.io/use-regex': 'true' }, rules: [host('c.test', [specific('/(', 'web')])] }),
    ];
    const { problems } = buildRouteTable({ ingresses, services: world.services, endpointSlices: world.endpointSlices });
    expect(problems.map((problem) => `${problem.ingress.metadata.name} ${problem.reason}: ${problem.message}`)).toEqual([
      'broken InvalidAnnotation: annotation kplane.io/proxy-body-size: "lots" is not a size such as 8m, 512k or 0; using the default',
      'broken InvalidAnnotation: annotation nginx.ingress.kubernetes.io/affinity: "ip" is not "cookie"; using the default',
      'broken PathConflict: Prefix path "/" on host "a.test" is already routed by ingress default/old; this one is ignored',
      'broken ServiceNotFound: service default/missing not found; requests get 503',
      'broken ServicePortNotFound: service default/web has no port 81; requests get 503',
      'broken InvalidHost: host "*" is neither a DNS name nor "*." followed by one; its rule is ignored',
      'broken InvalidPath: path "nope" on host "b.test" must start with "/"; it is ignored',
      'broken UnsupportedBackend: backend Bucket/b is not a Service; requests get 503',
      'regex InvalidPath: path "/(" on host "c.test" is not a valid regular expression; it is ignored',
    ]);
  });

  test('a table without Ingresses answers 404 to everything', () => {
    const { table, problems } = buildRouteTable({ ingresses: [], services: [], endpointSlices: [] });
    expect(problems).toEqual([]);
    expect(outcome(table, 'a.test', '/')).toBe('404');
  });
});
