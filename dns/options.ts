/**
 * DnsOptions: the DNS server's configuration, built once from flags,
 * checked as a whole (every problem reported with its flag) and frozen.
 */
import { isIP } from 'node:net';
import { UsageError } from '../common/errors.ts';
import type { PodsMode } from './answer.ts';
import type { Upstream } from './forward.ts';
import { canonicalIp } from './ip.ts';

export interface HostPort {
  host: string;
  port: number;
}

export interface DnsOptions {
  server?: string;
  kubeconfig?: string;
  listen: HostPort;
  /** Lower case, without the trailing dot. */
  zone: string;
  /** Empty: the nameservers of resolvConf. */
  upstreams: Upstream[];
  resolvConf: string;
  ttl: number;
  pods: PodsMode;
  healthListen: HostPort;
  readyListen: HostPort;
  metricsListen: HostPort;
  /** Threads serving DNS, each with its own socket on the listen address. */
  workers: number;
}

export interface DnsFlags {
  server?: string;
  kubeconfig?: string;
  listen?: string;
  zone?: string;
  upstream?: string[];
  'resolv-conf'?: string;
  ttl?: string;
  pods?: string;
  'health-listen'?: string;
  'ready-listen'?: string;
  'metrics-listen'?: string;
  workers?: string;
}

export const dnsDefaults = {
  listen: ':53',
  zone: 'cluster.local',
  resolvConf: '/etc/resolv.conf',
  ttl: 5,
  pods: 'disabled',
  healthListen: ':8080',
  readyListen: ':8181',
  metricsListen: ':9153',
} as const;

const podsModes: readonly string[] = ['disabled', 'insecure', 'verified'];
const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** "HOST:PORT", "[v6]:PORT", or ":PORT" for every address. */
function parseListen(flag: string, value: string, problems: string[]): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const host = match ? (match[1] ?? (match[2] || '0.0.0.0')) : '';
  const port = Number(match?.[3]);
  if (!match || port > 65535 || isIP(host) === 0) {
    problems.push(`--${flag}: expected IP:PORT or :PORT, got "${value}"`);
    return { host: '0.0.0.0', port: 0 };
  }
  return { host: canonicalIp(host) ?? host, port };
}

/** "IP", "IP:PORT", "[v6]:PORT" or a bare IPv6 address; the port defaults to 53. */
function parseUpstream(value: string, problems: string[]): Upstream | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(value);
  const [host, portText] = bracketed ? [bracketed[1] ?? '', bracketed[2]] : isIP(value) === 6 ? [value, undefined] : value.split(':');
  const port = portText === undefined ? 53 : Number(portText);
  const ip = canonicalIp(host ?? '');
  if (ip === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    problems.push(`--upstream: expected IP[:PORT], got "${value}"`);
    return undefined;
  }
  return { host: ip, port };
}

function parseInteger(flag: string, value: string, min: number, max: number, problems: string[]): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) problems.push(`--${flag}: expected an integer from ${min} to ${max}, got "${value}"`);
  return number;
}

/** `cpus` is the default for --workers: one serving thread per core. */
export function dnsOptions(flags: DnsFlags, cpus: number): Readonly<DnsOptions> {
  const problems: string[] = [];
  const zone = (flags.zone ?? dnsDefaults.zone).toLowerCase().replace(/\.$/, '');
  if (zone === '' || zone.length > 200 || !zone.split('.').every((part) => label.test(part))) problems.push(`--zone: "${flags.zone}" is not a domain name`);
  const upstreams = (flags.upstream ?? [])
    .flatMap((value) => value.split(','))
    .filter((value) => value.trim() !== '')
    .map((value) => parseUpstream(value.trim(), problems))
    .filter((upstream) => upstream !== undefined);
  const pods = flags.pods ?? dnsDefaults.pods;
  if (!podsModes.includes(pods)) problems.push(`--pods: expected disabled, insecure or verified, got "${pods}"`);
  const options: DnsOptions = {
    ...(flags.server ? { server: flags.server } : {}),
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
    listen: parseListen('listen', flags.listen ?? dnsDefaults.listen, problems),
    zone,
    upstreams,
    resolvConf: flags['resolv-conf'] ?? dnsDefaults.resolvConf,
    ttl: parseInteger('ttl', flags.ttl ?? String(dnsDefaults.ttl), 0, 3600, problems),
    pods: pods as PodsMode,
    healthListen: parseListen('health-listen', flags['health-listen'] ?? dnsDefaults.healthListen, problems),
    readyListen: parseListen('ready-listen', flags['ready-listen'] ?? dnsDefaults.readyListen, problems),
    metricsListen: parseListen('metrics-listen', flags['metrics-listen'] ?? dnsDefaults.metricsListen, problems),
    workers: parseInteger('workers', flags.workers ?? String(Math.max(1, cpus)), 1, 64, problems),
  };
  if (problems.length > 0) throw new UsageError(`kplane dns: ${problems.join('; ')}`);
  return Object.freeze(options);
}
