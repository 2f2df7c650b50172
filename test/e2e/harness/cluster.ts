/**
 * createCluster(): a real multi-node cluster made of network namespaces, for
 * the e2e suites and `kplane demo`. See README.md beside this file for the
 * topology and addresses, plan.ts for how they are derived.
 *
 *   const cluster = await createCluster({ nodes: 2, podsPerNode: 3, clients: 1 });
 *   const reply = ok(await cluster.client.http(`http://${cluster.nodes[0].ip}:30080/`));
 *   await cluster.destroy();
 *
 * Creation order: sweep dead runs' leftovers, write the owner record, create
 * the namespaces, then in parallel start the API store and wire the LAN,
 * nodes and clients; register nodes; add pods (namespace, veth, routes,
 * resolv.conf, container, Pod object, readiness probe). Teardown stops
 * everything and deletes the namespaces; signals and process exit are
 * covered by lifecycle.ts.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import type { ContainerPort, Probe, Service } from '../../../controlplane/api/types.ts';
import { ApiStatusError, inNamespace, refs, type ApiClient } from '../../../controlplane/client/types.ts';
import type { Logger } from '../../../common/logger.ts';
import { startApiServer, type ApiServer } from './apiserver.ts';
import { Kubelet, podKey, type ContainerRuntime, type KubeletPod } from './kubelet.ts';
import { trackRun, untrackRun, type LiveRun } from './lifecycle.ts';
import { assertOurNetns, HarnessError, ipBatch, netnsSupport, setSysctls } from './netns.ts';
import { readyEndpointIps, sliceEndpoints, type SliceEndpoint } from './objects.ts';
import { etcNetns, kplaneBin, nodeBinary, nodeFlags, podAppScript, runDirOf, teardownScript } from './paths.ts';
import { Place } from './place.ts';
import {
  baseNamespaces, clientBatch, defaultPlanOptions, lanBatch, netnsBatch, nodeBatch, planCluster, planPodNetwork, podBatch, podHostBatch, podHosts, podResolvConf,
  type ClientPlan, type ClusterPlan, type NodePlan,
} from './plan.ts';
import { readTail, spawnInNetns, waitForFile, type ManagedProcess } from './processes.ts';
import { listRuns, markKept, removeRun, sweep, writeOwner } from './sweep.ts';
import { waitFor } from './wait.ts';

export type AgentKind = 'proxy' | 'dns' | 'ingress';

export interface ClusterOptions {
  /** Node namespaces (default 2). */
  nodes?: number;
  /** Pod-app pods per node, named web-<node>-<k>, labelled app=web, in `namespace` (default 0). */
  podsPerNode?: number;
  /** External client namespaces on the LAN (default 1). */
  clients?: number;
  /** Start the API store and register nodes and pods (default true). false: network and pod apps only. */
  api?: boolean;
  /** Namespace of the default pods (default "default"). */
  namespace?: string;
  /** Labels of the default pods (default { app: "web" }). */
  podLabels?: Record<string, string>;
  /** Readiness probe of the default pods; null for none (default: GET /ready on "http" every second, 1 failure flips). */
  readinessProbe?: Probe | null;
  /** Wait until every default pod is ready (and reported) before returning (default true). */
  waitReady?: boolean;
  lanCidr?: string;
  clusterCidr?: string;
  serviceCidr?: string;
  lbPool?: string;
  /** The cluster DNS address written into pods' resolv.conf (default 10.96.0.10). */
  dnsIp?: string;
  /** Leave everything running after destroy() for debugging (KEEP_CLUSTER=1); processes outlive the runner. */
  keep?: boolean;
  /** Log level for agents and the API store (default "debug" for agents, "info" for the store). */
  agentLogLevel?: string;
  /** Extra flags for `kplane apiserver`. */
  apiServerArgs?: string[];
}

/** What a pod runs: the pod app (default), a kplane agent against this cluster's API, or any command. */
export type PodRun = { app: true } | { agent: Exclude<AgentKind, 'proxy'>; args?: string[] } | { command: string[] };

