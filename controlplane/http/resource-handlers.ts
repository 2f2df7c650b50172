/**
 * The REST verbs on resource URLs: maps query parameters and bodies onto the
 * registry, and registry results onto JSON, Table or watch responses.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { apiVersionOf, type ResourceInfo } from '../api/resources.ts';
import type { KubeObject } from '../api/types.ts';
import { errors } from '../api/status.ts';
import { toTable, wantsTable } from '../api/table.ts';
import type { Registry, WatchRequest } from '../registry/store.ts';
import { objectFilter } from '../registry/filter.ts';
import { parseResourcePath, type ResourcePath } from './request-path.ts';
import { decodeObjectBody, decodePatchBody } from './body.ts';
import { encodeList, encodeObject } from './encode.ts';
import { streamWatch } from './watch-stream.ts';

type Query = Record<string, string | undefined>;

export interface HandlerContext {
  registry: Registry;
  now: () => Date;
  bookmarkIntervalMs: number;
  /** Longest a `resourceVersionMatch=NotOlderThan` read waits for the store to catch up. */
  maxRevisionWaitMs: number;
}

function tableContentType(version: string): string {
  return `application/json;as=Table;v=${version};g=meta.k8s.io`;
}

function integerParam(query: Query, name: string): number | undefined {
  const value = query[name];
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw errors.badRequest(`${name}: invalid value "${value}": must be a non-negative integer`);
  return Number(value);
}

function includeObjectParam(query: Query): 'None' | 'Metadata' | 'Object' | undefined {
  const value = query['includeObject'];
  if (value === undefined) return undefined;
  if (value === 'None' || value === 'Metadata' || value === 'Object') return value;
  throw errors.badRequest(`includeObject: unsupported value "${value}" (None, Metadata, Object)`);
}

function isDryRun(query: Query, body?: Record<string, unknown>): boolean {
  const dryRun = query['dryRun'] ?? (Array.isArray(body?.['dryRun']) ? (body['dryRun'] as string[])[0] : undefined);
  if (dryRun === undefined || dryRun === '') return false;
  if (dryRun !== 'All') throw errors.badRequest(`dryRun: unsupported value "${dryRun}" (All)`);
  return true;
}

function sendObject(reply: FastifyReply, code: number, object: KubeObject, info: ResourceInfo, request: FastifyRequest, now: Date): FastifyReply {
  const table = wantsTable(request.headers.accept);
  if (table.table) {
    const body = toTable(info, [object], { now, version: table.version, includeObject: includeObjectParam(request.query as Query) ?? 'Metadata', resourceVersion: object.metadata.resourceVersion });
    return reply.code(code).type(tableContentType(table.version)).send(JSON.stringify(body));
  }
  return reply.code(code).type('application/json').send(encodeObject(object));
}

function requireName(path: ResourcePath): string {
  if (path.name === undefined) throw errors.methodNotAllowed('this method needs an object name in the URL');
  return path.name;
}

function checkSubresource(path: ResourcePath): 'status' | undefined {
  if (path.subresource === undefined) return undefined;
  if (path.subresource === 'status' && path.info.hasStatus) return 'status';
  throw errors.pathNotFound(`${path.info.resource}/${path.subresource}`);
}

