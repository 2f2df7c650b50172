/**
 * One sync of the iptables proxy (kube-proxy's syncProxyRules around the
 * pure renderer): fold pending changes into the maps, decide full or
 * partial, render, restore in one transaction, then the follow-ups that
 * need the rules in place (stale UDP conntrack entries, health, metrics).
 *
 * A sync is full at start, after any failure, when the canary chain has
 * vanished (someone flushed the tables; checked once per sync period), and
 * once per full-sync period;
 * otherwise it rewrites only the chains of the services that changed and
 * the top-level chains whose rules changed (all of them on the periodic
 * sync, as kube-proxy does on every sync). With iptables-nft a large nat
 * payload goes in several commits (render.ts, natCommits) sized by
 * natChainsPerCommit. When a restore fails the kernel keeps the last
 * good rules; the failure is counted and logged with the lines around the
 * one iptables blamed, and the next sync is a full one. iptables-restore
 * commits table by table, so a payload whose nat part fails may already have
 * replaced the filter table: the proxier then restores the filter table of
 * the last good sync, which always stands alone.
 */
import type { EndpointSlice, Service } from '../controlplane/api/types.ts';
import type { Logger } from '../common/logger.ts';
import { deleteEntries, planConntrackCleanup, udpState, type UdpState } from './conntrack.ts';
import { IptablesRestoreError } from './errors.ts';
import type { CommandRunner } from './exec.ts';
import type { ProxyHealth } from './health.ts';
import { isIpv4 } from './ipv4.ts';
import { chainExists, iptablesMode, natChainsPerCommit, restoreRules, saveRules, type IptablesMode } from './iptables/apply.ts';
import { CHAIN_PREFIX, chains, isServiceChain } from './iptables/chain-names.ts';
import { parseIptables, ruleTarget } from './iptables/parse.ts';
import { jumpKey, RenderCache, renderRules, type RenderResult, type SyncKind, type TopLevelRules } from './iptables/render.ts';
import type { ProxyMetrics } from './metrics.ts';
import { EndpointsChangeTracker, ServiceChangeTracker, type EndpointsMap, type ServicePortMap } from './model.ts';
import { nodePortAddresses, type InterfaceAddress } from './node-addresses.ts';
import type { SyncReason } from './sync.ts';

export interface ProxierConfig {
  readonly nodeName: string;
  readonly clusterCidr: string | undefined;
  /** --nodeport-addresses; empty means every local address. */
  readonly nodePortCidrs: readonly string[];
  readonly masqueradeMark: string;
  readonly fullSyncPeriodMs: number;
  /** How often a sync first checks that the canary chain is still there (the sync period). */
  readonly canaryCheckPeriodMs: number;
}

export interface ProxierDeps {
  readonly run: CommandRunner;
  readonly metrics: ProxyMetrics;
  readonly health: ProxyHealth;
  readonly logger: Logger;
  /** Opens and closes healthCheckNodePort servers; absent in --dry-run. */
  readonly serviceHealth?: { sync(ports: ReadonlyMap<string, number>, localEndpoints: ReadonlyMap<string, number>): Promise<void> };
  /** This network namespace's addresses; read on every sync. */
  readonly interfaces: () => readonly InterfaceAddress[];
  readonly now?: () => number;
}

/** Tables that carry the canary; the cheapest to list goes first. */
const canaryTables = ['mangle', 'nat', 'filter'] as const;