export interface PodSpec {
  name: string;
  namespace?: string;
  /** A node handle, its name ("node-2") or 1-based index; default: the node with the fewest pods. */
  node?: NodeHandle | string | number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Container ports (default http 8080, tcp-echo 9000, udp-echo 9001). For the pod app, TCP ports named http* serve HTTP, other TCP ports echo, UDP ports echo. */
  ports?: ContainerPort[];
  /** Default: the cluster's default probe for pod-app pods, none for agents and commands; null for none. */
  readinessProbe?: Probe | null;
  /** Container env (Pod spec `env`), on top of the service variables. */
  env?: Record<string, string>;
  hostname?: string;
  subdomain?: string;
  /** ClusterFirst (default) writes the cluster DNS resolv.conf; Default leaves the host's. */
  dnsPolicy?: 'ClusterFirst' | 'Default';
  run?: PodRun;
  /** Wait until the pod is ready (default true when it has a probe or runs the pod app). */
  waitReady?: boolean;
  /** Pod spec terminationGracePeriodSeconds (Kubernetes default 30). */
  terminationGracePeriodSeconds?: number;
  /** On deletion, keep serving this long before the container stops (terminating endpoints); default 0. */
  shutdownDelaySeconds?: number;
}

export const defaultPorts: readonly ContainerPort[] = Object.freeze([
  { name: 'http', containerPort: 8080, protocol: 'TCP' },
  { name: 'tcp-echo', containerPort: 9000, protocol: 'TCP' },
  { name: 'udp-echo', containerPort: 9001, protocol: 'UDP' },
]);

/** GET /ready every second; one failure flips it (the app answers 503 at once), a generous timeout keeps a loaded machine from flipping it. */
export const defaultReadinessProbe: Probe = Object.freeze({
  httpGet: { path: '/ready', port: 'http' },
  periodSeconds: 1,
  timeoutSeconds: 3,
  successThreshold: 1,
  failureThreshold: 1,
});

export class NodeHandle extends Place {
  readonly index: number;
  readonly podCidr: string;
  readonly podGatewayIp: string;
  readonly kubelet: Kubelet;
  /** Pod slots (host part of the pod IP) in use. */
  readonly slots = new Set<number>();

  constructor(plan: NodePlan, kubelet: Kubelet) {
    super(plan.name, plan.netns, plan.ip);
    this.index = plan.index;
    this.podCidr = plan.podCidr;
    this.podGatewayIp = plan.podGatewayIp;
    this.kubelet = kubelet;
  }
}

export class ClientHandle extends Place {
  readonly lbNextHop: string;
  constructor(plan: ClientPlan) {
    super(plan.name, plan.netns, plan.ip);
    this.lbNextHop = plan.lbNextHop;
  }
}

export class PodHandle extends Place {
  readonly namespace: string;
  readonly key: string;
  readonly node: NodeHandle;
  readonly labels: Record<string, string>;
  readonly ports: readonly ContainerPort[];
  readonly readinessProbe: Probe | undefined;
  readonly run: PodRun;
  readonly stateDir: string;
  readonly hostVeth: string;
  readonly slot: number;

  constructor(init: { name: string; namespace: string; node: NodeHandle; netns: string; ip: string; labels: Record<string, string>; ports: readonly ContainerPort[]; readinessProbe: Probe | undefined; run: PodRun; stateDir: string; hostVeth: string; slot: number }) {
    super(init.name, init.netns, init.ip);
    this.namespace = init.namespace;
    this.key = podKey(init.namespace, init.name);
    this.node = init.node;
    this.labels = init.labels;
    this.ports = init.ports;
    this.readinessProbe = init.readinessProbe;
    this.run = init.run;
    this.stateDir = init.stateDir;
    this.hostVeth = init.hostVeth;
    this.slot = init.slot;
  }

  /** The pod's current container process (undefined once the pod is gone). */
  get process(): ManagedProcess | undefined {
    return this.node.kubelet.container(this.key);
  }

  /** The pod app's readiness control: /ready answers 503 while not ready, so an httpGet /ready probe starts failing. */
  setAppReady(ready: boolean): void {
    const marker = join(this.stateDir, 'not-ready');
    if (ready) rmSync(marker, { force: true });
    else writeFileSync(marker, `${new Date().toISOString()}\n`);
  }

  /** `http://<pod IP>:<port><path>`; the port defaults to the one named "http" (or 8080). */
  url(path = '/', port?: number): string {
    const httpPort = port ?? this.ports.find((p) => p.name === 'http')?.containerPort ?? 8080;
    return `http://${this.ip}:${httpPort}${path}`;
  }

  log(maxBytes?: number): string {
    return this.process?.log(maxBytes) ?? '';
  }
}

export type AgentTarget = NodeHandle | PodHandle;

export interface AgentHandle extends ManagedProcess {
  kind: AgentKind;
  target: AgentTarget;
}

export interface Timings {
  [step: string]: number;
}

interface PodRecord {
  handle: PodHandle;
  kubeletPod: KubeletPod;
  removing?: Promise<void>;
}

