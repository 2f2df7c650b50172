/**
 * The running proxy: informers for Services, EndpointSlices and this Node
 * feed the Proxier's change trackers; a SyncLoop decides when it syncs; the
 * healthz, metrics and healthCheckNodePort servers report on it. This file
 * only wires parts together; each part is tested on its own.
 *
 * On SIGTERM the proxy stops watching and serving and leaves its rules in
 * place, as kube-proxy does: traffic keeps flowing while it restarts.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from '../common/logger.ts';
import type { EndpointSlice, KubeObject, Node, Service } from '../controlplane/api/types.ts';
import { connectionFromFlags } from '../controlplane/client/connect.ts';
import { EventRecorder } from '../controlplane/client/events.ts';
import { createHttpClient } from '../controlplane/client/http-client.ts';
import { Informer } from '../controlplane/client/informer.ts';
import { refs } from '../controlplane/client/types.ts';
import { execaRunner, type CommandRunner } from './exec.ts';
import { closeServer, listen, ProxyHealth, ServiceHealthServers, startHealthzServer } from './health.ts';
import { ProxyMetrics } from './metrics.ts';
import { localInterfaceAddresses, nodePortAddresses } from './node-addresses.ts';
import type { ProxyOptions } from './options.ts';
import { Proxier } from './proxier.ts';
import { SyncLoop } from './sync.ts';

export interface AgentContext {
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: NodeJS.WritableStream;
  /** For tests: how iptables and conntrack are run. */
  readonly run?: CommandRunner;
}

/** Objects that another proxy implementation owns, and headless services, which have nothing to proxy. */
const labelSelector = '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless';

/** A node on its way out must fail /healthz so load balancers drain it first. */
function nodeEligible(node: Node): boolean {
  const taints = (node.spec?.['taints'] ?? []) as { key?: string }[];
  return node.metadata.deletionTimestamp === undefined && !taints.some((taint) => taint.key === 'ToBeDeletedByClusterAutoscaler');
}

async function startMetricsServer(metrics: ProxyMetrics, bind: { host: string; port: number }): Promise<Server> {
  const server = createServer((request, response) => {
    if ((request.url ?? '/').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => response.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(error)),
    );
  });
  await listen(server, bind.host, bind.port);
  return server;
}

export async function runProxy(options: ProxyOptions, context: AgentContext): Promise<void> {
  const { logger } = context;
  const connection = connectionFromFlags({ server: options.server, kubeconfig: options.kubeconfig }, context.env);
  const client = createHttpClient({ ...connection, userAgent: 'kplane-proxy' });
  const run = context.run ?? execaRunner();
  const metrics = new ProxyMetrics({ defaultMetrics: true });
  const health = new ProxyHealth({ healthTimeoutMs: 2 * options.syncPeriodMs });
  const events = new EventRecorder(client, { component: 'kplane-proxy', host: options.nodeName, logger });
  const nodePortListen = nodePortAddresses(options.nodePortAddresses, localInterfaceAddresses()) ?? ['0.0.0.0'];
  const serviceHealth = options.dryRun ? undefined : new ServiceHealthServers({ addresses: nodePortListen, proxyHealthy: () => health.status().healthy, logger });
  const proxier = new Proxier(
    {
      nodeName: options.nodeName,
      clusterCidr: options.clusterCidr,
      nodePortCidrs: options.nodePortAddresses,
      masqueradeMark: options.masqueradeMark,
      fullSyncPeriodMs: options.fullSyncPeriodMs,
      canaryCheckPeriodMs: options.syncPeriodMs,
    },
    { run, metrics, health, logger, interfaces: localInterfaceAddresses, ...(serviceHealth ? { serviceHealth } : {}) },
  );
  const loop = new SyncLoop((reason) => proxier.sync(reason), {
    minIntervalMs: options.minSyncPeriodMs,
    periodMs: options.syncPeriodMs,
    retry: { initialMs: Math.min(1000, options.syncPeriodMs), maxMs: options.syncPeriodMs },
  });

  const report = (object: KubeObject, reason: string, problems: readonly string[]) => {
    for (const problem of problems) events.warn(object, reason, problem);
  };
  const services = new Informer<Service>(client, refs.services, { labelSelector, logger });
  const slices = new Informer<EndpointSlice>(client, refs.endpointslices, { labelSelector, logger });
  const nodes = new Informer<Node>(client, refs.nodes, { fieldSelector: `metadata.name=${options.nodeName}`, logger });
  const onService = (previous: Service | undefined, current: Service | undefined) => {
    report((current ?? previous) as Service, 'ServiceNotProxied', proxier.updateService(previous, current));
    loop.request();
  };
  const onSlice = (previous: EndpointSlice | undefined, current: EndpointSlice | undefined) => {
    report((current ?? previous) as EndpointSlice, 'EndpointsNotProxied', proxier.updateEndpointSlice(previous, current));
    loop.request();
  };
  services.on({ add: (service) => onService(undefined, service), update: onService, delete: (service) => onService(service, undefined) });
  slices.on({ add: (slice) => onSlice(undefined, slice), update: onSlice, delete: (slice) => onSlice(slice, undefined) });
  nodes.on({ add: (node) => health.setNodeEligible(nodeEligible(node)), update: (_old, node) => health.setNodeEligible(nodeEligible(node)), delete: () => health.setNodeEligible(false) });

  const watching = new AbortController();
  const stopWatching = () => watching.abort();
  context.signal.addEventListener('abort', stopWatching, { once: true });
  const informers = [services, slices, nodes].map((informer) => informer.start(watching.signal));
  const servers: Server[] = [];
  try {
    const synced = await Promise.all([services, slices, nodes].map((informer) => informer.waitForSync(watching.signal)));
    if (!synced.every(Boolean)) return;
    logger.info({ services: services.list().length, endpointSlices: slices.list().length }, 'caches synced');
    if (options.dryRun) {
      context.stdout.write(proxier.renderFull());
      return;
    }
    servers.push(await startHealthzServer(health, options.healthzBindAddress, metrics));
    servers.push(await startMetricsServer(metrics, options.metricsBindAddress));
    loop.start();
    logger.info({ node: options.nodeName, healthz: options.healthzBindAddress, metrics: options.metricsBindAddress }, 'proxy started');
    await new Promise<void>((resolve) => {
      if (context.signal.aborted) resolve();
      else context.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    context.signal.removeEventListener('abort', stopWatching);
    watching.abort();
    await loop.stop();
    await Promise.all(informers);
    await Promise.all(servers.map(closeServer));
    await serviceHealth?.close();
    await events.flush();
    await client.close();
  }
}