export class Proxier {
  readonly #config: ProxierConfig;
  readonly #deps: ProxierDeps;
  readonly #now: () => number;
  readonly #serviceChanges = new ServiceChangeTracker();
  readonly #endpointChanges: EndpointsChangeTracker;
  readonly #servicePorts: ServicePortMap = new Map();
  readonly #endpoints: EndpointsMap = new Map();
  readonly #renderCache = new RenderCache();
  /** Services changed since the last successful sync (a failed partial sync leaves them owed). */
  readonly #changedServices = new Set<string>();
  #triggerTimes: number[] = [];
  #needFullSync = true;
  #lastFullSyncAt = Number.NEGATIVE_INFINITY;
  /** A full sync plants the canary, so it counts as a check. */
  #lastCanaryCheckAt = Number.NEGATIVE_INFINITY;
  #activeNatChains: ReadonlySet<string> = new Set();
  /** The top-level nat rules the last successful sync left in place; undefined after a failure. */
  #appliedTopLevel: TopLevelRules | undefined;
  /** kplane nat rules in the kernel after the last successful sync (sizes the nat commits). */
  #installedNatRules = 0;
  /** The host's iptables mode, asked once (`iptables -V`). */
  #mode: IptablesMode | undefined;
  /** The filter table of the last successful sync, put back when a later payload fails half-way. */
  #lastGoodFilter: string | undefined;
  #udp: UdpState = new Map();

  constructor(config: ProxierConfig, deps: ProxierDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#endpointChanges = new EndpointsChangeTracker(config.nodeName, { notBefore: this.#now() });
  }

  /** Records a Service change; returns the problems found in it (for a Warning Event). */
  updateService(previous: Service | undefined, current: Service | undefined): string[] {
    const problems = this.#serviceChanges.update(previous, current);
    this.#deps.metrics.serviceChangesTotal.inc();
    this.#queued();
    return problems;
  }

  /** Records an EndpointSlice change; returns the problems found in it. */
  updateEndpointSlice(previous: EndpointSlice | undefined, current: EndpointSlice | undefined): string[] {
    const problems = this.#endpointChanges.update(previous, current);
    this.#deps.metrics.endpointChangesTotal.inc();
    this.#queued();
    return problems;
  }

