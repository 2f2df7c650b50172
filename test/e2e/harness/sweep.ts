/**
 * Owning and removing runs. A run writes `<runDir>/owner.json` (its pid and
 * that pid's start time) before it creates anything, so the sweep at the next
 * start can tell a crashed run's leftovers from a run that is still going in
 * another terminal: it removes namespaces `kpt<6 hex>-*` whose owner is dead,
 * unless the run was kept on purpose (KEEP_CLUSTER), which only teardown.ts
 * removes. Removal kills every process inside the namespaces (found through
 * /proc), deletes the namespaces, their /etc/netns entries and the run dir.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertOurNetns, ipBatch, listNetns, pidsInNetns } from './netns.ts';
import { etcNetns, runDirOf, runsRoot } from './paths.ts';
import { netnsBatch, runPrefixOf } from './plan.ts';
import { sleep } from './wait.ts';

export interface OwnerRecord {
  prefix: string;
  pid: number;
  /** Field 22 of /proc/<pid>/stat: tells a live owner from a reused pid. */
  startTime: string;
  keep: boolean;
  createdAt: string;
}

export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; fields after ")" are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

export function ownerFile(prefix: string): string {
  return join(runDirOf(prefix), 'owner.json');
}

export function writeOwner(prefix: string, keep = false): OwnerRecord {
  const record: OwnerRecord = { prefix, pid: process.pid, startTime: processStartTime(process.pid) ?? '', keep, createdAt: new Date().toISOString() };
  writeFileSync(ownerFile(prefix), JSON.stringify(record, null, 2) + '\n');
  return record;
}

export function readOwner(prefix: string): OwnerRecord | undefined {
  try {
    return JSON.parse(readFileSync(ownerFile(prefix), 'utf8')) as OwnerRecord;
  } catch {
    return undefined;
  }
}

export function markKept(prefix: string, keep: boolean): void {
  const owner = readOwner(prefix);
  if (owner) writeFileSync(ownerFile(prefix), JSON.stringify({ ...owner, keep }, null, 2) + '\n');
}

export function ownerAlive(owner: OwnerRecord | undefined): boolean {
  if (!owner) return false;
  const start = processStartTime(owner.pid);
  return start !== undefined && start === owner.startTime;
}

export type RunState = 'live' | 'kept' | 'dead';

export interface RunInfo {
  prefix: string;
  state: RunState;
  namespaces: string[];
  owner: OwnerRecord | undefined;
}

/** Every run that has namespaces, /etc/netns entries or a run dir on this machine. */
export function listRuns(): RunInfo[] {
  const byPrefix = new Map<string, string[]>();
  const note = (prefix: string | undefined, netns?: string) => {
    if (prefix === undefined) return;
    const list = byPrefix.get(prefix) ?? [];
    if (netns !== undefined) list.push(netns);
    byPrefix.set(prefix, list);
  };
  for (const name of listNetns()) note(runPrefixOf(name), name);
  for (const dir of safeReaddir(etcNetns)) note(runPrefixOf(dir));
  for (const dir of safeReaddir(runsRoot)) note(runPrefixOf(`${dir}-`));
  return [...byPrefix.entries()].sort().map(([prefix, namespaces]) => {
    const owner = readOwner(prefix);
    const state: RunState = ownerAlive(owner) ? 'live' : owner?.keep ? 'kept' : 'dead';
    return { prefix, state, namespaces, owner };
  });
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function killAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone already
    }
  }
}

function livePids(namespaces: readonly string[]): number[] {
  return [...pidsInNetns(namespaces).values()].flat().filter((pid) => pid !== process.pid);
}

