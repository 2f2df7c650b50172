import { describe, expect, test } from 'vitest';
import type { Ingress } from '../../../controlplane/api/types.ts';
import { loadBalancerIngress, statusUpdates } from '../../../ingress/status.ts';
import { makeIngress } from './builders.ts';

const withStatus = (name: string, ingress: { ip?: string; hostname?: string }[] | undefined): Ingress => ({
  ...makeIngress(name),
  ...(ingress === undefined ? {} : { status: { loadBalancer: { ingress } } }),
});

describe('published addresses', () => {
  test('IPs become ip, names become hostname, in flag order', () => {
    expect(loadBalancerIngress(['10.0.0.1', 'lb.example.com', 'fd00::1'])).toEqual([{ ip: '10.0.0.1' }, { hostname: 'lb.example.com' }, { ip: 'fd00::1' }]);
  });
});

describe('which owned Ingresses need a status write', () => {
  const desired = loadBalancerIngress(['10.0.0.1', '10.0.0.2']);
  test.each([
    { name: 'no status yet', ingress: withStatus('a', undefined), write: true },
    { name: 'an empty list', ingress: withStatus('a', []), write: true },
    { name: 'other addresses', ingress: withStatus('a', [{ ip: '10.9.9.9' }]), write: true },
    { name: 'one address missing', ingress: withStatus('a', [{ ip: '10.0.0.1' }]), write: true },
    { name: 'the same addresses', ingress: withStatus('a', [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }]), write: false },
    { name: 'the same addresses in another order', ingress: withStatus('a', [{ ip: '10.0.0.2' }, { ip: '10.0.0.1' }]), write: false },
  ])('$name → write: $write', ({ ingress, write }) => {
    expect(statusUpdates([ingress], desired).length > 0).toBe(write);
  });

  test('nothing to publish writes nothing, not even a clear', () => {
    expect(statusUpdates([withStatus('a', [{ ip: '10.0.0.1' }]), withStatus('b', undefined)], [])).toEqual([]);
  });
});
