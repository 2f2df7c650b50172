/**
 * The smallest OpenAPI v3 that lets kubectl 1.32 run `apply` and `create -f`
 * with its default `--validate=strict`.
 *
 * kubectl's queryParamVerifierV3 looks for a PATCH operation tagged with the
 * object's group-version-kind that lists a `fieldValidation` query parameter.
 * When it finds one, kubectl skips client-side schema validation and sends
 * `fieldValidation=Strict`, leaving validation to the server; so no object
 * schemas are published. The PATCH request bodies deliberately omit
 * `application/strategic-merge-patch+json`: kubectl then builds strategic
 * merge patches from its compiled-in types instead of from (absent) schemas.
 * Server-side apply is not listed either: the server answers it with 415.
 */
import { createHash } from 'node:crypto';
import { versionInfo } from './discovery.ts';
import { resources, type ResourceInfo } from './resources.ts';

export interface OpenApiRoot {
  paths: Record<string, { serverRelativeURL: string }>;
}

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query';
  description: string;
  required?: boolean;
  schema: { type: 'string'; uniqueItems: true };
}

export interface OpenApiPatchOperation {
  tags: string[];
  description: string;
  operationId: string;
  parameters: OpenApiParameter[];
  requestBody: { required: true; content: Record<string, { schema: { $ref: string } }> };
  responses: Record<string, { description: string }>;
  'x-kubernetes-action': 'patch';
  'x-kubernetes-group-version-kind': { group: string; version: string; kind: string };
}

export interface OpenApiDocument {
  openapi: '3.0.0';
  info: { title: string; version: string };
  paths: Record<string, { parameters: OpenApiParameter[]; patch: OpenApiPatchOperation }>;
  components: { schemas: Record<string, { description: string; type: 'object' }> };
}

const patchSchemaName = 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch';

/** GET /openapi/v3: one entry per group-version, keyed as kube-apiserver keys them ("api/v1", "apis/<group>/<version>"). */
export function openApiRoot(): OpenApiRoot {
  const paths: OpenApiRoot['paths'] = {};
  for (const [gvPath, infos] of groupVersions()) {
    paths[gvPath] = { serverRelativeURL: `/openapi/v3/${gvPath}?hash=${openApiHash(document(infos))}` };
  }
  return { paths };
}

/**
 * GET /openapi/v3/<gvPath>, where gvPath is a key of `openApiRoot().paths`
 * (e.g. "api/v1", "apis/networking.k8s.io/v1"). Undefined for anything else.
 */
export function openApiGroupVersion(gvPath: string): OpenApiDocument | undefined {
  const infos = groupVersions().get(gvPath);
  return infos === undefined ? undefined : document(infos);
}

/**
 * kube-openapi's content hash: uppercase hex SHA-512 of the served bytes. The
 * server must serve `JSON.stringify(openApiGroupVersion(p))` for the hash to
 * match; kubectl caches documents by this URL.
 */
export function openApiHash(doc: OpenApiDocument): string {
  return createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase();
}

function groupVersionPath(info: ResourceInfo): string {
  return info.group === '' ? `api/${info.version}` : `apis/${info.group}/${info.version}`;
}

function groupVersions(): Map<string, ResourceInfo[]> {
  const byPath = new Map<string, ResourceInfo[]>();
  for (const info of resources) byPath.set(groupVersionPath(info), [...(byPath.get(groupVersionPath(info)) ?? []), info]);
  return byPath;
}

function document(infos: ResourceInfo[]): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const info of infos) paths[itemPath(info)] = { parameters: pathParameters(info), patch: patchOperation(info) };
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: versionInfo().gitVersion },
    paths,
    components: {
      schemas: {
        [patchSchemaName]: { description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.', type: 'object' },
      },
    },
  };
}

function itemPath(info: ResourceInfo): string {
  const base = `/${groupVersionPath(info)}`;
  return info.namespaced ? `${base}/namespaces/{namespace}/${info.resource}/{name}` : `${base}/${info.resource}/{name}`;
}

function stringParam(name: string, where: 'path' | 'query', description: string): OpenApiParameter {
  return { name, in: where, description, ...(where === 'path' ? { required: true } : {}), schema: { type: 'string', uniqueItems: true } };
}

function pathParameters(info: ResourceInfo): OpenApiParameter[] {
  const params = [stringParam('name', 'path', `name of the ${info.kind}`)];
  if (info.namespaced) params.push(stringParam('namespace', 'path', 'object name and auth scope, such as for teams and projects'));
  params.push(stringParam('pretty', 'query', "If 'true', then the output is pretty printed."));
  return params;
}

/** "networking.k8s.io" → "Networking", "" → "Core": the prefix kube-openapi puts in operation ids and tags. */
function groupWord(group: string): string {
  const [first = ''] = group.split('.');
  const word = first === '' ? 'core' : first;
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function patchOperation(info: ResourceInfo): OpenApiPatchOperation {
  const word = groupWord(info.group);
  const version = info.version.charAt(0).toUpperCase() + info.version.slice(1);
  const ref = { schema: { $ref: `#/components/schemas/${patchSchemaName}` } };
  return {
    tags: [`${word.toLowerCase()}_${info.version}`],
    description: `partially update the specified ${info.kind}`,
    operationId: `patch${word}${version}${info.namespaced ? 'Namespaced' : ''}${info.kind}`,
    parameters: [
      stringParam('dryRun', 'query', 'When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed'),
      stringParam('fieldManager', 'query', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
      stringParam(
        'fieldValidation',
        'query',
        'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.',
      ),
    ],
    requestBody: {
      required: true,
      content: {
        'application/json-patch+json': ref,
        'application/merge-patch+json': ref,
      },
    },
    responses: { '200': { description: 'OK' }, '201': { description: 'Created' } },
    'x-kubernetes-action': 'patch',
    'x-kubernetes-group-version-kind': { group: info.group, version: info.version, kind: info.kind },
  };
}
