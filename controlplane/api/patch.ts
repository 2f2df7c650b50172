/**
 * The three PATCH bodies kube-apiserver accepts, applied to plain JSON:
 * JSON merge patch (RFC 7386), JSON patch (RFC 6902) and Kubernetes strategic
 * merge patch, which is what `kubectl apply` and `kubectl patch` send by
 * default. Every function returns a new document and leaves its inputs alone.
 */
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { KplaneError } from '../../common/errors.ts';
import type { StrategicSchema } from './merge-keys.ts';

/** A patch body that cannot be applied to the object. */
export class PatchError extends KplaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KPLANE_PATCH', message, options);
  }
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Own-property access only: a "__proto__" key in a patch is data, never the prototype.
function own(object: JsonObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function setOwn(object: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

// ---------------------------------------------------------------------------
// RFC 7386 JSON merge patch

/** Objects merge recursively, null deletes a key, anything else (arrays too) replaces. */
export function applyMergePatch(original: unknown, patch: unknown): unknown {
  return mergePatch(structuredClone(original), structuredClone(patch));
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else setOwn(result, key, mergePatch(own(result, key), value));
  }
  return result;
}

// ---------------------------------------------------------------------------
// RFC 6902 JSON patch

const jsonPatchOperations: ReadonlySet<unknown> = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** Applies the operations in order; the first that fails (a `test` included) rejects the whole patch. */
export function applyJsonPatch(original: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw new PatchError('a JSON patch must be a list of operations');
  operations.forEach((operation: unknown, index) => {
    if (!isObject(operation) || !jsonPatchOperations.has(operation.op)) {
      throw new PatchError(`json patch operation ${index}: op must be one of add, remove, replace, move, copy, test`);
    }
  });
  // Values in the operations end up inside the document, so both are copied.
  const steps = structuredClone(operations) as Operation[];
  let document: unknown = structuredClone(original);
  steps.forEach((operation, index) => {
    try {
      document = jsonpatch.applyOperation(document, operation, true, true, true, index).newDocument;
    } catch (error) {
      throw jsonPatchFailure(error, index, operation);
    }
  });
  return document;
}

function jsonPatchFailure(error: unknown, index: number, operation: Operation): unknown {
  const isLibraryError = error instanceof jsonpatch.JsonPatchError;
  // fast-json-patch bans __proto__ / constructor.prototype paths with a plain TypeError.
  const isPrototypeBan = error instanceof TypeError && error.message.startsWith('JSON-Patch:');
  if (!isLibraryError && !isPrototypeBan) return error;
  // The library's message continues with the whole document; its first line is the reason.
  const reason = error.message.split('\n')[0] ?? error.message;
  return new PatchError(`json patch operation ${index} (${operation.op} ${operation.path}) failed: ${reason}`, { cause: error });
}

// ---------------------------------------------------------------------------
// Kubernetes strategic merge patch (k8s.io/apimachinery pkg/util/strategicpatch/patch.go)

const directiveMarker = '$patch';
const retainKeysDirective = '$retainKeys';
const setElementOrderPrefix = '$setElementOrder/';
const deleteFromPrimitiveListPrefix = '$deleteFromPrimitiveList/';

/**
 * Applies a strategic merge patch as kube-apiserver does for a typed object.
 * `schema` says which lists merge element-wise (see merge-keys.ts); other
 * lists are replaced whole and objects merge key by key.
 *
 * Directives: `null` deletes a key; `{"$patch": "delete" | "replace"}` in a
 * map; list elements `{"$patch": "delete", <mergeKey>: v}` and
 * `{"$patch": "replace"}`; `$setElementOrder/<list>`,
 * `$deleteFromPrimitiveList/<list>` and `$retainKeys`. Anything else starting
 * with `$` is rejected.
 *
 * Where apimachinery stores a patch value verbatim (a key the object lacks, a
 * type change, a `$patch: replace`) it relies on decoding into Go structs to
 * drop leftover directives. Here such a value is merged into an empty value
 * instead, so no directive is ever stored as data.
 */
export function applyStrategicMergePatch(
  original: Readonly<Record<string, unknown>>,
  patch: unknown,
  schema: StrategicSchema,
): Record<string, unknown> {
  if (!isObject(patch)) throw new PatchError('a strategic merge patch must be a JSON object');
  return mergeMap(structuredClone(original), structuredClone(patch), schema, '');
}

function childPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function itemPath(path: string, index: number): string {
  return `${path}[${index}]`;
}

function at(path: string): string {
  return path === '' ? '' : `${path}: `;
}

function fieldSchema(schema: StrategicSchema, key: string): StrategicSchema {
  return schema.fields !== undefined && Object.hasOwn(schema.fields, key) ? (schema.fields[key] ?? {}) : {};
}

function mergeMap(original: JsonObject, patch: JsonObject, schema: StrategicSchema, path: string): JsonObject {
  if (Object.hasOwn(patch, directiveMarker)) {
    const directive = patch[directiveMarker];
    if (directive === 'delete') return {};
    if (directive === 'replace') {
      const { [directiveMarker]: _, ...replacement } = patch;
      return mergeMap({}, replacement, schema, path);
    }
    throw new PatchError(`${at(path)}unknown patch type ${JSON.stringify(directive)} in map`);
  }

  const result = retainKeys(original, patch, path);
  const ordered = new Set<string>();
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(setElementOrderPrefix)) continue;
    const field = directiveField(key, setElementOrderPrefix, path);
    const list = orderedMergeList(own(result, field), own(patch, field), order, fieldSchema(schema, field), childPath(path, field));
    if (list !== undefined) setOwn(result, field, list);
    ordered.add(field);
  }

  for (const [key, value] of Object.entries(patch)) {
    if (key === retainKeysDirective || key.startsWith(setElementOrderPrefix) || ordered.has(key)) continue;
    if (key.startsWith(deleteFromPrimitiveListPrefix)) {
      const field = directiveField(key, deleteFromPrimitiveListPrefix, path);
      const remaining = deleteFromPrimitiveList(own(result, field), value, fieldSchema(schema, field), childPath(path, field));
      if (remaining !== undefined) setOwn(result, field, remaining);
      continue;
    }
    if (key.startsWith('$')) throw new PatchError(`${at(path)}unknown patch directive ${JSON.stringify(key)}`);
    if (value === null) delete result[key];
    else setOwn(result, key, mergeValue(own(result, key), value, fieldSchema(schema, key), childPath(path, key)));
  }
  return result;
}

