import { describe, expect, test } from 'vitest';
import { AnswerCache, trackingView } from '../../../dns/answer-cache.ts';
import type { Encoded } from '../../../dns/packet.ts';
import { depKey } from '../../../dns/records.ts';
import { fixtureView } from './fixtures.ts';

const encoded = (marker: number): Encoded => ({ bytes: Buffer.from([marker]), questionEnd: 1, ends: [], counts: [0, 0, 0], rcode: 0, flags: 0, serialOffsets: [] });

describe('AnswerCache', () => {
  test('drops exactly the answers that read a changed key', () => {
    const cache = new AnswerCache(10);
    cache.set('a', encoded(1), ['s/ns/a', 'n/ns']);
    cache.set('b', encoded(2), ['s/ns/b', 'n/ns']);
    cache.set('apex', encoded(3), []);
    expect(cache.invalidate(['s/ns/a'])).toBe(1);
    expect([cache.get('a'), cache.get('b')?.bytes[0], cache.get('apex')?.bytes[0]]).toEqual([undefined, 2, 3]);
    expect(cache.invalidate(['n/ns'])).toBe(1);
    expect(cache.size).toBe(1);
  });

  test('evicts the oldest entry past its capacity', () => {
    const cache = new AnswerCache(2);
    cache.set('a', encoded(1), ['x']);
    cache.set('b', encoded(2), ['x']);
    cache.set('c', encoded(3), ['x']);
    expect([cache.get('a'), cache.size]).toEqual([undefined, 2]);
    expect(cache.invalidate(['x'])).toBe(2);
  });

  test('replacing an entry forgets its old dependencies', () => {
    const cache = new AnswerCache(10);
    cache.set('a', encoded(1), ['old']);
    cache.set('a', encoded(2), ['new']);
    expect(cache.invalidate(['old'])).toBe(0);
    expect(cache.invalidate(['new'])).toBe(1);
  });
});

describe('trackingView', () => {
  test('notes every key read', () => {
    const deps = new Set<string>();
    const view = trackingView(fixtureView(), deps);
    view.namespaceExists('testns');
    view.service('testns', 'svc1');
    view.podHasIp('testns', '10.0.0.1');
    view.reverse('10.96.0.11');
    expect([...deps]).toEqual([depKey.namespace('testns'), depKey.service('testns', 'svc1'), depKey.pod('testns', '10.0.0.1'), depKey.ip('10.96.0.11')]);
  });
});
