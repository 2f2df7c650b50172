import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { ChildExitedError, DemoFailedError, DemoInterruptedError, DemoNeedsRootError, LauncherError, NotReadyError } from '../../../launcher/errors.ts';

const errors = [
  new ChildExitedError('dns', 'exited with code 1 unexpectedly', '/x/dns.log'),
  new NotReadyError('m'),
  new DemoNeedsRootError('needs root'),
  new LauncherError('KPLANE_DEMO_MISSING_TOOLS', 'm'),
  new DemoFailedError(['a'], 2),
  new DemoInterruptedError(),
];

test('every launcher error code is unique, KPLANE_-prefixed and listed in launcher/README.md', () => {
  const readme = readFileSync(new URL('../../../launcher/README.md', import.meta.url), 'utf8');
  const codes = errors.map((error) => error.code);
  expect(new Set(codes).size).toBe(codes.length);
  for (const error of errors) {
    expect(error.code).toMatch(/^KPLANE_[A-Z_]+$/);
    expect(readme).toContain(`| \`${error.code}\` | \`${error.name}\` |`);
  }
});

test('the CLI prints these as one line: the stack is just the message', () => {
  const error = new ChildExitedError('dns', 'exited with code 1 unexpectedly', '/x/dns.log');
  expect(error.stack).toBe('dns exited with code 1 unexpectedly; its log is /x/dns.log');
  expect(new DemoFailedError(['ClusterIP', 'DNS'], 15).message).toBe('2 of 15 steps failed: ClusterIP; DNS');
});
