/**
 * The ApiClient over HTTP(S) or a unix socket: what the agents use when they
 * run apart from the API store, or against a real kube-apiserver. One undici
 * Agent per client keeps connections alive between requests; each watch holds
 * a connection of its own for as long as its stream lasts.
 */
import { readFileSync } from 'node:fs';
import { Agent, type Dispatcher } from 'undici';
import { KplaneError, UsageError } from '../../common/errors.ts';
import type { KubeList, KubeObject, Status, WatchEvent } from '../api/types.ts';
import { ApiStatusError, isStatus, type ApiClient, type ListOptions, type PatchType, type ResourceRef, type WatchOptions } from './types.ts';

export interface Connection {
  /** `http://host:port`, `https://host:port` (a path prefix is kept) or `unix:/path/to.sock`. */
  server: string;
  /** PEM bundle that verifies the server certificate. */
  ca?: string | Buffer;
  /** PEM client certificate and its key, for servers that authenticate clients by certificate. */
  cert?: string | Buffer;
  key?: string | Buffer;
  token?: string;
  /**
   * A file holding the bearer token. Service account tokens are projected and
   * rotate on disk, so the file is re-read every minute; its last good value
   * wins over `token`.
   */
  tokenFile?: string;
  /** Name the server certificate must carry when it differs from the host in `server`. */
  tlsServerName?: string;
  insecureSkipTlsVerify?: boolean;
  userAgent?: string;
}

export interface HttpApiClient extends ApiClient {
  /** Closes the kept-alive connections once in-flight requests finish; abort watches first. */
  close(): Promise<void>;
}

export type ServerAddress = { kind: 'unix'; socketPath: string } | { kind: 'tcp'; url: URL };

/** Checks and splits a server address; the message names the accepted forms. */
export function parseServerAddress(server: string): ServerAddress {
  if (server.startsWith('unix:')) {
    const socketPath = server.slice('unix:'.length);
    if (socketPath !== '') return { kind: 'unix', socketPath };
  } else if (URL.canParse(server)) {
    const url = new URL(server);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.search === '' && url.hash === '') return { kind: 'tcp', url };
  }
  throw new UsageError(`invalid API server address "${server}": expected http://host:port, https://host:port or unix:/path/to.sock`);
}

/** The request path of a collection, an object (name) or one of its subresources, for core and group resources. */
export function resourcePath(ref: ResourceRef, name?: string, subresource?: 'status'): string {
  const groupVersion = ref.group === '' ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
  const namespace = ref.namespace ? `/namespaces/${encodeURIComponent(ref.namespace)}` : '';
  const item = name === undefined ? '' : `/${encodeURIComponent(name)}`;
  const sub = subresource === undefined ? '' : `/${subresource}`;
  return `${groupVersion}${namespace}/${ref.resource}${item}${sub}`;
}

const patchContentTypes: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
};

/** The reasons kube-apiserver gives these codes, for replies that carry no Status (a proxy's error page, say). */
const reasonsByCode: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** Turns a non-2xx reply into an ApiStatusError, synthesizing the Status when the body is not one. */
function statusErrorFromReply(statusCode: number, body: string): ApiStatusError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (isStatus(parsed)) return new ApiStatusError(parsed);
  const text = body.trim().slice(0, 512);
  const status: Status = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    reason: reasonsByCode[statusCode] ?? (statusCode >= 500 ? 'InternalError' : 'Unknown'),
    message: text === '' ? `the server responded with status ${statusCode}` : `the server responded with status ${statusCode}: ${text}`,
    code: statusCode,
  };
  return new ApiStatusError(status);
}

function decodeError(what: string, cause: unknown): KplaneError {
  return new KplaneError('KPLANE_API_DECODE', `cannot decode ${what} from the API server`, { cause });
}

function parseWatchLine<T>(line: string): WatchEvent<T | Status> {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch (error) {
    throw decodeError('a watch event', error);
  }
  const { type, object } = (event ?? {}) as { type?: unknown; object?: unknown };
  if (typeof type !== 'string' || typeof object !== 'object' || object === null) throw decodeError(`a watch event (${line.slice(0, 120)})`, undefined);
  return event as WatchEvent<T | Status>;
}

const tokenFileRefreshMs = 60_000;

/** The bearer token for the next request: a fixed token, or the token file's content re-read every minute. */
function bearerTokenSource(connection: Connection): () => string | undefined {
  const { tokenFile } = connection;
  if (tokenFile === undefined) return () => connection.token;
  // Read once up front so a wrong path fails at startup, not as a stream of 401s.
  let token = readFileSync(tokenFile, 'utf8').trim();
  let readAt = Date.now();
  return () => {
    if (Date.now() - readAt >= tokenFileRefreshMs) {
      readAt = Date.now();
      try {
        token = readFileSync(tokenFile, 'utf8').trim();
      } catch {
        // Keep the last good token: a rotation replaces the file, briefly absent.
      }
    }
    return token;
  };
}

function createAgent(address: ServerAddress, connection: Connection): Agent {
  if (address.kind === 'unix') return new Agent({ connect: { socketPath: address.socketPath } });
  return new Agent({
    connect: {
      ca: connection.ca,
      cert: connection.cert,
      key: connection.key,
      servername: connection.tlsServerName,
      rejectUnauthorized: connection.insecureSkipTlsVerify !== true,
    },
  });
}

type Query = Record<string, string | undefined>;

interface SendOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  bodyTimeout?: number;
}

function selectorQuery(options: ListOptions): Query {
  return { labelSelector: options.labelSelector || undefined, fieldSelector: options.fieldSelector || undefined };
}

