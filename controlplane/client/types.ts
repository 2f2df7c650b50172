/**
 * The one client contract every consumer of the Kubernetes API uses: the
 * agents (over HTTP, unix socket or kubeconfig) and the API store's own
 * controllers (in process). The informer is written against it, so it works
 * the same over both. This folder must not import server code.
 */
import type { KubeList, KubeObject, Status, WatchEvent } from '../api/types.ts';

export interface ResourceRef {
  /** "" for the core group. */
  group: string;
  version: string;
  /** Plural resource name, e.g. "services". */
  resource: string;
  /**
   * For namespaced resources: one namespace, or undefined (or "") for all
   * namespaces. create, update and updateStatus fall back to the object's
   * metadata.namespace, so a ref from `refs` works for writes as it is.
   */
  namespace?: string;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** "" or undefined: latest; "0": any (cache allowed). */
  resourceVersion?: string;
  /** Abandons the request: a list rejects (it has nothing to return), a watch resolves. */
  signal?: AbortSignal;
}

export interface WatchOptions extends ListOptions {
  resourceVersion: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export type PatchType = 'merge' | 'strategic' | 'json';

export interface ApiClient {
  list<T extends KubeObject = KubeObject>(ref: ResourceRef, options?: ListOptions): Promise<KubeList<T>>;
  /**
   * Streams events to onEvent until the server ends the stream, timeoutSeconds
   * passes or the signal aborts (resolves), or the connection fails (rejects).
   * A 410 arrives as an ERROR event carrying an Expired Status.
   */
  watch<T extends KubeObject = KubeObject>(ref: ResourceRef, options: WatchOptions, onEvent: (event: WatchEvent<T | Status>) => void): Promise<void>;
  get<T extends KubeObject = KubeObject>(ref: ResourceRef, name: string): Promise<T>;
  create<T extends KubeObject = KubeObject>(ref: ResourceRef, object: T): Promise<T>;
  update<T extends KubeObject = KubeObject>(ref: ResourceRef, object: T): Promise<T>;
  updateStatus<T extends KubeObject = KubeObject>(ref: ResourceRef, object: T): Promise<T>;
  patch<T extends KubeObject = KubeObject>(ref: ResourceRef, name: string, type: PatchType, patch: unknown, options?: { subresource?: 'status' }): Promise<T>;
  delete(ref: ResourceRef, name: string): Promise<void>;
}

/** A failed API call, carrying the server's Status (code, reason, causes). */
export class ApiStatusError extends Error {
  readonly status: Status;
  constructor(status: Status) {
    super(status.message ?? `${status.reason ?? 'Failure'} (${status.code})`);
    this.name = 'ApiStatusError';
    this.status = status;
  }
  get code(): number {
    return this.status.code;
  }
  get reason(): string | undefined {
    return this.status.reason;
  }
}

/** True for a Kubernetes Status object (what failures and watch ERROR events carry). */
export function isStatus(value: unknown): value is Status {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'Status' && typeof (value as { code?: unknown }).code === 'number';
}

export const refs = {
  namespaces: { group: '', version: 'v1', resource: 'namespaces' },
  services: { group: '', version: 'v1', resource: 'services' },
  endpoints: { group: '', version: 'v1', resource: 'endpoints' },
  pods: { group: '', version: 'v1', resource: 'pods' },
  nodes: { group: '', version: 'v1', resource: 'nodes' },
  secrets: { group: '', version: 'v1', resource: 'secrets' },
  configmaps: { group: '', version: 'v1', resource: 'configmaps' },
  events: { group: '', version: 'v1', resource: 'events' },
  endpointslices: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' },
  ingresses: { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses' },
  ingressclasses: { group: 'networking.k8s.io', version: 'v1', resource: 'ingressclasses' },
} as const satisfies Record<string, ResourceRef>;

export function inNamespace(ref: ResourceRef, namespace: string | undefined): ResourceRef {
  return namespace === undefined ? ref : { ...ref, namespace };
}
