import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { IptablesRestoreError, ProxyCommandError } from '../../../proxy/errors.ts';

const errors = [new IptablesRestoreError('m', { line: 1, context: '', stderr: '' }), new ProxyCommandError('m', '')];

test('every proxy error code is unique, KPLANE_-prefixed and listed in proxy/README.md', () => {
  const readme = readFileSync(new URL('../../../proxy/README.md', import.meta.url), 'utf8');
  const codes = errors.map((error) => error.code);
  expect(new Set(codes).size).toBe(codes.length);
  for (const error of errors) {
    expect(error.code).toMatch(/^KPLANE_[A-Z_]+$/);
    expect(readme).toContain(`| \`${error.code}\` | \`${error.name}\` |`);
  }
});
