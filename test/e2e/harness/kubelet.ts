/**
 * A small kubelet for one harness node. It registers the Node object, and for
 * each pod the cluster gives it: computes the service environment, starts the
 * container through the runtime (cluster.ts), creates the Pod object and
 * writes its status through the status subresource (podIP, hostIP, phase,
 * conditions), runs the readiness probe inside the pod's namespace and keeps
 * the Ready condition in step with it. It watches its node's pods and hands
 * pods deleted through the API back to the runtime.
 *
 * Without an API client it still starts containers and runs probes, so the
 * network and pod apps work before (or without) the API store.
 */
import type { ContainerPort, Node, Pod, PodCondition, Probe, Service } from '../../../controlplane/api/types.ts';
import { ApiStatusError, inNamespace, isStatus, refs, type ApiClient } from '../../../controlplane/client/types.ts';
import type { Logger } from '../../../common/logger.ts';
import { execIn, HarnessError } from './netns.ts';
import type { ManagedProcess } from './processes.ts';
import { initialProbeState, probeCommand, probeSucceeded, probeTiming, recordProbeResult, type ProbeState } from './probe.ts';
import { podServiceEnv } from './service-env.ts';
import { sleep, unrefSleep, waitFor } from './wait.ts';

/** What the kubelet needs to know about a pod the cluster has placed on its node. */
export interface KubeletPod {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  netns: string;
  ip: string;
  ports: ContainerPort[];
  readinessProbe: Probe | undefined;
  /** The container's own env (Pod spec `env`); service variables are added at start. */
  env: Record<string, string>;
  image: string;
  hostname?: string;
  subdomain?: string;
  dnsPolicy: 'ClusterFirst' | 'Default';
  /** Written into the Pod spec (Kubernetes default 30): how long a graceful deletion may take. */
  terminationGracePeriodSeconds?: number;
  /** On deletion, keep the container running (and probed) this long before stopping it, as an app draining connections would. Default 0. */
  shutdownDelaySeconds?: number;
}

/** The cluster's side: how to start a container, and what to do when the API deletes a pod. */
export interface ContainerRuntime {
  startContainer(pod: KubeletPod, env: Record<string, string>): Promise<ManagedProcess>;
  /** A pod this kubelet runs was deleted through the API (kubectl delete, a test). */
  podDeleted(key: string): Promise<void>;
}

export interface KubeletOptions {
  nodeName: string;
  nodeIp: string;
  podCidr: string;
  api: ApiClient | undefined;
  runtime: ContainerRuntime;
  logger: Logger;
  /** Probing stops after this long (every loop is bounded); default one hour. */
  maxLifetimeMs?: number;
  /** Finishes a graceful deletion once the container has stopped (DELETE with gracePeriodSeconds=0). */
  deletePodNow?: (namespace: string, name: string) => Promise<void>;
}

export function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

interface Entry {
  pod: KubeletPod;
  key: string;
  uid: string | undefined;
  container: ManagedProcess | undefined;
  probe: ProbeState;
  override: boolean | undefined;
  /** The Ready value last written to the API (undefined: never). */
  reported: boolean | undefined;
  transitions: Map<string, { status: PodCondition['status']; time: string }>;
  startTime: string;
  registeredAt: number | undefined;
  abort: AbortController;
  statusChain: Promise<void>;
  stopped: boolean;
  terminating: Promise<void> | undefined;
}

/** The Ready value the kubelet reports: a mark from the test wins, then the probe (no probe: ready while running). */
export function effectiveReady(entry: { container: { exit: unknown } | undefined; probe: ProbeState; override: boolean | undefined; pod: { readinessProbe: Probe | undefined } }): boolean {
  const running = entry.container !== undefined && entry.container.exit === undefined;
  if (!running) return false;
  if (entry.override !== undefined) return entry.override;
  return entry.pod.readinessProbe ? entry.probe.ready : true;
}

