import { describe, expect, test } from 'vitest';
import { UsageError } from '../../../../common/errors.ts';
import { IpRange, formatIp, parseCidr, parseIp } from '../../../../controlplane/allocators/ip-range.ts';

describe('parseIp', () => {
  test.each([
    { name: 'IPv4', text: '10.96.0.1', parsed: { family: 'IPv4', value: 0x0a600001n } },
    { name: 'IPv6', text: 'fd00::1', parsed: { family: 'IPv6', value: (0xfd00n << 112n) + 1n } },
    { name: 'a CIDR is not an address', text: '10.0.0.0/24', parsed: undefined },
    { name: 'an IPv6 zone is not allowed', text: 'fe80::1%eth0', parsed: undefined },
    { name: 'an octet above 255', text: '10.0.0.256', parsed: undefined },
    { name: 'three octets', text: '10.0.1', parsed: undefined },
    { name: 'an empty string', text: '', parsed: undefined },
  ])('$name', ({ text, parsed }) => {
    expect(parseIp(text)).toEqual(parsed);
  });
});

describe('parseCidr', () => {
  test.each([
    { name: 'clears host bits', text: '10.96.5.5/12', parsed: { family: 'IPv4', network: 0x0a600000n, prefix: 12, bits: 32 } },
    { name: 'IPv6', text: 'fd00::/108', parsed: { family: 'IPv6', network: 0xfd00n << 112n, prefix: 108, bits: 128 } },
    { name: 'a prefix longer than the address', text: '10.0.0.0/33', parsed: undefined },
    { name: 'no prefix', text: '10.0.0.0', parsed: undefined },
    { name: 'a non-numeric prefix', text: '10.0.0.0/x', parsed: undefined },
  ])('$name', ({ text, parsed }) => {
    expect(parseCidr(text)).toEqual(parsed);
  });
});

test.each([
  { name: 'IPv4 dotted quad', family: 'IPv4' as const, value: 0x0a000001n, text: '10.0.0.1' },
  { name: 'IPv6 in compressed form', family: 'IPv6' as const, value: (0xfd00n << 112n) + 0x101n, text: 'fd00::101' },
])('formatIp: $name', ({ family, value, text }) => {
  expect(formatIp(family, value)).toBe(text);
});

describe('IpRange layout', () => {
  test.each([
    { name: 'a /12 has a 256-address static band', cidr: '10.96.0.0/12', canonical: '10.96.0.0/12', size: 1048574, band: 256, first: '10.96.0.1', dynamic: '10.96.1.1' },
    { name: 'a /24 has a 16-address static band', cidr: '10.0.0.0/24', canonical: '10.0.0.0/24', size: 254, band: 16, first: '10.0.0.1', dynamic: '10.0.0.17' },
    { name: 'a /27 still gets the 16-address minimum', cidr: '10.0.0.0/27', canonical: '10.0.0.0/27', size: 30, band: 16, first: '10.0.0.1', dynamic: '10.0.0.17' },
    { name: 'a /28 is too small for a band', cidr: '10.0.0.0/28', canonical: '10.0.0.0/28', size: 14, band: 0, first: '10.0.0.1', dynamic: '10.0.0.1' },
    { name: 'a /29 has 6 usable addresses', cidr: '192.168.1.0/29', canonical: '192.168.1.0/29', size: 6, band: 0, first: '192.168.1.1', dynamic: '192.168.1.1' },
    { name: 'host bits in the CIDR are ignored', cidr: '10.96.7.7/12', canonical: '10.96.0.0/12', size: 1048574, band: 256, first: '10.96.0.1', dynamic: '10.96.1.1' },
    { name: 'an IPv6 /108 is capped at 65535 addresses', cidr: 'fd00::/108', canonical: 'fd00::/108', size: 65535, band: 256, first: 'fd00::1', dynamic: 'fd00::101' },
    { name: 'an IPv6 /120 keeps its last address (no broadcast)', cidr: 'fd00::/120', canonical: 'fd00::/120', size: 255, band: 16, first: 'fd00::1', dynamic: 'fd00::11' },
  ])('$name', ({ cidr, canonical, size, band, first, dynamic }) => {
    const range = new IpRange(cidr);
    expect([range.cidr, range.size, range.staticBand, range.first]).toEqual([canonical, size, band, first]);
    expect(range.allocate()).toBe(dynamic);
  });

  test('a /31 has no usable address', () => {
    const range = new IpRange('10.0.0.0/31');
    expect([range.size, range.first, range.allocate()]).toEqual([0, undefined, undefined]);
  });

  test.each([
    { name: 'text that is not a CIDR', cidr: 'ten-ninety-six' },
    { name: 'an IPv4 range over 20 host bits', cidr: '10.0.0.0/8' },
  ])('rejects $name', ({ cidr }) => {
    expect(() => new IpRange(cidr)).toThrow(UsageError);
  });
});

