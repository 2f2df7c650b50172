/**
 * `kplane ingress`: wires the controller, the listeners and the operator
 * endpoints together, and takes them down in order on SIGTERM: stop
 * accepting and drain requests in flight, then the upstream pools, then the
 * API connections.
 */
import { defineCommand } from '../common/command.ts';
import { connectionFromFlags } from '../controlplane/client/connect.ts';
import { EventRecorder } from '../controlplane/client/events.ts';
import { createHttpClient } from '../controlplane/client/http-client.ts';
import { IngressController } from './controller.ts';
import { startOpsServer, type OpsServer } from './health.ts';
import { IngressMetrics } from './metrics.ts';
import { ingressOptions } from './options.ts';
import { IngressProxy } from './proxy.ts';
import { selfSignedCertificate } from './self-signed.ts';
import { startListeners } from './server.ts';
import { certificateFromPem } from './tls.ts';

const tenYearsMs = 10 * 365 * 24 * 3600 * 1000;

export const ingressCommand = defineCommand({
  spec: {
    name: 'ingress',
    summary: 'Serve HTTP and HTTPS for the Ingresses of one IngressClass, straight to ready endpoints.',
    usage: 'kplane ingress --server URL --http-listen ADDR:PORT --https-listen ADDR:PORT [--class kplane] [--publish-address IP] [--default-certificate NS/SECRET]',
    flags: {
      server: { type: 'string' },
      kubeconfig: { type: 'string' },
      'http-listen': { type: 'string' },
      'https-listen': { type: 'string' },
      class: { type: 'string' },
      'publish-address': { type: 'string', multiple: true },
      'default-certificate': { type: 'string' },
      'health-listen': { type: 'string' },
      'metrics-listen': { type: 'string' },
      'client-header-timeout': { type: 'string' },
      'client-request-timeout': { type: 'string' },
      'client-idle-timeout': { type: 'string' },
      'shutdown-grace': { type: 'string' },
    },
    help: {
      server: 'API server: http://host:port, https://host:port or unix:/path/sock',
      kubeconfig: 'kubeconfig file, instead of --server (--server then overrides its address)',
      'http-listen': 'plain HTTP address (default 0.0.0.0:80)',
      'https-listen': 'HTTPS address, HTTP/2 and HTTP/1.1 (default 0.0.0.0:443)',
      class: 'IngressClass name to serve; its controller must be kplane.io/ingress-controller (default kplane)',
      'publish-address': 'IP or DNS name written to status.loadBalancer of owned Ingresses (default: the --http-listen host unless a wildcard)',
      'default-certificate': 'NAMESPACE/SECRET served when no Ingress certificate matches (default: a generated self-signed one)',
      'health-listen': 'address serving /healthz (default: off)',
      'metrics-listen': 'address serving Prometheus /metrics (default: off; may equal --health-listen)',
      'client-header-timeout': 'time a client has to send request headers (default 60s)',
      'client-request-timeout': 'time a client has to send a whole request (default 300s)',
      'client-idle-timeout': 'idle time before a keep-alive connection is closed (default 75s)',
      'shutdown-grace': 'time requests in flight get to finish on SIGTERM (default 10s)',
    },
  },
  async run(values, context) {
    const options = ingressOptions(values);
    const logger = context.logger.child({ component: 'ingress' });
    const client = createHttpClient({ ...connectionFromFlags({ server: options.server, kubeconfig: options.kubeconfig }, context.env), userAgent: 'kplane-ingress' });
    const metrics = new IngressMetrics();
    const recorder = new EventRecorder(client, { component: 'kplane-ingress', logger });
    const now = Date.now();
    const generated = selfSignedCertificate({
      commonName: 'kplane Ingress Controller Fake Certificate',
      dnsNames: ['ingress.local'],
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + tenYearsMs),
    });
    let httpsPort = options.httpsListen.port;
    const proxy = new IngressProxy({ logger, metrics, httpsPort: () => httpsPort });
    const controller = new IngressController({ client, options, proxy, metrics, recorder, logger, fallbackCertificate: certificateFromPem('self-signed', generated.cert, generated.key) });

    // Informer watches live until this aborts: on SIGTERM, or when startup fails (say, a port in use), so the client can close.
    const lifetime = new AbortController();
    context.signal.addEventListener('abort', () => lifetime.abort(), { once: true });
    const ops: { health?: OpsServer; metrics?: OpsServer } = {};
    let serving = false;
    const healthy = () => serving && controller.synced;
    try {
      const { healthListen, metricsListen } = options;
      if (healthListen) {
        const shared = metricsListen?.host === healthListen.host && metricsListen.port === healthListen.port;
        ops.health = await startOpsServer(healthListen, shared ? { healthy, registry: metrics.registry } : { healthy });
        if (shared) ops.metrics = ops.health;
      }
      if (metricsListen && !ops.metrics) ops.metrics = await startOpsServer(metricsListen, { registry: metrics.registry });

      logger.info({ class: options.className }, 'waiting for caches to sync');
      if (!(await controller.start(lifetime.signal))) return;
      const listeners = await startListeners(options, { proxy, sni: controller.sni, metrics, logger });
      httpsPort = listeners.https.port;
      serving = true;
      const address = (info: { address: string; port: number }) => (info.address.includes(':') ? `[${info.address}]:${info.port}` : `${info.address}:${info.port}`);
      logger.info(
        {
          http: address(listeners.http),
          https: address(listeners.https),
          ...(ops.health ? { health: address(ops.health.address) } : {}),
          ...(ops.metrics ? { metrics: address(ops.metrics.address) } : {}),
          class: options.className,
        },
        'ingress serving',
      );

      await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
      serving = false;
      await listeners.close(options.shutdownGraceMs);
      await proxy.upstreams.close();
    } finally {
      lifetime.abort();
      await proxy.upstreams.destroy();
      await controller.stop();
      await recorder.flush();
      await Promise.all([...new Set([ops.health, ops.metrics])].map((server) => server?.close()));
      await client.close();
    }
  },
});
