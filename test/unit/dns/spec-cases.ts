/**
 * The DNS spec table: fixture objects (fixtures.ts) → question → rcode and
 * the answer, authority and additional sections as zone-file lines, written
 * from the Kubernetes DNS schema and CoreDNS's behaviour
 * (../shared/reference/dns.md). The unit test runs it against the pure
 * answer builder; the live test runs it against `kplane dns` fed by the
 * real API store, with a fake upstream holding `upstreamZone`.
 */
import type { PodsMode } from '../../../dns/answer.ts';

export interface SpecCase {
  name: string;
  /** Without the trailing dot; letter case is part of the question. */
  qname: string;
  qtype: string;
  rcode: 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED';
  answer?: readonly string[];
  ns?: readonly string[];
  extra?: readonly string[];
  /** The pods mode the row needs; rows without one hold in every mode. */
  pods?: PodsMode;
  /** Needs objects the live store cannot hold (see unitOnlyObjects). */
  unitOnly?: boolean;
  /** Not the cluster's to answer: the builder says "forward", the live server answers from upstreamZone. */
  forward?: true;
  /** An ExternalName chain leaving the zone: `answer` is the chain, then upstreamZone's records for this target. */
  external?: string;
}

/** The zone's SOA as negative answers carry it (serial from fixtures.ts). */
export const soa = 'cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1499347823 7200 1800 86400 5';
/** The address the tables give the server itself (ns.dns.<zone>); the live test substitutes its listen address. */
export const nameserverIp = '10.96.0.10';

/** What the fake upstream of the live test knows; anything else is NXDOMAIN there. */
export const upstreamZone = [
  'ext.interwebs.test. 60 IN A 1.2.3.4',
  '1.1.1.1.in-addr.arpa. 60 IN PTR one.one.one.one.',
  'example.com. 60 IN A 93.184.216.34',
];

const svc1A = 'svc1.testns.svc.cluster.local. 5 IN A 10.96.0.11';
const nodata = { rcode: 'NOERROR', ns: [soa] } as const;
const nxdomain = { rcode: 'NXDOMAIN', ns: [soa] } as const;

