import { describe, expect, test } from 'vitest';
import { Indexer } from '../../../../controlplane/client/indexer.ts';

interface Item {
  namespace: string;
  tags: string[];
}

const indexer = () => new Indexer<Item>({ namespace: (item) => [item.namespace], tag: (item) => item.tags });

describe('Indexer', () => {
  test('files an object under every value its index function returns', () => {
    const index = indexer();
    index.update('a', { namespace: 'x', tags: ['red', 'blue'] });
    index.update('b', { namespace: 'x', tags: ['red'] });
    expect([...index.keys('namespace', 'x')].sort()).toEqual(['a', 'b']);
    expect([...index.keys('tag', 'red')].sort()).toEqual(['a', 'b']);
    expect([...index.keys('tag', 'blue')]).toEqual(['a']);
  });

  test('moves an updated object to its new values and forgets the old ones', () => {
    const index = indexer();
    const before = { namespace: 'x', tags: ['red'] };
    index.update('a', before);
    index.update('a', { namespace: 'y', tags: ['green'] }, before);
    expect([...index.keys('namespace', 'x')]).toEqual([]);
    expect([...index.keys('tag', 'red')]).toEqual([]);
    expect([...index.keys('namespace', 'y')]).toEqual(['a']);
  });

  test('removes and clears', () => {
    const index = indexer();
    const item = { namespace: 'x', tags: [] };
    index.update('a', item);
    index.update('b', { namespace: 'x', tags: [] });
    index.remove('a', item);
    expect([...index.keys('namespace', 'x')]).toEqual(['b']);
    index.clear();
    expect([...index.keys('namespace', 'x')]).toEqual([]);
  });

  test('refuses an index that was never declared', () => {
    expect(() => indexer().keys('color', 'red')).toThrow(/no index named "color"/);
  });
});
