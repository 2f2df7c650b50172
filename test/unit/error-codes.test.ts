/**
 * Error codes are an interface (logs, alerts and tests match on them), so
 * each one in the source must be documented in the README's table exactly once.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, test } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const sourceFolders = ['bin', 'common', 'controlplane', 'proxy', 'dns', 'ingress', 'launcher'];

function sourceFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

test('every KPLANE_ error code in the source is listed once in the README', () => {
  const inSource = new Set<string>();
  for (const folder of sourceFolders) {
    for (const file of sourceFiles(join(root, folder))) {
      for (const match of readFileSync(file, 'utf8').matchAll(/'(KPLANE_[A-Z_]+)'/g)) inSource.add(match[1] as string);
    }
  }
  // Environment variables share the prefix but are not error codes.
  for (const variable of ['KPLANE_LOG_LEVEL', 'KPLANE_LOG_FORMAT']) inSource.delete(variable);
  const table = readFileSync(join(root, 'README.md'), 'utf8').split('## Error codes')[1] ?? '';
  const listed = [...table.matchAll(/^\| `(KPLANE_[A-Z_]+)` \|/gm)].map((match) => match[1] as string);

  expect(new Set(listed).size).toBe(listed.length);
  expect([...inSource].sort()).toEqual([...listed].sort());
});