/** The Pod status a kubelet writes for a running pod (pure; times come in). */
export function buildPodStatus(input: {
  podIp: string;
  hostIp: string;
  ready: boolean;
  running: boolean;
  startTime: string;
  image: string;
  transitions: Map<string, { status: PodCondition['status']; time: string }>;
  now: string;
}): NonNullable<Pod['status']> {
  const condition = (type: string, on: boolean): PodCondition => {
    const status: PodCondition['status'] = on ? 'True' : 'False';
    const last = input.transitions.get(type);
    const time = last && last.status === status ? last.time : input.now;
    input.transitions.set(type, { status, time });
    return { type, status, lastTransitionTime: time };
  };
  return {
    phase: 'Running',
    podIP: input.podIp,
    podIPs: [{ ip: input.podIp }],
    hostIP: input.hostIp,
    hostIPs: [{ ip: input.hostIp }],
    startTime: input.startTime,
    conditions: [condition('PodReadyToStartContainers', true), condition('Initialized', true), condition('Ready', input.ready), condition('ContainersReady', input.ready), condition('PodScheduled', true)],
    containerStatuses: [
      {
        name: 'app',
        ready: input.ready,
        started: input.running,
        restartCount: 0,
        image: input.image,
        imageID: '',
        state: input.running ? { running: { startedAt: input.startTime } } : { terminated: { exitCode: 0, reason: 'Completed', startedAt: input.startTime } },
      },
    ],
  };
}

export class Kubelet {
  readonly nodeName: string;
  readonly #options: KubeletOptions;
  readonly #pods = new Map<string, Entry>();
  readonly #abort = new AbortController();
  readonly #log: Logger;
  #watching: Promise<void> | undefined;

  constructor(options: KubeletOptions) {
    this.#options = options;
    this.nodeName = options.nodeName;
    this.#log = options.logger.child({ component: 'kubelet', node: options.nodeName });
  }

  get api(): ApiClient | undefined {
    return this.#options.api;
  }

