import { describe, expect, test } from 'vitest';
import { canonicalIp, dashedIp, ipFromPodLabel, ipFromReverseLabels } from '../../../dns/ip.ts';

describe('canonicalIp', () => {
  test.each([
    { text: '10.0.0.1', ip: '10.0.0.1' },
    { text: '2001:0DB8:0000:0000:0000:0000:0000:0001', ip: '2001:db8::1' },
    { text: '2001:db8:0:0:1:0:0:1', ip: '2001:db8::1:0:0:1' },
    { text: '::', ip: '::' },
    { text: '::1', ip: '::1' },
    { text: '1::', ip: '1::' },
    { text: '2001:db8:0:1:1:1:1:1', ip: '2001:db8:0:1:1:1:1:1' },
    { text: '::ffff:1.2.3.4', ip: '::ffff:102:304' },
    { text: '010.0.0.1', ip: undefined },
    { text: 'example.com', ip: undefined },
    { text: '1:2:3:4:5:6:7:8:9', ip: undefined },
  ])('$text → $ip', ({ text, ip }) => {
    expect(canonicalIp(text)).toBe(ip);
  });
});

describe('names from addresses', () => {
  test.each([
    { ip: '172.0.0.2', dashed: '172-0-0-2' },
    { ip: '5678:abcd::1', dashed: '5678-abcd--1' },
    { ip: '2001:db8::', dashed: '2001-db8--0' },
  ])('dashed $ip → $dashed', ({ ip, dashed }) => {
    expect(dashedIp(ip)).toBe(dashed);
  });

  test.each([
    { label: '1-2-3-4', ip: '1.2.3.4' },
    { label: 'fd00--1', ip: 'fd00::1' },
    { label: '1-2-3', ip: undefined },
    { label: '1-2-3-4-5', ip: undefined },
    { label: 'notanip', ip: undefined },
    { label: '1-2-3-256', ip: undefined },
  ])('pod label $label → $ip', ({ label, ip }) => {
    expect(ipFromPodLabel(label)).toBe(ip);
  });

  test.each([
    { labels: ['11', '0', '96', '10'], zone: 'in-addr.arpa' as const, ip: '10.96.0.11' },
    { labels: '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2'.split('.'), zone: 'ip6.arpa' as const, ip: '2001:db8::1' },
    { labels: ['1', '0', '96'], zone: 'in-addr.arpa' as const, ip: undefined },
    { labels: ['x', '0', '96', '10'], zone: 'in-addr.arpa' as const, ip: undefined },
  ])('reverse labels under $zone → $ip', ({ labels, zone, ip }) => {
    expect(ipFromReverseLabels(labels, zone)).toBe(ip);
  });
});
