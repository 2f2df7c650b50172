/**
 * `kplane demo`: a guided tour on a real 2-node cluster built from network
 * namespaces (the e2e harness). It starts every component as an operator
 * would, runs the example pods, applies examples/ with kubectl, then walks
 * through ClusterIP, session affinity, NodePort, LoadBalancer,
 * externalTrafficPolicy Local, DNS (service, headless, SRV, ExternalName)
 * and the ingress over TLS with real traffic, printing each step with PASS
 * or FAIL. Everything is torn down at the end, and on Ctrl-C (the harness
 * also removes the namespaces synchronously on the signal itself).
 *
 * Exit 0 only when every step passed. Without root it says so in one line.
 */
import { existsSync } from 'node:fs';
import { defineCommand } from '../common/command.ts';
import { listNetns, netnsSupport, run } from '../test/e2e/harness/netns.ts';
import { readTail } from '../test/e2e/harness/processes.ts';
import type { Verdict } from './demo-checks.ts';
import { banner, detail, logExcerpt, relevantLogLines, stepResult, stepTitle, summary, type ReportStyle, type StepResult } from './demo-report.ts';
import { applyStep, buildStep, componentsStep, podsStep, tourSteps, type DemoWorld, type Step } from './demo-steps.ts';
import { DemoFailedError, DemoInterruptedError, DemoNeedsRootError, LauncherError } from './errors.ts';

const tools = ['kubectl', 'curl', 'dig', 'nc', 'getent'];

async function missingTools(): Promise<string[]> {
  const missing: string[] = [];
  for (const tool of tools) {
    const result = await run('sh', ['-c', `command -v ${tool}`], { timeoutMs: 5_000 }).catch(() => undefined);
    if (result?.exitCode !== 0) missing.push(tool);
  }
  return missing;
}

class Interrupted extends Error {}

/** Resolves with the promise, or rejects with Interrupted as soon as the signal fires. */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Interrupted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Interrupted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

export const demoCommand = defineCommand({
  spec: {
    name: 'demo',
    summary: 'A guided tour on a 2-node cluster built from network namespaces, with real traffic (needs root).',
    usage: 'kplane demo',
    flags: {},
    help: {},
  },
  async run(_values, context) {
    const support = await netnsSupport();
    if (!support.ok) {
      throw new DemoNeedsRootError(support.reason.startsWith('needs root') ? 'needs root (it builds a cluster from network namespaces)' : `cannot run: ${support.reason}`);
    }
    const missing = await missingTools();
    if (missing.length > 0) throw new LauncherError('KPLANE_DEMO_MISSING_TOOLS', `demo needs ${missing.join(', ')} on the PATH (test/install-host-deps.sh installs them)`);

    const style: ReportStyle = { color: Boolean((context.stdout as { isTTY?: boolean }).isTTY) };
    const write = (text: string) => context.stdout.write(text);
    const results: StepResult[] = [];
    let world: DemoWorld | undefined;
    let interrupted = false;
    let skipRest: string | undefined;
    const steps: Step[] = [buildStep(context.signal, (built) => (world = built)), componentsStep, podsStep, applyStep, ...tourSteps];
    const total = steps.length + 1;

    const runStep = async (index: number, step: Step) => {
      write(stepTitle(index, step.title, style));
      let verdict: Verdict;
      if (skipRest) verdict = { ok: false, why: `not run: ${skipRest}` };
      else {
        // A step cut short by Ctrl-C may still be finishing in the background: it must not print any more.
        let live = true;
        const say = (text: string) => {
          if (live && !context.signal.aborted) write(detail(text));
        };
        try {
          verdict = await unlessAborted(step.run(world as DemoWorld, say), context.signal);
        } catch (error) {
          if (error instanceof Interrupted) throw error;
          verdict = { ok: false, why: firstLine(error) };
        } finally {
          live = false;
        }
      }
      if (!verdict.ok && !skipRest && world && step.logs) {
        for (const [name, file] of step.logs(world)) write(logExcerpt(name, file, relevantLogLines(readTail(file, 256 * 1024))));
      }
      const result: StepResult = { title: step.title, ok: verdict.ok, ...(verdict.why !== undefined ? { why: verdict.why } : {}) };
      results.push(result);
      write(stepResult(result, style));
      if (!verdict.ok && step.required && !skipRest) skipRest = `"${step.title}" failed`;
    };

    try {
      write(banner(style));
      for (const [i, step] of steps.entries()) await runStep(i + 1, step);
    } catch (error) {
      if (!(error instanceof Interrupted)) throw error;
      interrupted = true;
      write(`\n${style.color ? '\u001b[31m' : ''}interrupted: tearing everything down${style.color ? '\u001b[0m' : ''}\n`);
    } finally {
      const built = world as DemoWorld | undefined;
      write(stepTitle(total, 'Tear everything down', style));
      let verdict: Verdict = { ok: true };
      if (built) {
        const { prefix, runDir } = built.cluster;
        try {
          await built.cluster.destroy({ force: true });
        } catch (error) {
          verdict = { ok: false, why: `teardown: ${firstLine(error)}` };
        }
        const left = listNetns().filter((name) => name.startsWith(prefix));
        write(detail(`namespaces of ${prefix} left: ${left.length === 0 ? 'none' : left.join(', ')}; run dir ${runDir} ${existsSync(runDir) ? 'still there' : 'removed'}`));
        if (left.length > 0) verdict = { ok: false, why: `namespaces left: ${left.join(', ')}` };
      } else {
        write(detail('nothing was built'));
      }
      const result: StepResult = { title: 'Tear everything down', ok: verdict.ok, ...(verdict.why !== undefined ? { why: verdict.why } : {}) };
      results.push(result);
      write(stepResult(result, style));
      write(summary(results, style, total));
    }
    if (interrupted) throw new DemoInterruptedError();
    const failed = results.filter((result) => !result.ok).map((result) => result.title);
    if (failed.length > 0) throw new DemoFailedError(failed, results.length);
  },
});
