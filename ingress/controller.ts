/**
 * The sync loop: informers for Ingresses, IngressClasses, Services,
 * EndpointSlices and Secrets feed one coalesced sync, which builds the route
 * table and certificate plan from the caches (pure), swaps them into the
 * proxy and the SNI lookup (one assignment each, so requests and handshakes
 * in flight keep what they started with), reports problems as Events, and
 * publishes status for owned Ingresses.
 */
import type { Logger } from '../common/logger.ts';
import type { EndpointSlice, Ingress, IngressClass, Secret, Service } from '../controlplane/api/types.ts';
import type { EventRecorder } from '../controlplane/client/events.ts';
import { Informer } from '../controlplane/client/informer.ts';
import { refs, type ApiClient } from '../controlplane/client/types.ts';
import { ownedIngresses } from './classes.ts';
import type { IngressMetrics } from './metrics.ts';
import type { IngressOptions } from './options.ts';
import type { IngressProxy } from './proxy.ts';
import { buildRouteTable } from './routes.ts';
import { loadBalancerIngress, StatusPublisher } from './status.ts';
import { planCertificates, SniContexts, type Certificate, type CertificatePlan } from './tls.ts';

/** Bursts of events (a relist, a rollout touching many slices) become one sync. */
const coalesceMs = 20;

export interface ControllerDeps {
  client: ApiClient;
  options: Pick<IngressOptions, 'className' | 'publishAddresses' | 'defaultCertificate'>;
  proxy: IngressProxy;
  metrics: IngressMetrics;
  recorder: EventRecorder;
  logger: Logger;
  /** The self-signed certificate used when no default certificate is given or usable. */
  fallbackCertificate: Certificate;
}

export class IngressController {
  readonly sni: SniContexts;
  readonly #deps: ControllerDeps;
  readonly #ingresses: Informer<Ingress>;
  readonly #classes: Informer<IngressClass>;
  readonly #services: Informer<Service>;
  readonly #slices: Informer<EndpointSlice>;
  readonly #secrets: Informer<Secret>;
  readonly #status: StatusPublisher;
  #timer: NodeJS.Timeout | undefined;
  #synced = false;
  #lastDefaultProblem: string | undefined;

  constructor(deps: ControllerDeps) {
    this.#deps = deps;
    const { client, logger } = deps;
    this.#ingresses = new Informer<Ingress>(client, refs.ingresses, { logger });
    this.#classes = new Informer<IngressClass>(client, refs.ingressclasses, { logger });
    this.#services = new Informer<Service>(client, refs.services, { logger });
    this.#slices = new Informer<EndpointSlice>(client, refs.endpointslices, { logger });
    this.#secrets = new Informer<Secret>(client, refs.secrets, { logger });
    this.#status = new StatusPublisher(client, deps.metrics, logger, () => this.#schedule());
    this.sni = new SniContexts({ hosts: new Map(), defaultCertificate: deps.fallbackCertificate, problems: [] });
  }

  /** True once the caches have synced and the first route table is in place. */
  get synced(): boolean {
    return this.#synced;
  }

  /**
   * Starts the informers (they run until the signal aborts) and resolves once
   * all have listed and the first sync is done; false if the signal aborted first.
   */
  async start(signal: AbortSignal): Promise<boolean> {
    const informers = [this.#ingresses, this.#classes, this.#services, this.#slices, this.#secrets] as const;
    for (const informer of informers) {
      (informer as Informer<Ingress | IngressClass | Service | EndpointSlice | Secret>).on({ add: () => this.#schedule(), update: () => this.#schedule(), delete: () => this.#schedule() });
      void informer.start(signal);
    }
    signal.addEventListener('abort', () => clearTimeout(this.#timer), { once: true });
    const synced = await Promise.all(informers.map((informer) => informer.waitForSync(signal)));
    if (!synced.every(Boolean)) return false;
    this.sync();
    this.#synced = true;
    return true;
  }

  /** Waits for status writes in flight. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    await this.#status.stop();
  }

  #schedule(): void {
    if (!this.#synced || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.sync();
    }, coalesceMs);
  }

  sync(): void {
    const { proxy, metrics, recorder, logger, options } = this.#deps;
    const started = performance.now();
    const owned = ownedIngresses(this.#ingresses.list(), this.#classes.list(), options.className);
    const { table, problems } = buildRouteTable({ ingresses: owned, services: this.#services.list(), endpointSlices: this.#slices.list() });
    const plan: CertificatePlan = planCertificates({
      ingresses: owned,
      secret: (namespace, name) => this.#secrets.getByName(namespace, name),
      ...(options.defaultCertificate ? { defaultCertificate: options.defaultCertificate } : {}),
      fallback: this.#deps.fallbackCertificate,
    });
    proxy.setTable(table);
    this.sni.update(plan);
    for (const problem of problems) recorder.warn(problem.ingress, problem.reason, problem.message);
    for (const problem of plan.problems) recorder.warn(problem.object, problem.reason, problem.message);
    if (plan.defaultCertificateProblem !== this.#lastDefaultProblem) {
      this.#lastDefaultProblem = plan.defaultCertificateProblem;
      if (plan.defaultCertificateProblem) logger.warn(plan.defaultCertificateProblem);
    }
    this.#status.publish(owned, loadBalancerIngress(options.publishAddresses));

    let routes = table.catchAll.routes.length + (table.catchAll.fallback ? 1 : 0);
    for (const server of [...table.exact.values(), ...table.wildcard.values()]) routes += server.routes.length + (server.fallback ? 1 : 0);
    const seconds = (performance.now() - started) / 1000;
    metrics.configReloads.inc();
    metrics.syncSeconds.observe(seconds);
    metrics.routes.set(routes);
    metrics.certificates.set(plan.hosts.size);
    logger.info({ ingresses: owned.length, routes, backends: table.backends.size, certificates: plan.hosts.size, problems: problems.length + plan.problems.length, seconds }, 'synced');
  }
}