function directiveField(key: string, prefix: string, path: string): string {
  const field = key.slice(prefix.length);
  if (field === '') throw new PatchError(`${at(path)}invalid patch format: ${JSON.stringify(key)} names no field`);
  return field;
}

/** Keeps only the listed keys of the original; every non-null key the patch sets must be listed. */
function retainKeys(original: JsonObject, patch: JsonObject, path: string): JsonObject {
  if (!Object.hasOwn(patch, retainKeysDirective)) return { ...original };
  const retained = patch[retainKeysDirective];
  if (!Array.isArray(retained)) throw new PatchError(`${at(path)}invalid patch format of $retainKeys: must be a list`);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null || key.startsWith('$')) continue;
    if (!retained.includes(key)) throw new PatchError(`${at(path)}field ${JSON.stringify(key)} is set by the patch but missing from $retainKeys`);
  }
  return Object.fromEntries(Object.entries(original).filter(([key]) => retained.includes(key)));
}

function mergeValue(original: unknown, patch: unknown, schema: StrategicSchema, path: string): unknown {
  if (isObject(patch)) return mergeMap(isObject(original) ? original : {}, patch, schema, path);
  if (!Array.isArray(patch)) return patch;
  if (schema.patchStrategy === 'merge') return mergeList(Array.isArray(original) ? original : [], patch, schema, path);
  patch.forEach((element: unknown, index) => {
    // A directive here means the client knows a merge key this schema lacks; storing it would corrupt the list.
    if (isObject(element) && Object.hasOwn(element, directiveMarker)) {
      throw new PatchError(`${at(itemPath(path, index))}$patch is not allowed in a list that is replaced whole`);
    }
  });
  return patch;
}

