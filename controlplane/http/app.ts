/**
 * The fastify application of the API store: discovery, OpenAPI, health and
 * the resource routes, with every error answered as a Kubernetes Status.
 */
import { fastify, LogController, type FastifyReply, type FastifyServerFactory } from 'fastify';
import type { Logger } from '../../common/logger.ts';
import { ApiError, errors } from '../api/status.ts';
import { apiGroup, apiGroupList, apiResourceList, coreApiVersions, versionInfo } from '../api/discovery.ts';
import { openApiGroupVersion, openApiRoot } from '../api/openapi.ts';
import type { Status } from '../api/types.ts';
import { handleResourceRequest, type HandlerContext } from './resource-handlers.ts';

/** kube-apiserver's limit on a request body (3 MiB); larger bodies get 413. */
export const maxRequestBodyBytes = 3 * 1024 * 1024;

function sendStatus(reply: FastifyReply, status: Status): FastifyReply {
  return reply.code(status.code).type('application/json').send(JSON.stringify(status));
}

function fastifyErrorStatus(error: { code?: string; statusCode?: number; message: string }): Status {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return errors.requestEntityTooLarge(`the request body is larger than ${maxRequestBodyBytes} bytes`).status;
  if (error.statusCode === 400 || error.code?.startsWith('FST_ERR_CTP')) return errors.badRequest(error.message).status;
  return errors.internal(error.message).status;
}

export function createApp(context: HandlerContext, logger: Logger, serverFactory?: FastifyServerFactory) {
  const app = fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: maxRequestBodyBytes,
    // Watches stay open for many minutes; the watch itself decides when to end.
    requestTimeout: 0,
    return503OnClosing: true,
    ...(serverFactory ? { serverFactory } : {}),
  });

  // Bodies are decoded per route by Content-Type (JSON, YAML, protobuf, patches), so keep them raw here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof ApiError) return sendStatus(reply, error.status);
    const status = fastifyErrorStatus(error as { code?: string; statusCode?: number; message: string });
    if (status.code >= 500) request.log.error({ err: error, method: request.method, url: request.url }, 'request failed');
    return sendStatus(reply, status);
  });
  app.setNotFoundHandler((request, reply) => sendStatus(reply, errors.pathNotFound(request.url.split('?')[0] ?? '').status));

  const json = (reply: FastifyReply, body: unknown) => reply.type('application/json').send(JSON.stringify(body));
  for (const path of ['/healthz', '/livez', '/readyz']) app.get(path, (_request, reply) => reply.type('text/plain').send('ok'));
  app.get('/version', (_request, reply) => json(reply, versionInfo()));
  app.get('/api', (request, reply) => {
    const { localAddress, localPort } = request.socket;
    return json(reply, coreApiVersions(localAddress ? `${localAddress}:${localPort}` : 'localhost'));
  });
  app.get('/api/v1', (_request, reply) => json(reply, apiResourceList('', 'v1')));
  app.get('/apis', (_request, reply) => json(reply, apiGroupList()));
  app.get('/apis/:group', (request, reply) => {
    const body = apiGroup((request.params as { group: string }).group);
    return body ? json(reply, body) : sendStatus(reply, errors.pathNotFound(request.url).status);
  });
  app.get('/apis/:group/:version', (request, reply) => {
    const { group, version } = request.params as { group: string; version: string };
    const body = apiResourceList(group, version);
    return body ? json(reply, body) : sendStatus(reply, errors.pathNotFound(request.url).status);
  });
  app.get('/openapi/v3', (_request, reply) => json(reply, openApiRoot()));
  app.get('/openapi/v3/*', (request, reply) => {
    const body = openApiGroupVersion((request.url.split('?')[0] ?? '').slice('/openapi/v3/'.length));
    return body ? json(reply, body) : sendStatus(reply, errors.pathNotFound(request.url).status);
  });

  const resourceRoute = (request: Parameters<typeof handleResourceRequest>[1], reply: FastifyReply) => handleResourceRequest(context, request, reply);
  app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], url: '/api/v1/*', handler: resourceRoute });
  app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], url: '/apis/:group/:version/*', handler: resourceRoute });
  return app;
}
