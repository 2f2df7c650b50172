/**
 * Decodes the protobuf request bodies that kubectl 1.32+ sends for
 * `kubectl create namespace|secret|configmap|service …` (client-go's typed
 * clients default to protobuf since 0.32) into the JSON object the same
 * request would carry as JSON, so the rest of the API server only ever sees
 * JSON.
 *
 * Wire format: the magic `k8s\0`, then a runtime.Unknown message whose `raw`
 * field holds the object's own message (k8s.io.api.core.v1.Service, …).
 *
 * Field numbers come from k8s.io/api core/v1 and k8s.io/apimachinery
 * (meta/v1, runtime, util/intstr) generated.proto; each message below is a
 * table that reads side by side with its proto definition.
 *
 * Presence follows what Go's encoding/json writes for the decoded Go struct,
 * because that is what a JSON request from the same client carries:
 * - plain fields are `omitempty`: a zero value ("", 0, false, empty list or map)
 *   is left out (gogo-protobuf writes every non-pointer field, even when empty);
 * - `pointer` fields (*bool, *string, *int64, *struct) appear whenever they
 *   are on the wire, even when zero;
 * - `always` fields (no omitempty, or a non-pointer struct) appear with their
 *   zero value when absent.
 * Two deliberate departures, where Go writes a placeholder that means "unset":
 * a zero Time (Go: null) and a zero targetPort (Go: 0) are left out; the
 * apiserver treats both as absent anyway.
 *
 * The wire reader is hand-written instead of protobufjs's Reader: every
 * failure must surface as a ProtobufDecodeError naming the field, int64 must
 * come back as a plain number (protobufjs returns Long objects because `long`
 * is installed), and the whole reader is a few bounds-checked functions.
 */
import { Buffer } from 'node:buffer';
import { KplaneError } from '../../common/errors.ts';
import type { KubeObject } from './types.ts';

/**
 * A protobuf request body that cannot be decoded. `reason` tells the API
 * layer which answer to give: `unsupported` (415, send JSON instead) for a
 * kind this decoder does not cover, `malformed` (400) for a bad envelope or
 * message.
 */
export class ProtobufDecodeError extends KplaneError {
  readonly reason: 'unsupported' | 'malformed';

  constructor(reason: 'unsupported' | 'malformed', message: string) {
    super('KPLANE_PROTOBUF', message);
    this.reason = reason;
  }
}

/** The Content-Type kubectl uses for protobuf bodies. */
export const protobufContentType = 'application/vnd.kubernetes.protobuf';

const magic = [0x6b, 0x38, 0x73, 0x00]; // "k8s\0"

function malformed(path: string, detail: string): ProtobufDecodeError {
  return new ProtobufDecodeError('malformed', `protobuf request body is malformed: ${path}: ${detail}`);
}

// ---- wire format -----------------------------------------------------------

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

type WireField =
  | { number: number; wireType: typeof VARINT; value: bigint }
  | { number: number; wireType: typeof LEN | typeof I64 | typeof I32; value: Uint8Array };

/** Reads one base-128 varint (at most 10 bytes, the width of a uint64). */
function readVarint(buf: Uint8Array, start: number, path: string): { value: bigint; next: number } {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    const byte = buf[start + i];
    if (byte === undefined) throw malformed(path, `varint at byte ${start} runs past the end of the message`);
    value |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if (byte < 0x80) return { value: BigInt.asUintN(64, value), next: start + i + 1 };
  }
  throw malformed(path, `varint at byte ${start} is longer than 10 bytes`);
}

function take(buf: Uint8Array, start: number, length: bigint, path: string): Uint8Array {
  if (length > BigInt(buf.length - start)) {
    throw malformed(path, `${length}-byte field at byte ${start} runs past the end of the message (${buf.length} bytes)`);
  }
  return buf.subarray(start, start + Number(length));
}

/**
 * Splits one message into its fields, in wire order. Groups (wire types 3
 * and 4) are rejected: proto2 groups never occur in Kubernetes messages.
 */
