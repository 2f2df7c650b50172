/**
 * JSON encoding of stored objects, memoised per object: the watch cache
 * shares one immutable object per revision, so a list of 10,000 items or one
 * event fanned out to 100 watchers serialises each object once.
 */
import type { KubeObject } from '../api/types.ts';

const encoded = new WeakMap<KubeObject, string>();

export function encodeObject(object: KubeObject): string {
  let text = encoded.get(object);
  if (text === undefined) {
    text = JSON.stringify(object);
    encoded.set(object, text);
  }
  return text;
}

export function encodeList(apiVersion: string, kind: string, resourceVersion: number, items: KubeObject[]): string {
  return `{"kind":${JSON.stringify(kind)},"apiVersion":${JSON.stringify(apiVersion)},"metadata":{"resourceVersion":"${resourceVersion}"},"items":[${items.map(encodeObject).join(',')}]}`;
}

export function encodeWatchEvent(type: string, object: KubeObject): string {
  return `{"type":"${type}","object":${encodeObject(object)}}\n`;
}
