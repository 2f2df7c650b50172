/**
 * One watch request as a long-lived chunked HTTP response of
 * newline-delimited events, as kube-apiserver serves it: headers flushed at
 * once, initial events (when asked for) ending with the initial-events-end
 * bookmark, periodic bookmarks, a 410 as an ERROR event, and an end after
 * timeoutSeconds (or 30-60 minutes) so clients spread their reconnects.
 */
import type { ServerResponse } from 'node:http';
import type { ResourceInfo } from '../api/resources.ts';
import { apiVersionOf } from '../api/resources.ts';
import type { KubeObject } from '../api/types.ts';
import { ApiError } from '../api/status.ts';
import { toTable } from '../api/table.ts';
import type { Registry, RegistryEvent, WatchRequest } from '../registry/store.ts';
import { encodeObject, encodeWatchEvent } from './encode.ts';

export interface WatchStreamOptions {
  info: ResourceInfo;
  request: WatchRequest;
  allowBookmarks: boolean;
  /** End the initial ADDED events with a bookmark annotated k8s.io/initial-events-end. */
  sendInitialEventsEnd: boolean;
  timeoutSeconds: number;
  table?: { version: 'v1' | 'v1beta1'; includeObject?: 'None' | 'Metadata' | 'Object' };
  bookmarkIntervalMs: number;
  now: () => Date;
}

/** A client that stops reading is cut off past this much unsent data; it will re-watch from its last revision. */
const maxBufferedBytes = 32 * 1024 * 1024;

export function streamWatch(registry: Registry, response: ServerResponse, options: WatchStreamOptions): void {
  const { info } = options;
  const contentType = options.table ? `application/json;as=Table;v=${options.table.version};g=meta.k8s.io` : 'application/json';
  response.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  response.flushHeaders();

  let headersSent = false;
  const encode = (type: string, object: KubeObject): string => {
    if (!options.table || type === 'BOOKMARK' || type === 'ERROR') return encodeWatchEvent(type, object);
    const table = toTable(info, [object], { now: options.now(), version: options.table.version, includeObject: options.table.includeObject ?? 'Metadata', noHeaders: headersSent });
    headersSent = true;
    return `{"type":"${type}","object":${JSON.stringify(table)}}\n`;
  };
  const bookmark = (revision: number, initialEventsEnd: boolean): KubeObject => ({
    kind: info.kind,
    apiVersion: apiVersionOf(info),
    metadata: { resourceVersion: String(revision), ...(initialEventsEnd ? { annotations: { 'k8s.io/initial-events-end': 'true' } } : {}) },
  });

  let closed = false;
  let stopWatch = () => {};
  const timers: NodeJS.Timeout[] = [];
  const finish = () => {
    if (closed) return;
    closed = true;
    stopWatch();
    for (const timer of timers) clearTimeout(timer);
    response.end();
  };
  const write = (text: string) => {
    if (closed) return;
    response.write(text);
    if (response.writableLength > maxBufferedBytes) finish();
  };
  const writeEvents = (events: RegistryEvent[]) => {
    write(events.map((event) => encode(event.type, event.object)).join(''));
  };

  response.on('close', finish);
  try {
    const handle = registry.watch(info, options.request, writeEvents);
    stopWatch = handle.stop;
    if (handle.initial.length > 0) writeEvents(handle.initial);
    if (options.sendInitialEventsEnd && options.allowBookmarks) write(encode('BOOKMARK', bookmark(handle.revision, true)));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    write(`{"type":"ERROR","object":${encodeObject(error.status as unknown as KubeObject)}}\n`);
    finish();
    return;
  }
  if (options.allowBookmarks) {
    const tick = () => {
      write(encode('BOOKMARK', bookmark(registry.revision, false)));
      timers[0] = setTimeout(tick, options.bookmarkIntervalMs);
    };
    timers[0] = setTimeout(tick, options.bookmarkIntervalMs);
  }
  timers[1] = setTimeout(finish, options.timeoutSeconds * 1000);
}