async function handleGet(context: HandlerContext, path: ResourcePath, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> {
  const query = request.query as Query;
  const { info } = path;
  if (path.name !== undefined) {
    checkSubresource(path);
    return sendObject(reply, 200, context.registry.get(info, path.namespace, path.name), info, request, context.now());
  }
  const filter = objectFilter(info, query['labelSelector'], query['fieldSelector']);
  const revision = integerParam(query, 'resourceVersion');
  const match = query['resourceVersionMatch'];
  if (query['watch'] === 'true' || query['watch'] === '1') {
    const sendInitialEvents = query['sendInitialEvents'] === 'true';
    const watchRequest: WatchRequest = { filter, ...(path.namespace !== undefined ? { namespace: path.namespace } : {}) };
    if (sendInitialEvents) {
      if (revision) await context.registry.waitForRevision(revision, context.maxRevisionWaitMs);
    } else if (revision) {
      watchRequest.afterRevision = revision;
    }
    const table = wantsTable(request.headers.accept);
    const timeoutSeconds = integerParam(query, 'timeoutSeconds') ?? 1800 + Math.floor(Math.random() * 1800);
    reply.hijack();
    streamWatch(context.registry, reply.raw, {
      info,
      request: watchRequest,
      allowBookmarks: query['allowWatchBookmarks'] === 'true',
      sendInitialEventsEnd: sendInitialEvents,
      timeoutSeconds,
      ...(table.table ? { table: { version: table.version, includeObject: includeObjectParam(query) ?? 'Metadata' } } : {}),
      bookmarkIntervalMs: context.bookmarkIntervalMs,
      now: context.now,
    });
    return;
  }
  if (revision && match === 'Exact' && revision !== context.registry.revision) {
    throw errors.expired(`too old resource version: ${revision} (${context.registry.revision})`);
  }
  if (revision && match !== 'Exact') await context.registry.waitForRevision(revision, context.maxRevisionWaitMs);
  const { items, revision: listRevision } = context.registry.list(info, path.namespace, filter);
  const table = wantsTable(request.headers.accept);
  if (table.table) {
    const body = toTable(info, items, { now: context.now(), version: table.version, includeObject: includeObjectParam(query) ?? 'Metadata', resourceVersion: String(listRevision) });
    return reply.type(tableContentType(table.version)).send(JSON.stringify(body));
  }
  return reply.type('application/json').send(encodeList(apiVersionOf(info), `${info.kind}List`, listRevision, items));
}

async function handleCreate(context: HandlerContext, path: ResourcePath, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  if (path.name !== undefined) throw errors.methodNotAllowed(`POST is not supported on a single ${path.info.kind}; use PUT or PATCH`);
  const body = decodeObjectBody(request.headers['content-type'], request.body as Buffer | undefined) as KubeObject;
  const created = await context.registry.create(path.info, path.namespace, body, { dryRun: isDryRun(request.query as Query) });
  return sendObject(reply, 201, created, path.info, request, context.now());
}

async function handleUpdate(context: HandlerContext, path: ResourcePath, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const name = requireName(path);
  const subresource = checkSubresource(path);
  const body = decodeObjectBody(request.headers['content-type'], request.body as Buffer | undefined) as KubeObject;
  const updated = await context.registry.update(path.info, path.namespace, name, body, { dryRun: isDryRun(request.query as Query), ...(subresource ? { subresource } : {}) });
  return sendObject(reply, 200, updated, path.info, request, context.now());
}

async function handlePatch(context: HandlerContext, path: ResourcePath, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const name = requireName(path);
  const subresource = checkSubresource(path);
  const { type, patch } = decodePatchBody(request.headers['content-type'], request.body as Buffer | undefined);
  const patched = await context.registry.patch(path.info, path.namespace, name, type, patch, { dryRun: isDryRun(request.query as Query), ...(subresource ? { subresource } : {}) });
  return sendObject(reply, 200, patched, path.info, request, context.now());
}

async function handleDelete(context: HandlerContext, path: ResourcePath, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const name = requireName(path);
  if (path.subresource !== undefined) throw errors.methodNotAllowed(`DELETE is not supported on ${path.info.resource}/${path.subresource}`);
  const buffer = request.body as Buffer | undefined;
  const options = buffer && buffer.length > 0 ? decodeObjectBody(request.headers['content-type'], buffer) : {};
  const query = request.query as Query;
  const grace = integerParam(query, 'gracePeriodSeconds') ?? (typeof options['gracePeriodSeconds'] === 'number' ? options['gracePeriodSeconds'] : undefined);
  const preconditions = options['preconditions'] as { uid?: string; resourceVersion?: string } | undefined;
  const deleted = await context.registry.delete(path.info, path.namespace, name, {
    dryRun: isDryRun(query, options),
    ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}),
    ...(preconditions ? { preconditions } : {}),
  });
  return sendObject(reply, 200, deleted, path.info, request, context.now());
}

const handlers: Record<string, (context: HandlerContext, path: ResourcePath, request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | void>> = {
  GET: handleGet,
  POST: handleCreate,
  PUT: handleUpdate,
  PATCH: handlePatch,
  DELETE: handleDelete,
};

export async function handleResourceRequest(context: HandlerContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> {
  const pathname = request.url.split('?')[0] ?? '';
  const parsed = parseResourcePath(pathname);
  if (!parsed.ok) throw errors.pathNotFound(pathname);
  const handler = handlers[request.method];
  if (!handler) throw errors.methodNotAllowed(`${request.method} is not supported`);
  return handler(context, parsed.path, request, reply);
}