/** A run prefix no namespace, /etc/netns entry or run dir on this machine uses yet. */
function freshPrefix(): string {
  const taken = new Set(listRuns().map((run) => run.prefix));
  for (let attempt = 0; attempt < 20; attempt++) {
    const prefix = `kpt${randomBytes(3).toString('hex')}-`;
    if (!taken.has(prefix) && !existsSync(runDirOf(prefix))) return prefix;
  }
  throw new HarnessError('could not pick an unused run prefix');
}

function since(start: number): number {
  return Math.round(performance.now() - start);
}

/** Builds a cluster; on any failure it tears down what it built and rethrows. */
export async function createCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const support = await netnsSupport();
  if (!support.ok) throw new HarnessError(`cannot build a namespace cluster: ${support.reason}`);
  const t0 = performance.now();
  await sweep();
  const sweepMs = since(t0);
  const cluster = new Cluster(options);
  cluster.timings['sweep'] = sweepMs;
  try {
    await cluster.build(options);
  } catch (error) {
    const logs = cluster.logs(30);
    await cluster.destroy({ force: true }).catch(() => undefined);
    if (error instanceof Error && logs) error.message += `\n--- cluster logs ---\n${logs}`;
    throw error;
  }
  cluster.timings['create'] = since(t0);
  return cluster;
}

export class Cluster {
  readonly prefix: string;
  readonly runDir: string;
  readonly plan: ClusterPlan;
  readonly nodes: NodeHandle[] = [];
  readonly clients: ClientHandle[] = [];
  readonly agents: AgentHandle[] = [];
  readonly timings: Timings = {};
  readonly keep: boolean;
  readonly logger: Logger;
  readonly dnsIp: string;
  #apiServer: ApiServer | undefined;
  readonly #pods = new Map<string, PodRecord>();
  readonly #created = new Set<string>();
  readonly #options: ClusterOptions;
  readonly #run: LiveRun;
  #destroyed: Promise<void> | undefined;
  readonly #logDestination: ReturnType<typeof pino.destination>;