function readFields(buf: Uint8Array, path: string): WireField[] {
  const fields: WireField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const tag = readVarint(buf, pos, path);
    const number = Number(tag.value >> 3n);
    const wireType = Number(tag.value & 7n);
    if (number < 1 || number > 0x1fffffff) throw malformed(path, `invalid field number ${tag.value >> 3n} at byte ${pos}`);
    pos = tag.next;
    switch (wireType) {
      case VARINT: {
        const v = readVarint(buf, pos, path);
        fields.push({ number, wireType, value: v.value });
        pos = v.next;
        break;
      }
      case LEN: {
        const length = readVarint(buf, pos, path);
        const value = take(buf, length.next, length.value, path);
        fields.push({ number, wireType, value });
        pos = length.next + value.length;
        break;
      }
      case I64:
      case I32: {
        const value = take(buf, pos, wireType === I64 ? 8n : 4n, path);
        fields.push({ number, wireType, value });
        pos += value.length;
        break;
      }
      default:
        throw malformed(path, `field ${number} has unsupported wire type ${wireType}`);
    }
  }
  return fields;
}

function expectVarint(field: WireField, path: string): bigint {
  if (field.wireType !== VARINT) throw malformed(path, `expected a varint, got wire type ${field.wireType}`);
  return field.value;
}

function expectBytes(field: WireField, path: string): Uint8Array {
  if (field.wireType !== LEN) throw malformed(path, `expected a length-delimited field, got wire type ${field.wireType}`);
  return field.value;
}

// Go's protobuf code converts bytes to string as they are and encoding/json
// then writes U+FFFD for invalid UTF-8 and keeps a leading BOM; the
// non-fatal decoder with ignoreBOM does the same.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

function toInt64(value: bigint, path: string): number {
  const signed = BigInt.asIntN(64, value);
  if (signed > BigInt(Number.MAX_SAFE_INTEGER) || signed < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw malformed(path, `int64 ${signed} does not fit in a JSON number without losing precision`);
  }
  return Number(signed);
}

// ---- schema ----------------------------------------------------------------

type ValueType = 'string' | 'bytes' | 'int32' | 'int64' | 'bool' | 'time' | 'intOrString' | MessageSpec;

interface FieldSpec {
  json: string;
  type: ValueType;
  /** `list`: repeated field; `map`: map<string, type> (entries key = 1, value = 2). */
  shape?: 'list' | 'map';
  presence?: 'pointer' | 'always';
}

interface MessageSpec {
  name: string;
  fields: Readonly<Record<number, FieldSpec>>;
}

const OwnerReference: MessageSpec = {
  name: 'OwnerReference',
  fields: {
    1: { json: 'kind', type: 'string', presence: 'always' },
    3: { json: 'name', type: 'string', presence: 'always' },
    4: { json: 'uid', type: 'string', presence: 'always' },
    5: { json: 'apiVersion', type: 'string', presence: 'always' },
    6: { json: 'controller', type: 'bool', presence: 'pointer' },
    7: { json: 'blockOwnerDeletion', type: 'bool', presence: 'pointer' },
  },
};

// selfLink (4) and managedFields (17) are left out: kubectl never sends them
// and the store sets or ignores both.
const ObjectMeta: MessageSpec = {
  name: 'ObjectMeta',
  fields: {
    1: { json: 'name', type: 'string' },
    2: { json: 'generateName', type: 'string' },
    3: { json: 'namespace', type: 'string' },
    5: { json: 'uid', type: 'string' },
    6: { json: 'resourceVersion', type: 'string' },
    7: { json: 'generation', type: 'int64' },
    8: { json: 'creationTimestamp', type: 'time' },
    9: { json: 'deletionTimestamp', type: 'time' },
    10: { json: 'deletionGracePeriodSeconds', type: 'int64', presence: 'pointer' },
    11: { json: 'labels', type: 'string', shape: 'map' },
    12: { json: 'annotations', type: 'string', shape: 'map' },
    13: { json: 'ownerReferences', type: OwnerReference, shape: 'list' },
    14: { json: 'finalizers', type: 'string', shape: 'list' },
  },
};

const NamespaceCondition: MessageSpec = {
  name: 'NamespaceCondition',
  fields: {
    1: { json: 'type', type: 'string', presence: 'always' },
    2: { json: 'status', type: 'string', presence: 'always' },
    4: { json: 'lastTransitionTime', type: 'time' },
    5: { json: 'reason', type: 'string' },
    6: { json: 'message', type: 'string' },
  },
};

