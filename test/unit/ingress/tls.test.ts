import { X509Certificate } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import type { Secret } from '../../../controlplane/api/types.ts';
import { selfSignedCertificate } from '../../../ingress/self-signed.ts';
import { certificateFor, certificateFromPem, planCertificates, SniContexts, type Certificate, type CertificatePlan } from '../../../ingress/tls.ts';
import { makeIngress, makeTlsSecret, prefix } from './builders.ts';

const now = new Date('2026-06-01T00:00:00Z');
const generate = (...dnsNames: string[]) => selfSignedCertificate({ commonName: dnsNames[0] ?? 'x', dnsNames, notBefore: now, notAfter: new Date(now.getTime() + 86400_000) });
const pems = {
  a: generate('a.test'),
  wild: generate('*.wild.test'),
  multi: generate('b.test', 'c.test'),
  fallback: generate('ingress.local'),
  defaultCert: generate('default.test'),
};
const fallback = certificateFromPem('self-signed', pems.fallback.cert, pems.fallback.key);

const secrets: Record<string, Secret> = {
  a: makeTlsSecret('a', pems.a.cert, pems.a.key),
  wild: makeTlsSecret('wild', pems.wild.cert, pems.wild.key),
  multi: makeTlsSecret('multi', pems.multi.cert, pems.multi.key),
  defaultCert: makeTlsSecret('default-cert', pems.defaultCert.cert, pems.defaultCert.key, 'ingress'),
  mismatched: makeTlsSecret('mismatched', pems.a.cert, pems.wild.key),
  garbage: makeTlsSecret('garbage', 'not a certificate', 'not a key'),
  empty: { apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'default', name: 'empty' }, type: 'Opaque', data: {} },
};
const lookup = (namespace: string, name: string) => Object.values(secrets).find((secret) => secret.metadata.namespace === namespace && secret.metadata.name === name);

/** Which certificate (by Secret) each host gets, and the problems as "ingress Reason: message". */
function summary(plan: CertificatePlan) {
  return {
    hosts: Object.fromEntries([...plan.hosts].map(([host, certificate]) => [host, certificate.source])),
    problems: plan.problems.map((problem) => `${problem.object.metadata.name} ${problem.reason}: ${problem.message}`),
  };
}

const rule = (host: string) => ({ host, paths: [prefix('/', 'web')] });

