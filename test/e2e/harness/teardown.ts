/**
 * Lists and removes e2e clusters (standalone Node 24 script, run as root):
 *
 *   node test/e2e/harness/teardown.ts                   list runs and remove dead ones
 *   node test/e2e/harness/teardown.ts --prefix kpt1a2b3c-   remove that run (kept or dead)
 *   node test/e2e/harness/teardown.ts --all             remove every dead or kept run
 *   node test/e2e/harness/teardown.ts --list            only list
 *   add --force to also remove runs whose test process is still alive
 *
 * A run is "live" while the process that built it runs, "kept" when it was
 * left up with KEEP_CLUSTER=1, and "dead" otherwise (a crashed run).
 */
import { parseArgs } from 'node:util';
import { isRunPrefix } from './plan.ts';
import { listRuns, sweep } from './sweep.ts';

const { values } = parseArgs({
  options: {
    prefix: { type: 'string', multiple: true, default: [] },
    all: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (values.help) {
  process.stdout.write('usage: teardown.ts [--list] [--prefix kpt<6 hex>-]... [--all] [--force]\n');
  process.exit(0);
}
const prefixes = values.prefix.map((p) => (p.endsWith('-') ? p : `${p}-`));
for (const prefix of prefixes) {
  if (!isRunPrefix(prefix)) {
    process.stderr.write(`teardown: --prefix must look like kpt1a2b3c-, got "${prefix}"\n`);
    process.exit(2);
  }
}
if (typeof process.getuid === 'function' && process.getuid() !== 0) {
  process.stderr.write('teardown: needs root (network namespaces)\n');
  process.exit(2);
}

const runs = listRuns();
for (const run of runs) {
  const owner = run.owner ? ` pid ${run.owner.pid} since ${run.owner.createdAt}` : '';
  process.stdout.write(`${run.prefix}  ${run.state.padEnd(4)}  ${run.namespaces.length} namespaces${owner}\n`);
}
if (runs.length === 0) process.stdout.write('no kplane e2e runs on this machine\n');
if (values.list) process.exit(0);

const report = await sweep({
  ...(prefixes.length > 0 ? { prefixes } : {}),
  includeKept: values.all || prefixes.length > 0,
  includeLive: values.force,
});
for (const prefix of report.removed) process.stdout.write(`removed ${prefix}\n`);
for (const { prefix, state } of report.skipped) process.stdout.write(`kept ${prefix} (${state}${state === 'live' ? '; --force to remove' : state === 'kept' ? '; --prefix or --all to remove' : ''})\n`);
