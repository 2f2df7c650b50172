import { afterEach, describe, expect, expectTypeOf, test, vi } from 'vitest';
import { silentLogger } from '../../../../common/logger.ts';
import type { Endpoints, EndpointSlice, KubeList, KubeObject, Pod, Service } from '../../../../controlplane/api/types.ts';
import type { Informer } from '../../../../controlplane/client/informer.ts';
import { ApiStatusError, type ApiClient, type ResourceRef } from '../../../../controlplane/client/types.ts';
import { EndpointsController, endpointsControllerIndexers, type InformerHandlers, type InformerView } from '../../../../controlplane/controllers/endpoints-controller.ts';
import { desiredEndpoints } from '../../../../controlplane/controllers/endpoints-model.ts';
import { makePod, makeService } from './fixtures.ts';

type Resource = 'services' | 'pods' | 'endpoints' | 'endpointslices';

/** An informer over the fake store; `hold` makes its cache lag until `release`, like a slow watch. */
class FakeInformer<T extends KubeObject> implements InformerView<T> {
  readonly #objects = new Map<string, T>();
  readonly #indexers: Record<string, (object: T) => string[]>;

  constructor(indexers: Record<string, (object: T) => string[]>) {
    this.#indexers = indexers;
  }
  readonly #handlers = new Set<InformerHandlers<T>>();
  #held: (() => void)[] | undefined;

  list(): T[] {
    return [...this.#objects.values()];
  }
  getByName(namespace: string, name: string): T | undefined {
    return this.#objects.get(`${namespace}/${name}`);
  }
  byIndex(name: string, value: string): T[] {
    const index = this.#indexers[name];
    if (!index) throw new Error(`no index named "${name}"`);
    return this.list().filter((object) => index(object).includes(value));
  }
  on(handlers: InformerHandlers<T>): () => void {
    this.#handlers.add(handlers);
    return () => this.#handlers.delete(handlers);
  }
  waitForSync(): Promise<boolean> {
    return Promise.resolve(true);
  }
  upsert(object: T): void {
    this.#deliver(() => {
      const key = `${object.metadata.namespace}/${object.metadata.name}`;
      const old = this.#objects.get(key);
      this.#objects.set(key, object);
      for (const handlers of this.#handlers) {
        if (old) handlers.update(old, object);
        else handlers.add(object);
      }
    });
  }
  remove(object: T): void {
    this.#deliver(() => {
      this.#objects.delete(`${object.metadata.namespace}/${object.metadata.name}`);
      for (const handlers of this.#handlers) handlers.delete(object);
    });
  }
  hold(): void {
    this.#held = [];
  }
  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const event of held) event();
  }
  #deliver(event: () => void): void {
    if (this.#held) this.#held.push(event);
    else event();
  }
}

function status(code: number, reason: string): ApiStatusError {
  return new ApiStatusError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, message: reason, code });
}

/** The store: records every write as "verb resource name", enforces resourceVersions, and feeds the informers. */
class FakeCluster implements ApiClient {
  readonly calls: string[] = [];
  readonly informers = {
    services: new FakeInformer<Service>(endpointsControllerIndexers.services),
    pods: new FakeInformer<Pod>(endpointsControllerIndexers.pods),
    endpoints: new FakeInformer<Endpoints>(endpointsControllerIndexers.endpoints),
    endpointSlices: new FakeInformer<EndpointSlice>(endpointsControllerIndexers.endpointSlices),
  };
  readonly #data = new Map<string, KubeObject>();
  readonly #failures: { call: string; error: ApiStatusError }[] = [];
  #revision = 0;
  #generated = 0;

  /** The next write whose call starts with `call` fails with `error`. */
  failNext(call: string, error: ApiStatusError): void {
    this.#failures.push({ call, error });
  }

