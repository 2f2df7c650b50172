/**
 * IngressOptions: the ingress controller's configuration, built once from
 * flags, checked as a whole (every problem is reported, each with its flag),
 * and frozen before it reaches any constructor.
 */
import { isIP } from 'node:net';
import { UsageError } from '../common/errors.ts';
import { parseHostPort } from '../common/flags.ts';
import { parseServerAddress } from '../controlplane/client/http-client.ts';
import { parseDuration } from './durations.ts';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface ObjectName {
  namespace: string;
  name: string;
}

export interface IngressOptions {
  /** Passed to connectionFromFlags; neither set means in-cluster. */
  server?: string;
  kubeconfig?: string;
  httpListen: ListenAddress;
  httpsListen: ListenAddress;
  /** The IngressClass name this controller answers to. */
  className: string;
  /**
   * What status.loadBalancer.ingress carries: IPs become `ip`, names
   * `hostname`. Defaults to the --http-listen address unless that is a
   * wildcard; empty means no status is published.
   */
  publishAddresses: string[];
  /** A kubernetes.io/tls Secret served when no Ingress certificate matches the SNI name. */
  defaultCertificate?: ObjectName;
  healthListen?: ListenAddress;
  metricsListen?: ListenAddress;
  /** Slow clients: time to send the request headers, the whole request, and idle time between requests. */
  clientHeaderTimeoutMs: number;
  clientRequestTimeoutMs: number;
  clientIdleTimeoutMs: number;
  /** How long a stop waits for requests in flight before closing their connections. */
  shutdownGraceMs: number;
}

export interface IngressFlags {
  server?: string;
  kubeconfig?: string;
  'http-listen'?: string;
  'https-listen'?: string;
  class?: string;
  'publish-address'?: string[];
  'default-certificate'?: string;
  'health-listen'?: string;
  'metrics-listen'?: string;
  'client-header-timeout'?: string;
  'client-request-timeout'?: string;
  'client-idle-timeout'?: string;
  'shutdown-grace'?: string;
}

/** nginx's client_header_timeout, a generous whole-request bound, and nginx's keepalive_timeout. */
export const ingressDefaults = {
  httpListen: '0.0.0.0:80',
  httpsListen: '0.0.0.0:443',
  className: 'kplane',
  clientHeaderTimeout: '60s',
  clientRequestTimeout: '300s',
  clientIdleTimeout: '75s',
  shutdownGrace: '10s',
} as const;

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function listenAddress(flag: string, value: string | undefined, problems: string[]): ListenAddress | undefined {
  if (value === undefined) return undefined;
  try {
    return parseHostPort(flag, value);
  } catch (error) {
    problems.push((error as Error).message);
    return undefined;
  }
}

function duration(flag: string, value: string, problems: string[]): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) {
    problems.push(`--${flag}: "${value}" is not a positive duration (e.g. 30s, 1.5s, 500ms, 2m)`);
    return 0;
  }
  return ms;
}

function objectName(flag: string, value: string | undefined, problems: string[]): ObjectName | undefined {
  if (value === undefined) return undefined;
  const [namespace, name, ...rest] = value.split('/');
  if (!namespace || !name || rest.length > 0 || !dnsSubdomain.test(namespace) || !dnsSubdomain.test(name)) {
    problems.push(`--${flag}: expected NAMESPACE/NAME, got "${value}"`);
    return undefined;
  }
  return { namespace, name };
}

export function ingressOptions(flags: IngressFlags): Readonly<IngressOptions> {
  const problems: string[] = [];
  if (flags.server !== undefined) {
    try {
      parseServerAddress(flags.server);
    } catch (error) {
      problems.push(`--server: ${(error as Error).message}`);
    }
  }
  const httpListen = listenAddress('http-listen', flags['http-listen'] ?? ingressDefaults.httpListen, problems);
  const httpsListen = listenAddress('https-listen', flags['https-listen'] ?? ingressDefaults.httpsListen, problems);
  const healthListen = listenAddress('health-listen', flags['health-listen'], problems);
  const metricsListen = listenAddress('metrics-listen', flags['metrics-listen'], problems);
  const className = flags.class ?? ingressDefaults.className;
  if (className.length > 253 || !dnsSubdomain.test(className)) problems.push(`--class: "${className}" is not a valid IngressClass name`);
  const given = (flags['publish-address'] ?? []).flatMap((value) => value.split(',')).map((value) => value.trim());
  const listenHost = httpListen?.host;
  const publishAddresses = given.length > 0 || listenHost === undefined || listenHost === '0.0.0.0' || listenHost === '::' ? given : [listenHost];
  for (const address of given) {
    if (isIP(address) === 0 && !dnsSubdomain.test(address)) problems.push(`--publish-address: "${address}" is neither an IP address nor a DNS name`);
  }
  const defaultCertificate = objectName('default-certificate', flags['default-certificate'], problems);
  const clientHeaderTimeoutMs = duration('client-header-timeout', flags['client-header-timeout'] ?? ingressDefaults.clientHeaderTimeout, problems);
  const clientRequestTimeoutMs = duration('client-request-timeout', flags['client-request-timeout'] ?? ingressDefaults.clientRequestTimeout, problems);
  const clientIdleTimeoutMs = duration('client-idle-timeout', flags['client-idle-timeout'] ?? ingressDefaults.clientIdleTimeout, problems);
  const shutdownGraceMs = duration('shutdown-grace', flags['shutdown-grace'] ?? ingressDefaults.shutdownGrace, problems);
  // Node rejects a headers timeout longer than the request timeout at listen time; say it here instead.
  if (clientHeaderTimeoutMs > 0 && clientRequestTimeoutMs > 0 && clientHeaderTimeoutMs > clientRequestTimeoutMs) {
    problems.push('--client-header-timeout must not exceed --client-request-timeout');
  }
  if (problems.length > 0 || !httpListen || !httpsListen) throw new UsageError(`kplane ingress: ${problems.join('; ')}`);
  return Object.freeze({
    ...(flags.server !== undefined ? { server: flags.server } : {}),
    ...(flags.kubeconfig !== undefined ? { kubeconfig: flags.kubeconfig } : {}),
    httpListen,
    httpsListen,
    className,
    publishAddresses,
    ...(defaultCertificate ? { defaultCertificate } : {}),
    ...(healthListen ? { healthListen } : {}),
    ...(metricsListen ? { metricsListen } : {}),
    clientHeaderTimeoutMs,
    clientRequestTimeoutMs,
    clientIdleTimeoutMs,
    shutdownGraceMs,
  });
}
