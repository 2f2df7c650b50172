/**
 * An acknowledged write survives kill -9: a child process writes to the
 * SQLite backend and reports each write once its txn resolves; after SIGKILL
 * the reopened database must hold every reported write at its revision.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, expect, test } from 'vitest';
import { openSqliteBackend } from '../../controlplane/storage/sqlite.ts';

const writerScript = join(import.meta.dirname, 'fixtures', 'storage-writer.ts');
const acksBeforeKill = 200;

let child: ChildProcess | undefined;
let dir: string | undefined;

afterEach(() => {
  child?.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
  child = undefined;
  dir = undefined;
});

interface Ack {
  key: string;
  revision: number;
}

/** Runs the writer until it has acknowledged `count` writes, SIGKILLs it, and returns every ack it printed. */
async function acksUntilKilled(path: string, count: number): Promise<{ acks: Ack[]; signal: NodeJS.Signals | null }> {
  const writer = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', writerScript, path, '4'], { stdio: ['ignore', 'pipe', 'inherit'] });
  child = writer;
  const exited = new Promise<NodeJS.Signals | null>((resolve) => writer.once('exit', (_code, signal) => resolve(signal)));
  const acks: Ack[] = [];
  for await (const line of createInterface({ input: writer.stdout })) {
    acks.push(JSON.parse(line) as Ack);
    if (acks.length === count) writer.kill('SIGKILL');
  }
  return { acks, signal: await exited };
}

test('every write acknowledged before SIGKILL is durable at its revision, and revisions continue above it', async () => {
  dir = mkdtempSync(join(tmpdir(), 'kplane-durability-'));
  const path = join(dir, 'kplane.db');

  const { acks, signal } = await acksUntilKilled(path, acksBeforeKill);

  expect(signal).toBe('SIGKILL');
  expect(acks.length).toBeGreaterThanOrEqual(acksBeforeKill);
  const backend = openSqliteBackend(path);
  try {
    const missing = [];
    for (const ack of acks) {
      const stored = await backend.get(ack.key);
      if (stored?.modRevision !== ack.revision || stored.value !== JSON.stringify(ack)) missing.push({ ack, stored });
    }
    expect(missing).toEqual([]);
    const newest = Math.max(...acks.map((ack) => ack.revision));
    expect(backend.currentRevision()).toBeGreaterThanOrEqual(newest);
    const [next] = await backend.txn([{ op: 'create', key: '/registry/configmaps/durability/after-restart', value: () => '{}' }]);
    expect(next).toEqual({ ok: true, revision: backend.currentRevision() });
    expect(next?.ok && next.revision).toBeGreaterThan(newest);
  } finally {
    await backend.close();
  }
});