describe('IpRange allocation', () => {
  test('a /29 hands out its six host addresses, never network or broadcast, then is exhausted', () => {
    const range = new IpRange('192.168.1.0/29');
    const ips = Array.from({ length: 7 }, () => range.allocate());
    expect(ips).toEqual(['192.168.1.1', '192.168.1.2', '192.168.1.3', '192.168.1.4', '192.168.1.5', '192.168.1.6', undefined]);
    expect([range.used, range.free]).toEqual([6, 0]);
  });

  test('a /24 fills its upper band before touching the static band', () => {
    const range = new IpRange('10.0.0.0/24');
    const upper = Array.from({ length: 238 }, () => range.allocate() as string);
    expect(upper.every((ip) => Number(ip.split('.')[3]) >= 17)).toBe(true);
    expect(new Set(upper).size).toBe(238);
    expect(range.allocate()).toBe('10.0.0.1');
  });

  test('10,000 dynamic allocations from a /12 are distinct and all above the static band', () => {
    const range = new IpRange('10.96.0.0/12');
    const ips = new Set(Array.from({ length: 10_000 }, () => range.allocate()));
    expect(ips.size).toBe(10_000);
    expect(range.has('10.96.0.1')).toBe(false);
    expect(range.used).toBe(10_000);
  });

  test.each([
    { name: 'a free address in the static band is granted', ip: '10.0.0.10', result: 'ok' },
    { name: 'the first address, for default/kubernetes, is granted', ip: '10.0.0.1', result: 'ok' },
    { name: 'an address already held is taken', ip: '10.0.0.5', result: 'taken' },
    { name: 'the network address is out of range', ip: '10.0.0.0', result: 'out-of-range' },
    { name: 'the broadcast address is out of range', ip: '10.0.0.255', result: 'out-of-range' },
    { name: 'an address outside the CIDR is out of range', ip: '10.0.1.1', result: 'out-of-range' },
    { name: 'an IPv6 address in an IPv4 range is out of range', ip: 'fd00::5', result: 'out-of-range' },
    { name: 'text that is not an address is out of range', ip: 'ten', result: 'out-of-range' },
  ])('allocateSpecific: $name', ({ ip, result }) => {
    const range = new IpRange('10.0.0.0/24');
    range.allocateSpecific('10.0.0.5');
    expect(range.allocateSpecific(ip)).toBe(result);
  });

  test('allocateSpecific accepts any spelling of an IPv6 address in the range', () => {
    const range = new IpRange('fd00::/108');
    expect(range.allocateSpecific('fd00:0:0:0:0:0:0:20')).toBe('ok');
    expect(range.allocateSpecific('fd00::20')).toBe('taken');
  });

  test('release returns an address, and releasing one outside the range is a no-op', () => {
    const range = new IpRange('10.0.0.0/24');
    range.allocateSpecific('10.0.0.5');
    range.release('10.1.0.5');
    expect(range.used).toBe(1);
    range.release('10.0.0.5');
    expect([range.used, range.has('10.0.0.5')]).toEqual([0, false]);
    expect(range.allocateSpecific('10.0.0.5')).toBe('ok');
  });

  test('markUsed reports an address claimed twice', () => {
    const range = new IpRange('10.0.0.0/24');
    expect([range.markUsed('10.0.0.9'), range.markUsed('10.0.0.9'), range.markUsed('10.9.9.9')]).toEqual(['ok', 'taken', 'out-of-range']);
  });

  test('contains is true for usable addresses only', () => {
    const range = new IpRange('10.0.0.0/24');
    expect(['10.0.0.0', '10.0.0.1', '10.0.0.254', '10.0.0.255'].map((ip) => range.contains(ip))).toEqual([false, true, true, false]);
  });
});
