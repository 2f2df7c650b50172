/**
 * The API store's one error catalogue: every failure a client can see is an
 * ApiError carrying a Kubernetes Status (code, reason, message, causes), and
 * this is the only place that shapes them, so kubectl prints
 * `Error from server (<reason>): <message>` for all of them alike.
 */
import type { ResourceInfo } from './resources.ts';
import type { Status, StatusCause } from './types.ts';

export class ApiError extends Error {
  readonly status: Status;
  constructor(status: Status) {
    super(status.message);
    this.name = 'ApiError';
    this.status = status;
  }
}

interface Subject {
  info?: Pick<ResourceInfo, 'group' | 'kind' | 'resource'>;
  name?: string;
}

function failure(code: number, reason: string, message: string, subject: Subject = {}, causes?: StatusCause[]): ApiError {
  const details: NonNullable<Status['details']> = {};
  if (subject.name !== undefined) details.name = subject.name;
  if (subject.info) {
    details.group = subject.info.group;
    details.kind = subject.info.resource;
  }
  if (causes && causes.length > 0) details.causes = causes;
  const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (Object.keys(details).length > 0) status.details = details;
  return new ApiError(status);
}

/** "services" or "ingresses.networking.k8s.io", as kube-apiserver names a resource in messages. */
export function qualifiedResource(info: Pick<ResourceInfo, 'group' | 'resource'>): string {
  return info.group === '' ? info.resource : `${info.resource}.${info.group}`;
}

export const errors = {
  notFound: (info: Pick<ResourceInfo, 'group' | 'kind' | 'resource'>, name: string) =>
    failure(404, 'NotFound', `${qualifiedResource(info)} "${name}" not found`, { info, name }),
  namespaceNotFound: (namespace: string) =>
    failure(404, 'NotFound', `namespaces "${namespace}" not found`, { info: { group: '', kind: 'Namespace', resource: 'namespaces' }, name: namespace }),
  namespaceTerminating: (info: Pick<ResourceInfo, 'group' | 'kind' | 'resource'>, name: string, namespace: string) =>
    failure(403, 'Forbidden', `${qualifiedResource(info)} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, { info, name }, [
      { reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' },
    ]),
  alreadyExists: (info: Pick<ResourceInfo, 'group' | 'kind' | 'resource'>, name: string) =>
    failure(409, 'AlreadyExists', `${qualifiedResource(info)} "${name}" already exists`, { info, name }),
  conflict: (info: Pick<ResourceInfo, 'group' | 'kind' | 'resource'>, name: string, detail = 'the object has been modified; please apply your changes to the latest version and try again') =>
    failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(info)} "${name}": ${detail}`, { info, name }),
  invalid: (info: Pick<ResourceInfo, 'group' | 'kind' | 'resource'>, name: string, message: string, causes: StatusCause[]) => {
    const error = failure(422, 'Invalid', message, { info, name }, causes);
    // kube-apiserver names the kind (not the resource) in Invalid details.
    if (error.status.details) error.status.details.kind = info.kind;
    return error;
  },
  badRequest: (message: string) => failure(400, 'BadRequest', message),
  forbidden: (message: string) => failure(403, 'Forbidden', message),
  methodNotAllowed: (message: string) => failure(405, 'MethodNotAllowed', message),
  unsupportedMediaType: (message: string) => failure(415, 'UnsupportedMediaType', message),
  notAcceptable: (message: string) => failure(406, 'NotAcceptable', message),
  requestEntityTooLarge: (message: string) => failure(413, 'RequestEntityTooLarge', message),
  expired: (message: string) => failure(410, 'Expired', message),
  pathNotFound: (path: string) => failure(404, 'NotFound', `the server could not find the requested resource (${path})`),
  timeout: (message: string) => failure(504, 'Timeout', message),
  internal: (message: string) => failure(500, 'InternalError', `Internal error occurred: ${message}`),
};

export function successStatus(info: Pick<ResourceInfo, 'group' | 'kind' | 'resource'>, name: string, uid?: string): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name, group: info.group, kind: info.resource, ...(uid ? { uid } : {}) } as Status['details'],
    code: 200,
  };
}
