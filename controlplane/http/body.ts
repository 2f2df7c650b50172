/**
 * Turns a request body into a plain object by its Content-Type: JSON, YAML,
 * Kubernetes protobuf (kubectl 1.32's `create <generator>` commands), and the
 * three patch formats. Every failure is a Status the client can read.
 */
import { parse as parseYaml } from 'yaml';
import { errors } from '../api/status.ts';
import { decodeKubernetesProtobuf, ProtobufDecodeError } from '../api/protobuf.ts';
import type { PatchType } from '../client/types.ts';

export type BodyFormat = 'json' | 'yaml' | 'protobuf';

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

// Keys that could reach an object's prototype through a merge are dropped at the door.
function safeReviver(key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text, safeReviver);
  } catch (error) {
    throw errors.badRequest(`the request body is not valid JSON: ${(error as Error).message}`);
  }
}

function parseYamlDocument(text: string): unknown {
  try {
    return JSON.parse(JSON.stringify(parseYaml(text) ?? null), safeReviver);
  } catch (error) {
    throw errors.badRequest(`the request body is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
}

function requireObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw errors.badRequest('the request body must be a single object');
  }
  return value as Record<string, unknown>;
}

/** Body of a create or update. */
export function decodeObjectBody(contentType: string | undefined, body: Buffer | undefined): Record<string, unknown> {
  if (!body || body.length === 0) throw errors.badRequest('the request body is empty');
  const type = mediaType(contentType);
  switch (type) {
    case '':
    case 'application/json':
      return requireObject(parseJson(body.toString('utf8')));
    case 'application/yaml':
    case 'application/x-yaml':
      return requireObject(parseYamlDocument(body.toString('utf8')));
    case 'application/vnd.kubernetes.protobuf':
      try {
        return decodeKubernetesProtobuf(body) as unknown as Record<string, unknown>;
      } catch (error) {
        if (error instanceof ProtobufDecodeError) {
          throw error.reason === 'unsupported' ? errors.unsupportedMediaType(error.message) : errors.badRequest(error.message);
        }
        throw error;
      }
    default:
      throw errors.unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got ${type})`);
  }
}

const patchTypes: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/json-patch+json': 'json',
};

/** Body of a PATCH: the patch format from the Content-Type, and the parsed patch. */
export function decodePatchBody(contentType: string | undefined, body: Buffer | undefined): { type: PatchType; patch: unknown } {
  const media = mediaType(contentType);
  if (media === 'application/apply-patch+yaml') {
    throw errors.unsupportedMediaType('server-side apply is not supported by kplane yet; use client-side `kubectl apply` (without --server-side)');
  }
  const type = patchTypes[media];
  if (!type) {
    throw errors.unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${Object.keys(patchTypes).join(', ')} (got ${media || 'none'})`);
  }
  if (!body || body.length === 0) throw errors.badRequest('the patch is empty');
  const patch = parseJson(body.toString('utf8'));
  if (type === 'json' ? !Array.isArray(patch) : typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw errors.badRequest(type === 'json' ? 'a JSON patch must be an array of operations' : 'a merge patch must be a JSON object');
  }
  return { type, patch };
}
