/**
 * The cluster's API store: `bin/kplane apiserver` run inside a namespace of
 * its own (only `lo`), listening on a unix socket in the run dir, which every
 * other namespace (and the test runner) reaches by path, and on
 * 127.0.0.1:6443 inside that namespace for kubectl while debugging.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { createHttpClient, type HttpApiClient } from '../../../controlplane/client/http-client.ts';
import { refs } from '../../../controlplane/client/types.ts';
import { HarnessError, run } from './netns.ts';
import { kplaneBin } from './paths.ts';
import { spawnInNetns, type ManagedProcess } from './processes.ts';
import { waitFor } from './wait.ts';

export interface ApiServerOptions {
  netns: string;
  runDir: string;
  serviceCidr: string;
  lbPool: string;
  extraArgs?: readonly string[];
  survive?: boolean;
  logLevel?: string;
}

export interface ApiServer {
  process: ManagedProcess;
  socket: string;
  /** `unix:<socket>`, for agents' --server. */
  server: string;
  api: HttpApiClient;
  /**
   * DELETE …/pods/NAME?gracePeriodSeconds=0: the kubelet's confirmation that a
   * terminating pod has stopped (the ApiClient's delete takes no options).
   * A pod already gone counts as done.
   */
  deletePodNow(namespace: string, name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Is `bin/kplane apiserver` there yet? (It answers --help with exit 0.) */
export async function apiServerAvailable(): Promise<boolean> {
  const result = await run(kplaneBin, ['apiserver', '--help'], { timeoutMs: 15_000 }).catch(() => undefined);
  return result?.exitCode === 0;
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const socket = join(options.runDir, 'api.sock');
  const dataDir = join(options.runDir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const argv = [
    kplaneBin, 'apiserver',
    '--listen', `unix:${socket}`,
    '--listen', '127.0.0.1:6443',
    '--data-dir', dataDir,
    '--service-cidr', options.serviceCidr,
    '--lb-pool', options.lbPool,
    ...(options.extraArgs ?? []),
  ];
  const process_ = spawnInNetns(options.netns, argv, {
    name: 'apiserver',
    logFile: join(options.runDir, 'logs', 'apiserver.log'),
    env: { KPLANE_LOG_LEVEL: options.logLevel ?? 'info', KPLANE_LOG_FORMAT: 'json', HOME: process.env['HOME'] ?? '/root' },
    survive: options.survive ?? false,
  });
  const server = `unix:${socket}`;
  const api = createHttpClient({ server, userAgent: 'kplane-e2e-harness' });
  try {
    await waitFor(async () => {
      await api.list(refs.namespaces);
      return true;
    }, {
      timeoutMs: 30_000,
      intervalMs: 50,
      what: 'the API store to answer on its unix socket',
      giveUpIf: () => (process_.exit ? new HarnessError(`apiserver exited (${process_.exit.code ?? process_.exit.signal}):\n${process_.log(4096)}`) : undefined),
    });
  } catch (error) {
    await api.close().catch(() => undefined);
    await process_.stop(1_000);
    throw error;
  }
  const raw = new Agent({ connect: { socketPath: socket } });
  return {
    process: process_,
    socket,
    server,
    api,
    async deletePodNow(namespace, name) {
      const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}?gracePeriodSeconds=0`;
      const response = await request(`http://localhost${path}`, { method: 'DELETE', dispatcher: raw, headersTimeout: 10_000, bodyTimeout: 10_000 });
      const body = await response.body.text();
      if (response.statusCode !== 200 && response.statusCode !== 202 && response.statusCode !== 404) {
        throw new HarnessError(`DELETE ${path}: ${response.statusCode} ${body.slice(0, 300)}`);
      }
    },
    async stop() {
      await api.close().catch(() => undefined);
      await raw.close().catch(() => undefined);
      await process_.stop(2_000);
    },
  };
}
