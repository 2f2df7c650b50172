/**
 * ProxyOptions: the proxy's configuration, built once from flags, checked
 * as a whole (every problem is reported, each with its flag, in one line),
 * and frozen before it reaches any constructor.
 */
import { UsageError } from '../common/errors.ts';
import { parseHostPort } from '../common/flags.ts';
import { parseServerAddress } from '../controlplane/client/http-client.ts';
import { isIpv6, parseIpv4Cidr } from './ipv4.ts';

export interface BindAddress {
  readonly host: string;
  readonly port: number;
}

export interface ProxyOptions {
  readonly server: string | undefined;
  readonly kubeconfig: string | undefined;
  readonly nodeName: string;
  readonly mode: 'iptables';
  /** Canonical CIDR of pod addresses; traffic from outside it to a ClusterIP is masqueraded. */
  readonly clusterCidr: string | undefined;
  /** Canonical CIDRs; empty means NodePorts on every local address. */
  readonly nodePortAddresses: readonly string[];
  readonly dryRun: boolean;
  readonly cleanup: boolean;
  readonly healthzBindAddress: BindAddress;
  readonly metricsBindAddress: BindAddress;
  readonly syncPeriodMs: number;
  readonly minSyncPeriodMs: number;
  /** A full sync at least this often, even without failures or canary loss (kube-proxy: 1 h). */
  readonly fullSyncPeriodMs: number;
  /** The packet mark bit that asks KPLANE-POSTROUTING to masquerade ("0x4000" = bit 14, kube-proxy's default). */
  readonly masqueradeMark: string;
}

export interface ProxyFlags {
  server?: string;
  kubeconfig?: string;
  node?: string;
  mode?: string;
  'cluster-cidr'?: string;
  'nodeport-addresses'?: string;
  'dry-run'?: boolean;
  cleanup?: boolean;
  'healthz-bind-address'?: string;
  'metrics-bind-address'?: string;
  'sync-period'?: string;
  'min-sync-period'?: string;
}

export const proxyDefaults = {
  mode: 'iptables',
  healthzBindAddress: '0.0.0.0:10256',
  metricsBindAddress: '127.0.0.1:10249',
  syncPeriod: '30s',
  minSyncPeriod: '1s',
  fullSyncPeriodMs: 3_600_000,
  masqueradeMark: '0x4000',
} as const;

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "500ms", "1s", "1.5m", "1h" → milliseconds; undefined if malformed. */
export function parseDuration(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  return match ? Number(match[1]) * (units[match[2] as string] as number) : undefined;
}

function bindAddress(flag: string, value: string, problems: string[]): BindAddress {
  try {
    return parseHostPort(flag, value);
  } catch (error) {
    problems.push((error as Error).message);
    return { host: '', port: 0 };
  }
}

function cidr(flag: string, value: string, problems: string[]): string | undefined {
  const parsed = parseIpv4Cidr(value);
  if (parsed) return parsed.text;
  const [address = ''] = value.split('/');
  problems.push(isIpv6(address) ? `--${flag}: "${value}": IPv6 is not supported by the iptables mode yet` : `--${flag}: "${value}" is not an IPv4 CIDR`);
  return undefined;
}

function duration(flag: string, value: string, problems: string[]): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) problems.push(`--${flag}: "${value}" is not a duration like 500ms, 30s or 1m`);
  return ms ?? 0;
}

export function proxyOptions(flags: ProxyFlags): Readonly<ProxyOptions> {
  const problems: string[] = [];
  const cleanup = flags.cleanup ?? false;
  const dryRun = flags['dry-run'] ?? false;
  if (cleanup && dryRun) problems.push('--cleanup and --dry-run cannot be combined');
  const mode = flags.mode ?? proxyDefaults.mode;
  if (mode !== 'iptables') problems.push(`--mode: "${mode}" is not supported (supported: iptables)`);
  // --cleanup only needs the kernel: it must work on a node whose API is gone.
  if (!cleanup) {
    if (!flags.node) problems.push('--node is required (the name of the Node this proxy runs on)');
    if (!flags.server && !flags.kubeconfig) problems.push('--server or --kubeconfig is required');
    if (flags.server) {
      try {
        parseServerAddress(flags.server);
      } catch (error) {
        problems.push(`--server: ${(error as Error).message}`);
      }
    }
  }
  const clusterCidr = flags['cluster-cidr'] === undefined ? undefined : cidr('cluster-cidr', flags['cluster-cidr'], problems);
  const nodePortAddresses = (flags['nodeport-addresses'] ?? '')
    .split(',')
    .map((value) => value.trim())
    .filter((value) => value !== '')
    .map((value) => cidr('nodeport-addresses', value, problems))
    .filter((value) => value !== undefined);
  const healthzBindAddress = bindAddress('healthz-bind-address', flags['healthz-bind-address'] ?? proxyDefaults.healthzBindAddress, problems);
  const metricsBindAddress = bindAddress('metrics-bind-address', flags['metrics-bind-address'] ?? proxyDefaults.metricsBindAddress, problems);
  const syncPeriodMs = duration('sync-period', flags['sync-period'] ?? proxyDefaults.syncPeriod, problems);
  const minSyncPeriodMs = duration('min-sync-period', flags['min-sync-period'] ?? proxyDefaults.minSyncPeriod, problems);
  if (syncPeriodMs > 0 && minSyncPeriodMs > syncPeriodMs) problems.push('--min-sync-period must not be longer than --sync-period');
  if (problems.length > 0) throw new UsageError(`kplane proxy: ${problems.join('; ')}`);
  return Object.freeze({
    server: flags.server,
    kubeconfig: flags.kubeconfig,
    nodeName: flags.node ?? '',
    mode: 'iptables',
    clusterCidr,
    nodePortAddresses: Object.freeze(nodePortAddresses),
    dryRun,
    cleanup,
    healthzBindAddress,
    metricsBindAddress,
    syncPeriodMs,
    minSyncPeriodMs,
    fullSyncPeriodMs: proxyDefaults.fullSyncPeriodMs,
    masqueradeMark: proxyDefaults.masqueradeMark,
  });
}
