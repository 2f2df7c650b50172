/**
 * Real local HTTP servers for the client tests: a recording server with a
 * per-test handler, and a scriptable list+watch API for one resource whose
 * watch streams the test drives event by event.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';
import type { KubeList, KubeObject, WatchEventType } from '../../../../controlplane/api/types.ts';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Handler = (request: RecordedRequest, response: ServerResponse) => void;

export interface RecordingServer {
  /** The --server address: http://127.0.0.1:PORT or unix:/path. */
  server: string;
  requests: RecordedRequest[];
  /** Every TCP connection accepted, to count client attempts. */
  connections: number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:0 (or `socketPath`) and closes itself when the test finishes. */
export async function startServer(handler: Handler, socketPath?: string): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const httpServer = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const recorded = { method: request.method ?? '', path: url.pathname, query: url.searchParams, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(recorded);
      handler(recorded, response);
    });
  });
  const result: RecordingServer = {
    server: '',
    requests,
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        httpServer.closeAllConnections();
        httpServer.close(() => resolve());
      }),
  };
  httpServer.on('connection', () => {
    result.connections += 1;
  });
  onTestFinished(() => (httpServer.listening ? result.close() : undefined));
  await new Promise<void>((resolve) => (socketPath ? httpServer.listen(socketPath, resolve) : httpServer.listen(0, '127.0.0.1', resolve)));
  result.server = socketPath ? `unix:${socketPath}` : `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  return result;
}

export function replyJson(response: ServerResponse, code: number, body: unknown): void {
  response.writeHead(code, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** One open watch response; the test writes events and ends it. */
export class WatchStream {
  readonly query: URLSearchParams;
  readonly #response: ServerResponse;

  constructor(query: URLSearchParams, response: ServerResponse) {
    this.query = query;
    this.#response = response;
    response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    response.flushHeaders();
  }

  send(type: WatchEventType, object: unknown): void {
    this.#response.write(`${JSON.stringify({ type, object })}\n`);
  }

  end(): void {
    this.#response.end();
  }

  /** Resolves when the client goes away (or the stream ends). */
  closed(): Promise<void> {
    return new Promise((resolve) => (this.#response.destroyed || this.#response.writableFinished ? resolve() : this.#response.once('close', resolve)));
  }
}

export interface FakeApi extends RecordingServer {
  /** What the next list returns. */
  listReply: () => KubeList;
  /** The next watch request to arrive (in arrival order), held open until the test ends it. */
  nextWatch(): Promise<WatchStream>;
  lists(): RecordedRequest[];
  watches(): RecordedRequest[];
}

/** A list+watch API for one resource; any other request is a 404 Status. */
export async function startFakeApi(listReply: () => KubeList): Promise<FakeApi> {
  const arrived: WatchStream[] = [];
  const waiting: ((stream: WatchStream) => void)[] = [];
  const recording = await startServer((request, response) => {
    if (request.method !== 'GET') {
      replyJson(response, 404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'NotFound', code: 404 });
    } else if (request.query.get('watch') === 'true') {
      const stream = new WatchStream(request.query, response);
      const waiter = waiting.shift();
      if (waiter) waiter(stream);
      else arrived.push(stream);
    } else {
      replyJson(response, 200, api.listReply());
    }
  });
  const api: FakeApi = Object.assign(recording, {
    listReply,
    nextWatch: () => {
      const stream = arrived.shift();
      return stream ? Promise.resolve(stream) : new Promise<WatchStream>((resolve) => waiting.push(resolve));
    },
    lists: () => recording.requests.filter((request) => request.query.get('watch') !== 'true'),
    watches: () => recording.requests.filter((request) => request.query.get('watch') === 'true'),
  });
  return api;
}

export function service(namespace: string, name: string, resourceVersion: string, tweak: Partial<KubeObject> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace, name, uid: `uid-${namespace}-${name}`, resourceVersion }, spec: { ports: [{ port: 80 }] }, ...tweak };
}

export function serviceList(resourceVersion: string, items: KubeObject[]): KubeList {
  // Like kube-apiserver, list items carry no kind or apiVersion.
  const bare = items.map(({ kind: _kind, apiVersion: _apiVersion, ...rest }) => rest as KubeObject);
  return { apiVersion: 'v1', kind: 'ServiceList', metadata: { resourceVersion }, items: bare };
}
