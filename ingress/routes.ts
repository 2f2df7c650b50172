/**
 * The route table: owned Ingresses + Services + EndpointSlices in, an
 * immutable lookup structure out. Pure: no clock, no I/O; problems with an
 * Ingress come back as values, and the rest of the table is still built.
 *
 * Matching follows networking.k8s.io/v1 and ingress-nginx:
 *
 * - Hosts select a "server" first: the exact host, else the wildcard
 *   `*.parent` (one label only), else the catch-all made of host-less rules.
 *   Once a server is selected, the request stays there: a path no rule of
 *   that host matches goes to the host's defaultBackend, else 404 (it does not
 *   fall through to host-less rules; ingress-nginx and GKE behave the same).
 * - Paths: Exact compares the whole path, case-sensitively. Prefix compares
 *   element by element on `/`, ignoring empty elements, so `/foo` and `/foo/`
 *   both match `/foo` and `/foo/bar` but not `/foobar`.
 *   ImplementationSpecific is Prefix here, as in ingress-nginx without
 *   regex; with `use-regex: "true"`, or a rewrite-target that uses capture
 *   groups ($1…), that Ingress's ImplementationSpecific paths are regular
 *   expressions anchored at the start, matched case-sensitively (unlike
 *   nginx's `~*`, and only for that Ingress, not the whole host).
 * - Precedence across all Ingresses of the host: the longest rule path
 *   first, then Exact before Prefix, then the oldest Ingress (see byAge).
 *   Rule order in the YAML does not matter. A second Ingress claiming the
 *   same host, path and type loses and is reported.
 * - defaultBackend: an Ingress's defaultBackend catches unmatched paths on
 *   its own hosts; the catch-all server takes the oldest defaultBackend of
 *   an Ingress without rules or with host-less rules (ingress-nginx's
 *   createServers). TLS never applies to the catch-all.
 * - Backends resolve straight to ready endpoints: service port by number or
 *   name → the EndpointSlice port of the same name → ready addresses. A
 *   missing Service or port, or a `resource` backend, leaves the route with
 *   no endpoints (503) and a problem naming why. Endpoints of FQDN slices,
 *   like ExternalName Services, are connected to by name: an L7 proxy can
 *   resolve what kube-proxy's DNAT cannot.
 */
import { createHash } from 'node:crypto';
import type { EndpointSlice, HTTPIngressPath, Ingress, IngressBackend, Service, ServicePort } from '../controlplane/api/types.ts';
import { routeSettings, type RouteSettings } from './annotations.ts';

export interface Endpoint {
  address: string;
  port: number;
  /** `http://address:port` (IPv6 in brackets): the upstream pool's key. */
  origin: string;
  /** A stable digest of address:port, the affinity cookie's value. */
  id: string;
}

export interface Backend {
  /** `namespace/service:port`, shared by every route to that service port. */
  key: string;
  /** Ready endpoints, sorted; empty answers 503. */
  endpoints: readonly Endpoint[];
}

export type PathMatch = 'exact' | 'prefix' | 'regex' | 'default';

export interface Route {
  namespace: string;
  ingress: string;
  /** The rule host: `a.example.com`, `*.example.com`, or '' for any host. */
  host: string;
  /** The rule path as written; '' for a defaultBackend. */
  path: string;
  match: PathMatch;
  /**
   * What a collapsed request path is compared with: for Exact the path
   * without doubled slashes, for Prefix also without trailing ones ('' for `/`).
   */
  normalized: string;
  regex?: RegExp;
  backend: Backend;
  settings: RouteSettings;
  /** Whether plain HTTP requests get a 308 to HTTPS. */
  httpsRedirect: boolean;
}

export interface Server {
  /** In precedence order: the first match wins. */
  routes: readonly Route[];
  fallback?: Route;
}

export interface RouteTable {
  exact: ReadonlyMap<string, Server>;
  /** Keyed by the parent domain: `*.example.com` is under `example.com`. */
  wildcard: ReadonlyMap<string, Server>;
  catchAll: Server;
  backends: ReadonlyMap<string, Backend>;
}

export interface Problem {
  ingress: Ingress;
  /** The Event reason, e.g. ServiceNotFound. */
  reason: string;
  message: string;
}

export interface RouteInputs {
  /** Owned Ingresses, oldest first (classes.ts ownedIngresses). */
  ingresses: readonly Ingress[];
  services: readonly Service[];
  endpointSlices: readonly EndpointSlice[];
}