  constructor(options: ClusterOptions) {
    this.#options = options;
    this.keep = options.keep ?? false;
    this.prefix = freshPrefix();
    this.runDir = runDirOf(this.prefix);
    this.dnsIp = options.dnsIp ?? '10.96.0.10';
    this.plan = planCluster({
      prefix: this.prefix,
      nodes: options.nodes ?? defaultPlanOptions.nodes,
      clients: options.clients ?? defaultPlanOptions.clients,
      lanCidr: options.lanCidr ?? defaultPlanOptions.lanCidr,
      clusterCidr: options.clusterCidr ?? defaultPlanOptions.clusterCidr,
      serviceCidr: options.serviceCidr ?? defaultPlanOptions.serviceCidr,
      lbPool: options.lbPool ?? defaultPlanOptions.lbPool,
    });
    mkdirSync(join(this.runDir, 'logs'), { recursive: true });
    mkdirSync(join(this.runDir, 'pods'), { recursive: true });
    writeOwner(this.prefix, false);
    this.#logDestination = pino.destination({ dest: join(this.runDir, 'logs', 'harness.log'), sync: true });
    this.logger = pino({ level: 'debug', base: { run: this.prefix } }, this.#logDestination);
    this.#run = { prefix: this.prefix, namespaces: () => [...this.#created], keep: () => this.keep };
    trackRun(this.#run);
  }

  /** The API client (throws when the cluster was built with api: false). */
  get api(): ApiClient {
    if (!this.#apiServer) throw new HarnessError('this cluster runs without the API store (createCluster({ api: false }))');
    return this.#apiServer.api;
  }

  get hasApi(): boolean {
    return this.#apiServer !== undefined;
  }

  /** `unix:<runDir>/api.sock`: the --server every agent gets. */
  get server(): string {
    return `unix:${join(this.runDir, 'api.sock')}`;
  }

  get apiServerProcess(): ManagedProcess | undefined {
    return this.#apiServer?.process;
  }

  get client(): ClientHandle {
    const first = this.clients[0];
    if (!first) throw new HarnessError('this cluster has no external client (clients: 0)');
    return first;
  }

  get pods(): PodHandle[] {
    return [...this.#pods.values()].map((r) => r.handle);
  }

  get lan(): { netns: string; gatewayIp: string } {
    return { netns: this.plan.lan.netns, gatewayIp: this.plan.lan.gatewayIp };
  }

  node(which: string | number): NodeHandle {
    const node = typeof which === 'number' ? this.nodes[which - 1] : this.nodes.find((n) => n.name === which);
    if (!node) throw new HarnessError(`no node ${which} (nodes: ${this.nodes.map((n) => n.name).join(', ')})`);
    return node;
  }

  pod(name: string, namespace = 'default'): PodHandle {
    const record = this.#pods.get(podKey(namespace, name));
    if (!record) throw new HarnessError(`no pod ${namespace}/${name}`);
    return record.handle;
  }

  async #addNamespaces(names: string[]): Promise<void> {
    for (const name of names) this.#created.add(name);
    await ipBatch(null, netnsBatch('add', names), this.prefix);
  }

  /** @internal Called once by createCluster. */
  async build(options: ClusterOptions): Promise<void> {
    const plan = this.plan;
    let t = performance.now();
    await this.#addNamespaces(baseNamespaces(plan));
    this.timings['namespaces'] = since(t);

    t = performance.now();
    const wantApi = options.api ?? true;
    const apiStarted = (async () => {
      if (!wantApi) return;
      await ipBatch(plan.apiNetns, ['link set lo up'], this.prefix);
      this.#apiServer = await startApiServer({
        netns: plan.apiNetns,
        runDir: this.runDir,
        serviceCidr: plan.serviceCidr,
        lbPool: plan.lbPool,
        extraArgs: options.apiServerArgs ?? [],
        survive: this.keep,
      });
      this.timings['apiserver'] = since(t);
    })();
    const networkBuilt = (async () => {
      await ipBatch(plan.lan.netns, lanBatch(plan), this.prefix);
      await Promise.all([
        ...plan.nodes.map(async (node) => {
          await ipBatch(node.netns, nodeBatch(plan, node), this.prefix);
          // Nodes forward (pods, services); nothing else anywhere gets a sysctl.
          await setSysctls(node.netns, { 'net.ipv4.ip_forward': 1 });
        }),
        ...plan.clients.map((client) => ipBatch(client.netns, clientBatch(plan, client), this.prefix)),
      ]);
      this.timings['network'] = since(t);
    })();
    const results = await Promise.allSettled([apiStarted, networkBuilt]);
    for (const result of results) if (result.status === 'rejected') throw result.reason;

    const api = this.#apiServer?.api;
    for (const nodePlan of plan.nodes) {
      const runtime: ContainerRuntime = {
        startContainer: (pod, env) => this.#startContainer(pod, env),
        podDeleted: (key) => this.#removePodLocal(key),
      };
      const apiServer = this.#apiServer;
      const kubelet = new Kubelet({
        nodeName: nodePlan.name, nodeIp: nodePlan.ip, podCidr: nodePlan.podCidr, api, runtime, logger: this.logger,
        ...(apiServer ? { deletePodNow: (namespace: string, name: string) => apiServer.deletePodNow(namespace, name) } : {}),
      });
      this.nodes.push(new NodeHandle(nodePlan, kubelet));
    }
    for (const clientPlan of plan.clients) this.clients.push(new ClientHandle(clientPlan));
    t = performance.now();
    await Promise.all(this.nodes.map((node) => node.kubelet.register()));
    this.timings['register'] = since(t);

    t = performance.now();
    const perNode = options.podsPerNode ?? 0;
    const specs: PodSpec[] = [];
    for (const node of this.nodes) {
      for (let k = 1; k <= perNode; k++) {
        const spec: PodSpec = { name: `web-${node.index}-${k}`, namespace: options.namespace ?? 'default', node, labels: { ...(options.podLabels ?? { app: 'web' }) }, waitReady: false };
        if (options.readinessProbe !== undefined) spec.readinessProbe = options.readinessProbe;
        specs.push(spec);
      }
    }
    const pods = await Promise.all(specs.map((spec) => this.addPod(spec)));
    this.timings['pods'] = since(t);
    t = performance.now();
    if (options.waitReady ?? true) await Promise.all(pods.map((pod) => this.waitPodReady(pod, true)));
    this.timings['ready'] = since(t);
    for (const node of this.nodes) node.kubelet.startWatching();
  }

  #resolveNode(which: PodSpec['node']): NodeHandle {
    if (which instanceof NodeHandle) return which;
    if (which !== undefined) return this.node(which);
    const sorted = [...this.nodes].sort((a, b) => a.slots.size - b.slots.size || a.index - b.index);
    const node = sorted[0];
    if (!node) throw new HarnessError('the cluster has no nodes');
    return node;
  }