const Namespace: MessageSpec = {
  name: 'Namespace',
  fields: {
    1: { json: 'metadata', type: ObjectMeta, presence: 'always' },
    2: { json: 'spec', type: { name: 'NamespaceSpec', fields: { 1: { json: 'finalizers', type: 'string', shape: 'list' } } }, presence: 'always' },
    3: {
      json: 'status',
      type: {
        name: 'NamespaceStatus',
        fields: {
          1: { json: 'phase', type: 'string' },
          2: { json: 'conditions', type: NamespaceCondition, shape: 'list' },
        },
      },
      presence: 'always',
    },
  },
};

const Secret: MessageSpec = {
  name: 'Secret',
  fields: {
    1: { json: 'metadata', type: ObjectMeta, presence: 'always' },
    2: { json: 'data', type: 'bytes', shape: 'map' },
    3: { json: 'type', type: 'string' },
    4: { json: 'stringData', type: 'string', shape: 'map' },
    5: { json: 'immutable', type: 'bool', presence: 'pointer' },
  },
};

const ConfigMap: MessageSpec = {
  name: 'ConfigMap',
  fields: {
    1: { json: 'metadata', type: ObjectMeta, presence: 'always' },
    2: { json: 'data', type: 'string', shape: 'map' },
    3: { json: 'binaryData', type: 'bytes', shape: 'map' },
    4: { json: 'immutable', type: 'bool', presence: 'pointer' },
  },
};

const ServicePort: MessageSpec = {
  name: 'ServicePort',
  fields: {
    1: { json: 'name', type: 'string' },
    2: { json: 'protocol', type: 'string' },
    3: { json: 'port', type: 'int32', presence: 'always' },
    4: { json: 'targetPort', type: 'intOrString' },
    5: { json: 'nodePort', type: 'int32' },
    6: { json: 'appProtocol', type: 'string', presence: 'pointer' },
  },
};

const SessionAffinityConfig: MessageSpec = {
  name: 'SessionAffinityConfig',
  fields: {
    1: {
      json: 'clientIP',
      type: { name: 'ClientIPConfig', fields: { 1: { json: 'timeoutSeconds', type: 'int32', presence: 'pointer' } } },
      presence: 'pointer',
    },
  },
};

// Field 6 (deprecatedPublicIPs), 15 and 16 were removed upstream and are not reused.
const ServiceSpec: MessageSpec = {
  name: 'ServiceSpec',
  fields: {
    1: { json: 'ports', type: ServicePort, shape: 'list' },
    2: { json: 'selector', type: 'string', shape: 'map' },
    3: { json: 'clusterIP', type: 'string' },
    4: { json: 'type', type: 'string' },
    5: { json: 'externalIPs', type: 'string', shape: 'list' },
    7: { json: 'sessionAffinity', type: 'string' },
    8: { json: 'loadBalancerIP', type: 'string' },
    9: { json: 'loadBalancerSourceRanges', type: 'string', shape: 'list' },
    10: { json: 'externalName', type: 'string' },
    11: { json: 'externalTrafficPolicy', type: 'string' },
    12: { json: 'healthCheckNodePort', type: 'int32' },
    13: { json: 'publishNotReadyAddresses', type: 'bool' },
    14: { json: 'sessionAffinityConfig', type: SessionAffinityConfig, presence: 'pointer' },
    17: { json: 'ipFamilyPolicy', type: 'string', presence: 'pointer' },
    18: { json: 'clusterIPs', type: 'string', shape: 'list' },
    19: { json: 'ipFamilies', type: 'string', shape: 'list' },
    20: { json: 'allocateLoadBalancerNodePorts', type: 'bool', presence: 'pointer' },
    21: { json: 'loadBalancerClass', type: 'string', presence: 'pointer' },
    22: { json: 'internalTrafficPolicy', type: 'string', presence: 'pointer' },
    23: { json: 'trafficDistribution', type: 'string', presence: 'pointer' },
  },
};

const PortStatus: MessageSpec = {
  name: 'PortStatus',
  fields: {
    1: { json: 'port', type: 'int32', presence: 'always' },
    2: { json: 'protocol', type: 'string', presence: 'always' },
    3: { json: 'error', type: 'string', presence: 'pointer' },
  },
};

const LoadBalancerIngress: MessageSpec = {
  name: 'LoadBalancerIngress',
  fields: {
    1: { json: 'ip', type: 'string' },
    2: { json: 'hostname', type: 'string' },
    3: { json: 'ipMode', type: 'string', presence: 'pointer' },
    4: { json: 'ports', type: PortStatus, shape: 'list' },
  },
};