export const emptyRouteTable: RouteTable = Object.freeze({ exact: new Map(), wildcard: new Map(), catchAll: { routes: [] }, backends: new Map() });

const serviceNameLabel = 'kubernetes.io/service-name';
const dnsLabel = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const exactHost = new RegExp(`^${dnsLabel}(\\.${dnsLabel})*$`);
const captureReference = /\$\d/;

function collapseSlashes(path: string): string {
  return path.includes('//') ? path.replace(/\/{2,}/g, '/') : path;
}

/** The prefix a Prefix rule compares against: `/foo/` and `/foo` are both `/foo`; `/` is ''. */
function prefixOf(path: string): string {
  return collapseSlashes(path).replace(/\/+$/, '');
}

function originOf(address: string, port: number): string {
  return address.includes(':') ? `http://[${address}]:${port}` : `http://${address}:${port}`;
}

function endpoint(address: string, port: number): Endpoint {
  const id = createHash('sha1').update(`${address}:${port}`).digest('hex').slice(0, 16);
  return { address, port, origin: originOf(address, port), id };
}

function compareEndpoints(a: Endpoint, b: Endpoint): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port;
}

/** Resolves Ingress backends to endpoints, sharing one Backend per service port. */
class BackendResolver {
  readonly backends = new Map<string, Backend>();
  readonly #services = new Map<string, Service>();
  readonly #slices = new Map<string, EndpointSlice[]>();

  constructor(services: readonly Service[], slices: readonly EndpointSlice[]) {
    for (const service of services) this.#services.set(`${service.metadata.namespace}/${service.metadata.name}`, service);
    for (const slice of slices) {
      const service = slice.metadata.labels?.[serviceNameLabel];
      if (!service) continue;
      const key = `${slice.metadata.namespace}/${service}`;
      const list = this.#slices.get(key);
      if (list) list.push(slice);
      else this.#slices.set(key, [slice]);
    }
  }

  resolve(namespace: string, backend: IngressBackend): { backend: Backend; problem?: Omit<Problem, 'ingress'> } {
    if (!backend.service) {
      const resource = backend.resource ? `${backend.resource.kind}/${backend.resource.name}` : 'none';
      return {
        backend: this.#shared(`${namespace}/resource:${resource}`, () => []),
        problem: { reason: 'UnsupportedBackend', message: `backend ${resource} is not a Service; requests get 503` },
      };
    }
    const { name, port } = backend.service;
    const service = this.#services.get(`${namespace}/${name}`);
    const wanted = port?.number ?? port?.name ?? '';
    if (!service) {
      return { backend: this.#shared(`${namespace}/${name}:${wanted}`, () => []), problem: { reason: 'ServiceNotFound', message: `service ${namespace}/${name} not found; requests get 503` } };
    }
    const servicePort = service.spec?.ports?.find((candidate) => (port?.number !== undefined ? candidate.port === port.number : candidate.name === port?.name));
    if (!servicePort) {
      return {
        backend: this.#shared(`${namespace}/${name}:${wanted}`, () => []),
        problem: { reason: 'ServicePortNotFound', message: `service ${namespace}/${name} has no port ${wanted}; requests get 503` },
      };
    }
    return { backend: this.#shared(`${namespace}/${name}:${servicePort.port}`, () => this.#endpoints(namespace, service, servicePort)) };
  }

  #shared(key: string, endpoints: () => Endpoint[]): Backend {
    let backend = this.backends.get(key);
    if (!backend) {
      backend = { key, endpoints: endpoints() };
      this.backends.set(key, backend);
    }
    return backend;
  }

  #endpoints(namespace: string, service: Service, servicePort: ServicePort): Endpoint[] {
    // ExternalName has no endpoints: the name itself is the upstream, resolved by DNS when connecting.
    if (service.spec.type === 'ExternalName') return service.spec.externalName ? [endpoint(service.spec.externalName, servicePort.port)] : [];
    const portName = servicePort.name ?? '';
    const seen = new Map<string, Endpoint>();
    for (const slice of this.#slices.get(`${namespace}/${service.metadata.name}`) ?? []) {
      const port = slice.ports?.find((candidate) => (candidate.name ?? '') === portName && (candidate.protocol ?? 'TCP') === 'TCP')?.port;
      if (port === undefined) continue;
      for (const item of slice.endpoints ?? []) {
        // Unset `ready` means ready (EndpointConditions).
        if (item.conditions?.ready === false) continue;
        // Addresses of one endpoint are fungible; consumers may use only the first (EndpointSlice API).
        const address = item.addresses[0];
        if (address === undefined) continue;
        const found = endpoint(address, port);
        seen.set(found.origin, found);
      }
    }
    return [...seen.values()].sort(compareEndpoints);
  }
}