  /** Creates (or updates) the Node object and reports it Ready with its InternalIP and podCIDR. */
  async register(): Promise<void> {
    const api = this.#options.api;
    if (!api) return;
    const { nodeName, nodeIp, podCidr } = this.#options;
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: nodeName, labels: { 'kubernetes.io/hostname': nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch } },
      spec: { podCIDR: podCidr, podCIDRs: [podCidr] },
    };
    try {
      await api.create(refs.nodes, node);
    } catch (error) {
      if (!(error instanceof ApiStatusError && error.code === 409)) throw error;
      await api.patch(refs.nodes, nodeName, 'merge', { spec: node.spec, metadata: { labels: node.metadata.labels } });
    }
    const now = new Date().toISOString();
    await api.patch(refs.nodes, nodeName, 'merge', {
      status: {
        addresses: [
          { type: 'InternalIP', address: nodeIp },
          { type: 'Hostname', address: nodeName },
        ],
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kplane e2e harness kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now }],
        nodeInfo: { kubeletVersion: 'v1.33.0-kplane-e2e', operatingSystem: 'linux', architecture: process.arch, containerRuntimeVersion: 'netns://harness' },
      },
    }, { subresource: 'status' });
    this.#log.info({ nodeIp, podCidr }, 'node registered');
  }

  /** The service variables a container in `namespace` gets at start. */
  async serviceEnv(namespace: string): Promise<Record<string, string>> {
    const api = this.#options.api;
    if (!api) return {};
    const list = await api.list<Service>(refs.services);
    return podServiceEnv(namespace, list.items);
  }

  /** Starts the pod's container, registers the Pod and starts its readiness probe. */
  async runPod(pod: KubeletPod): Promise<void> {
    const key = podKey(pod.namespace, pod.name);
    if (this.#pods.has(key)) throw new Error(`pod ${key} already runs on ${this.nodeName}`);
    const entry: Entry = {
      pod,
      key,
      uid: undefined,
      container: undefined,
      probe: { ...initialProbeState },
      override: undefined,
      reported: undefined,
      transitions: new Map(),
      startTime: new Date().toISOString(),
      registeredAt: undefined,
      abort: new AbortController(),
      statusChain: Promise.resolve(),
      stopped: false,
      terminating: undefined,
    };
    this.#pods.set(key, entry);
    try {
      const env = { ...(await this.serviceEnv(pod.namespace)), ...pod.env };
      entry.container = await this.#options.runtime.startContainer(pod, env);
      void entry.container.exited.then((exit) => {
        if (entry.stopped) return;
        this.#log.warn({ pod: key, exit }, 'container exited');
        this.#sync(entry);
      });
      await this.#registerPod(entry);
    } catch (error) {
      this.#pods.delete(key);
      entry.abort.abort();
      await entry.container?.stop(500);
      throw error;
    }
    if (pod.readinessProbe) void this.#probeLoop(entry);
    else this.#sync(entry);
  }

  async #registerPod(entry: Entry): Promise<void> {
    const api = this.#options.api;
    if (!api) return;
    const { pod } = entry;
    const container: Pod['spec']['containers'][number] = { name: 'app', image: pod.image, ports: pod.ports, env: Object.entries(pod.env).map(([name, value]) => ({ name, value })) };
    if (pod.readinessProbe) container.readinessProbe = pod.readinessProbe;
    const spec: Pod['spec'] = { nodeName: this.nodeName, containers: [container], restartPolicy: 'Always', dnsPolicy: pod.dnsPolicy, enableServiceLinks: true };
    if (pod.hostname) spec.hostname = pod.hostname;
    if (pod.subdomain) spec.subdomain = pod.subdomain;
    if (pod.terminationGracePeriodSeconds !== undefined) spec['terminationGracePeriodSeconds'] = pod.terminationGracePeriodSeconds;
    const object: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.name, namespace: pod.namespace, labels: pod.labels, annotations: pod.annotations }, spec };
    await this.#ensureNamespace(pod.namespace);
    const created = await api.create<Pod>(inNamespace(refs.pods, pod.namespace), object);
    entry.uid = created.metadata.uid;
    entry.registeredAt = Date.now();
    await this.#writeStatus(entry);
  }

  async #ensureNamespace(namespace: string): Promise<void> {
    const api = this.#options.api;
    if (!api) return;
    try {
      await api.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    } catch (error) {
      if (!(error instanceof ApiStatusError && error.code === 409)) throw error;
    }
  }

  async #writeStatus(entry: Entry): Promise<void> {
    const api = this.#options.api;
    const ready = effectiveReady(entry);
    if (!api || entry.registeredAt === undefined || entry.stopped) {
      entry.reported = api ? entry.reported : ready;
      return;
    }
    const status = buildPodStatus({
      podIp: entry.pod.ip,
      hostIp: this.#options.nodeIp,
      ready,
      running: entry.container !== undefined && entry.container.exit === undefined,
      startTime: entry.startTime,
      image: entry.pod.image,
      transitions: entry.transitions,
      now: new Date().toISOString(),
    });
    await api.patch(inNamespace(refs.pods, entry.pod.namespace), entry.pod.name, 'merge', { status }, { subresource: 'status' });
    entry.reported = ready;
    this.#log.debug({ pod: entry.key, ready }, 'pod status written');
  }

  /** Writes the status when the Ready value changed; writes are serialized per pod, failures retried on the next sync. */
  #sync(entry: Entry): void {
    entry.statusChain = entry.statusChain.then(async () => {
      if (entry.stopped || effectiveReady(entry) === entry.reported) return;
      try {
        await this.#writeStatus(entry);
      } catch (error) {
        if (entry.stopped) return;
        this.#log.warn({ pod: entry.key, err: error instanceof Error ? error.message : String(error) }, 'pod status write failed; retrying on the next probe');
      }
    });
  }

  async #probeLoop(entry: Entry): Promise<void> {
    const probe = entry.pod.readinessProbe;
    if (!probe) return;
    const timing = probeTiming(probe);
    const signal = entry.abort.signal;
    const deadline = Date.now() + (this.#options.maxLifetimeMs ?? 3_600_000);
    const pause = (ms: number) => new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
    await pause(timing.initialDelayMs);
    const maxProbes = Math.ceil((this.#options.maxLifetimeMs ?? 3_600_000) / timing.periodMs) + 1;
    for (let i = 0; i < maxProbes && !signal.aborted && Date.now() < deadline; i++) {
      const started = Date.now();
      const ok = await this.#probeOnce(entry, probe);
      if (signal.aborted) return;
      const before = entry.probe.ready;
      entry.probe = recordProbeResult(entry.probe, ok, timing);
      if (entry.probe.ready !== before) this.#log.info({ pod: entry.key, ready: entry.probe.ready }, 'readiness probe changed');
      this.#sync(entry);
      await pause(Math.max(0, timing.periodMs - (Date.now() - started)));
    }
  }

  async #probeOnce(entry: Entry, probe: Probe): Promise<boolean> {
    if (entry.container === undefined || entry.container.exit !== undefined) return false;
    try {
      const command = probeCommand(probe, entry.pod.ip, entry.pod.ports);
      const result = await execIn(entry.pod.netns, command.argv, { timeoutMs: command.timeoutMs + 1_000, env: entry.pod.env });
      const ok = probeSucceeded(command, result.exitCode, result.stdout);
      if (!ok) this.#log.debug({ pod: entry.key, exitCode: result.exitCode, stdout: result.stdout.slice(0, 200), stderr: result.stderr.slice(0, 200) }, 'readiness probe failed');
      return ok;
    } catch (error) {
      this.#log.warn({ pod: entry.key, err: error instanceof Error ? error.message : String(error) }, 'readiness probe could not run');
      return false;
    }
  }

  /** Marks a pod ready or not ready regardless of its probe (undefined: back to the probe). */
  setReadyOverride(key: string, ready: boolean | undefined): void {
    const entry = this.#pods.get(key);
    if (!entry) throw new Error(`pod ${key} does not run on ${this.nodeName}`);
    entry.override = ready;
    this.#sync(entry);
  }

  /** The Ready value the kubelet currently holds for a pod. */
  isReady(key: string): boolean {
    const entry = this.#pods.get(key);
    return entry !== undefined && effectiveReady(entry);
  }

  /** Waits until the pod's Ready value is `ready` and (with an API) has been written to the API. */
  async waitReady(key: string, ready: boolean, timeoutMs = 15_000): Promise<void> {
    const entry = () => {
      const found = this.#pods.get(key);
      if (!found) throw new HarnessError(`pod ${key} does not run on ${this.nodeName}`);
      return found;
    };
    await waitFor(() => {
      const current = entry();
      return effectiveReady(current) === ready && (this.#options.api === undefined || current.reported === ready);
    }, {
      timeoutMs,
      intervalMs: 50,
      what: `pod ${key} to be ${ready ? 'ready' : 'not ready'}`,
      giveUpIf: () => {
        const current = this.#pods.get(key);
        if (!current) return new HarnessError(`pod ${key} does not run on ${this.nodeName}`);
        const exit = current.container?.exit;
        if (ready && exit) return new HarnessError(`pod ${key}: container exited (${exit.code ?? exit.signal}):\n${current.container?.log(2048) ?? ''}`);
        return undefined;
      },
    });
  }

  /** Replaces a pod's container (after the test stopped or restarted it) and re-syncs its status. */
  async restartContainer(key: string): Promise<void> {
    const entry = this.#pods.get(key);
    if (!entry) throw new Error(`pod ${key} does not run on ${this.nodeName}`);
    if (entry.container && !entry.container.exit) await entry.container.stop();
    const env = { ...(await this.serviceEnv(entry.pod.namespace)), ...entry.pod.env };
    entry.probe = { ...initialProbeState };
    entry.container = await this.#options.runtime.startContainer(entry.pod, env);
    const container = entry.container;
    void container.exited.then(() => {
      if (!entry.stopped && entry.container === container) this.#sync(entry);
    });
    this.#sync(entry);
  }

  /** Stops a pod's container (the pod stays, not ready, as after a crash). */
  async stopContainer(key: string): Promise<void> {
    const entry = this.#pods.get(key);
    if (!entry?.container) return;
    await entry.container.stop();
    this.#sync(entry);
    await entry.statusChain;
  }

  container(key: string): ManagedProcess | undefined {
    return this.#pods.get(key)?.container;
  }

  /** Stops probing and the container, locally (the Pod object is left alone). */
  async stopPod(key: string): Promise<void> {
    const entry = this.#pods.get(key);
    if (!entry) return;
    entry.stopped = true;
    entry.abort.abort();
    this.#pods.delete(key);
    await entry.container?.stop(1_000);
  }

  /**
   * Deletes a pod the way `kubectl delete` and a kubelet do together: the API
   * marks it terminating (its EndpointSlice entry turns terminating), the
   * container keeps running for shutdownDelaySeconds, then stops, and the
   * kubelet confirms with a delete at grace 0, which removes the object.
   */
  deletePod(key: string): Promise<void> {
    const entry = this.#pods.get(key);
    return entry ? this.#terminate(entry, false) : Promise.resolve();
  }

  #terminate(entry: Entry, alreadyMarked: boolean): Promise<void> {
    entry.terminating ??= (async () => {
      const api = this.#options.api;
      const registered = api !== undefined && entry.registeredAt !== undefined;
      const { namespace, name } = entry.pod;
      if (api && registered && !alreadyMarked) {
        try {
          await api.delete(inNamespace(refs.pods, namespace), name);
        } catch (error) {
          if (!(error instanceof ApiStatusError && error.code === 404)) throw error;
        }
      }
      const graceMs = 1000 * (entry.pod.terminationGracePeriodSeconds ?? 30);
      const delayMs = Math.min(graceMs, 1000 * (entry.pod.shutdownDelaySeconds ?? 0));
      if (delayMs > 0) {
        this.#log.info({ pod: entry.key, delayMs }, 'pod terminating; container keeps running for its shutdown delay');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          this.#abort.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
        });
      }
      await this.stopPod(entry.key);
      if (registered) await this.#options.deletePodNow?.(namespace, name);
    })();
    return entry.terminating;
  }

  /** Watches this node's pods; pods deleted through the API (or marked for deletion) go back to the runtime. */
  startWatching(): void {
    const api = this.#options.api;
    if (!api || this.#watching) return;
    this.#watching = this.#watchLoop(api);
  }

  async #watchLoop(api: ApiClient): Promise<void> {
    const signal = this.#abort.signal;
    const fieldSelector = `spec.nodeName=${this.nodeName}`;
    const deadline = Date.now() + (this.#options.maxLifetimeMs ?? 3_600_000);
    for (let attempt = 0; attempt < 500 && !signal.aborted && Date.now() < deadline; attempt++) {
      const listStarted = Date.now();
      try {
        const list = await api.list<Pod>(refs.pods, { fieldSelector });
        const present = new Set(list.items.map((p) => podKey(p.metadata.namespace ?? '', p.metadata.name ?? '')));
        for (const entry of [...this.#pods.values()]) {
          if (entry.registeredAt !== undefined && entry.registeredAt < listStarted && !present.has(entry.key)) this.#deleted(entry.key, 'missing from list', false);
        }
        const inner = new AbortController();
        const both = AbortSignal.any([signal, inner.signal]);
        await api.watch<Pod>(refs.pods, { resourceVersion: list.metadata.resourceVersion, fieldSelector, allowWatchBookmarks: true, timeoutSeconds: 300, signal: both }, (event) => {
          if (event.type === 'ERROR' || isStatus(event.object)) {
            inner.abort();
            return;
          }
          const pod = event.object;
          const key = podKey(pod.metadata.namespace ?? '', pod.metadata.name ?? '');
          const entry = this.#pods.get(key);
          if (!entry || (entry.uid !== undefined && pod.metadata.uid !== entry.uid)) return;
          if (event.type === 'DELETED') this.#deleted(key, 'deleted', false);
          else if (pod.metadata.deletionTimestamp) this.#deleted(key, 'marked for deletion', true);
        });
      } catch (error) {
        if (signal.aborted) return;
        this.#log.debug({ err: error instanceof Error ? error.message : String(error) }, 'pod watch failed; relisting');
        await sleep(Math.min(2_000, 100 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  /** A pod deleted through the API: graceful (terminating) or already gone; either way the runtime removes it after. */
  #deleted(key: string, why: string, graceful: boolean): void {
    const entry = this.#pods.get(key);
    if (!entry || (entry.stopped && !entry.terminating)) return;
    this.#log.info({ pod: key, why }, 'pod removed through the API; stopping it');
    const done = graceful ? this.#terminate(entry, true) : (entry.terminating ?? this.stopPod(key));
    void done.then(() => this.#options.runtime.podDeleted(key)).catch((error: unknown) => {
      this.#log.warn({ pod: key, err: error instanceof Error ? error.message : String(error) }, 'removing a deleted pod failed');
    });
  }

  /** Stops the watch and every probe (containers are stopped by the cluster's teardown). */
  async stop(): Promise<void> {
    this.#abort.abort();
    for (const entry of this.#pods.values()) {
      entry.stopped = true;
      entry.abort.abort();
    }
    await Promise.race([this.#watching ?? Promise.resolve(), unrefSleep(2_000)]);
  }

  /** Keys of the pods this kubelet runs. */
  podKeys(): string[] {
    return [...this.#pods.keys()];
  }
}
