import { describe, expect, test } from 'vitest';
import { parseName, type ParsedName } from '../../../dns/parse.ts';

const cases: { name: string; qname: string; parsed: ParsedName }[] = [
  { name: 'the zone is the apex', qname: 'cluster.local', parsed: { kind: 'apex' } },
  { name: 'ns.dns is the name server', qname: 'ns.dns.cluster.local', parsed: { kind: 'nameserver' } },
  { name: 'dns exists only above ns.dns', qname: 'dns.cluster.local', parsed: { kind: 'empty-nonterminal' } },
  { name: 'other names under dns are invalid', qname: 'x.dns.cluster.local', parsed: { kind: 'invalid' } },
  { name: 'the schema version', qname: 'dns-version.cluster.local', parsed: { kind: 'dns-version' } },
  { name: 'the svc section', qname: 'svc.cluster.local', parsed: { kind: 'section', section: 'svc' } },
  { name: 'the pod section', qname: 'pod.cluster.local', parsed: { kind: 'section', section: 'pod' } },
  { name: 'a namespace of services', qname: 'ns1.svc.cluster.local', parsed: { kind: 'namespace', section: 'svc', namespace: 'ns1' } },
  { name: 'a service', qname: 'web.ns1.svc.cluster.local', parsed: { kind: 'service', namespace: 'ns1', service: 'web', endpoint: '', port: '', protocol: '' } },
  { name: 'an endpoint', qname: 'web-0.web.ns1.svc.cluster.local', parsed: { kind: 'service', namespace: 'ns1', service: 'web', endpoint: 'web-0', port: '', protocol: '' } },
  { name: 'a port and protocol, underscores stripped', qname: '_http._tcp.web.ns1.svc.cluster.local', parsed: { kind: 'service', namespace: 'ns1', service: 'web', endpoint: '', port: 'http', protocol: 'tcp' } },
  { name: 'two labels without underscores are still port and protocol', qname: 'http.tcp.web.ns1.svc.cluster.local', parsed: { kind: 'service', namespace: 'ns1', service: 'web', endpoint: '', port: 'http', protocol: 'tcp' } },
  { name: 'three extra labels are too long', qname: 'a._http._tcp.web.ns1.svc.cluster.local', parsed: { kind: 'invalid' } },
  { name: 'a pod', qname: '10-0-0-1.ns1.pod.cluster.local', parsed: { kind: 'pod', namespace: 'ns1', label: '10-0-0-1' } },
  { name: 'more labels under a pod are invalid', qname: 'x.10-0-0-1.ns1.pod.cluster.local', parsed: { kind: 'invalid' } },
  { name: 'an unknown section', qname: 'foo.cluster.local', parsed: { kind: 'invalid' } },
  { name: 'a name ending in the zone text but not under it', qname: 'notcluster.local', parsed: { kind: 'outside' } },
  { name: 'another zone', qname: 'example.com', parsed: { kind: 'outside' } },
  { name: 'the root', qname: '', parsed: { kind: 'outside' } },
  { name: 'a complete IPv4 reverse name', qname: '4.3.2.1.in-addr.arpa', parsed: { kind: 'reverse', zone: 'in-addr.arpa', ip: '1.2.3.4' } },
  { name: 'a partial IPv4 reverse name', qname: '2.1.in-addr.arpa', parsed: { kind: 'reverse-other', zone: 'in-addr.arpa' } },
  { name: 'an IPv4 reverse label out of range', qname: '256.3.2.1.in-addr.arpa', parsed: { kind: 'reverse-other', zone: 'in-addr.arpa' } },
  { name: 'an IPv4 reverse label with a leading zero', qname: '04.3.2.1.in-addr.arpa', parsed: { kind: 'reverse-other', zone: 'in-addr.arpa' } },
  {
    name: 'a complete IPv6 reverse name',
    qname: '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa',
    parsed: { kind: 'reverse', zone: 'ip6.arpa', ip: '2001:db8::1' },
  },
  { name: 'a partial IPv6 reverse name', qname: '8.b.d.0.1.0.0.2.ip6.arpa', parsed: { kind: 'reverse-other', zone: 'ip6.arpa' } },
  { name: 'the reverse zone itself', qname: 'in-addr.arpa', parsed: { kind: 'reverse-other', zone: 'in-addr.arpa' } },
];

describe('parseName', () => {
  test.each(cases)('$name: $qname', ({ qname, parsed }) => {
    expect(parseName(qname, 'cluster.local')).toEqual(parsed);
  });

  test('works for any zone', () => {
    expect(parseName('web.ns1.svc.k8s.example.org', 'k8s.example.org')).toMatchObject({ kind: 'service', service: 'web' });
    expect(parseName('web.ns1.svc.cluster.local', 'k8s.example.org')).toEqual({ kind: 'outside' });
  });
});
