/**
 * Server-owned metadata, as kube-apiserver's rest.BeforeCreate/BeforeUpdate
 * set it: identity and timestamps are assigned once and can never be changed
 * by a client; generation counts spec changes.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../api/types.ts';

// The alphabet apimachinery uses for generateName: no vowels (no words), no 0/1/3 (look like letters).
const generateNameAlphabet = 'bcdfghjklmnpqrstvwxz2456789';
const maxGeneratedNameLength = 63;

export function generateName(base: string): string {
  const trimmed = base.slice(0, maxGeneratedNameLength - 5);
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += generateNameAlphabet[randomInt(generateNameAlphabet.length)];
  return trimmed + suffix;
}

/** RFC 3339 with second precision, as metav1.Time serialises. */
export function timestamp(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The parts of an object that count as its spec for generation: everything but identity, metadata and status. */
function specOf(object: KubeObject): Record<string, unknown> {
  const { apiVersion: _apiVersion, kind: _kind, metadata: _metadata, status: _status, ...spec } = object;
  return spec;
}

export function prepareForCreate(object: KubeObject, now: Date): void {
  const meta = object.metadata;
  meta.uid = randomUUID();
  meta.creationTimestamp = timestamp(now);
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  delete meta.resourceVersion;
  if ('spec' in object) meta.generation = 1;
  else delete meta.generation;
}

export function prepareForUpdate(object: KubeObject, old: KubeObject): void {
  const meta = object.metadata;
  const oldMeta = old.metadata;
  meta.uid = oldMeta.uid;
  meta.creationTimestamp = oldMeta.creationTimestamp;
  if (oldMeta.deletionTimestamp) {
    meta.deletionTimestamp = oldMeta.deletionTimestamp;
    meta.deletionGracePeriodSeconds = oldMeta.deletionGracePeriodSeconds;
  } else {
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
  }
  if (oldMeta.generateName !== undefined && meta.generateName === undefined) meta.generateName = oldMeta.generateName;
  if (oldMeta.generation !== undefined) {
    meta.generation = isDeepStrictEqual(specOf(object), specOf(old)) ? oldMeta.generation : oldMeta.generation + 1;
  }
}