describe('certificates by host from spec.tls and Secrets', () => {
  const cases: { name: string; ingresses: ReturnType<typeof makeIngress>[]; hosts: Record<string, string>; problems?: string[] }[] = [
    {
      name: 'each tls host gets its Secret; wildcard hosts too',
      ingresses: [makeIngress('site', { tls: [{ hosts: ['a.test'], secretName: 'a' }, { hosts: ['*.wild.test'], secretName: 'wild' }], rules: [rule('a.test'), rule('*.wild.test')] })],
      hosts: { 'a.test': 'default/a', '*.wild.test': 'default/wild' },
    },
    {
      name: 'hosts compare in lower case; a tls entry without hosts covers the rule hosts',
      ingresses: [makeIngress('site', { tls: [{ secretName: 'multi' }], rules: [rule('B.test'), rule('c.test')] })],
      hosts: { 'b.test': 'default/multi', 'c.test': 'default/multi' },
    },
    { name: 'a tls entry without secretName adds no certificate and no problem', ingresses: [makeIngress('site', { tls: [{ hosts: ['a.test'] }], rules: [rule('a.test')] })], hosts: {} },
    {
      name: 'a missing Secret affects only its hosts',
      ingresses: [makeIngress('site', { tls: [{ hosts: ['x.test', 'y.test'], secretName: 'nope' }, { hosts: ['a.test'], secretName: 'a' }], rules: [rule('a.test')] })],
      hosts: { 'a.test': 'default/a' },
      problems: ['site SecretNotFound: secret default/nope not found; x.test, y.test use the default certificate'],
    },
    {
      name: 'a Secret without tls.crt and tls.key, with garbage, or with a key of another certificate is reported',
      ingresses: [
        makeIngress('site', {
          tls: [
            { hosts: ['e.test'], secretName: 'empty' },
            { hosts: ['g.test'], secretName: 'garbage' },
            { hosts: ['m.test'], secretName: 'mismatched' },
          ],
          rules: [rule('e.test')],
        }),
      ],
      hosts: {},
      problems: [
        'site InvalidCertificate: secret default/empty has no tls.crt and tls.key; e.test uses the default certificate',
        expect.stringMatching(/^site InvalidCertificate: secret default\/garbage holds no usable certificate and key \(.+\); g\.test uses the default certificate$/) as unknown as string,
        'site InvalidCertificate: secret default/mismatched holds no usable certificate and key (tls.key does not belong to the certificate in tls.crt); m.test uses the default certificate',
      ],
    },
    {
      name: 'a certificate that does not cover a host serves only the hosts it covers',
      ingresses: [makeIngress('site', { tls: [{ hosts: ['b.test', 'c.test', 'd.test', 'e.test'], secretName: 'multi' }], rules: [rule('b.test')] })],
      hosts: { 'b.test': 'default/multi', 'c.test': 'default/multi' },
      problems: ['site CertificateHostMismatch: certificate in secret default/multi does not cover d.test, e.test use the default certificate'],
    },
    {
      name: 'a wildcard certificate covers one-label hosts, not the wildcard parent',
      ingresses: [makeIngress('site', { tls: [{ hosts: ['x.wild.test', 'wild.test'], secretName: 'wild' }], rules: [rule('x.wild.test')] })],
      hosts: { 'x.wild.test': 'default/wild' },
      problems: ['site CertificateHostMismatch: certificate in secret default/wild does not cover wild.test uses the default certificate'],
    },
    {
      name: 'the oldest Ingress keeps a host two of them give certificates for',
      ingresses: [
        makeIngress('old', { created: '2026-01-01T00:00:00Z', tls: [{ hosts: ['b.test'], secretName: 'multi' }] }),
        makeIngress('new', { created: '2026-02-01T00:00:00Z', tls: [{ hosts: ['b.test'], secretName: 'a' }] }),
      ],
      hosts: { 'b.test': 'default/multi' },
    },
    {
      name: 'Secrets are read from the Ingress namespace',
      ingresses: [makeIngress('site', { namespace: 'team', tls: [{ hosts: ['a.test'], secretName: 'a' }] })],
      hosts: {},
      problems: ['site SecretNotFound: secret team/a not found; a.test uses the default certificate'],
    },
  ];
  test.each(cases)('$name', ({ ingresses, hosts, problems = [] }) => {
    expect(summary(planCertificates({ ingresses, secret: lookup, fallback }))).toEqual({ hosts, problems });
  });
});

describe('the certificate an SNI name gets', () => {
  const plan = planCertificates({
    ingresses: [makeIngress('site', { tls: [{ hosts: ['a.test'], secretName: 'a' }, { hosts: ['*.wild.test'], secretName: 'wild' }] })],
    secret: lookup,
    fallback,
  });
  test.each([
    ['a.test', 'default/a'],
    ['A.TEST', 'default/a'],
    ['x.wild.test', 'default/wild'],
    ['y.x.wild.test', 'self-signed'],
    ['wild.test', 'self-signed'],
    ['unknown.test', 'self-signed'],
  ])('%s → %s', (servername, source) => {
    expect(certificateFor(plan, servername).source).toBe(source);
  });
});

describe('the default certificate', () => {
  test('--default-certificate names a usable Secret: it is the default', () => {
    const plan = planCertificates({ ingresses: [], secret: lookup, defaultCertificate: { namespace: 'ingress', name: 'default-cert' }, fallback });
    expect(plan.defaultCertificate.source).toBe('ingress/default-cert');
    expect(plan.defaultCertificateProblem).toBeUndefined();
  });

  test.each([
    [{ namespace: 'ingress', name: 'missing' }, '--default-certificate ingress/missing: secret not found; serving a self-signed certificate'],
    [{ namespace: 'default', name: 'empty' }, '--default-certificate default/empty: secret has no tls.crt and tls.key; serving a self-signed certificate'],
  ])('an unusable --default-certificate %j falls back to the generated one', (defaultCertificate, problem) => {
    const plan = planCertificates({ ingresses: [], secret: lookup, defaultCertificate, fallback });
    expect(plan.defaultCertificate).toBe(fallback);
    expect(plan.defaultCertificateProblem).toBe(problem);
  });
});

