/**
 * Reports objects an agent cannot use as Warning Events on them, so
 * `kubectl describe` shows why. A warning repeated for the same object,
 * reason and message only bumps a local count; the Event is written at most
 * once per repeat interval, so a sync loop that meets the same bad object on
 * every pass cannot flood the API. Each write is also logged at warn, limited
 * the same way, so callers need no log line of their own. Posting failures
 * are logged, never thrown: reporting must not break the caller.
 */
import { randomBytes } from 'node:crypto';
import { silentLogger, type Logger } from '../../common/logger.ts';
import type { Event, KubeObject, ObjectReference } from '../api/types.ts';
import { ApiStatusError, refs, type ApiClient } from './types.ts';

export interface EventRecorderOptions {
  /** source.component and reportingComponent, e.g. "kplane-proxy". */
  component: string;
  /** source.host and reportingInstance: the node the agent runs on. */
  host?: string;
  logger?: Logger;
  /** How long repeats of one warning are only counted before the Event's count is updated. Default 60 s. */
  repeatIntervalMs?: number;
  /** How many distinct warnings are remembered for de-duplication. Default 4096, as client-go's event cache. */
  maxTracked?: number;
}

interface Tracked {
  namespace: string;
  name: string;
  /** Whether the Event exists on the server (a failed create is retried on a later repeat). */
  created: boolean;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  lastWriteMs: number;
  writing: boolean;
}

/** Event timestamps are RFC 3339 with whole seconds, as kube-apiserver writes them. */
function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

function reference(object: KubeObject): ObjectReference {
  const { namespace, name, uid, resourceVersion } = object.metadata;
  return { apiVersion: object.apiVersion, kind: object.kind, namespace, name, uid, resourceVersion };
}

export class EventRecorder {
  readonly #client: ApiClient;
  readonly #component: string;
  readonly #host: string | undefined;
  readonly #logger: Logger;
  readonly #repeatIntervalMs: number;
  readonly #maxTracked: number;
  /** In insertion order of last use, so the first entry is the least recently used. */
  readonly #tracked = new Map<string, Tracked>();
  readonly #writes = new Set<Promise<void>>();

  constructor(client: ApiClient, options: EventRecorderOptions) {
    this.#client = client;
    this.#component = options.component;
    this.#host = options.host;
    this.#logger = options.logger ?? silentLogger();
    this.#repeatIntervalMs = options.repeatIntervalMs ?? 60_000;
    this.#maxTracked = options.maxTracked ?? 4096;
  }

  /** Records a Warning about `involvedObject`; returns at once and never throws. */
  warn(involvedObject: KubeObject, reason: string, message: string): void {
    const { uid, namespace, name } = involvedObject.metadata;
    const key = JSON.stringify([uid ?? `${involvedObject.kind}/${namespace ?? ''}/${name ?? ''}`, reason, message]);
    const now = new Date();
    let tracked = this.#tracked.get(key);
    if (tracked) {
      this.#tracked.delete(key);
      tracked.count += 1;
      tracked.lastTimestamp = timestamp(now);
    } else {
      tracked = {
        // Events about cluster-scoped objects (Nodes, IngressClasses) live in "default", as kubelet's do.
        namespace: namespace || 'default',
        name: `${name ?? 'unnamed'}.${randomBytes(8).toString('hex')}`,
        created: false,
        count: 1,
        firstTimestamp: timestamp(now),
        lastTimestamp: timestamp(now),
        lastWriteMs: -Infinity,
        writing: false,
      };
      this.#forgetLeastRecentlyUsed();
    }
    this.#tracked.set(key, tracked);
    if (tracked.writing || now.getTime() - tracked.lastWriteMs < this.#repeatIntervalMs) return;
    this.#write(tracked, involvedObject, reason, message, now);
  }

  /** Resolves once the Event writes started so far have finished (for shutdown and tests). */
  async flush(): Promise<void> {
    while (this.#writes.size > 0) await Promise.all(this.#writes);
  }

  #forgetLeastRecentlyUsed(): void {
    while (this.#tracked.size >= this.#maxTracked) {
      const oldest = this.#tracked.keys().next();
      if (oldest.done) return;
      this.#tracked.delete(oldest.value);
    }
  }

  #write(tracked: Tracked, involvedObject: KubeObject, reason: string, message: string, now: Date): void {
    tracked.writing = true;
    tracked.lastWriteMs = now.getTime();
    this.#logger.warn({ kind: involvedObject.kind, namespace: involvedObject.metadata.namespace, name: involvedObject.metadata.name, reason, count: tracked.count }, message);
    const write = this.#post(tracked, involvedObject, reason, message)
      .catch((error: unknown) => {
        this.#logger.warn({ err: error, reason, event: `${tracked.namespace}/${tracked.name}` }, 'cannot record event');
      })
      .finally(() => {
        tracked.writing = false;
        this.#writes.delete(write);
      });
    this.#writes.add(write);
  }

  async #post(tracked: Tracked, involvedObject: KubeObject, reason: string, message: string): Promise<void> {
    const ref = { ...refs.events, namespace: tracked.namespace };
    const { count, lastTimestamp } = tracked;
    if (tracked.created) {
      try {
        await this.#client.patch(ref, tracked.name, 'merge', { count, lastTimestamp });
        return;
      } catch (error) {
        // Events expire (kube-apiserver keeps them an hour); a gone one is written anew.
        if (!(error instanceof ApiStatusError && error.code === 404)) throw error;
        tracked.created = false;
      }
    }
    const event: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: tracked.name, namespace: tracked.namespace },
      involvedObject: reference(involvedObject),
      reason,
      message,
      type: 'Warning',
      source: this.#host === undefined ? { component: this.#component } : { component: this.#component, host: this.#host },
      firstTimestamp: tracked.firstTimestamp,
      lastTimestamp,
      count,
      reportingComponent: this.#component,
      ...(this.#host === undefined ? {} : { reportingInstance: this.#host }),
    };
    await this.#client.create(ref, event);
    tracked.created = true;
  }
}