// ServiceStatus.conditions (2, meta/v1 Condition) is not decoded: clients
// never create Services with conditions, and the store owns status anyway.
const ServiceStatus: MessageSpec = {
  name: 'ServiceStatus',
  fields: {
    1: {
      json: 'loadBalancer',
      type: { name: 'LoadBalancerStatus', fields: { 1: { json: 'ingress', type: LoadBalancerIngress, shape: 'list' } } },
      presence: 'always',
    },
  },
};

const Service: MessageSpec = {
  name: 'Service',
  fields: {
    1: { json: 'metadata', type: ObjectMeta, presence: 'always' },
    2: { json: 'spec', type: ServiceSpec, presence: 'always' },
    3: { json: 'status', type: ServiceStatus, presence: 'always' },
  },
};

const kinds: Readonly<Record<string, MessageSpec>> = { Namespace, Secret, ConfigMap, Service };

// ---- decoding --------------------------------------------------------------

// Go's zero time.Time goes on the wire as an empty message, but older
// encoders wrote its Unix seconds; both mean "unset".
const goZeroTimeSeconds = -62135596800;
// Go's JSON encoder refuses years outside 0000-9999; stay inside that.
const maxTimeSeconds = 253402300799; // 9999-12-31T23:59:59Z

/** metav1.Time → RFC 3339 in UTC with whole seconds, as metav1.Time marshals to JSON. */
function decodeTime(buf: Uint8Array, path: string): string | undefined {
  let seconds = 0;
  let nanos = 0;
  for (const field of readFields(buf, path)) {
    if (field.number === 1) seconds = toInt64(expectVarint(field, `${path}.seconds`), `${path}.seconds`);
    if (field.number === 2) nanos = Number(BigInt.asIntN(32, expectVarint(field, `${path}.nanos`)));
  }
  if ((seconds === 0 && nanos === 0) || seconds === goZeroTimeSeconds) return undefined;
  if (seconds < goZeroTimeSeconds || seconds > maxTimeSeconds) throw malformed(path, `timestamp ${seconds}s is outside years 1-9999`);
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** IntOrString {type 0: intVal, 1: strVal} → number | string; int 0 means unset. */
function decodeIntOrString(buf: Uint8Array, path: string): number | string | undefined {
  let type = 0n;
  let intVal = 0;
  let strVal = '';
  for (const field of readFields(buf, path)) {
    if (field.number === 1) type = expectVarint(field, `${path}.type`);
    if (field.number === 2) intVal = Number(BigInt.asIntN(32, expectVarint(field, `${path}.intVal`)));
    if (field.number === 3) strVal = utf8.decode(expectBytes(field, `${path}.strVal`));
  }
  if (type === 0n) return intVal === 0 ? undefined : intVal;
  if (type === 1n) return strVal;
  throw malformed(path, `IntOrString type must be 0 (int) or 1 (string), got ${type}`);
}

function decodeValue(type: ValueType, field: WireField, path: string): unknown {
  switch (type) {
    case 'string':
      return utf8.decode(expectBytes(field, path));
    case 'bytes':
      return Buffer.from(expectBytes(field, path)).toString('base64');
    case 'int32':
      return Number(BigInt.asIntN(32, expectVarint(field, path)));
    case 'int64':
      return toInt64(expectVarint(field, path), path);
    case 'bool':
      return expectVarint(field, path) !== 0n;
    case 'time':
      return decodeTime(expectBytes(field, path), path);
    case 'intOrString':
      return decodeIntOrString(expectBytes(field, path), path);
    default:
      return decodeMessage(type, expectBytes(field, path), path);
  }
}

function zeroValue(type: ValueType): unknown {
  switch (type) {
    case 'string':
    case 'bytes':
      return '';
    case 'int32':
    case 'int64':
      return 0;
    case 'bool':
      return false;
    case 'time':
    case 'intOrString':
      return undefined;
    default:
      return decodeMessage(type, new Uint8Array(0), type.name);
  }
}

function isEmpty(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length === 0;
  return value === '' || value === 0 || value === false || value === undefined;
}

/** One map<string, T> entry: key = 1, value = 2; a missing half is its zero value. */
function decodeMapEntry(spec: FieldSpec, buf: Uint8Array, path: string): [string, unknown] {
  let key = '';
  let value = zeroValue(spec.type);
  for (const field of readFields(buf, path)) {
    if (field.number === 1) key = utf8.decode(expectBytes(field, `${path}.key`));
    if (field.number === 2) value = decodeValue(spec.type, field, `${path}[${JSON.stringify(key)}]`);
  }
  return [key, value];
}

function decodeMessage(spec: MessageSpec, buf: Uint8Array, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of readFields(buf, path)) {
    const fieldSpec = spec.fields[field.number];
    if (fieldSpec === undefined) continue;
    const fieldPath = `${path}.${fieldSpec.json}`;
    if (fieldSpec.shape === 'list') {
      const list = (out[fieldSpec.json] ??= []) as unknown[];
      list.push(decodeValue(fieldSpec.type, field, `${fieldPath}[${list.length}]`));
    } else if (fieldSpec.shape === 'map') {
      const map = (out[fieldSpec.json] ??= {}) as Record<string, unknown>;
      const [key, value] = decodeMapEntry(fieldSpec, expectBytes(field, fieldPath), fieldPath);
      map[key] = value;
    } else {
      out[fieldSpec.json] = decodeValue(fieldSpec.type, field, fieldPath);
    }
  }
  for (const fieldSpec of Object.values(spec.fields)) {
    const present = fieldSpec.json in out;
    if (!present && fieldSpec.presence === 'always') {
      out[fieldSpec.json] = zeroValue(fieldSpec.type);
    } else if (present && fieldSpec.presence !== 'pointer' && fieldSpec.presence !== 'always' && isEmpty(out[fieldSpec.json])) {
      delete out[fieldSpec.json];
    }
  }
  return out;
}