interface Candidate {
  route: Route;
  /** Insertion order, the last tie-breaker (oldest Ingress, then rule and path order). */
  order: number;
}

interface ServerDraft {
  candidates: Candidate[];
  /** match kind + normalized path → the Ingress that claimed it first. */
  claimed: Map<string, string>;
  fallback?: Route;
}

/** Hosts with TLS: the hosts of each spec.tls entry, or, for an entry without hosts, every rule host of its Ingress. */
function tlsHosts(ingresses: readonly Ingress[]): Set<string> {
  const hosts = new Set<string>();
  for (const ingress of ingresses) {
    for (const entry of ingress.spec?.tls ?? []) {
      const listed = entry.hosts?.length ? entry.hosts : (ingress.spec.rules ?? []).map((rule) => rule.host ?? '');
      for (const host of listed) if (host) hosts.add(host.toLowerCase());
    }
  }
  return hosts;
}

function coveredByTls(host: string, hosts: ReadonlySet<string>): boolean {
  if (host === '') return false;
  if (hosts.has(host)) return true;
  const dot = host.indexOf('.');
  return !host.startsWith('*.') && dot > 0 && hosts.has(`*${host.slice(dot)}`);
}

function hostProblem(host: string): string | undefined {
  if (host === '') return undefined;
  const name = host.startsWith('*.') ? host.slice(2) : host;
  return exactHost.test(name) && !name.includes('*') ? undefined : `host "${host}" is neither a DNS name nor "*." followed by one; its rule is ignored`;
}

function pathMatch(path: HTTPIngressPath, settings: RouteSettings): PathMatch {
  if (path.pathType === 'Exact') return 'exact';
  if (path.pathType === 'ImplementationSpecific' && (settings.useRegex || (settings.rewriteTarget !== undefined && captureReference.test(settings.rewriteTarget)))) return 'regex';
  return 'prefix';
}