describe('parsing and rotation', () => {
  const ingresses = [makeIngress('site', { tls: [{ hosts: ['a.test'], secretName: 'a' }] })];
  test('an unchanged Secret object is parsed once: the same certificate and context come back', () => {
    const first = planCertificates({ ingresses, secret: lookup, fallback }).hosts.get('a.test');
    const second = planCertificates({ ingresses, secret: lookup, fallback }).hosts.get('a.test');
    expect(second).toBe(first);
  });

  test('a rotated Secret (a new object) brings its new certificate', () => {
    const rotated = generate('a.test');
    const secret = makeTlsSecret('a', rotated.cert, rotated.key);
    const plan = planCertificates({ ingresses, secret: () => secret, fallback });
    expect(plan.hosts.get('a.test')?.x509.fingerprint256).toBe(new X509Certificate(rotated.cert).fingerprint256);
  });

  test('SniContexts answers from the current plan and tells servers when the default changes', () => {
    const first = planCertificates({ ingresses, secret: lookup, fallback });
    const sni = new SniContexts(first);
    const defaults: Certificate[] = [];
    sni.onDefaultChange((certificate) => defaults.push(certificate));
    const contextFor = (name: string) => {
      let found: unknown;
      sni.SNICallback(name, (_error, context) => (found = context));
      return found;
    };
    expect(contextFor('a.test')).toBe(first.hosts.get('a.test')?.context);
    expect(contextFor('other.test')).toBe(fallback.context);

    sni.update(planCertificates({ ingresses, secret: lookup, fallback }));
    expect(defaults).toEqual([]);
    const withDefault = planCertificates({ ingresses: [], secret: lookup, defaultCertificate: { namespace: 'ingress', name: 'default-cert' }, fallback });
    sni.update(withDefault);
    expect(defaults.map((certificate) => certificate.source)).toEqual(['ingress/default-cert']);
    expect(contextFor('a.test')).toBe(withDefault.defaultCertificate.context);
  });
});

describe('the generated self-signed certificate', () => {
  test('parses, is self-signed by its key, and carries the names and dates asked for', () => {
    const notBefore = new Date('2026-01-01T00:00:00Z');
    const notAfter = new Date('2036-01-01T00:00:00Z');
    const generated = selfSignedCertificate({ commonName: 'kplane Ingress Controller Fake Certificate', dnsNames: ['ingress.local', '*.ingress.local'], notBefore, notAfter });
    const x509 = new X509Certificate(generated.cert);
    expect(x509.subject).toBe('CN=kplane Ingress Controller Fake Certificate');
    expect(x509.issuer).toBe(x509.subject);
    expect(x509.subjectAltName).toBe('DNS:ingress.local, DNS:*.ingress.local');
    expect(new Date(x509.validFrom).toISOString()).toBe(notBefore.toISOString());
    expect(new Date(x509.validTo).toISOString()).toBe(notAfter.toISOString());
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.ca).toBe(false);
    expect(x509.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(() => certificateFromPem('generated', generated.cert, generated.key)).not.toThrow();
  });

  test('dates from 2050 on are written as GeneralizedTime', () => {
    const generated = selfSignedCertificate({ commonName: 'late', dnsNames: ['late.test'], notBefore: new Date('2049-06-01T00:00:00Z'), notAfter: new Date('2051-06-01T00:00:00Z') });
    expect(new Date(new X509Certificate(generated.cert).validTo).toISOString()).toBe('2051-06-01T00:00:00.000Z');
  });

  test('each call makes a new key and serial', () => {
    const first = new X509Certificate(generate('a.test').cert);
    const second = new X509Certificate(generate('a.test').cert);
    expect(first.serialNumber).not.toBe(second.serialNumber);
    expect(first.publicKey.export({ format: 'jwk' })).not.toEqual(second.publicKey.export({ format: 'jwk' }));
  });
});