/**
 * Decodes a `k8s\0`-framed protobuf body into the object's JSON form
 * (apiVersion, kind, metadata, spec, data, …). Throws ProtobufDecodeError:
 * `unsupported` for any kind but core/v1 Namespace, Secret, ConfigMap and
 * Service, `malformed` for anything that is not a well-formed body.
 */
export function decodeKubernetesProtobuf(body: Uint8Array): KubeObject {
  if (body.length < magic.length || magic.some((byte, i) => body[i] !== byte)) {
    throw new ProtobufDecodeError('malformed', 'protobuf request body does not start with the Kubernetes magic "k8s\\0"');
  }
  let apiVersion = '';
  let kind = '';
  let raw: Uint8Array = new Uint8Array(0);
  let contentEncoding = '';
  let contentType = '';
  for (const field of readFields(body.subarray(magic.length), 'Unknown')) {
    if (field.number === 1) {
      for (const typeField of readFields(expectBytes(field, 'Unknown.typeMeta'), 'Unknown.typeMeta')) {
        if (typeField.number === 1) apiVersion = utf8.decode(expectBytes(typeField, 'Unknown.typeMeta.apiVersion'));
        if (typeField.number === 2) kind = utf8.decode(expectBytes(typeField, 'Unknown.typeMeta.kind'));
      }
    }
    if (field.number === 2) raw = expectBytes(field, 'Unknown.raw');
    if (field.number === 3) contentEncoding = utf8.decode(expectBytes(field, 'Unknown.contentEncoding'));
    if (field.number === 4) contentType = utf8.decode(expectBytes(field, 'Unknown.contentType'));
  }
  if (kind === '') throw malformed('Unknown.typeMeta', 'the envelope names no kind');
  if (contentEncoding !== '') throw malformed('Unknown.contentEncoding', `content encoding "${contentEncoding}" is not supported`);
  if (contentType !== '' && contentType !== protobufContentType) {
    throw malformed('Unknown.contentType', `raw content type "${contentType}" is not ${protobufContentType}`);
  }
  const spec = apiVersion === 'v1' ? kinds[kind] : undefined;
  if (spec === undefined) {
    const named = apiVersion === '' || apiVersion === 'v1' ? kind : `${apiVersion} ${kind}`;
    throw new ProtobufDecodeError(
      'unsupported',
      `protobuf request bodies are decoded for Namespace, Secret, ConfigMap and Service only; send JSON for ${named}`,
    );
  }
  const object = decodeMessage(spec, raw, kind);
  return { apiVersion, kind, ...object } as KubeObject;
}
