/**
 * ApiServerOptions: the API store's configuration, built once from flags,
 * checked as a whole (every problem is reported, each with its flag), and
 * frozen before it reaches any constructor.
 */
import { isIP } from 'node:net';
import { UsageError } from '../common/errors.ts';
import { parseHostPort } from '../common/flags.ts';

export type Listener = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export interface ApiServerOptions {
  listen: Listener[];
  dataDir: string;
  serviceCidr: string;
  nodePortRange: { min: number; max: number };
  lbPool?: string;
  /** Events the watch cache keeps for resuming watches (not a flag: tests shrink it to reach 410 quickly). */
  watchCacheCapacity?: number;
}

export interface ApiServerFlags {
  listen?: string[];
  'data-dir'?: string;
  'service-cidr'?: string;
  'node-port-range'?: string;
  'lb-pool'?: string;
}

export const apiServerDefaults = {
  listen: '127.0.0.1:6443',
  serviceCidr: '10.96.0.0/12',
  nodePortRange: '30000-32767',
} as const;

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

function parseCidr(value: string): boolean {
  const [address, bits, ...rest] = value.split('/');
  const family = isIP(address ?? '');
  if (rest.length > 0 || family === 0 || bits === undefined || !/^\d+$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

function parseListener(value: string, problems: string[]): Listener | undefined {
  if (value.startsWith('unix:')) {
    const path = value.slice('unix:'.length);
    if (path === '') problems.push(`--listen: "${value}" has no socket path`);
    return { kind: 'unix', path };
  }
  try {
    const { host, port } = parseHostPort('listen', value);
    // Without TLS and authentication, the API must not be reachable from other machines.
    if (!isLoopback(host)) problems.push(`--listen: ${value}: plain HTTP is served only on loopback addresses and unix sockets`);
    return { kind: 'tcp', host, port };
  } catch (error) {
    problems.push((error as Error).message);
    return undefined;
  }
}

export function apiServerOptions(flags: ApiServerFlags): Readonly<ApiServerOptions> {
  const problems: string[] = [];
  const listen = (flags.listen?.length ? flags.listen : [apiServerDefaults.listen])
    .map((value) => parseListener(value, problems))
    .filter((listener) => listener !== undefined);
  if (!flags['data-dir']) problems.push('--data-dir is required (where the embedded store keeps its database)');
  const serviceCidr = flags['service-cidr'] ?? apiServerDefaults.serviceCidr;
  if (!parseCidr(serviceCidr)) problems.push(`--service-cidr: "${serviceCidr}" is not a CIDR`);
  const rangeText = flags['node-port-range'] ?? apiServerDefaults.nodePortRange;
  const range = /^(\d+)-(\d+)$/.exec(rangeText);
  const nodePortRange = { min: Number(range?.[1]), max: Number(range?.[2]) };
  if (!range || nodePortRange.min < 1 || nodePortRange.max > 65535 || nodePortRange.min > nodePortRange.max) {
    problems.push(`--node-port-range: "${rangeText}" is not MIN-MAX within 1-65535`);
  }
  const lbPool = flags['lb-pool'];
  if (lbPool !== undefined && !parseCidr(lbPool)) problems.push(`--lb-pool: "${lbPool}" is not a CIDR`);
  if (problems.length > 0) throw new UsageError(`kplane apiserver: ${problems.join('; ')}`);
  return Object.freeze({
    listen,
    dataDir: flags['data-dir'] as string,
    serviceCidr,
    nodePortRange,
    ...(lbPool !== undefined ? { lbPool } : {}),
  });
}