/** Seconds past a watch's timeoutSeconds before a silent connection counts as dead. */
const watchGraceSeconds = 60;

export function createHttpClient(connection: Connection): HttpApiClient {
  const address = parseServerAddress(connection.server);
  const agent = createAgent(address, connection);
  // Over a unix socket the host is meaningless; "localhost" is what servers expect in the Host header.
  const origin = address.kind === 'unix' ? 'http://localhost' : address.url.origin;
  const basePath = address.kind === 'unix' ? '' : address.url.pathname.replace(/\/+$/, '');
  const bearerToken = bearerTokenSource(connection);
  const userAgent = connection.userAgent ?? 'kplane';

  async function send(method: Dispatcher.HttpMethod, path: string, options: SendOptions = {}): Promise<Dispatcher.ResponseData> {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(options.query ?? {})) if (value !== undefined) search.set(name, value);
    const query = search.size > 0 ? `?${search}` : '';
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': userAgent };
    const token = bearerToken();
    if (token) headers['authorization'] = `Bearer ${token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = options.contentType ?? 'application/json';
    }
    return agent.request({
      origin,
      path: `${basePath}${path}${query}`,
      method,
      headers,
      body,
      signal: options.signal,
      bodyTimeout: options.bodyTimeout,
    });
  }

  async function replyText(method: Dispatcher.HttpMethod, path: string, options: SendOptions = {}): Promise<string> {
    const response = await send(method, path, options);
    const text = await response.body.text();
    if (response.statusCode < 200 || response.statusCode >= 300) throw statusErrorFromReply(response.statusCode, text);
    return text;
  }

  async function call<R>(method: Dispatcher.HttpMethod, path: string, options: SendOptions = {}): Promise<R> {
    const text = await replyText(method, path, options);
    try {
      return JSON.parse(text) as R;
    } catch (error) {
      throw decodeError(`the reply to ${method} ${path}`, error);
    }
  }

  function nameOf(object: KubeObject, verb: string): string {
    const name = object.metadata.name;
    if (!name) throw new KplaneError('KPLANE_CLIENT_REQUEST', `${verb} needs metadata.name`);
    return name;
  }

  function writeRef(ref: ResourceRef, object: KubeObject): ResourceRef {
    return ref.namespace ? ref : { ...ref, namespace: object.metadata.namespace };
  }

  return {
    list<T extends KubeObject>(ref: ResourceRef, options: ListOptions = {}) {
      const query = { ...selectorQuery(options), resourceVersion: options.resourceVersion || undefined };
      return call<KubeList<T>>('GET', resourcePath(ref), { query, signal: options.signal });
    },

    async watch<T extends KubeObject>(ref: ResourceRef, options: WatchOptions, onEvent: (event: WatchEvent<T | Status>) => void) {
      const { signal } = options;
      if (signal?.aborted) return;
      const query: Query = {
        ...selectorQuery(options),
        watch: 'true',
        resourceVersion: options.resourceVersion || undefined,
        allowWatchBookmarks: options.allowWatchBookmarks ? 'true' : undefined,
        timeoutSeconds: options.timeoutSeconds === undefined ? undefined : String(options.timeoutSeconds),
      };
      // Quiet streams are normal (no changes, no bookmarks), so only a stream
      // silent well past its own timeout is treated as a dead connection.
      const bodyTimeout = options.timeoutSeconds === undefined ? 0 : (options.timeoutSeconds + watchGraceSeconds) * 1000;
      try {
        const response = await send('GET', resourcePath(ref), { query, signal, bodyTimeout });
        if (response.statusCode < 200 || response.statusCode >= 300) throw statusErrorFromReply(response.statusCode, await response.body.text());
        const decoder = new TextDecoder();
        let pending = '';
        for await (const chunk of response.body) {
          pending += decoder.decode(chunk as Buffer, { stream: true });
          let start = 0;
          for (let newline = pending.indexOf('\n'); newline !== -1; newline = pending.indexOf('\n', start)) {
            const line = pending.slice(start, newline);
            start = newline + 1;
            if (line.trim() !== '') onEvent(parseWatchLine<T>(line));
          }
          pending = pending.slice(start);
        }
        pending += decoder.decode();
        if (pending.trim() !== '') onEvent(parseWatchLine<T>(pending));
      } catch (error) {
        if (signal?.aborted) return;
        throw error;
      }
    },

    get<T extends KubeObject>(ref: ResourceRef, name: string) {
      return call<T>('GET', resourcePath(ref, name));
    },

    async create<T extends KubeObject>(ref: ResourceRef, object: T) {
      return call<T>('POST', resourcePath(writeRef(ref, object)), { body: object });
    },

    async update<T extends KubeObject>(ref: ResourceRef, object: T) {
      return call<T>('PUT', resourcePath(writeRef(ref, object), nameOf(object, 'update')), { body: object });
    },

    async updateStatus<T extends KubeObject>(ref: ResourceRef, object: T) {
      return call<T>('PUT', resourcePath(writeRef(ref, object), nameOf(object, 'updateStatus'), 'status'), { body: object });
    },

    patch<T extends KubeObject>(ref: ResourceRef, name: string, type: PatchType, patch: unknown, options: { subresource?: 'status' } = {}) {
      return call<T>('PATCH', resourcePath(ref, name, options.subresource), { body: patch, contentType: patchContentTypes[type] });
    },

    async delete(ref: ResourceRef, name: string) {
      // The reply is the deleted object or a Success Status; callers need neither.
      await replyText('DELETE', resourcePath(ref, name));
    },

    close() {
      return agent.close();
    },
  };
}
