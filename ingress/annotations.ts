/**
 * The per-Ingress knobs users reach for most, read from annotations. Each is
 * accepted as `kplane.io/<name>` and, so manifests written for ingress-nginx
 * work unchanged, as `nginx.ingress.kubernetes.io/<name>`; the kplane.io name
 * wins when both are set. A value that cannot be used is reported and its
 * default applies, so one typo never takes an Ingress offline.
 */
import type { Ingress } from '../controlplane/api/types.ts';
import { parseDuration } from './durations.ts';

const annotationPrefixes = ['kplane.io/', 'nginx.ingress.kubernetes.io/'] as const;

export interface Affinity {
  cookieName: string;
  /** Unset: a session cookie. */
  maxAgeSeconds?: number;
  /** Unset: the path of the matched rule. */
  path?: string;
}

export interface RouteSettings {
  /** Redirect plain HTTP to HTTPS when the host has TLS (default true). */
  sslRedirect: boolean;
  /** Redirect plain HTTP to HTTPS even without TLS on the host (default false). */
  forceSslRedirect: boolean;
  /** Replaces the matched path (see routes.ts rewritePath); capture groups ($1…) make the paths regular expressions. */
  rewriteTarget?: string;
  /** Treat ImplementationSpecific paths as regular expressions. */
  useRegex: boolean;
  affinity?: Affinity;
  /** Largest request body accepted before answering 413; Infinity for no limit. */
  maxBodyBytes: number;
  connectTimeoutMs: number;
  /** Upstream idle limit: until the response headers, then between body chunks and on upgraded connections. */
  readTimeoutMs: number;
}

/** ingress-nginx's defaults: 1m bodies, 5 s to connect, 60 s to read. */
export const defaultRouteSettings: Readonly<RouteSettings> = Object.freeze({
  sslRedirect: true,
  forceSslRedirect: false,
  useRegex: false,
  maxBodyBytes: 1024 * 1024,
  connectTimeoutMs: 5_000,
  readTimeoutMs: 60_000,
});

const sizeUnits: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** nginx sizes: bytes, or k/m/g (either case); 0 turns the limit off. */
function parseSize(text: string): number | undefined {
  const match = /^(\d+)([kmg]?)$/i.exec(text.trim());
  if (!match) return undefined;
  const bytes = Number(match[1]) * (sizeUnits[(match[2] ?? '').toLowerCase()] ?? 1);
  return bytes === 0 ? Infinity : bytes;
}

function parseBoolean(text: string): boolean | undefined {
  const value = text.trim().toLowerCase();
  return value === 'true' ? true : value === 'false' ? false : undefined;
}

const cookieName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export interface ParsedSettings {
  settings: RouteSettings;
  /** One line per annotation that could not be used, naming it. */
  problems: string[];
}

export function routeSettings(ingress: Ingress): ParsedSettings {
  const annotations = ingress.metadata.annotations ?? {};
  const problems: string[] = [];
  const read = <T>(name: string, parse: (text: string) => T | undefined, expected: string): T | undefined => {
    for (const prefix of annotationPrefixes) {
      const text = annotations[prefix + name];
      if (text === undefined) continue;
      const value = parse(text);
      if (value === undefined) problems.push(`annotation ${prefix}${name}: "${text}" is not ${expected}; using the default`);
      return value;
    }
    return undefined;
  };
  const seconds = (text: string) => {
    const ms = parseDuration(text);
    return ms === undefined || ms <= 0 ? undefined : ms;
  };
  const settings: RouteSettings = {
    sslRedirect: read('ssl-redirect', parseBoolean, 'true or false') ?? defaultRouteSettings.sslRedirect,
    forceSslRedirect: read('force-ssl-redirect', parseBoolean, 'true or false') ?? defaultRouteSettings.forceSslRedirect,
    useRegex: read('use-regex', parseBoolean, 'true or false') ?? defaultRouteSettings.useRegex,
    maxBodyBytes: read('proxy-body-size', parseSize, 'a size such as 8m, 512k or 0') ?? defaultRouteSettings.maxBodyBytes,
    connectTimeoutMs: read('proxy-connect-timeout', seconds, 'a positive number of seconds') ?? defaultRouteSettings.connectTimeoutMs,
    readTimeoutMs: read('proxy-read-timeout', seconds, 'a positive number of seconds') ?? defaultRouteSettings.readTimeoutMs,
  };
  const rewriteTarget = read('rewrite-target', (text) => (text.startsWith('/') ? text : undefined), 'a path starting with /');
  if (rewriteTarget !== undefined) settings.rewriteTarget = rewriteTarget;
  const affinity = read('affinity', (text) => (text === 'cookie' ? text : undefined), '"cookie"');
  if (affinity) {
    settings.affinity = {
      cookieName: read('session-cookie-name', (text) => (cookieName.test(text) ? text : undefined), 'a cookie name') ?? 'INGRESSCOOKIE',
    };
    const maxAge = read('session-cookie-max-age', (text) => (/^\d+$/.test(text) ? Number(text) : undefined), 'a number of seconds');
    if (maxAge !== undefined) settings.affinity.maxAgeSeconds = maxAge;
    const path = read('session-cookie-path', (text) => (text.startsWith('/') && !/[;\s]/.test(text) ? text : undefined), 'a path starting with /');
    if (path !== undefined) settings.affinity.path = path;
  }
  return { settings, problems };
}
