import { readFileSync } from 'node:fs';
import { availableParallelism, networkInterfaces } from 'node:os';
import { defineCommand } from '../common/command.ts';
import { UsageError } from '../common/errors.ts';
import { connectionFromFlags } from '../controlplane/client/connect.ts';
import { EventRecorder } from '../controlplane/client/events.ts';
import { createHttpClient } from '../controlplane/client/http-client.ts';
import { forwardDefaults, loopProbeName, parseResolvConf, probeForLoops, withoutSelf } from './forward.ts';
import { startHttpEndpoints } from './health.ts';
import { createDnsRegistry } from './metrics.ts';
import { mergeSnapshots } from './stats.ts';
import { dnsDefaults, dnsOptions, type DnsOptions } from './options.ts';
import { answerCacheCapacity, maxUdpSize } from './serve.ts';
import { watchCluster } from './watch.ts';
import { WorkerPool } from './workers.ts';

function interfaceAddresses(includeInternal: boolean): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((entry) => entry !== undefined && (includeInternal || !entry.internal) && !entry.address.startsWith('fe80:'))
    .map((entry) => (entry as { address: string }).address);
}

function upstreamsOf(options: DnsOptions): DnsOptions['upstreams'] {
  if (options.upstreams.length > 0) return options.upstreams;
  let text: string;
  try {
    text = readFileSync(options.resolvConf, 'utf8');
  } catch (error) {
    throw new UsageError(`kplane dns: --resolv-conf: cannot read ${options.resolvConf}: ${(error as Error).message}`);
  }
  return parseResolvConf(text);
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export const dnsCommand = defineCommand({
  spec: {
    name: 'dns',
    summary: 'Serve cluster DNS (the Kubernetes DNS schema, as CoreDNS answers it) and forward other names upstream.',
    usage:
      'kplane dns --server URL | --kubeconfig FILE --listen ADDR:PORT [--zone cluster.local] [--upstream IP[:port],...] [--ttl 5] [--pods disabled|insecure|verified]',
    flags: {
      server: { type: 'string' },
      kubeconfig: { type: 'string' },
      listen: { type: 'string' },
      zone: { type: 'string' },
      upstream: { type: 'string', multiple: true },
      'resolv-conf': { type: 'string' },
      ttl: { type: 'string' },
      pods: { type: 'string' },
      'health-listen': { type: 'string' },
      'ready-listen': { type: 'string' },
      'metrics-listen': { type: 'string' },
      workers: { type: 'string' },
    },
    help: {
      server: 'API server: http://host:port, https://host:port or unix:/path/sock',
      kubeconfig: 'kubeconfig file for a real cluster (instead of --server)',
      listen: `address for DNS over UDP and TCP (default ${dnsDefaults.listen})`,
      zone: `cluster domain (default ${dnsDefaults.zone})`,
      upstream: `where other names are forwarded: IP[:port], comma-separated (default: the nameservers of --resolv-conf)`,
      'resolv-conf': `resolv.conf to take upstreams from (default ${dnsDefaults.resolvConf})`,
      ttl: `TTL of cluster records, 0-3600 (default ${dnsDefaults.ttl})`,
      pods: `pod records a-b-c-d.ns.pod.<zone>: disabled, insecure or verified (default ${dnsDefaults.pods})`,
      'health-listen': `address of /health (default ${dnsDefaults.healthListen})`,
      'ready-listen': `address of /ready (default ${dnsDefaults.readyListen})`,
      'metrics-listen': `address of /metrics (default ${dnsDefaults.metricsListen})`,
      workers: 'threads serving DNS, sharing the address with SO_REUSEPORT (default: one per CPU)',
    },
  },
  async run(values, context) {
    const options = dnsOptions(values, availableParallelism());
    const logger = context.logger.child({ component: 'dns' });
    const connection = connectionFromFlags({ server: options.server, kubeconfig: options.kubeconfig }, context.env);
    const { usable, self } = withoutSelf(upstreamsOf(options), options.listen, interfaceAddresses(true));
    if (self.length > 0) logger.warn({ upstreams: self.map((upstream) => hostPort(upstream.host, upstream.port)) }, 'not forwarding to upstreams that are this server (a loop)');
    if (usable.length === 0) logger.warn('no upstream to forward to: names outside the cluster get REFUSED');

    const wildcard = options.listen.host === '0.0.0.0' || options.listen.host === '::';
    const probeName = loopProbeName();
    // A worker that dies ends the command: the server could no longer answer on all its sockets.
    let workerFailure: Error | undefined;
    const stop = new AbortController();
    const signal = AbortSignal.any([context.signal, stop.signal]);
    const pool = await WorkerPool.start(
      options.workers,
      {
        host: options.listen.host,
        port: options.listen.port,
        reusePort: options.workers > 1,
        answer: { zone: options.zone, ttl: options.ttl, pods: options.pods, nameservers: wildcard ? interfaceAddresses(false) : [options.listen.host] },
        forward: { ...forwardDefaults, upstreams: usable },
        maxUdpSize,
        cacheCapacity: answerCacheCapacity,
        loopProbeName: probeName,
      },
      logger,
      {
        onLoop: () => logger.error({ probe: probeName }, 'forwarding loop detected: queries sent upstream come back here; forwarding disabled (check the upstreams and --resolv-conf)'),
        onExit: (error) => {
          workerFailure = error;
          stop.abort();
        },
      },
    );

    let synced = false;
    const registry = createDnsRegistry(`dns://${hostPort(options.listen.host, pool.port)}`, async () => mergeSnapshots(await pool.stats()));
    const endpoints = await startHttpEndpoints([
      { path: '/health', listen: options.healthListen, respond: async () => ({ status: 200, body: 'OK' }) },
      { path: '/ready', listen: options.readyListen, respond: async () => (synced ? { status: 200, body: 'OK' } : { status: 503, body: 'kubernetes' }) },
      { path: '/metrics', listen: options.metricsListen, respond: async () => ({ status: 200, body: await registry.metrics(), contentType: registry.contentType }) },
    ]).catch(async (error: unknown) => {
      await pool.close();
      throw new UsageError(`kplane dns: cannot serve /health, /ready or /metrics: ${(error as Error).message}`);
    });
    const [health, ready, metrics] = endpoints.addresses;
    logger.info({ dns: hostPort(options.listen.host, pool.port), health, ready, metrics, workers: options.workers, zone: options.zone, upstreams: usable.map((upstream) => hostPort(upstream.host, upstream.port)) }, 'DNS serving');

    const client = createHttpClient(connection);
    const recorder = new EventRecorder(client, { component: 'kplane-dns', logger });
    const probing = probeForLoops(usable, probeName, signal);
    await watchCluster(
      client,
      {
        pods: options.pods,
        logger,
        report: (object, reason, message) => recorder.warn(object, reason, message),
        onBatch: (batch) => {
          pool.broadcast(batch);
          synced ||= batch.synced;
        },
      },
      signal,
    );
    await probing;
    await Promise.all([endpoints.close(), pool.close(), recorder.flush()]);
    await client.close();
    if (workerFailure) throw workerFailure;
  },
});
