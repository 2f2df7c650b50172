import { defineCommand } from '../common/command.ts';
import { apiServerOptions } from './options.ts';
import { startApiServer } from './apiserver.ts';

export const apiserverCommand = defineCommand({
  spec: {
    name: 'apiserver',
    summary: 'Serve the Kubernetes API (the networking subset) with embedded durable storage.',
    usage: 'kplane apiserver --listen 127.0.0.1:6443 [--listen unix:/path/sock] --data-dir DIR [--service-cidr 10.96.0.0/12] [--node-port-range 30000-32767] [--lb-pool CIDR]',
    flags: {
      listen: { type: 'string', multiple: true },
      'data-dir': { type: 'string' },
      'service-cidr': { type: 'string' },
      'node-port-range': { type: 'string' },
      'lb-pool': { type: 'string' },
    },
    help: {
      listen: 'address to serve on: HOST:PORT (loopback only) or unix:/path/sock (default 127.0.0.1:6443)',
      'data-dir': 'directory of the embedded database (created if missing)',
      'service-cidr': 'range ClusterIPs are allocated from (default 10.96.0.0/12)',
      'node-port-range': 'range NodePorts are allocated from (default 30000-32767)',
      'lb-pool': 'range LoadBalancer IPs are allocated from (none: LoadBalancer services stay pending)',
    },
  },
  async run(values, context) {
    const options = apiServerOptions(values);
    const server = await startApiServer(options, context.logger.child({ component: 'apiserver' }));
    await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
    await server.close();
  },
});