/** /etc/netns entries of the given namespaces; with wholeRun, every entry of the run, and the run dir. */
function removeFiles(prefix: string, namespaces: readonly string[], wholeRun: boolean): void {
  if (wholeRun) {
    for (const dir of safeReaddir(etcNetns)) {
      if (runPrefixOf(dir) === prefix) rmSync(join(etcNetns, dir), { recursive: true, force: true });
    }
  }
  for (const name of namespaces) rmSync(join(etcNetns, name), { recursive: true, force: true });
  // /etc/netns itself goes when the last run leaves it empty (it did not exist before).
  try {
    rmdirSync(etcNetns);
  } catch {
    // not empty, or gone
  }
  if (wholeRun) rmSync(runDirOf(prefix), { recursive: true, force: true });
}

/**
 * Removes a run's namespaces: SIGTERM to every process inside them, SIGKILL
 * to what is left after `graceMs`, then `ip netns del` for all of them at
 * once, then their /etc/netns entries. Unless keepRunDir (one pod going
 * away), the whole run goes: every /etc/netns entry of the prefix and the run dir.
 */
export async function removeRun(prefix: string, namespaces: readonly string[], options: { graceMs?: number; keepRunDir?: boolean } = {}): Promise<void> {
  for (const name of namespaces) assertOurNetns(name, prefix);
  const present = new Set(listNetns());
  const existing = namespaces.filter((name) => present.has(name));
  let pids = livePids(existing);
  if (pids.length > 0) {
    killAll(pids, 'SIGTERM');
    const deadline = Date.now() + (options.graceMs ?? 1_000);
    for (let i = 0; i < 100 && Date.now() < deadline; i++) {
      await sleep(20);
      pids = livePids(existing);
      if (pids.length === 0) break;
    }
    if (pids.length > 0) {
      killAll(pids, 'SIGKILL');
      await sleep(50);
    }
  }
  if (existing.length > 0) await ipBatch(null, netnsBatch('del', existing), prefix, 20_000);
  removeFiles(prefix, namespaces, !(options.keepRunDir ?? false));
}

/**
 * The synchronous last resort for process exit and signals: SIGKILL, then
 * `ip -batch` netns del, bounded by a timeout. Best effort, never throws.
 */
export function removeRunSync(prefix: string, namespaces: readonly string[]): void {
  try {
    for (const name of namespaces) assertOurNetns(name, prefix);
    const present = new Set(listNetns());
    const existing = namespaces.filter((name) => present.has(name));
    killAll(livePids(existing), 'SIGKILL');
    if (existing.length > 0) {
      execFileSync('ip', ['-batch', '-'], { input: netnsBatch('del', existing).join('\n') + '\n', timeout: 10_000, stdio: ['pipe', 'ignore', 'ignore'] });
    }
    removeFiles(prefix, namespaces, true);
  } catch {
    // best effort: the next run's sweep finishes the job
  }
}

export interface SweepOptions {
  /** Only these runs (e.g. from teardown.ts --prefix); all runs when omitted. */
  prefixes?: readonly string[];
  /** Also remove runs kept with KEEP_CLUSTER (teardown.ts does; the start-up sweep does not). */
  includeKept?: boolean;
  /** Also remove runs whose owner process still lives (teardown.ts --force). */
  includeLive?: boolean;
}

export interface SweepReport {
  removed: string[];
  skipped: { prefix: string; state: RunState }[];
}

/** Removes leftovers of earlier runs; see the module comment for what counts as one. */
export async function sweep(options: SweepOptions = {}): Promise<SweepReport> {
  const report: SweepReport = { removed: [], skipped: [] };
  for (const run of listRuns()) {
    if (options.prefixes && !options.prefixes.includes(run.prefix)) continue;
    if (run.prefix === undefined) continue;
    const allowed = run.state === 'dead' || (run.state === 'kept' && options.includeKept) || (run.state === 'live' && options.includeLive);
    if (!allowed || (run.state === 'live' && run.owner?.pid === process.pid && !options.includeLive)) {
      report.skipped.push({ prefix: run.prefix, state: run.state });
      continue;
    }
    await removeRun(run.prefix, run.namespaces, { graceMs: 500 });
    report.removed.push(run.prefix);
  }
  return report;
}