  #queued(): void {
    this.#deps.health.queued();
    this.#deps.metrics.lastQueuedTimestamp.set(this.#now() / 1000);
    this.#deps.metrics.serviceChangesPending.set(this.#serviceChanges.pending);
    this.#deps.metrics.endpointChangesPending.set(this.#endpointChanges.pending);
  }

  /** What a full sync would write on a node without kplane rules: --dry-run's output. */
  renderFull(): string {
    this.#applyChanges();
    return this.#render({ full: true, existingJumps: new Set() }, new Set(), undefined).text;
  }

  #applyChanges(): void {
    const services = this.#serviceChanges.apply(this.#servicePorts);
    const endpoints = this.#endpointChanges.apply(this.#endpoints);
    for (const service of services.updatedServices) this.#changedServices.add(service);
    for (const service of endpoints.updatedServices) this.#changedServices.add(service);
    this.#triggerTimes.push(...endpoints.triggerTimes);
    this.#deps.metrics.serviceChangesPending.set(0);
    this.#deps.metrics.endpointChangesPending.set(0);
  }

  #render(sync: SyncKind, existingNatChains: ReadonlySet<string>, chainsPerCommit: number | undefined): RenderResult {
    const interfaces = this.#deps.interfaces();
    const nodeIPs = interfaces.filter((entry) => !entry.internal && isIpv4(entry.address)).map((entry) => entry.address);
    return renderRules(
      {
        servicePorts: this.#servicePorts,
        endpoints: this.#endpoints,
        nodePortAddresses: nodePortAddresses(this.#config.nodePortCidrs, interfaces),
        existingNatChains,
        sync,
        ...(chainsPerCommit === undefined ? {} : { natChainsPerCommit: chainsPerCommit }),
      },
      { clusterCidr: this.#config.clusterCidr, nodeIPs, masqueradeMark: this.#config.masqueradeMark },
      this.#renderCache,
    );
  }

  async #canaryPresent(): Promise<boolean> {
    for (const table of canaryTables) if (!(await chainExists(this.#deps.run, table, chains.canary))) return false;
    return true;
  }

  /** The kernel's per-service nat chains, the jumps in its built-in chains and the count of kplane nat rules, for a full sync. */
  async #readKernel(): Promise<{ natChains: Set<string>; jumps: Set<string>; natRules: number }> {
    const tables = parseIptables(await saveRules(this.#deps.run));
    const natChains = new Set([...(tables.get('nat')?.chains.keys() ?? [])].filter(isServiceChain));
    const jumps = new Set<string>();
    let natRules = 0;
    for (const table of tables.values()) {
      for (const rule of table.rules) {
        const target = ruleTarget(rule);
        if (target !== undefined) jumps.add(jumpKey(table.name, rule.chain, target));
        if (table.name === 'nat' && rule.chain.startsWith(CHAIN_PREFIX)) natRules += 1;
      }
    }
    return { natChains, jumps, natRules };
  }

  /** One sync; never throws. Resolves true when the rules were applied. */
  async sync(reason: SyncReason): Promise<boolean> {
    const started = this.#now();
    const { metrics, logger } = this.#deps;
    this.#applyChanges();
    let full = this.#needFullSync || started - this.#lastFullSyncAt >= this.#config.fullSyncPeriodMs;
    let result: RenderResult;
    /** When each step ended: the canary check and kernel read, the render (the restore ends at `finished`). */
    const timings = { read: started, render: started };
    try {
      // Checked by time, not only on periodic syncs: a steady stream of changes must not postpone it.
      if (!full && started - this.#lastCanaryCheckAt >= this.#config.canaryCheckPeriodMs) {
        this.#lastCanaryCheckAt = started;
        if (!(await this.#canaryPresent())) {
          logger.warn({ chain: chains.canary }, 'canary chain is gone (tables flushed?); doing a full sync');
          full = true;
        }
      }
      this.#mode ??= await iptablesMode(this.#deps.run);
      if (full) {
        const kernel = await this.#readKernel();
        timings.read = this.#now();
        result = this.#render({ full: true, existingJumps: kernel.jumps }, kernel.natChains, natChainsPerCommit(this.#mode, kernel.natRules));
      } else {
        timings.read = this.#now();
        // Change-driven syncs skip top-level chains whose rules did not change; the periodic one
        // rewrites them anyway, so a chain someone else edited is put right within a sync period.
        const applied = reason === 'periodic' ? undefined : this.#appliedTopLevel;
        const sync: SyncKind = { full: false, changedServices: this.#changedServices, ...(applied ? { appliedTopLevel: applied } : {}) };
        result = this.#render(sync, this.#activeNatChains, natChainsPerCommit(this.#mode, this.#installedNatRules));
      }
      timings.render = this.#now();
      await restoreRules(this.#deps.run, result.text);
    } catch (error) {
      this.#needFullSync = true;
      this.#appliedTopLevel = undefined;
      if (error instanceof IptablesRestoreError) {
        metrics.restoreFailures.inc();
        if (!full) metrics.partialRestoreFailures.inc();
        logger.error({ err: error, line: error.line, context: error.context, full }, 'iptables-restore failed; the previous rules stay in place');
        await this.#restoreLastGoodFilter();
      } else {
        logger.error({ err: error, full }, 'sync failed; the previous rules stay in place');
      }
      metrics.syncsTotal.inc({ kind: full ? 'full' : 'partial', result: 'failed' });
      return false;
    }

    const changed = this.#changedServices.size;
    this.#activeNatChains = result.activeNatChains;
    this.#appliedTopLevel = result.topLevel;
    this.#installedNatRules = result.counts.natRulesTotal;
    this.#lastGoodFilter = result.filterTable;
    this.#needFullSync = false;
    if (full) this.#lastFullSyncAt = this.#lastCanaryCheckAt = started;
    this.#changedServices.clear();
    const finished = this.#now();
    const seconds = (finished - started) / 1000;
    metrics.syncDuration.observe(seconds);
    (full ? metrics.syncFullDuration : metrics.syncPartialDuration).observe(seconds);
    metrics.syncsTotal.inc({ kind: full ? 'full' : 'partial', result: 'ok' });
    metrics.lastSyncTimestamp.set(finished / 1000);
    metrics.iptablesRulesTotal.set({ table: 'filter' }, result.counts.filterRules);
    metrics.iptablesRulesLast.set({ table: 'filter' }, result.counts.filterRules);
    metrics.iptablesRulesTotal.set({ table: 'nat' }, result.counts.natRulesTotal);
    metrics.iptablesRulesLast.set({ table: 'nat' }, result.counts.natRules);
    metrics.noLocalEndpoints.set({ traffic_policy: 'internal' }, result.noLocalEndpoints.internal);
    metrics.noLocalEndpoints.set({ traffic_policy: 'external' }, result.noLocalEndpoints.external);
    metrics.servicePorts.set(this.#servicePorts.size);
    let endpointCount = 0;
    for (const list of this.#endpoints.values()) endpointCount += list.length;
    metrics.endpoints.set(endpointCount);
    for (const time of this.#triggerTimes) metrics.networkProgrammingDuration.observe(Math.max(0, finished - time) / 1000);
    this.#triggerTimes = [];

    this.#deps.health.updated();
    if (this.#serviceChanges.pending > 0 || this.#endpointChanges.pending > 0) this.#deps.health.queued();
    await this.#cleanConntrack();
    await this.#deps.serviceHealth?.sync(...this.#healthCheckState());
    logger.info(
      {
        full,
        reason,
        changedServices: changed,
        servicePorts: this.#servicePorts.size,
        endpoints: endpointCount,
        filterRules: result.counts.filterRules,
        natRules: result.counts.natRulesTotal,
        natRulesWritten: result.counts.natRules,
        natCommits: result.natCommits,
        deletedChains: result.deletedChains.length,
        durationSeconds: seconds,
        readSeconds: (timings.read - started) / 1000,
        renderSeconds: (timings.render - timings.read) / 1000,
        restoreSeconds: (finished - timings.render) / 1000,
      },
      'synced proxy rules',
    );
    return true;
  }

  async #restoreLastGoodFilter(): Promise<void> {
    if (this.#lastGoodFilter === undefined) return;
    try {
      await restoreRules(this.#deps.run, this.#lastGoodFilter);
    } catch (error) {
      this.#deps.logger.error({ err: error }, 'could not put back the last good filter table');
    }
  }

  async #cleanConntrack(): Promise<void> {
    const current = udpState(this.#servicePorts, this.#endpoints);
    const plan = planConntrackCleanup(this.#udp, current);
    this.#udp = current;
    if (plan.length === 0) return;
    const started = this.#now();
    const outcome = await deleteEntries(this.#deps.run, plan);
    this.#deps.metrics.conntrackSyncDuration.observe((this.#now() - started) / 1000);
    this.#deps.metrics.conntrackDeletedEntries.inc(outcome.deleted);
    for (const failure of outcome.failures) this.#deps.logger.warn({ args: failure.args, error: failure.error }, 'conntrack cleanup failed');
    this.#deps.logger.debug({ commands: plan.length, deleted: outcome.deleted }, 'removed stale UDP conntrack entries');
  }

  /** healthCheckNodePort per service, and the count of distinct local ready endpoint IPs per service. */
  #healthCheckState(): [Map<string, number>, Map<string, number>] {
    const ports = new Map<string, number>();
    const local = new Map<string, Set<string>>();
    for (const [key, info] of this.#servicePorts) {
      if (info.healthCheckNodePort === 0) continue;
      ports.set(info.service, info.healthCheckNodePort);
      const ips = local.get(info.service) ?? new Set<string>();
      for (const endpoint of this.#endpoints.get(key) ?? []) if (endpoint.local && endpoint.ready) ips.add(endpoint.ip);
      local.set(info.service, ips);
    }
    return [ports, new Map([...local].map(([service, ips]) => [service, ips.size]))];
  }
}