  /**
   * Adds a pod: its namespace, veth and routes, /etc/netns resolv.conf and
   * hosts, then the kubelet starts it (service env, container, Pod object,
   * readiness probe). Resolves once it is ready unless spec.waitReady is false.
   */
  async addPod(spec: PodSpec): Promise<PodHandle> {
    if (this.#destroyed) throw new HarnessError('the cluster is being destroyed');
    const namespace = spec.namespace ?? 'default';
    const key = podKey(namespace, spec.name);
    if (this.#pods.has(key)) throw new HarnessError(`pod ${key} exists already`);
    const node = this.#resolveNode(spec.node);
    const nodePlan = this.plan.nodes[node.index - 1] as NodePlan;
    let slot = 2;
    while (node.slots.has(slot) && slot < 255) slot++;
    if (slot > 254) throw new HarnessError(`node ${node.name} has no free pod address`);
    const net = planPodNetwork(this.plan, nodePlan, slot, namespace, spec.name);
    node.slots.add(slot);
    const run: PodRun = spec.run ?? { app: true };
    const isApp = 'app' in run;
    const probe = spec.readinessProbe === null ? undefined : (spec.readinessProbe ?? (isApp ? (this.#options.readinessProbe === null ? undefined : (this.#options.readinessProbe ?? defaultReadinessProbe)) : undefined));
    const stateDir = join(this.runDir, 'pods', `${namespace}.${spec.name}`);
    const handle = new PodHandle({
      name: spec.name, namespace, node, netns: net.netns, ip: net.ip, labels: { ...spec.labels }, ports: spec.ports ?? defaultPorts,
      readinessProbe: probe, run, stateDir, hostVeth: net.hostVeth, slot,
    });
    const dnsPolicy = spec.dnsPolicy ?? 'ClusterFirst';
    const kubeletPod: KubeletPod = {
      name: spec.name,
      namespace,
      labels: { ...spec.labels },
      annotations: { 'kplane.dev/e2e-run': this.prefix, 'kplane.dev/e2e-netns': net.netns, ...spec.annotations },
      netns: net.netns,
      ip: net.ip,
      ports: [...handle.ports],
      readinessProbe: probe,
      env: { ...spec.env },
      image: isApp ? 'kplane.dev/e2e/pod-app' : 'agent' in run ? `kplane.dev/${run.agent}` : 'kplane.dev/e2e/command',
      dnsPolicy,
    };
    if (spec.hostname) kubeletPod.hostname = spec.hostname;
    if (spec.subdomain) kubeletPod.subdomain = spec.subdomain;
    if (spec.terminationGracePeriodSeconds !== undefined) kubeletPod.terminationGracePeriodSeconds = spec.terminationGracePeriodSeconds;
    if (spec.shutdownDelaySeconds !== undefined) kubeletPod.shutdownDelaySeconds = spec.shutdownDelaySeconds;
    const record: PodRecord = { handle, kubeletPod };
    this.#pods.set(key, record);
    try {
      mkdirSync(stateDir, { recursive: true });
      this.#writeEtcNetns(net.netns, dnsPolicy === 'ClusterFirst' ? podResolvConf(namespace, this.dnsIp) : undefined, podHosts(net.ip, spec.hostname ?? spec.name));
      await this.#addNamespaces([net.netns]);
      await ipBatch(node.netns, podHostBatch(nodePlan, net), this.prefix);
      await ipBatch(net.netns, podBatch(nodePlan, net), this.prefix);
      await node.kubelet.runPod(kubeletPod);
      if (spec.waitReady ?? (probe !== undefined || isApp)) await this.waitPodReady(handle, true);
    } catch (error) {
      await node.kubelet.deletePod(key).catch(() => undefined);
      await this.#removePodLocal(key).catch(() => undefined);
      throw error;
    }
    return handle;
  }

  #writeEtcNetns(netns: string, resolvConf: string | undefined, hosts: string): void {
    assertOurNetns(netns, this.prefix);
    const dir = join(etcNetns, netns);
    // A concurrent run may remove an empty /etc/netns between our mkdir steps: retry once.
    for (let attempt = 0; ; attempt++) {
      try {
        mkdirSync(dir, { recursive: true });
        if (resolvConf !== undefined) writeFileSync(join(dir, 'resolv.conf'), resolvConf);
        writeFileSync(join(dir, 'hosts'), hosts);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 2) throw error;
      }
    }
  }

  async #startContainer(pod: KubeletPod, env: Record<string, string>): Promise<ManagedProcess> {
    const record = this.#pods.get(podKey(pod.namespace, pod.name));
    if (!record) throw new HarnessError(`pod ${pod.namespace}/${pod.name} is not known to the cluster`);
    const { handle } = record;
    const run = handle.run;
    const logFile = join(this.runDir, 'logs', `pod-${pod.namespace}.${pod.name}.log`);
    const baseEnv = { HOSTNAME: pod.hostname ?? pod.name, ...env };
    if ('app' in run) {
      const listening = join(handle.stateDir, 'listening');
      rmSync(listening, { force: true });
      const argv = [nodeBinary, ...nodeFlags, podAppScript, '--name', pod.name, '--namespace', pod.namespace, '--node', handle.node.name, '--state-dir', handle.stateDir];
      for (const port of pod.ports) {
        const flag = port.protocol === 'UDP' ? '--udp-echo' : port.protocol === 'SCTP' ? undefined : port.name?.startsWith('http') ? '--http' : '--tcp-echo';
        if (flag) argv.push(flag, String(port.containerPort));
      }
      const process_ = spawnInNetns(pod.netns, argv, { name: `pod ${handle.key}`, logFile, env: baseEnv, survive: this.keep });
      await waitForFile(listening, process_, 15_000);
      return process_;
    }
    if ('agent' in run) {
      const argv = [kplaneBin, run.agent, '--server', this.server, ...(run.args ?? [])];
      const env_ = { ...baseEnv, KPLANE_LOG_LEVEL: this.#options.agentLogLevel ?? 'debug', KPLANE_LOG_FORMAT: 'json', HOME: process.env['HOME'] ?? '/root' };
      const process_ = spawnInNetns(pod.netns, argv, { name: `${run.agent} ${handle.key}`, logFile, env: env_, survive: this.keep });
      this.agents.push(Object.assign(process_, { kind: run.agent, target: handle }));
      return process_;
    }
    return spawnInNetns(pod.netns, run.command, { name: `pod ${handle.key}`, logFile, env: baseEnv, survive: this.keep });
  }

  /** Waits until the kubelet holds (and has reported to the API) the pod's Ready value. */
  async waitPodReady(pod: PodHandle, ready = true, timeoutMs = 20_000): Promise<void> {
    await pod.node.kubelet.waitReady(pod.key, ready, timeoutMs);
  }

  /**
   * Marks a pod ready or not ready, whatever its probe says (undefined: back
   * to the probe). The pod app's /ready follows too, so an httpGet /ready
   * probe agrees. Resolves once the API has the new Ready condition.
   */
  async setReady(pod: PodHandle, ready: boolean | undefined): Promise<void> {
    if ('app' in pod.run) pod.setAppReady(ready ?? true);
    pod.node.kubelet.setReadyOverride(pod.key, ready);
    if (ready !== undefined) await this.waitPodReady(pod, ready);
  }

  /** Stops the pod's container (the pod stays; Ready turns False, as after a crash). */
  async stopPod(pod: PodHandle): Promise<void> {
    await pod.node.kubelet.stopContainer(pod.key);
  }

  /** Starts the pod's container again (with fresh service env); Ready follows the probe. */
  async startPod(pod: PodHandle): Promise<void> {
    await pod.node.kubelet.restartContainer(pod.key);
  }

  /**
   * Deletes a pod as kubectl and a kubelet would: marked terminating in the
   * API, container stopped after its shutdownDelaySeconds, deletion
   * confirmed; then its namespace and files go.
   */
  async deletePod(pod: PodHandle): Promise<void> {
    await pod.node.kubelet.deletePod(pod.key);
    await this.#removePodLocal(pod.key);
  }

  async #removePodLocal(key: string): Promise<void> {
    const record = this.#pods.get(key);
    if (!record) return;
    record.removing ??= (async () => {
      const { handle } = record;
      await handle.node.kubelet.stopPod(key);
      await handle.closeTraffic();
      for (const agent of this.agents.filter((a) => a.target === handle)) await agent.stop(1_000);
      if (this.#created.has(handle.netns)) {
        await removeRun(this.prefix, [handle.netns], { graceMs: 500, keepRunDir: true });
        this.#created.delete(handle.netns);
      } else {
        rmSync(join(etcNetns, handle.netns), { recursive: true, force: true });
      }
      rmSync(handle.stateDir, { recursive: true, force: true });
      handle.node.slots.delete(handle.slot);
      this.#pods.delete(key);
    })();
    await record.removing;
  }

  /**
   * Starts `bin/kplane <kind> --server unix:<sock> …args` inside a node (proxy)
   * or pod (dns, ingress) namespace; output goes to logs/<kind>-<target>.log
   * and into logs() on failure.
   */
  startAgent(target: AgentTarget, kind: AgentKind, args: readonly string[] = [], options: { env?: Record<string, string> } = {}): AgentHandle {
    const label = target instanceof PodHandle ? `${target.namespace}.${target.name}` : target.name;
    const logFile = join(this.runDir, 'logs', `${kind}-${label}.log`);
    const argv = [kplaneBin, kind, '--server', this.server, ...args];
    const env = { KPLANE_LOG_LEVEL: this.#options.agentLogLevel ?? 'debug', KPLANE_LOG_FORMAT: 'json', HOME: process.env['HOME'] ?? '/root', ...options.env };
    const process_ = spawnInNetns(target.netns, argv, { name: `${kind} ${label}`, logFile, env, survive: this.keep });
    const agent = Object.assign(process_, { kind, target });
    this.agents.push(agent);
    return agent;
  }

  /** `kplane proxy --node <name> --cluster-cidr <cidr> …args` inside the node's namespace. */
  startProxy(node: NodeHandle, args: readonly string[] = []): AgentHandle {
    const defaults = ['--node', node.name, '--cluster-cidr', this.plan.clusterCidr];
    return this.startAgent(node, 'proxy', [...defaults, ...args]);
  }

  startProxies(args: readonly string[] = []): AgentHandle[] {
    return this.nodes.map((node) => this.startProxy(node, args));
  }

  /**
   * The cluster DNS as a cluster runs it: Service kube-system/kube-dns
   * (ClusterIP 10.96.0.10, 53/UDP "dns" and 53/TCP "dns-tcp", selector
   * k8s-app=kube-dns) and a pod running `kplane dns --listen 0.0.0.0:53 …args`
   * that it selects. Pods' resolv.conf already names 10.96.0.10, so a lookup
   * from a pod crosses the proxy's rules (start the proxies too).
   */
  async startDns(options: { node?: PodSpec['node']; args?: string[]; name?: string; readinessProbe?: Probe | null } = {}): Promise<PodHandle> {
    await this.#ensureNamespace('kube-system');
    const service: Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: {
        clusterIP: this.dnsIp,
        selector: { 'k8s-app': 'kube-dns' },
        ports: [
          { name: 'dns', port: 53, targetPort: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, targetPort: 53, protocol: 'TCP' },
        ],
      },
    };
    try {
      await this.api.create(inNamespace(refs.services, 'kube-system'), service);
    } catch (error) {
      if (!(error instanceof ApiStatusError && error.code === 409)) throw error;
    }
    const spec: PodSpec = {
      name: options.name ?? 'kube-dns-1',
      namespace: 'kube-system',
      labels: { 'k8s-app': 'kube-dns' },
      ports: [
        { name: 'dns', containerPort: 53, protocol: 'UDP' },
        { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
      ],
      dnsPolicy: 'Default',
      run: { agent: 'dns', args: ['--listen', '0.0.0.0:53', ...(options.args ?? [])] },
      readinessProbe: options.readinessProbe === undefined ? { tcpSocket: { port: 53 }, periodSeconds: 1, failureThreshold: 1 } : options.readinessProbe,
    };
    if (options.node !== undefined) spec.node = options.node;
    return this.addPod(spec);
  }

  /** An ingress controller pod running `kplane ingress --http-listen 0.0.0.0:80 --https-listen 0.0.0.0:443 …args`. */
  async startIngress(options: { node?: PodSpec['node']; args?: string[]; name?: string; namespace?: string; labels?: Record<string, string>; readinessProbe?: Probe | null } = {}): Promise<PodHandle> {
    const spec: PodSpec = {
      name: options.name ?? 'ingress-controller',
      namespace: options.namespace ?? 'kplane-ingress',
      labels: options.labels ?? { 'app.kubernetes.io/name': 'kplane-ingress' },
      ports: [
        { name: 'http', containerPort: 80, protocol: 'TCP' },
        { name: 'https', containerPort: 443, protocol: 'TCP' },
      ],
      run: { agent: 'ingress', args: ['--http-listen', '0.0.0.0:80', '--https-listen', '0.0.0.0:443', ...(options.args ?? [])] },
      readinessProbe: options.readinessProbe === undefined ? { tcpSocket: { port: 80 }, periodSeconds: 1, failureThreshold: 1 } : options.readinessProbe,
    };
    if (options.node !== undefined) spec.node = options.node;
    return this.addPod(spec);
  }

  async #ensureNamespace(name: string): Promise<void> {
    try {
      await this.api.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    } catch (error) {
      if (!(error instanceof ApiStatusError && error.code === 409)) throw error;
    }
  }

  /** The endpoints of a Service's EndpointSlices. */
  sliceEndpoints(namespace: string, service: string): Promise<SliceEndpoint[]> {
    return sliceEndpoints(this.api, namespace, service);
  }

  /** Waits until the Service's ready endpoint IPs are exactly `ips` (any order). */
  async waitForReadyEndpoints(namespace: string, service: string, ips: readonly string[], timeoutMs = 15_000): Promise<void> {
    const want = [...ips].sort().join(',');
    await waitFor(async () => [...(await readyEndpointIps(this.api, namespace, service))].sort().join(',') === want, {
      timeoutMs,
      intervalMs: 100,
      what: `ready endpoints of ${namespace}/${service} to be [${want}]`,
    });
  }

  /** The last lines of every log (API store, agents, pods, harness), for a failing test's output. */
  logs(maxLines = 40): string {
    const files: [string, string][] = [];
    if (this.#apiServer) files.push(['apiserver', this.#apiServer.process.logFile]);
    for (const agent of this.agents) files.push([agent.name, agent.logFile]);
    for (const { handle } of this.#pods.values()) {
      const process_ = handle.process;
      if (process_ && !this.agents.includes(process_ as AgentHandle)) files.push([process_.name, process_.logFile]);
    }
    files.push(['harness', join(this.runDir, 'logs', 'harness.log')]);
    const out: string[] = [];
    const seen = new Set<string>();
    for (const [name, file] of files) {
      if (seen.has(file) || !existsSync(file)) continue;
      seen.add(file);
      const lines = readTail(file, 256 * 1024).split('\n').filter((l) => l !== '');
      if (lines.length === 0) continue;
      out.push(`===== ${name} (${file}, last ${Math.min(maxLines, lines.length)} lines) =====`, ...lines.slice(-maxLines));
    }
    return out.join('\n');
  }

  /** How to get into a kept cluster and how to remove it. */
  debugInstructions(): string {
    const somePod = this.pods[0];
    return [
      `kplane e2e cluster ${this.prefix} left running (KEEP_CLUSTER=1). Run dir: ${this.runDir}`,
      `  namespaces:   ip netns list | grep ${this.prefix}`,
      `  a node:       ip netns exec ${this.nodes[0]?.netns ?? `${this.prefix}node-1`} bash`,
      ...(somePod ? [`  a pod:        ip netns exec ${somePod.netns} bash    (${somePod.key}, ${somePod.ip})`] : []),
      ...(this.clients[0] ? [`  the client:   ip netns exec ${this.clients[0].netns} curl -s http://${this.nodes[0]?.ip ?? '172.30.0.11'}:<nodePort>/`] : []),
      ...(this.#apiServer ? [
        `  API:          curl -s --unix-socket ${this.#apiServer.socket} http://localhost/api/v1/pods`,
        `  kubectl:      ip netns exec ${this.plan.apiNetns} kubectl -s http://127.0.0.1:6443 get pods -A`,
      ] : []),
      `  logs:         ls ${join(this.runDir, 'logs')}`,
      `  tear down:    ${nodeBinary} ${teardownScript} --prefix ${this.prefix}`,
      '  (the kubelets ran inside the test process: probes and status updates stopped with it)',
    ].join('\n');
  }

  /**
   * Removes everything: kubelets, traffic clients, agents, pods, the API
   * store, then every namespace, /etc/netns entry and the run dir. A kept
   * cluster (keep: true) is left running instead, with instructions printed,
   * unless `force`.
   */
  destroy(options: { force?: boolean } = {}): Promise<void> {
    this.#destroyed ??= (async () => {
      const t = performance.now();
      await Promise.all(this.nodes.map((node) => node.kubelet.stop()));
      await Promise.all([...this.nodes, ...this.clients, ...this.pods].map((place) => place.closeTraffic()));
      if (this.keep && !options.force) {
        markKept(this.prefix, true);
        untrackRun(this.#run);
        await this.#apiServer?.api.close().catch(() => undefined);
        this.#logDestination.destroy();
        process.stderr.write(`\n${this.debugInstructions()}\n`);
        return;
      }
      const processes: ManagedProcess[] = [...this.agents];
      for (const node of this.nodes) for (const key of node.kubelet.podKeys()) {
        const container = node.kubelet.container(key);
        if (container) processes.push(container);
      }
      await Promise.all(processes.map((p) => p.stop(1_000)));
      await this.#apiServer?.stop();
      this.#logDestination.destroy();
      await removeRun(this.prefix, [...this.#created], { graceMs: 500 });
      this.#created.clear();
      this.#pods.clear();
      untrackRun(this.#run);
      this.timings['destroy'] = since(t);
    })();
    return this.#destroyed;
  }
}