function mergeList(original: readonly unknown[], patch: readonly unknown[], schema: StrategicSchema, path: string): unknown[] {
  const mergeKey = schema.patchMergeKey;
  if (mergeKey === undefined) {
    requireScalars([...original, ...patch], path);
    const merged = [...new Set([...original, ...patch])];
    return orderByPatch(merged, patch, original, (value) => value);
  }

  const elementSchema: StrategicSchema = schema.fields === undefined ? {} : { fields: schema.fields };
  const keyOf = (element: JsonObject, elementPath: string): unknown => {
    if (!Object.hasOwn(element, mergeKey)) {
      throw new PatchError(`${at(elementPath)}${JSON.stringify(element)} does not contain declared merge key: ${mergeKey}`);
    }
    return element[mergeKey];
  };

  let base = requireObjects(original, path);
  const plain: Array<{ element: JsonObject; path: string }> = [];
  let replace = false;
  requireObjects(patch, path).forEach((element, index) => {
    const elementPath = itemPath(path, index);
    if (!Object.hasOwn(element, directiveMarker)) {
      plain.push({ element, path: elementPath });
      return;
    }
    const directive = element[directiveMarker];
    if (directive === 'delete') {
      const doomed = keyOf(element, elementPath);
      base = base.filter((entry) => !Object.hasOwn(entry, mergeKey) || entry[mergeKey] !== doomed);
    } else if (directive === 'replace') {
      replace = true;
    } else if (directive === 'merge') {
      throw new PatchError(`${at(path)}merging lists cannot yet be specified in the patch`);
    } else {
      throw new PatchError(`${at(elementPath)}unknown patch type ${JSON.stringify(directive)} in list`);
    }
  });

  if (replace) {
    return plain.map(({ element, path: elementPath }) => {
      keyOf(element, elementPath);
      return mergeMap({}, element, elementSchema, elementPath);
    });
  }

  base.forEach((entry, index) => keyOf(entry, itemPath(path, index)));
  const merged = [...base];
  for (const { element, path: elementPath } of plain) {
    const value = keyOf(element, elementPath);
    const index = merged.findIndex((entry) => entry[mergeKey] === value);
    const existing = merged[index];
    if (existing === undefined) merged.push(mergeMap({}, element, elementSchema, elementPath));
    else merged[index] = mergeMap(existing, element, elementSchema, elementPath);
  }
  const identity = (entry: JsonObject): unknown => entry[mergeKey];
  return orderByPatch(merged, plain.map(({ element }) => identity(element)), base.map(identity), identity);
}

function requireObjects(list: readonly unknown[], path: string): JsonObject[] {
  return list.map((element, index) => {
    if (!isObject(element)) throw new PatchError(`${at(itemPath(path, index))}list element types are not identical: expected an object`);
    return element;
  });
}

function requireScalars(list: readonly unknown[], path: string): void {
  const types = new Set(list.map((element) => (element === null ? 'null' : Array.isArray(element) ? 'array' : typeof element)));
  if (types.has('object') || types.has('array')) throw new PatchError(`${at(path)}list of primitives holds an object or a list`);
  if (types.size > 1) throw new PatchError(`${at(path)}list element types are not identical`);
}

/**
 * apimachinery's element order after a merge: elements named by the patch
 * follow the patch's order; the others keep their order in the live list, and
 * the two runs are interleaved by live-list position where both elements were
 * already there (normalizeElementOrder and mergeSortedSlice in patch.go).
 */
function orderByPatch<T>(merged: readonly T[], patchOrder: readonly unknown[], serverOrder: readonly unknown[], identity: (element: T) => unknown): T[] {
  const patchIndex = firstIndexes(patchOrder);
  const serverIndex = firstIndexes(serverOrder);
  const rank = (index: ReadonlyMap<unknown, number>) => (element: T) => index.get(identity(element)) ?? Number.POSITIVE_INFINITY;
  const fromPatch = stableSortBy(merged.filter((element) => patchIndex.has(identity(element))), rank(patchIndex));
  const serverOnly = stableSortBy(merged.filter((element) => !patchIndex.has(identity(element))), rank(serverIndex));

  const result: T[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < fromPatch.length) {
    const left = serverOnly[i];
    const right = fromPatch[j];
    const leftRank = left === undefined ? undefined : serverIndex.get(identity(left));
    const rightRank = right === undefined ? undefined : serverIndex.get(identity(right));
    const takeLeft = right === undefined || (leftRank !== undefined && rightRank !== undefined && leftRank < rightRank);
    if (takeLeft && left !== undefined) {
      result.push(left);
      i++;
    } else if (right !== undefined) {
      result.push(right);
      j++;
    }
  }
  return result;
}

