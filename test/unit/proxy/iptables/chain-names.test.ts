import { describe, expect, test } from 'vitest';
import { chains, endpointChain, hashChainSuffix, isServiceChain, MAX_CHAIN_NAME_LENGTH, servicePortChains } from '../../../../proxy/iptables/chain-names.ts';

describe('chain names', () => {
  // Vectors from kube-proxy's tests (TestOverallIPTablesRules and the hash tests), reproduced with its KUBE- prefix.
  test.each([
    { name: 'hash of ns1/svc1:p80 + tcp', input: 'ns1/svc1:p80tcp', hash: 'XPGD46QRK7WJZT7O' },
    { name: 'hash with the endpoint', input: 'ns1/svc1:p80tcp10.180.0.1:80', hash: 'SXIVWICOYRO3J4NJ' },
  ])('$name', ({ input, hash }) => {
    expect(hashChainSuffix(input)).toBe(hash);
  });

  test.each([
    { port: 'ns2/svc2:p80', svc: 'KUBE-SVC-GNZBNJ2PO5MGZ6GT', ext: 'KUBE-EXT-GNZBNJ2PO5MGZ6GT' },
    { port: 'ns3/svc3:p80', svc: 'KUBE-SVC-X27LE4BHSL4DOUIK', ext: 'KUBE-EXT-X27LE4BHSL4DOUIK' },
    { port: 'ns4/svc4:p80', svc: 'KUBE-SVC-4SW47YFZTEDKD3PK', ext: 'KUBE-EXT-4SW47YFZTEDKD3PK' },
    { port: 'ns5/svc5:p80', svc: 'KUBE-SVC-NUKIZ6OKUXPJNT4C', ext: 'KUBE-EXT-NUKIZ6OKUXPJNT4C' },
  ])('$port hashes to kube-proxy\'s $svc', ({ port, svc, ext }) => {
    const names = servicePortChains(port, 'TCP', 'KUBE-');
    expect(names.svc).toBe(svc);
    expect(names.ext).toBe(ext);
    expect(names.fw).toBe(svc.replace('KUBE-SVC-', 'KUBE-FW-'));
    expect(names.svl).toBe(svc.replace('KUBE-SVC-', 'KUBE-SVL-'));
  });

  test.each([
    { port: 'ns4/svc4:p80', endpoint: '10.180.0.4:80', chain: 'KUBE-SEP-UKSFD7AGPMPPLUHC' },
    { port: 'ns4/svc4:p80', endpoint: '10.180.0.5:80', chain: 'KUBE-SEP-C6EBXVWJJZMIWKLZ' },
    { port: 'ns5/svc5:p80', endpoint: '10.180.0.3:80', chain: 'KUBE-SEP-I77PXRDZVX7PMWMN' },
  ])('$port -> $endpoint is kube-proxy\'s $chain', ({ port, endpoint, chain }) => {
    expect(endpointChain(port, 'tcp', endpoint, 'KUBE-')).toBe(chain);
  });

  test('kplane prefixes the same hashes', () => {
    expect(servicePortChains('ns1/svc1:p80', 'TCP')).toEqual({
      svc: 'KPLANE-SVC-XPGD46QRK7WJZT7O',
      svl: 'KPLANE-SVL-XPGD46QRK7WJZT7O',
      ext: 'KPLANE-EXT-XPGD46QRK7WJZT7O',
      fw: 'KPLANE-FW-XPGD46QRK7WJZT7O',
    });
    expect(endpointChain('ns1/svc1:p80', 'TCP', '10.180.0.1:80')).toBe('KPLANE-SEP-SXIVWICOYRO3J4NJ');
  });

  test('every name fits the 28-character iptables limit', () => {
    const names = [...Object.values(chains), ...Object.values(servicePortChains('ns/a-very-long-service-name:a-long-port-name', 'SCTP')), endpointChain('ns/x:y', 'udp', '255.255.255.255:65535')];
    for (const name of names) expect(name.length, name).toBeLessThanOrEqual(MAX_CHAIN_NAME_LENGTH);
  });

  test.each([
    ['KPLANE-SVC-XPGD46QRK7WJZT7O', true],
    ['KPLANE-SEP-SXIVWICOYRO3J4NJ', true],
    ['KPLANE-FW-NUKIZ6OKUXPJNT4C', true],
    ['KPLANE-SERVICES', false],
    ['KPLANE-PROXY-CANARY', false],
    ['KUBE-SVC-XPGD46QRK7WJZT7O', false],
  ])('isServiceChain(%s) is %s', (chain, expected) => {
    expect(isServiceChain(chain)).toBe(expected);
  });
});
