import { defineCommand } from '../common/command.ts';
import { cleanup } from './cleanup.ts';
import { execaRunner } from './exec.ts';
import { proxyOptions } from './options.ts';

export const proxyCommand = defineCommand({
  spec: {
    name: 'proxy',
    summary: 'Program this node\'s kernel (iptables) so Services reach their endpoints, as kube-proxy does.',
    usage: 'kplane proxy --server URL --node NAME [--mode iptables] [--cluster-cidr CIDR] [--nodeport-addresses CIDR,...] [--dry-run] [--cleanup]',
    flags: {
      server: { type: 'string' },
      kubeconfig: { type: 'string' },
      node: { type: 'string' },
      mode: { type: 'string' },
      'cluster-cidr': { type: 'string' },
      'nodeport-addresses': { type: 'string' },
      'dry-run': { type: 'boolean' },
      cleanup: { type: 'boolean' },
      'healthz-bind-address': { type: 'string' },
      'metrics-bind-address': { type: 'string' },
      'sync-period': { type: 'string' },
      'min-sync-period': { type: 'string' },
    },
    help: {
      server: 'API server: http://host:port, https://host:port or unix:/path/sock',
      kubeconfig: 'kubeconfig file, instead of --server (real clusters)',
      node: 'name of the Node this proxy runs on (which endpoints are local)',
      mode: 'proxy backend (default iptables; the only one so far)',
      'cluster-cidr': 'pod CIDR: traffic from outside it to a ClusterIP is masqueraded',
      'nodeport-addresses': 'comma-separated CIDRs: serve NodePorts only on local addresses inside them (default: all)',
      'dry-run': 'print the iptables-restore payload a full sync would write, then exit',
      cleanup: 'remove every kplane chain and jump rule from this node, then exit',
      'healthz-bind-address': '/healthz and /livez address (default 0.0.0.0:10256)',
      'metrics-bind-address': '/metrics address (default 127.0.0.1:10249)',
      'sync-period': 'sync at least this often, checking the canary chain (default 30s)',
      'min-sync-period': 'never sync more often than this; bursts of changes are batched (default 1s)',
    },
  },
  async run(values, context) {
    const options = proxyOptions(values);
    const logger = context.logger.child({ component: 'proxy' });
    if (options.cleanup) {
      const removed = await cleanup(execaRunner());
      logger.info({ chains: removed.chains, jumps: removed.jumps }, 'removed kplane rules');
      return;
    }
    const { runProxy } = await import('./agent.ts');
    await runProxy(options, { logger, signal: context.signal, env: context.env, stdout: context.stdout });
  },
});