function firstIndexes(values: readonly unknown[]): Map<unknown, number> {
  const indexes = new Map<unknown, number>();
  values.forEach((value, index) => {
    if (!indexes.has(value)) indexes.set(value, index);
  });
  return indexes;
}

function stableSortBy<T>(elements: readonly T[], rank: (element: T) => number): T[] {
  return elements
    .map((element, index) => ({ element, index, rank: rank(element) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map(({ element }) => element);
}

/** `$setElementOrder/<field>`: merges the field's patch list (if any), then orders the result. */
function orderedMergeList(original: unknown, patch: unknown, order: unknown, schema: StrategicSchema, path: string): unknown[] | undefined {
  if (schema.patchStrategy !== 'merge') throw new PatchError(`${at(path)}$setElementOrder applies only to lists with a merge strategy`);
  if (!Array.isArray(order)) throw new PatchError(`${at(path)}invalid patch format of $setElementOrder: must be a list`);
  if (patch !== undefined && !Array.isArray(patch)) throw new PatchError(`${at(path)}the patch value must be a list`);
  const live = original === undefined || original === null ? undefined : original;
  if (live !== undefined && !Array.isArray(live)) throw new PatchError(`${at(path)}is not a list`);
  if (live === undefined && patch === undefined) return undefined;

  const mergeKey = schema.patchMergeKey;
  const identity = (element: unknown): unknown => (mergeKey === undefined ? element : isObject(element) ? element[mergeKey] : undefined);
  order.forEach((element: unknown, index) => {
    const valid = mergeKey === undefined ? !isObject(element) && !Array.isArray(element) : isObject(element) && Object.hasOwn(element, mergeKey);
    if (!valid) {
      const expected = mergeKey === undefined ? 'a primitive value' : `an object with merge key ${mergeKey}`;
      throw new PatchError(`${at(path)}$setElementOrder element ${index} must be ${expected}`);
    }
  });
  const orderIds = order.map(identity);
  if (patch !== undefined) requireOrderAgrees(patch, orderIds, identity, path);

  const merged = mergeList(live ?? [], patch ?? [], schema, path);
  return orderByPatch(merged, orderIds, (live ?? []).map(identity), identity);
}

/** The patch list's elements (directives aside) must appear in $setElementOrder, in the same relative order. */
function requireOrderAgrees(patch: readonly unknown[], orderIds: readonly unknown[], identity: (element: unknown) => unknown, path: string): void {
  if (orderIds.length === 0) return;
  let position = 0;
  for (const element of patch) {
    if (isObject(element) && Object.hasOwn(element, directiveMarker)) continue;
    const id = identity(element);
    while (position < orderIds.length && orderIds[position] !== id) position++;
    if (position === orderIds.length) {
      throw new PatchError(`${at(path)}the order in patch list ${JSON.stringify(patch)} doesn't match $setElementOrder list ${JSON.stringify(orderIds)}`);
    }
    position++;
  }
}

/**
 * `$deleteFromPrimitiveList/<field>`. Deleting from a list the object does not
 * have leaves it absent (apimachinery would store the deletion list itself).
 */
function deleteFromPrimitiveList(current: unknown, doomed: unknown, schema: StrategicSchema, path: string): unknown[] | undefined {
  if (schema.patchStrategy !== 'merge' || schema.patchMergeKey !== undefined) {
    throw new PatchError(`${at(path)}$deleteFromPrimitiveList applies only to merge lists of primitives`);
  }
  if (!Array.isArray(doomed)) throw new PatchError(`${at(path)}invalid patch format of $deleteFromPrimitiveList: must be a list`);
  if (current === undefined || current === null) return undefined;
  if (!Array.isArray(current)) throw new PatchError(`${at(path)}is not a list`);
  return current.filter((value: unknown) => !doomed.includes(value));
}