export const specCases: SpecCase[] = [
  // ClusterIP services (spec 2.3)
  { name: 'A for a ClusterIP service', qname: 'svc1.testns.svc.cluster.local', qtype: 'A', rcode: 'NOERROR', answer: [svc1A] },
  { name: 'A for a ClusterIP service without endpoints', qname: 'svcempty.testns.svc.cluster.local', qtype: 'A', rcode: 'NOERROR', answer: ['svcempty.testns.svc.cluster.local. 5 IN A 10.96.0.12'] },
  { name: 'A for a service without ports', qname: 'svc-noports.testns.svc.cluster.local', qtype: 'A', rcode: 'NOERROR', unitOnly: true, answer: ['svc-noports.testns.svc.cluster.local. 5 IN A 10.96.0.13'] },
  { name: 'NODATA for AAAA of an IPv4-only service', qname: 'svc1.testns.svc.cluster.local', qtype: 'AAAA', ...nodata },
  { name: 'NODATA for TXT of a service', qname: 'svc1.testns.svc.cluster.local', qtype: 'TXT', ...nodata },
  { name: 'NODATA for MX of a service', qname: 'svc1.testns.svc.cluster.local', qtype: 'MX', ...nodata },
  { name: 'NODATA for SOA below the apex', qname: 'svc1.testns.svc.cluster.local', qtype: 'SOA', ...nodata },
  { name: 'NODATA for CNAME of a ClusterIP service', qname: 'svc1.testns.svc.cluster.local', qtype: 'CNAME', ...nodata },
  { name: 'NODATA for an unsupported type of an existing name', qname: 'svc1.testns.svc.cluster.local', qtype: 'HINFO', ...nodata },
  { name: 'NODATA for PTR of a forward name', qname: 'svc1.testns.svc.cluster.local', qtype: 'PTR', ...nodata },
  {
    name: 'SRV on the bare service name lists its ports',
    qname: 'svc1.testns.svc.cluster.local',
    qtype: 'SRV',
    rcode: 'NOERROR',
    answer: ['svc1.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc1.testns.svc.cluster.local.'],
    extra: [svc1A],
  },
  {
    name: 'SRV for a named port with the address in additional',
    qname: '_http._tcp.svc1.testns.svc.cluster.local',
    qtype: 'SRV',
    rcode: 'NOERROR',
    answer: ['_http._tcp.svc1.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc1.testns.svc.cluster.local.'],
    extra: [svc1A],
  },
  { name: 'NXDOMAIN for SRV of an unknown port name', qname: '_https._tcp.svc1.testns.svc.cluster.local', qtype: 'SRV', ...nxdomain },
  { name: 'NXDOMAIN for SRV of the wrong protocol', qname: '_http._udp.svc1.testns.svc.cluster.local', qtype: 'SRV', ...nxdomain },
  {
    name: 'A on a _port._proto name answers the cluster IP',
    qname: '_http._tcp.svc1.testns.svc.cluster.local',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['_http._tcp.svc1.testns.svc.cluster.local. 5 IN A 10.96.0.11'],
  },
  { name: 'NODATA for SRV of a service without ports', qname: 'svc-noports.testns.svc.cluster.local', qtype: 'SRV', unitOnly: true, ...nodata },
  {
    name: 'SRV on the bare name of a 3-port service weighs each 33',
    qname: 'svc-multi.testns.svc.cluster.local',
    qtype: 'SRV',
    rcode: 'NOERROR',
    answer: [
      'svc-multi.testns.svc.cluster.local. 5 IN SRV 0 33 80 svc-multi.testns.svc.cluster.local.',
      'svc-multi.testns.svc.cluster.local. 5 IN SRV 0 33 53 svc-multi.testns.svc.cluster.local.',
      'svc-multi.testns.svc.cluster.local. 5 IN SRV 0 33 8080 svc-multi.testns.svc.cluster.local.',
    ],
    extra: ['svc-multi.testns.svc.cluster.local. 5 IN A 10.96.0.14'],
  },
  {
    name: 'SRV on the bare name includes an unnamed port',
    qname: 'svc-unnamed.testns.svc.cluster.local',
    qtype: 'SRV',
    rcode: 'NOERROR',
    answer: ['svc-unnamed.testns.svc.cluster.local. 5 IN SRV 0 100 8080 svc-unnamed.testns.svc.cluster.local.'],
    extra: ['svc-unnamed.testns.svc.cluster.local. 5 IN A 10.96.0.16'],
  },
  { name: 'NXDOMAIN for SRV by name of a service whose port has none', qname: '_http._tcp.svc-unnamed.testns.svc.cluster.local', qtype: 'SRV', ...nxdomain },
  {
    name: 'SRV for a UDP port',
    qname: '_dns._udp.svc-multi.testns.svc.cluster.local',
    qtype: 'SRV',
    rcode: 'NOERROR',
    answer: ['_dns._udp.svc-multi.testns.svc.cluster.local. 5 IN SRV 0 100 53 svc-multi.testns.svc.cluster.local.'],
    extra: ['svc-multi.testns.svc.cluster.local. 5 IN A 10.96.0.14'],
  },
  { name: 'NXDOMAIN for a missing service', qname: 'svc0.testns.svc.cluster.local', qtype: 'A', ...nxdomain },
  { name: 'NXDOMAIN for AAAA of a missing service', qname: 'svc0.testns.svc.cluster.local', qtype: 'AAAA', ...nxdomain },
  { name: 'NXDOMAIN for a service in a missing namespace', qname: 'svc1.nsnoexist.svc.cluster.local', qtype: 'A', ...nxdomain },
  { name: 'NXDOMAIN for a name under a missing service', qname: 'bogus.svc0.testns.svc.cluster.local', qtype: 'A', ...nxdomain },
  { name: 'NXDOMAIN for a name too long for the schema', qname: 'a.b.c.svc1.testns.svc.cluster.local', qtype: 'A', ...nxdomain },
  { name: 'NXDOMAIN for a wildcard label', qname: '*.testns.svc.cluster.local', qtype: 'A', ...nxdomain },
  {
    name: 'A for an endpoint hostname under a ClusterIP service',
    qname: 'ep1a.svc1.testns.svc.cluster.local',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['ep1a.svc1.testns.svc.cluster.local. 5 IN A 172.0.0.1'],
  },
  { name: 'NXDOMAIN for the dashed IP of an endpoint that has a hostname', qname: '172-0-0-1.svc1.testns.svc.cluster.local', qtype: 'A', ...nxdomain },
  { name: 'A of a dual-stack service', qname: 'svc-dual-stack.testns.svc.cluster.local', qtype: 'A', rcode: 'NOERROR', unitOnly: true, answer: ['svc-dual-stack.testns.svc.cluster.local. 5 IN A 10.96.0.15'] },
  { name: 'AAAA of a dual-stack service', qname: 'svc-dual-stack.testns.svc.cluster.local', qtype: 'AAAA', rcode: 'NOERROR', unitOnly: true, answer: ['svc-dual-stack.testns.svc.cluster.local. 5 IN AAAA 10::3'] },
  {
    name: 'SRV of a dual-stack service weighs 50 and glues both families',
    qname: 'svc-dual-stack.testns.svc.cluster.local',
    qtype: 'SRV',
    rcode: 'NOERROR',
    unitOnly: true,
    answer: ['svc-dual-stack.testns.svc.cluster.local. 5 IN SRV 0 50 80 svc-dual-stack.testns.svc.cluster.local.'],
    extra: ['svc-dual-stack.testns.svc.cluster.local. 5 IN A 10.96.0.15', 'svc-dual-stack.testns.svc.cluster.local. 5 IN AAAA 10::3'],
  },
  { name: 'AAAA of an IPv6 service', qname: 'svc6.testns.svc.cluster.local', qtype: 'AAAA', rcode: 'NOERROR', unitOnly: true, answer: ['svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::1'] },
  { name: 'NODATA for A of an IPv6 service', qname: 'svc6.testns.svc.cluster.local', qtype: 'A', unitOnly: true, ...nodata },

  // Headless services (spec 2.4)
  {
    name: 'A for a headless service lists each ready IPv4 endpoint',
    qname: 'hdls1.testns.svc.cluster.local',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['172.0.0.2', '172.0.0.3', '172.0.0.4', '172.0.0.5'].map((ip) => `hdls1.testns.svc.cluster.local. 5 IN A ${ip}`),
  },
  {
    name: 'AAAA for a headless service lists each ready IPv6 endpoint',
    qname: 'hdls1.testns.svc.cluster.local',
    qtype: 'AAAA',
    rcode: 'NOERROR',
    answer: ['5678:abcd::1', '5678:abcd::2'].map((ip) => `hdls1.testns.svc.cluster.local. 5 IN AAAA ${ip}`),
  },
  {
    name: 'SRV for a headless service: one per endpoint name, weight 16 for 6 entries, glue for every address',
    qname: '_http._tcp.hdls1.testns.svc.cluster.local',
    qtype: 'SRV',
    rcode: 'NOERROR',
    answer: ['172-0-0-2', '172-0-0-3', 'dup-name', '5678-abcd--1', '5678-abcd--2'].map(
      (name) => `_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 ${name}.hdls1.testns.svc.cluster.local.`,
    ),
    extra: [
      '172-0-0-2.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2',
      '172-0-0-3.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.3',
      'dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4',
      'dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.5',
      '5678-abcd--1.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1',
      '5678-abcd--2.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2',
    ],
  },
  { name: 'A for a dashed-IP endpoint name', qname: '172-0-0-2.hdls1.testns.svc.cluster.local', qtype: 'A', rcode: 'NOERROR', answer: ['172-0-0-2.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2'] },
  {
    name: 'AAAA for a dashed IPv6 endpoint name',
    qname: '5678-abcd--1.hdls1.testns.svc.cluster.local',
    qtype: 'AAAA',
    rcode: 'NOERROR',
    answer: ['5678-abcd--1.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1'],
  },
  { name: 'NODATA for A of an IPv6 endpoint name', qname: '5678-abcd--1.hdls1.testns.svc.cluster.local', qtype: 'A', ...nodata },
  {
    name: 'A for a shared endpoint hostname lists every address',
    qname: 'dup-name.hdls1.testns.svc.cluster.local',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4', 'dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.5'],
  },
  { name: 'NXDOMAIN for an unknown endpoint', qname: 'bogusendpoint.hdls1.testns.svc.cluster.local', qtype: 'A', ...nxdomain },
  { name: 'NXDOMAIN for a not-ready endpoint', qname: '172-0-0-6.hdls1.testns.svc.cluster.local', qtype: 'A', ...nxdomain },
  { name: 'A for a headless service without ports', qname: 'hdlsprtls.testns.svc.cluster.local', qtype: 'A', rcode: 'NOERROR', answer: ['hdlsprtls.testns.svc.cluster.local. 5 IN A 172.0.0.20'] },
  {
    name: 'A for an endpoint of a headless service without ports',
    qname: '172-0-0-20.hdlsprtls.testns.svc.cluster.local',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['172-0-0-20.hdlsprtls.testns.svc.cluster.local. 5 IN A 172.0.0.20'],
  },
  { name: 'NODATA for SRV of a headless service without ports', qname: 'hdlsprtls.testns.svc.cluster.local', qtype: 'SRV', ...nodata },
  { name: 'NXDOMAIN for a headless service without ready endpoints', qname: 'hdls-unready.testns.svc.cluster.local', qtype: 'A', ...nxdomain },
  {
    name: 'A for not-ready endpoints of a service that publishes them',
    qname: 'hdls-pna.testns.svc.cluster.local',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['hdls-pna.testns.svc.cluster.local. 5 IN A 172.0.0.30'],
  },
  { name: 'A for a StatefulSet-style pod hostname', qname: 'web-0.web.testns.svc.cluster.local', qtype: 'A', rcode: 'NOERROR', answer: ['web-0.web.testns.svc.cluster.local. 5 IN A 172.0.1.10'] },
  {
    name: 'SRV for StatefulSet-style pods targets their hostnames',
    qname: '_http._tcp.web.testns.svc.cluster.local',
    qtype: 'SRV',
    rcode: 'NOERROR',
    answer: [
      '_http._tcp.web.testns.svc.cluster.local. 5 IN SRV 0 50 80 web-0.web.testns.svc.cluster.local.',
      '_http._tcp.web.testns.svc.cluster.local. 5 IN SRV 0 50 80 web-1.web.testns.svc.cluster.local.',
    ],
    extra: ['web-0.web.testns.svc.cluster.local. 5 IN A 172.0.1.10', 'web-1.web.testns.svc.cluster.local. 5 IN A 172.0.1.11'],
  },

  // ExternalName (spec 2.5)
  { name: 'CNAME for an ExternalName service', qname: 'external.testns.svc.cluster.local', qtype: 'CNAME', rcode: 'NOERROR', answer: ['external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test.'] },
  {
    name: 'A for an ExternalName outside the zone is the CNAME then the upstream answer',
    qname: 'external.testns.svc.cluster.local',
    qtype: 'A',
    rcode: 'NOERROR',
    external: 'ext.interwebs.test',
    answer: ['external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test.'],
  },
  {
    name: 'A for an ExternalName inside the zone is chased',
    qname: 'external-to-service.testns.svc.cluster.local',
    qtype: 'A',
    rcode: 'NOERROR',
    answer: ['external-to-service.testns.svc.cluster.local. 5 IN CNAME svc1.testns.svc.cluster.local.', svc1A],
  },
  { name: 'NODATA when the in-zone CNAME target lacks the type', qname: 'external-to-service.testns.svc.cluster.local', qtype: 'AAAA', ...nodata },
  { name: 'NODATA for SRV of an ExternalName', qname: 'external.testns.svc.cluster.local', qtype: 'SRV', ...nodata },
  { name: 'NXDOMAIN below an ExternalName', qname: 'endpoint.external.testns.svc.cluster.local', qtype: 'CNAME', ...nxdomain },
  { name: 'NXDOMAIN for an ExternalName that is an IP', qname: 'external-ip.testns.svc.cluster.local', qtype: 'A', ...nxdomain },
  { name: 'NODATA for a CNAME loop', qname: 'loop-a.testns.svc.cluster.local', qtype: 'A', ...nodata },

  // Pods (the pods option)
  { name: 'NXDOMAIN for a pod name when pods are disabled', qname: '172-0-0-50.testns.pod.cluster.local', qtype: 'A', pods: 'disabled', ...nxdomain },
  { name: 'NXDOMAIN for a pod namespace when pods are disabled', qname: 'testns.pod.cluster.local', qtype: 'A', pods: 'disabled', ...nxdomain },
  { name: 'A for any pod-shaped name when insecure', qname: '1-2-3-4.testns.pod.cluster.local', qtype: 'A', pods: 'insecure', rcode: 'NOERROR', answer: ['1-2-3-4.testns.pod.cluster.local. 5 IN A 1.2.3.4'] },
  { name: 'AAAA for an IPv6 pod name when insecure', qname: 'fd00--1.testns.pod.cluster.local', qtype: 'AAAA', pods: 'insecure', rcode: 'NOERROR', answer: ['fd00--1.testns.pod.cluster.local. 5 IN AAAA fd00::1'] },
  { name: 'NODATA for AAAA of an IPv4 pod name', qname: '1-2-3-4.testns.pod.cluster.local', qtype: 'AAAA', pods: 'insecure', ...nodata },
  { name: 'NXDOMAIN for a pod name in a missing namespace', qname: '1-2-3-4.nsnoexist.pod.cluster.local', qtype: 'A', pods: 'insecure', ...nxdomain },
  { name: 'NXDOMAIN for a pod label that is not an IP', qname: 'notanip.testns.pod.cluster.local', qtype: 'A', pods: 'insecure', ...nxdomain },
  { name: 'NODATA for an existing pod namespace', qname: 'testns.pod.cluster.local', qtype: 'A', pods: 'insecure', ...nodata },
  { name: 'NXDOMAIN for a missing pod namespace', qname: 'nsnoexist.pod.cluster.local', qtype: 'A', pods: 'insecure', ...nxdomain },
  { name: 'A for a pod that has the IP when verified', qname: '172-0-0-50.testns.pod.cluster.local', qtype: 'A', pods: 'verified', rcode: 'NOERROR', answer: ['172-0-0-50.testns.pod.cluster.local. 5 IN A 172.0.0.50'] },
  { name: 'NXDOMAIN for an IP no pod has when verified', qname: '1-2-3-4.testns.pod.cluster.local', qtype: 'A', pods: 'verified', ...nxdomain },
  { name: 'NXDOMAIN for a pod IP in another namespace when verified', qname: '172-0-0-50.emptyns.pod.cluster.local', qtype: 'A', pods: 'verified', ...nxdomain },

  // The zone itself and the schema's fixed names
  { name: 'SOA at the apex', qname: 'cluster.local', qtype: 'SOA', rcode: 'NOERROR', answer: [soa] },
  {
    name: 'NS at the apex with glue',
    qname: 'cluster.local',
    qtype: 'NS',
    rcode: 'NOERROR',
    answer: ['cluster.local. 5 IN NS ns.dns.cluster.local.'],
    extra: [`ns.dns.cluster.local. 5 IN A ${nameserverIp}`],
  },
  { name: 'NODATA for A at the apex', qname: 'cluster.local', qtype: 'A', ...nodata },
  { name: 'A for the name server', qname: 'ns.dns.cluster.local', qtype: 'A', rcode: 'NOERROR', answer: [`ns.dns.cluster.local. 5 IN A ${nameserverIp}`] },
  { name: 'TXT dns-version', qname: 'dns-version.cluster.local', qtype: 'TXT', rcode: 'NOERROR', answer: ['dns-version.cluster.local. 28800 IN TXT "1.1.0"'] },
  { name: 'NODATA for other types of dns-version', qname: 'dns-version.cluster.local', qtype: 'A', ...nodata },
  { name: 'NODATA for svc.<zone>', qname: 'svc.cluster.local', qtype: 'A', ...nodata },
  { name: 'NODATA for pod.<zone>', qname: 'pod.cluster.local', qtype: 'A', ...nodata },
  { name: 'NODATA for an existing namespace', qname: 'testns.svc.cluster.local', qtype: 'A', ...nodata },
  { name: 'NODATA for a namespace without services', qname: 'emptyns.svc.cluster.local', qtype: 'A', ...nodata },
  { name: 'NODATA for NS of an existing namespace', qname: 'testns.svc.cluster.local', qtype: 'NS', ...nodata },
  { name: 'NXDOMAIN for a missing namespace', qname: 'nsnoexist.svc.cluster.local', qtype: 'A', ...nxdomain },
  { name: 'NXDOMAIN for NS of a missing namespace', qname: 'foo.svc.cluster.local', qtype: 'NS', ...nxdomain },
  { name: 'NXDOMAIN for an unknown section', qname: 'foo.cluster.local', qtype: 'A', ...nxdomain },
  { name: 'REFUSED for a zone transfer', qname: 'cluster.local', qtype: 'AXFR', rcode: 'REFUSED' },

  // Letter case (spec 2.1: case-insensitive, owner names echo the query)
  { name: 'owner names keep the query case', qname: 'SvC1.TeStNs.SvC.cLuStEr.LoCaL', qtype: 'A', rcode: 'NOERROR', answer: ['SvC1.TeStNs.SvC.cLuStEr.LoCaL. 5 IN A 10.96.0.11'] },
  {
    name: 'SRV targets keep the zone as asked and the object names as stored',
    qname: '_HtTp._TcP.sVc1.TeStNs.SvC.cLuStEr.LoCaL',
    qtype: 'SRV',
    rcode: 'NOERROR',
    answer: ['_HtTp._TcP.sVc1.TeStNs.SvC.cLuStEr.LoCaL. 5 IN SRV 0 100 80 svc1.testns.svc.cLuStEr.LoCaL.'],
    extra: ['svc1.testns.svc.cLuStEr.LoCaL. 5 IN A 10.96.0.11'],
  },
  {
    name: 'the SOA of a negative answer names the zone as asked',
    qname: 'MiSsInG.TeStNs.SvC.cLuStEr.LoCaL',
    qtype: 'A',
    rcode: 'NXDOMAIN',
    ns: ['cLuStEr.LoCaL. 5 IN SOA ns.dns.cLuStEr.LoCaL. hostmaster.cLuStEr.LoCaL. 1499347823 7200 1800 86400 5'],
  },

  // Reverse (PTR) for cluster IPs and endpoint IPs
  { name: 'PTR for a cluster IP', qname: '11.0.96.10.in-addr.arpa', qtype: 'PTR', rcode: 'NOERROR', answer: ['11.0.96.10.in-addr.arpa. 5 IN PTR svc1.testns.svc.cluster.local.'] },
  {
    name: 'PTR for a headless endpoint IP',
    qname: '2.0.0.172.in-addr.arpa',
    qtype: 'PTR',
    rcode: 'NOERROR',
    answer: ['2.0.0.172.in-addr.arpa. 5 IN PTR 172-0-0-2.hdls1.testns.svc.cluster.local.'],
  },
  {
    name: 'PTR for an endpoint of a ClusterIP service uses its hostname',
    qname: '1.0.0.172.in-addr.arpa',
    qtype: 'PTR',
    rcode: 'NOERROR',
    answer: ['1.0.0.172.in-addr.arpa. 5 IN PTR ep1a.svc1.testns.svc.cluster.local.'],
  },
  {
    name: 'PTR for an IPv6 endpoint IP',
    qname: '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.8.7.6.5.ip6.arpa',
    qtype: 'PTR',
    rcode: 'NOERROR',
    answer: ['1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.8.7.6.5.ip6.arpa. 5 IN PTR 5678-abcd--1.hdls1.testns.svc.cluster.local.'],
  },
  {
    name: 'PTR for an IPv6 cluster IP',
    qname: '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa',
    qtype: 'PTR',
    rcode: 'NOERROR',
    unitOnly: true,
    answer: ['1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa. 5 IN PTR svc6.testns.svc.cluster.local.'],
  },
  {
    name: 'NODATA with the reverse zone SOA for other types of a known reverse name',
    qname: '11.0.96.10.in-addr.arpa',
    qtype: 'A',
    rcode: 'NOERROR',
    ns: ['in-addr.arpa. 5 IN SOA ns.dns.in-addr.arpa. hostmaster.in-addr.arpa. 1499347823 7200 1800 86400 5'],
  },
  { name: 'an unknown reverse name goes upstream', qname: '1.1.1.1.in-addr.arpa', qtype: 'PTR', rcode: 'NOERROR', forward: true, answer: ['1.1.1.1.in-addr.arpa. 60 IN PTR one.one.one.one.'] },
  { name: 'a partial reverse name goes upstream', qname: '10.in-addr.arpa', qtype: 'PTR', rcode: 'NXDOMAIN', forward: true },

  // Outside the zone
  { name: 'a name outside the zone goes upstream', qname: 'example.com', qtype: 'A', rcode: 'NOERROR', forward: true, answer: ['example.com. 60 IN A 93.184.216.34'] },
];
