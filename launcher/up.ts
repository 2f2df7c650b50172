/**
 * `kplane up`: the whole stack on this machine, as supervised child
 * processes of this one: the API store (embedded storage under --data-dir),
 * DNS and the ingress on loopback, and the proxy when it can program
 * iptables (root, iptables-restore present, no --no-proxy).
 *
 * Order: API store, then the IngressClass (and this machine's Node when the
 * proxy runs), then the agents; each is polled on its own health endpoint
 * (bounded) and the report is printed once all are ready. Ctrl-C or SIGTERM
 * stops the agents, then the API store, removes the proxy's rules and
 * resolves (exit 0). A child that dies on its own is named with its log, the
 * rest are stopped, and the command fails (exit non-zero).
 */
import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { delimiter, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { defineCommand } from '../common/command.ts';
import type { NodeAddress } from '../controlplane/api/types.ts';
import { createHttpClient } from '../controlplane/client/http-client.ts';
import { ensureIngressClass, ensureNode } from './cluster-setup.ts';
import { ChildExitedError, NotReadyError } from './errors.ts';
import { waitReady, type ReadinessCheck } from './readiness.ts';
import { describeExit, Supervisor, type ExitInfo, type SupervisedChild } from './supervisor.ts';
import { decideProxy, kubeconfigYaml, nodeNameFrom, planUp, upAddresses, type ChildPlan, type UpPlan } from './up-plan.ts';
import { proxySkippedLine, stoppedLine, upReport } from './up-report.ts';

const examplesDir = resolve(import.meta.dirname, '..', 'examples');
/** How long startup may take, per phase (the API store; then all agents together). */
const apiReadyTimeoutMs = 30_000;
const agentsReadyTimeoutMs = 60_000;
/** How long a child gets to stop after SIGTERM before SIGKILL (the ingress drains for up to 10 s). */
const stopGraceMs = 15_000;

/** The first executable `name` on PATH (plus the sbin directories, which a user's PATH may lack). */
function findExecutable(name: string, path: string | undefined): string | undefined {
  const dirs = [...(path ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter((dir) => dir !== '');
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The last `count` lines of a log file (an empty list when it cannot be read). */
function readTail(file: string, count: number): string[] {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(-64 * 1024).split('\n').filter((line) => line.trim() !== '').slice(-count);
  } catch {
    return [];
  }
}

function nodeAddresses(name: string): NodeAddress[] {
  const addresses: NodeAddress[] = [{ type: 'Hostname', address: name }];
  const internal = Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry !== undefined && !entry.internal && entry.family === 'IPv4');
  if (internal) addresses.unshift({ type: 'InternalIP', address: internal.address });
  return addresses;
}

/** examples/ as the user would type it: relative to their working directory when inside it. */
function examplesForUser(cwd: string): string {
  const rel = relative(cwd, examplesDir);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel + sep : examplesDir + sep;
}

function notReadyMessage(result: Awaited<ReturnType<typeof waitReady>>, plan: UpPlan, timeoutMs: number): string {
  if (result.ready || result.reason !== 'timeout') return '';
  const pending = result.pending.map((p) => `${p.name} (last answer: ${p.last}; log ${join(plan.logsDir, `${p.name}.log`)})`);
  return `not ready within ${timeoutMs / 1000} s: ${pending.join(', ')}`;
}

export const upCommand = defineCommand({
  spec: {
    name: 'up',
    summary: 'Run the whole stack on this machine: the API store, DNS, the ingress and (as root) the proxy, until Ctrl-C.',
    usage: 'kplane up [--data-dir DIR] [--no-proxy]',
    flags: {
      'data-dir': { type: 'string' },
      'no-proxy': { type: 'boolean' },
    },
    help: {
      'data-dir': 'where the database, the kubeconfig, the API socket and the logs go (default ./.kplane)',
      'no-proxy': 'do not run the proxy, even as root (nothing changes this machine\'s iptables)',
    },
  },
  async run(values, context) {
    const logger = context.logger.child({ component: 'up' });
    const cwd = process.cwd();
    const dataDir = resolve(cwd, values['data-dir'] ?? '.kplane');
    const proxy = decideProxy({
      noProxy: values['no-proxy'] ?? false,
      isRoot: typeof process.getuid === 'function' && process.getuid() === 0,
      iptablesRestore: findExecutable('iptables-restore', context.env['PATH']),
    });
    const plan = planUp({ dataDir, nodeName: nodeNameFrom(hostname()), proxy });
    mkdirSync(plan.logsDir, { recursive: true });
    writeFileSync(plan.kubeconfig, kubeconfigYaml(`http://${upAddresses.api}`));

    let failure: Error | undefined;
    const failed = new AbortController();
    const supervisor = new Supervisor({
      onUnexpectedExit: (child: SupervisedChild, exit: ExitInfo) => {
        failure ??= new ChildExitedError(child.name, `${describeExit(exit)} unexpectedly`, child.logFile);
        const lastLines = readTail(child.logFile, 8);
        logger.error({ child: child.name, pid: child.pid, exit, log: child.logFile, lastLines }, 'a component stopped unexpectedly; stopping the rest');
        failed.abort();
      },
    });
    const stop = AbortSignal.any([context.signal, failed.signal]);
    const env = { ...context.env, KPLANE_LOG_FORMAT: 'json' };
    const start = (child: ChildPlan) => {
      const started = supervisor.start({ name: child.name, args: child.args, logFile: join(plan.logsDir, `${child.name}.log`), env });
      logger.info({ child: child.name, pid: started.pid, log: started.logFile }, 'started');
    };
    const ready = async (checks: ReadinessCheck[], timeoutMs: number) => {
      const result = await waitReady(checks, { timeoutMs, signal: stop, giveUpIf: () => failure });
      if (!result.ready && result.reason === 'timeout') throw new NotReadyError(notReadyMessage(result, plan, timeoutMs));
      return result.ready;
    };

    const api = createHttpClient({ server: plan.server, userAgent: 'kplane-up' });
    try {
      start(plan.apiserver);
      if (await ready([plan.apiserver.readiness], apiReadyTimeoutMs)) {
        if (await ensureIngressClass(api)) logger.info({ ingressClass: 'kplane' }, 'created the default IngressClass');
        if (proxy.run && (await ensureNode(api, plan.nodeName, nodeAddresses(plan.nodeName)))) logger.info({ node: plan.nodeName }, 'registered this machine as a Node');
        if (!proxy.run) logger.warn(proxySkippedLine(plan));
        for (const agent of plan.agents) start(agent);
        if (await ready(plan.agents.map((agent) => agent.readiness), agentsReadyTimeoutMs)) {
          logger.info('every component is ready');
          context.stdout.write(upReport(plan, examplesForUser(cwd)));
          await new Promise<void>((resolveStop) => {
            if (stop.aborted) resolveStop();
            else stop.addEventListener('abort', () => resolveStop(), { once: true });
          });
        }
      }
    } catch (error) {
      failure ??= error as Error;
    } finally {
      await api.close().catch(() => undefined);
      logger.info('stopping every component');
      await supervisor.stopAll([plan.agents.map((agent) => agent.name), ['apiserver']], stopGraceMs);
      let rulesRemoved: boolean | undefined;
      if (proxy.run && supervisor.get('proxy')) {
        const exit = await supervisor.run({ name: 'proxy-cleanup', args: ['proxy', '--cleanup'], logFile: join(plan.logsDir, 'proxy.log'), env, append: true }, 20_000);
        rulesRemoved = exit.code === 0;
        if (!rulesRemoved) logger.error({ exit, log: join(plan.logsDir, 'proxy.log') }, 'removing the proxy rules failed');
      }
      supervisor.dispose();
      if (!failure) context.stdout.write(stoppedLine(plan, rulesRemoved));
    }
    if (failure) throw failure;
  },
});