  put(resource: Resource, object: KubeObject): KubeObject {
    const stored = structuredClone({ ...object, metadata: { ...object.metadata, uid: object.metadata.uid ?? `uid-${++this.#generated}`, resourceVersion: String(++this.#revision) } });
    this.#data.set(this.#key(resource, stored.metadata.namespace, stored.metadata.name ?? ''), stored);
    this.#informer(resource).upsert(stored);
    return stored;
  }

  remove(resource: Resource, namespace: string, name: string): void {
    const key = this.#key(resource, namespace, name);
    const object = this.#data.get(key);
    if (!object) throw status(404, 'NotFound');
    this.#data.delete(key);
    this.#informer(resource).remove(object);
  }

  objects<T extends KubeObject>(resource: Resource): T[] {
    return [...this.#data.entries()].filter(([key]) => key.startsWith(`${resource}/`)).map(([, object]) => object as T);
  }

  async create<T extends KubeObject>(ref: ResourceRef, object: T): Promise<T> {
    const name = object.metadata.name ?? `${object.metadata.generateName}${++this.#generated}`;
    this.#record(`create ${ref.resource} ${object.metadata.name ?? object.metadata.generateName}`);
    if (this.#data.has(this.#key(ref.resource as Resource, ref.namespace, name))) throw status(409, 'AlreadyExists');
    return this.put(ref.resource as Resource, { ...object, metadata: { ...object.metadata, name, namespace: ref.namespace } }) as T;
  }

  async update<T extends KubeObject>(ref: ResourceRef, object: T): Promise<T> {
    const name = object.metadata.name ?? '';
    this.#record(`update ${ref.resource} ${name}`);
    const current = this.#data.get(this.#key(ref.resource as Resource, ref.namespace, name));
    if (!current) throw status(404, 'NotFound');
    if (current.metadata.resourceVersion !== object.metadata.resourceVersion) throw status(409, 'Conflict');
    return this.put(ref.resource as Resource, object) as T;
  }

  async delete(ref: ResourceRef, name: string): Promise<void> {
    this.#record(`delete ${ref.resource} ${name}`);
    this.remove(ref.resource as Resource, ref.namespace ?? '', name);
  }

  list<T extends KubeObject>(): Promise<KubeList<T>> {
    return Promise.reject(new Error('the controller reads informers, not lists'));
  }
  watch(): Promise<void> {
    return Promise.reject(new Error('the controller reads informers, not watches'));
  }
  get<T extends KubeObject>(): Promise<T> {
    return Promise.reject(new Error('the controller reads informers, not gets'));
  }
  updateStatus<T extends KubeObject>(): Promise<T> {
    return Promise.reject(new Error('the controller never writes status'));
  }
  patch<T extends KubeObject>(): Promise<T> {
    return Promise.reject(new Error('the controller never patches'));
  }

  #record(call: string): void {
    this.calls.push(call);
    const failure = this.#failures.findIndex((f) => call.startsWith(f.call));
    if (failure >= 0) throw this.#failures.splice(failure, 1)[0]?.error;
  }
  #key(resource: Resource, namespace: string | undefined, name: string): string {
    return `${resource}/${namespace ?? ''}/${name}`;
  }
  #informer(resource: Resource): FakeInformer<KubeObject> {
    const byResource = { services: 'services', pods: 'pods', endpoints: 'endpoints', endpointslices: 'endpointSlices' } as const;
    return this.informers[byResource[resource]] as unknown as FakeInformer<KubeObject>;
  }
}

const running: (() => Promise<void>)[] = [];

function start(cluster: FakeCluster): void {
  const abort = new AbortController();
  const controller = new EndpointsController({ client: cluster, logger: silentLogger(), informers: cluster.informers, queue: { baseDelayMs: 1, maxDelayMs: 20 } });
  const done = controller.run(abort.signal);
  running.push(async () => {
    abort.abort();
    await done;
  });
}

/** Lets queued syncs (and their retries) finish, for asserting that something did not happen. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 60));

afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});

function webCluster(pods: string[]): FakeCluster {
  const cluster = new FakeCluster();
  cluster.put('services', makeService('default', 'web'));
  pods.forEach((name, i) => cluster.put('pods', makePod('default', name, `10.0.0.${i + 1}`)));
  return cluster;
}

const endpointNames = (slice: EndpointSlice | undefined) => slice?.endpoints.map((e) => e.targetRef?.name);

describe('EndpointsController', () => {
  test('the shared Informer provides what the controller reads', () => {
    expectTypeOf<Informer<Service>>().toExtend<InformerView<Service>>();
  });

  test('a service and its pods lead to one slice create and one Endpoints create', async () => {
    const cluster = webCluster(['web-a', 'web-b']);
    start(cluster);
    await vi.waitFor(() => expect(cluster.objects('endpoints')).toHaveLength(1));
    await settle();
    expect(cluster.calls).toEqual(['create endpointslices web-', 'create endpoints web']);
    const [slice] = cluster.objects<EndpointSlice>('endpointslices');
    expect(slice?.metadata.labels?.['kubernetes.io/service-name']).toBe('web');
    expect(endpointNames(slice)).toEqual(['web-a', 'web-b']);
    expect(cluster.objects<Endpoints>('endpoints')[0]?.subsets?.[0]?.addresses?.map((a) => a.ip)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  test('a new pod updates the existing slice and Endpoints', async () => {
    const cluster = webCluster(['web-a']);
    start(cluster);
    await vi.waitFor(() => expect(cluster.objects('endpoints')).toHaveLength(1));
    cluster.put('pods', makePod('default', 'web-b', '10.0.0.2'));
    await vi.waitFor(() => expect(endpointNames(cluster.objects<EndpointSlice>('endpointslices')[0])).toEqual(['web-a', 'web-b']));
    await vi.waitFor(() => expect(cluster.objects<Endpoints>('endpoints')[0]?.subsets?.[0]?.addresses).toHaveLength(2));
    expect(cluster.calls.filter((call) => call.startsWith('create'))).toEqual(['create endpointslices web-', 'create endpoints web']);
  });

  test('a pod relabelled away from the service leaves its endpoints', async () => {
    const cluster = webCluster(['web-a', 'web-b']);
    start(cluster);
    await vi.waitFor(() => expect(cluster.objects('endpoints')).toHaveLength(1));
    cluster.put('pods', makePod('default', 'web-b', '10.0.0.2', (p) => (p.metadata.labels = { app: 'other' })));
    await vi.waitFor(() => expect(endpointNames(cluster.objects<EndpointSlice>('endpointslices')[0])).toEqual(['web-a']));
  });

  test('deleting the service deletes its slices and its Endpoints', async () => {
    const cluster = webCluster(['web-a']);
    start(cluster);
    await vi.waitFor(() => expect(cluster.objects('endpoints')).toHaveLength(1));
    const [slice] = cluster.objects<EndpointSlice>('endpointslices');
    cluster.remove('services', 'default', 'web');
    await vi.waitFor(() => expect([...cluster.objects('endpointslices'), ...cluster.objects('endpoints')]).toEqual([]));
    expect(cluster.calls.slice(-2)).toEqual([`delete endpointslices ${slice?.metadata.name}`, 'delete endpoints web']);
  });

  test('a create rejected with 409 is retried with backoff until it succeeds', async () => {
    const cluster = webCluster(['web-a']);
    // With the Endpoints already right, the failed slice create is the sync's only write: no event of our own retriggers it.
    cluster.put('endpoints', desiredEndpoints(cluster.informers.services.list()[0] as Service, cluster.informers.pods.list()) as Endpoints);
    cluster.failNext('create endpointslices', status(409, 'Conflict'));
    start(cluster);
    await vi.waitFor(() => expect(cluster.objects('endpointslices')).toHaveLength(1));
    await settle();
    expect(cluster.calls.filter((call) => call === 'create endpointslices web-')).toHaveLength(2);
    expect(cluster.objects('endpointslices')).toHaveLength(1);
  });

  test('a slice created but not yet in the cache is not created twice', async () => {
    const cluster = webCluster(['web-a']);
    cluster.informers.endpointSlices.hold();
    start(cluster);
    await vi.waitFor(() => expect(cluster.calls).toContain('create endpointslices web-'));
    cluster.put('pods', makePod('default', 'web-b', '10.0.0.2'));
    await settle();
    cluster.informers.endpointSlices.release();
    await vi.waitFor(() => expect(endpointNames(cluster.objects<EndpointSlice>('endpointslices')[0])).toEqual(['web-a', 'web-b']));
    expect(cluster.calls.filter((call) => call.startsWith('create endpointslices'))).toHaveLength(1);
    expect(cluster.objects('endpointslices')).toHaveLength(1);
  });

  test('hand-written Endpoints of a selectorless service are mirrored, and kept when the service goes', async () => {
    const cluster = new FakeCluster();
    cluster.put('services', makeService('default', 'db', (s) => delete s.spec.selector));
    cluster.put('endpoints', { apiVersion: 'v1', kind: 'Endpoints', metadata: { namespace: 'default', name: 'db' }, subsets: [{ addresses: [{ ip: '192.0.2.10' }], ports: [{ port: 5432 }] }] } as Endpoints);
    start(cluster);
    await vi.waitFor(() => expect(cluster.objects('endpointslices')).toHaveLength(1));
    const [slice] = cluster.objects<EndpointSlice>('endpointslices');
    expect(slice?.metadata.labels?.['endpointslice.kubernetes.io/managed-by']).toBe('endpointslicemirroring-controller.k8s.io');
    expect(slice?.endpoints.map((e) => e.addresses)).toEqual([['192.0.2.10']]);

    cluster.remove('services', 'default', 'db');
    await vi.waitFor(() => expect(cluster.objects('endpointslices')).toEqual([]));
    await settle();
    expect(cluster.objects('endpoints')).toHaveLength(1);
    expect(cluster.calls).not.toContain('delete endpoints db');
  });
});
