/**
 * Where the harness finds the project's own programs, relative to this file
 * (never a hard-coded checkout path), and where runs keep their files.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

/** The project's pinned Node 24 (npm package `node`); the runner's own Node when it is missing. */
export const nodeBinary = existsSync(join(repoRoot, 'node_modules/node/bin/node')) ? join(repoRoot, 'node_modules/node/bin/node') : process.execPath;

/** Node flags for the harness's standalone scripts (type stripping is on by default in Node 24). */
export const nodeFlags = ['--disable-warning=ExperimentalWarning'];

export const kplaneBin = join(repoRoot, 'bin/kplane');
export const podAppScript = join(repoRoot, 'test/e2e/harness/pod-app.ts');
export const netClientScript = join(repoRoot, 'test/e2e/harness/net-client.ts');
export const teardownScript = join(repoRoot, 'test/e2e/harness/teardown.ts');

/** Parent of every run's directory (logs, pod state, API socket and data). */
export const runsRoot = join(tmpdir(), 'kplane-e2e');

/** A run's directory: `<tmp>/kplane-e2e/kpt1a2b3c` (short, so the unix socket path stays under 108 bytes). */
export function runDirOf(prefix: string): string {
  return join(runsRoot, prefix.replace(/-$/, ''));
}

export const etcNetns = '/etc/netns';
