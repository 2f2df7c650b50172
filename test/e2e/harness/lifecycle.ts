/**
 * Teardown on the way out: every cluster that is up registers here, and on
 * SIGINT/SIGTERM or process exit the ones not kept on purpose are removed
 * synchronously (kill their processes, delete their namespaces and
 * /etc/netns entries). destroy() is the normal path; this is the net under it.
 */
import { removeRunSync } from './sweep.ts';

export interface LiveRun {
  prefix: string;
  /** Every namespace the run has created so far. */
  namespaces(): string[];
  /** Kept runs (KEEP_CLUSTER) are left alone. */
  keep(): boolean;
}

const live = new Set<LiveRun>();
let installed = false;

function cleanupAll(): void {
  for (const run of [...live]) {
    live.delete(run);
    if (!run.keep()) removeRunSync(run.prefix, run.namespaces());
  }
}

function onSignal(signal: NodeJS.Signals): void {
  if (live.size > 0) process.stderr.write(`kplane e2e harness: ${signal}: removing ${live.size} cluster(s)\n`);
  cleanupAll();
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  // Let the default action (or the runner's own handler) run now that we are done.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

export function trackRun(run: LiveRun): void {
  if (!installed) {
    installed = true;
    process.on('exit', cleanupAll);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  live.add(run);
}

export function untrackRun(run: LiveRun): void {
  live.delete(run);
}
