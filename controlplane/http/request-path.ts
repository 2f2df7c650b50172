/**
 * Parses a Kubernetes resource URL into what it addresses. Pure, so the
 * path grammar (core vs groups, namespaced vs cluster-scoped, the
 * namespaces/{name}/status ambiguity) is pinned by a table test.
 */
import { findResource, type ResourceInfo } from '../api/resources.ts';

export interface ResourcePath {
  info: ResourceInfo;
  /** The namespace in the URL; undefined for cluster-scoped resources or all-namespace lists. */
  namespace?: string;
  name?: string;
  subresource?: string;
}

export type ParsedPath = { ok: true; path: ResourcePath } | { ok: false; reason: 'not-found' };

const notFound: ParsedPath = { ok: false, reason: 'not-found' };

/** `segments` is the URL path split on "/" without the leading "api/v1" or "apis/{g}/{v}". */
function resolve(group: string, version: string, segments: string[]): ParsedPath {
  if (segments.length === 0) return notFound;
  const [first, second, third, fourth, fifth, ...rest] = segments;
  if (rest.length > 0) return notFound;
  // namespaces/{ns}/{resource}[/{name}[/{subresource}]] — unless {resource} is really a namespace's own subresource.
  if (first === 'namespaces' && third !== undefined) {
    const namespaced = findResource(group, version, third);
    if (namespaced?.namespaced) return { ok: true, path: { info: namespaced, namespace: second, ...(fourth !== undefined ? { name: fourth } : {}), ...(fifth !== undefined ? { subresource: fifth } : {}) } };
    if (group === '' && fourth === undefined) {
      const namespaces = findResource('', 'v1', 'namespaces') as ResourceInfo;
      return { ok: true, path: { info: namespaces, name: second as string, subresource: third } };
    }
    return notFound;
  }
  if (fourth !== undefined) return notFound;
  const info = findResource(group, version, first as string);
  if (!info) return notFound;
  if (third !== undefined && second === undefined) return notFound;
  if (info.namespaced && second !== undefined) return notFound; // a namespaced item needs its namespace
  return { ok: true, path: { info, ...(second !== undefined ? { name: second } : {}), ...(third !== undefined ? { subresource: third } : {}) } };
}

/** Parses "/api/v1/…" or "/apis/{group}/{version}/…" (no query string). */
export function parseResourcePath(pathname: string): ParsedPath {
  const parts = pathname.split('/').filter((part) => part !== '').map(decodeURIComponent);
  if (parts.some((part) => part === '.' || part === '..')) return notFound;
  if (parts[0] === 'api' && parts[1] === 'v1') return resolve('', 'v1', parts.slice(2));
  if (parts[0] === 'apis' && parts.length >= 4) return resolve(parts[1] as string, parts[2] as string, parts.slice(3));
  return notFound;
}