export function buildRouteTable(inputs: RouteInputs): { table: RouteTable; problems: Problem[] } {
  const resolver = new BackendResolver(inputs.services, inputs.endpointSlices);
  const problems: Problem[] = [];
  const reported = new Set<string>();
  const withTls = tlsHosts(inputs.ingresses);
  const drafts = new Map<string, ServerDraft>();
  const draft = (host: string): ServerDraft => {
    let found = drafts.get(host);
    if (!found) {
      found = { candidates: [], claimed: new Map() };
      drafts.set(host, found);
    }
    return found;
  };
  draft('');
  let order = 0;

  for (const ingress of inputs.ingresses) {
    const namespace = ingress.metadata.namespace ?? 'default';
    const name = ingress.metadata.name ?? '';
    const report = (reason: string, message: string) => {
      // Every path to a missing Service would say the same thing.
      const key = `${namespace}/${name}\n${reason}\n${message}`;
      if (reported.has(key)) return;
      reported.add(key);
      problems.push({ ingress, reason, message });
    };
    const parsed = routeSettings(ingress);
    for (const message of parsed.problems) report('InvalidAnnotation', message);
    const settings = parsed.settings;
    const makeRoute = (host: string, backend: IngressBackend, path: string, match: PathMatch, regex?: RegExp): Route => {
      const resolved = resolver.resolve(namespace, backend);
      if (resolved.problem) report(resolved.problem.reason, resolved.problem.message);
      const route: Route = {
        namespace,
        ingress: name,
        host,
        path,
        match,
        normalized: match === 'prefix' ? prefixOf(path) : match === 'exact' ? collapseSlashes(path) : '',
        backend: resolved.backend,
        settings,
        httpsRedirect: settings.forceSslRedirect || (settings.sslRedirect && coveredByTls(host, withTls)),
      };
      if (regex) route.regex = regex;
      return route;
    };

    const rules = ingress.spec?.rules ?? [];
    const hosts = new Set<string>();
    for (const rule of rules) {
      const host = (rule.host ?? '').toLowerCase();
      const invalidHost = hostProblem(host);
      if (invalidHost) {
        report('InvalidHost', invalidHost);
        continue;
      }
      hosts.add(host);
      const server = draft(host);
      for (const path of rule.http?.paths ?? []) {
        const match = pathMatch(path, settings);
        const text = path.path ?? (path.pathType === 'ImplementationSpecific' ? '/' : '');
        if (!text.startsWith('/') && match !== 'regex') {
          report('InvalidPath', `path "${text}" on host "${host || '*'}" must start with "/"; it is ignored`);
          continue;
        }
        let regex: RegExp | undefined;
        if (match === 'regex') {
          try {
            regex = new RegExp(`^(?:${text})`);
          } catch {
            report('InvalidPath', `path "${text}" on host "${host || '*'}" is not a valid regular expression; it is ignored`);
            continue;
          }
        }
        const claim = `${match}:${match === 'regex' ? text : collapseSlashes(text)}`;
        const owner = server.claimed.get(claim);
        if (owner !== undefined) {
          report('PathConflict', `${path.pathType} path "${text}" on host "${host || '*'}" is already routed by ingress ${owner}; this one is ignored`);
          continue;
        }
        server.claimed.set(claim, `${namespace}/${name}`);
        server.candidates.push({ route: makeRoute(host, path.backend, text, match, regex), order: order++ });
      }
    }

    const defaultBackend = ingress.spec?.defaultBackend;
    if (defaultBackend) {
      const fallbackHosts = rules.length === 0 ? [''] : [...hosts];
      for (const host of fallbackHosts) {
        const server = draft(host);
        server.fallback ??= makeRoute(host, defaultBackend, '', 'default');
      }
    }
  }

  const exact = new Map<string, Server>();
  const wildcard = new Map<string, Server>();
  let catchAll: Server = { routes: [] };
  for (const [host, { candidates, fallback }] of drafts) {
    const routes = candidates
      .sort((a, b) => b.route.path.length - a.route.path.length || Number(b.route.match === 'exact') - Number(a.route.match === 'exact') || a.order - b.order)
      .map((candidate) => candidate.route);
    const server: Server = fallback ? { routes, fallback } : { routes };
    if (host === '') catchAll = server;
    else if (host.startsWith('*.')) wildcard.set(host.slice(2), server);
    else exact.set(host, server);
  }
  return { table: { exact, wildcard, catchAll, backends: resolver.backends }, problems };
}

/** Whether a path rule (never a defaultBackend) matches a collapsed request path. */
function matches(route: Route, path: string): boolean {
  if (route.match === 'exact') return path === route.normalized;
  if (route.match === 'prefix') {
    const prefix = route.normalized;
    return prefix === '' || path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47 /* "/" */);
  }
  return route.regex?.test(path) ?? false;
}

/** The server a Host (lower case, without port) selects. */
function selectServer(table: RouteTable, host: string): Server {
  const found = table.exact.get(host);
  if (found) return found;
  const dot = host.indexOf('.');
  if (dot > 0) {
    const wild = table.wildcard.get(host.slice(dot + 1));
    if (wild) return wild;
  }
  return table.catchAll;
}

/** The route for a request, or undefined for 404. `path` is the request path without query. */
export function matchRoute(table: RouteTable, host: string, path: string): Route | undefined {
  const server = selectServer(table, host);
  const normalized = collapseSlashes(path);
  for (const route of server.routes) if (matches(route, normalized)) return route;
  return server.fallback;
}

/**
 * The upstream path after rewrite-target. Without capture groups the matched
 * rule path is replaced by the target and the rest is kept (`/app` with target
 * `/` sends `/app/x` as `/x`); with a regex route, `$1`… are the captures.
 */
export function rewritePath(route: Route, path: string): string {
  const target = route.settings.rewriteTarget;
  if (target === undefined) return path;
  const normalized = collapseSlashes(path);
  if (route.match === 'regex' && route.regex) {
    const captures = route.regex.exec(normalized) ?? [];
    return target.replace(/\$(\d)/g, (_, index: string) => captures[Number(index)] ?? '');
  }
  const matched = route.match === 'default' ? '' : route.normalized;
  const rest = normalized.slice(matched.length);
  const joined = target.endsWith('/') && rest.startsWith('/') ? target + rest.slice(1) : target + rest;
  return joined === '' ? '/' : joined;
}
