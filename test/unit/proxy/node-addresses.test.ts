import { expect, test } from 'vitest';
import { nodePortAddresses } from '../../../proxy/node-addresses.ts';

const interfaces = [
  { address: '127.0.0.1', family: 'IPv4', internal: true },
  { address: '192.168.0.2', family: 'IPv4', internal: false },
  { address: '10.0.0.1', family: 'IPv4', internal: false },
  { address: '192.168.0.10', family: 'IPv4', internal: false },
  { address: 'fd00::2', family: 'IPv6', internal: false },
];

test.each([
  { name: 'no CIDRs: every local address (undefined)', cidrs: [], addresses: undefined },
  { name: 'one CIDR: the addresses inside it, sorted', cidrs: ['192.168.0.0/24'], addresses: ['192.168.0.2', '192.168.0.10'] },
  { name: 'several CIDRs', cidrs: ['10.0.0.0/8', '192.168.0.2/32'], addresses: ['10.0.0.1', '192.168.0.2'] },
  { name: 'loopback never takes NodePorts', cidrs: ['127.0.0.0/8'], addresses: [] },
  { name: 'no address matches: none', cidrs: ['172.16.0.0/12'], addresses: [] },
])('$name', ({ cidrs, addresses }) => {
  expect(nodePortAddresses(cidrs, interfaces)).toEqual(addresses);
});
