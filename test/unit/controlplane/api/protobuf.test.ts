import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { KplaneError } from '../../../../common/errors.ts';
import { decodeKubernetesProtobuf, ProtobufDecodeError, protobufContentType } from '../../../../controlplane/api/protobuf.ts';

const fixtures = join(import.meta.dirname, '../../../fixtures/protobuf');

interface Captured {
  name: string;
  command: string;
  contentType: string;
}

const captured: Captured[] = JSON.parse(readFileSync(join(fixtures, 'captured.json'), 'utf8'));
const fixtureRows = captured.map((c) => ({
  name: c.command,
  contentType: c.contentType,
  bin: new Uint8Array(readFileSync(join(fixtures, `${c.name}.bin`))),
  json: JSON.parse(readFileSync(join(fixtures, `${c.name}.json`), 'utf8')) as unknown,
}));

// ---- a minimal protobuf writer for hand-built messages ----------------------

function varint(value: number | bigint): number[] {
  let rest = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    out.push(rest === 0n ? low : low | 0x80);
  } while (rest !== 0n);
  return out;
}
const key = (no: number, wireType: number) => varint(no * 8 + wireType);
const int = (no: number, value: number | bigint) => [...key(no, 0), ...varint(value)];
const bytes = (no: number, data: ArrayLike<number>) => [...key(no, 2), ...varint(data.length), ...Array.from(data)];
const str = (no: number, value: string) => bytes(no, new TextEncoder().encode(value));
const msg = (no: number, ...fields: number[][]) => bytes(no, fields.flat());
const entry = (no: number, k: string, v: string) => msg(no, str(1, k), str(2, v));
const fixed64 = (no: number) => [...key(no, 1), 1, 2, 3, 4, 5, 6, 7, 8];
const fixed32 = (no: number) => [...key(no, 5), 1, 2, 3, 4];

const magic = [0x6b, 0x38, 0x73, 0x00];

/** `k8s\0` + runtime.Unknown{typeMeta, raw = the object's fields, …envelope}. */
function body(kind: string, object: number[][], envelope: number[][] = [], apiVersion = 'v1'): Uint8Array {
  return Uint8Array.from([...magic, ...msg(1, str(1, apiVersion), str(2, kind)), ...bytes(2, object.flat()), ...envelope.flat()]);
}

// ---- tests ------------------------------------------------------------------

describe('decodeKubernetesProtobuf on bodies captured from kubectl 1.32', () => {
  test.each(fixtureRows)('$name was sent as protobuf', ({ contentType }) => {
    expect(contentType).toBe(protobufContentType);
  });

  test.each(fixtureRows)('$name decodes to the JSON the command means', ({ bin, json }) => {
    expect(decodeKubernetesProtobuf(bin)).toEqual(json);
  });
});

describe('decodeKubernetesProtobuf on hand-built messages', () => {
  const rows: { name: string; body: Uint8Array; expected: unknown }[] = [
    {
      name: 'ObjectMeta: every decoded field, maps, owner references and timestamps',
      body: body('ConfigMap', [
        msg(1,
          str(1, 'cm'), str(2, 'cm-'), str(3, 'ns1'), str(4, '/self/link/ignored'), str(5, 'uid-1'), str(6, '42'), int(7, 3),
          msg(8, int(1, 1700000000), int(2, 500)), msg(9, int(1, 1700000060)), int(10, 0),
          entry(11, 'app', 'web'), entry(11, 'tier', 'fe'), entry(12, 'note', 'a=b'),
          msg(13, str(5, 'apps/v1'), str(1, 'ReplicaSet'), str(3, 'rs'), str(4, 'uid-rs'), int(6, 1), int(7, 0)),
          str(14, 'kubernetes.io/one'), str(14, 'example.com/two')),
      ]),
      expected: {
        apiVersion: 'v1', kind: 'ConfigMap',
        metadata: {
          name: 'cm', generateName: 'cm-', namespace: 'ns1', uid: 'uid-1', resourceVersion: '42', generation: 3,
          creationTimestamp: '2023-11-14T22:13:20Z', deletionTimestamp: '2023-11-14T22:14:20Z', deletionGracePeriodSeconds: 0,
          labels: { app: 'web', tier: 'fe' }, annotations: { note: 'a=b' },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'uid-rs', controller: true, blockOwnerDeletion: false }],
          finalizers: ['kubernetes.io/one', 'example.com/two'],
        },
      },
    },
    {
      name: 'ObjectMeta: zero time (empty and Go zero seconds) and empty strings are left out',
      body: body('Namespace', [msg(1, str(1, 'ns'), str(2, ''), int(7, 0), msg(8), msg(9, int(1, -62135596800)))]),
      expected: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' }, spec: {}, status: {} },
    },
    {
      name: 'OwnerReference: missing required strings become "" and absent pointers stay absent',
      body: body('Secret', [msg(1, msg(13, str(3, 'owner')))]),
      expected: { apiVersion: 'v1', kind: 'Secret', metadata: { ownerReferences: [{ apiVersion: '', kind: '', name: 'owner', uid: '' }] } },
    },
    {
      name: 'Namespace: spec finalizers and status with a condition',
      body: body('Namespace', [
        msg(1, str(1, 'team-a')),
        msg(2, str(1, 'kubernetes')),
        msg(3, str(1, 'Terminating'), msg(2, str(1, 'NamespaceDeletionContentFailure'), str(2, 'False'), msg(4, int(1, 1700000000)), str(5, 'ContentDeleted'), str(6, 'all gone'))),
      ]),
      expected: {
        apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' },
        spec: { finalizers: ['kubernetes'] },
        status: {
          phase: 'Terminating',
          conditions: [{ type: 'NamespaceDeletionContentFailure', status: 'False', lastTransitionTime: '2023-11-14T22:13:20Z', reason: 'ContentDeleted', message: 'all gone' }],
        },
      },
    },
    {
      name: 'Secret: binary data as base64, stringData, type and immutable',
      body: body('Secret', [
        msg(1, str(1, 's')),
        msg(2, str(1, 'bin'), bytes(2, [0x00, 0xff, 0x10])), msg(2, str(1, 'empty')),
        str(3, 'example.com/custom'),
        entry(4, 'plain', 'text'),
        int(5, 1),
      ]),
      expected: {
        apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' },
        data: { bin: 'AP8Q', empty: '' }, stringData: { plain: 'text' }, type: 'example.com/custom', immutable: true,
      },
    },
    {
      name: 'ConfigMap: immutable=false is kept (a pointer on the Go side)',
      body: body('ConfigMap', [msg(1, str(1, 'c')), entry(2, 'k', 'v'), msg(3, str(1, 'b'), bytes(2, [1, 2, 3])), int(4, 0)]),
      expected: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { k: 'v' }, binaryData: { b: 'AQID' }, immutable: false },
    },
    {
      name: 'Service: every spec field and a load balancer status',
      body: body('Service', [
        msg(1, str(1, 'web'), str(3, 'default')),
        msg(2,
          msg(1, str(1, 'http'), str(2, 'TCP'), int(3, 80), msg(4, int(1, 1), str(3, 'http-alt')), int(5, 30080), str(6, 'kubernetes.io/h2c')),
          msg(1, str(1, 'dns'), str(2, 'UDP'), int(3, 53), msg(4, int(1, 0), int(2, 5353))),
          entry(2, 'app', 'web'),
          str(3, '10.96.0.10'), str(4, 'LoadBalancer'), str(5, '192.0.2.1'), str(5, '192.0.2.2'),
          str(7, 'ClientIP'), str(8, '198.51.100.7'), str(9, '203.0.113.0/24'), str(10, ''), str(11, 'Local'),
          int(12, 31999), int(13, 1), msg(14, msg(1, int(1, 300))),
          str(17, 'PreferDualStack'), str(18, '10.96.0.10'), str(18, 'fd00::10'), str(19, 'IPv4'), str(19, 'IPv6'),
          int(20, 0), str(21, 'example.com/lb'), str(22, 'Local'), str(23, 'PreferClose')),
        msg(3, msg(1,
          msg(1, str(1, '203.0.113.9'), str(3, 'VIP'), msg(4, int(1, 80), str(2, 'TCP'), str(3, 'Pending')), msg(4, int(1, 53), str(2, 'UDP'))),
          msg(1, str(2, 'lb.example.com')))),
      ]),
      expected: {
        apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
        spec: {
          ports: [
            { name: 'http', protocol: 'TCP', port: 80, targetPort: 'http-alt', nodePort: 30080, appProtocol: 'kubernetes.io/h2c' },
            { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 },
          ],
          selector: { app: 'web' },
          clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00::10'], type: 'LoadBalancer', externalIPs: ['192.0.2.1', '192.0.2.2'],
          sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 300 } },
          loadBalancerIP: '198.51.100.7', loadBalancerSourceRanges: ['203.0.113.0/24'], externalTrafficPolicy: 'Local',
          healthCheckNodePort: 31999, publishNotReadyAddresses: true,
          ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack', allocateLoadBalancerNodePorts: false,
          loadBalancerClass: 'example.com/lb', internalTrafficPolicy: 'Local', trafficDistribution: 'PreferClose',
        },
        status: {
          loadBalancer: {
            ingress: [
              { ip: '203.0.113.9', ipMode: 'VIP', ports: [{ port: 80, protocol: 'TCP', error: 'Pending' }, { port: 53, protocol: 'UDP' }] },
              { hostname: 'lb.example.com' },
            ],
          },
        },
      },
    },
    {
      name: 'ServicePort: missing port becomes 0, int targetPort 0 is left out, empty appProtocol is kept',
      body: body('Service', [msg(2, msg(1, msg(4, int(1, 0), int(2, 0)), str(6, '')))]),
      expected: { apiVersion: 'v1', kind: 'Service', metadata: {}, spec: { ports: [{ port: 0, appProtocol: '' }] }, status: { loadBalancer: {} } },
    },
    {
      name: 'ServicePort: a negative int32 (10-byte varint) keeps its sign',
      body: body('Service', [msg(2, msg(1, int(3, 80), int(5, -1)))]),
      expected: { apiVersion: 'v1', kind: 'Service', metadata: {}, spec: { ports: [{ port: 80, nodePort: -1 }] }, status: { loadBalancer: {} } },
    },
    {
      name: 'sessionAffinityConfig: an empty clientIP is kept (pointers on the Go side)',
      body: body('Service', [msg(2, msg(14, msg(1)))]),
      expected: { apiVersion: 'v1', kind: 'Service', metadata: {}, spec: { sessionAffinityConfig: { clientIP: {} } }, status: { loadBalancer: {} } },
    },
    {
      name: 'map entries: a missing value is "" and a repeated key keeps the last value',
      body: body('ConfigMap', [msg(2, str(1, 'nothing')), entry(2, 'k', 'first'), entry(2, 'k', 'second')]),
      expected: { apiVersion: 'v1', kind: 'ConfigMap', metadata: {}, data: { nothing: '', k: 'second' } },
    },
    {
      name: 'unknown fields of every wire type are skipped in the envelope, the object and nested messages',
      body: body(
        'Service',
        [
          int(99, 7), fixed64(98), fixed32(97), msg(96, str(1, 'x')),
          msg(1, str(1, 'web'), int(4000, 1), str(17, 'managed-fields-are-skipped')),
          msg(2, fixed32(15), str(6, 'deprecated'), msg(1, int(3, 80), fixed64(50)), msg(24, str(1, 'future'))),
          msg(3, msg(2, str(1, 'Ready'), str(2, 'True'))),
        ],
        [str(3, ''), str(4, protobufContentType), int(5, 1)],
      ),
      expected: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] }, status: { loadBalancer: {} } },
    },
    {
      name: 'an envelope without raw decodes to the empty object of its kind',
      body: Uint8Array.from([...magic, ...msg(1, str(1, 'v1'), str(2, 'Namespace'))]),
      expected: { apiVersion: 'v1', kind: 'Namespace', metadata: {}, spec: {}, status: {} },
    },
    {
      name: 'invalid UTF-8 in a string becomes U+FFFD, as Go writes it to JSON',
      body: body('ConfigMap', [msg(2, str(1, 'k'), bytes(2, [0x61, 0xff, 0x62]))]),
      expected: { apiVersion: 'v1', kind: 'ConfigMap', metadata: {}, data: { k: 'a\ufffdb' } },
    },
    {
      name: 'a leading byte-order mark in a string is kept',
      body: body('ConfigMap', [msg(2, str(1, 'k'), bytes(2, [0xef, 0xbb, 0xbf, 0x61]))]),
      expected: { apiVersion: 'v1', kind: 'ConfigMap', metadata: {}, data: { k: '\ufeffa' } },
    },
  ];

  test.each(rows)('$name', ({ body: input, expected }) => {
    expect(decodeKubernetesProtobuf(input)).toEqual(expected);
  });
});

describe('decodeKubernetesProtobuf rejects what it cannot decode', () => {
  const rows: { name: string; body: Uint8Array; reason: 'unsupported' | 'malformed'; message: string }[] = [
    { name: 'empty body', body: new Uint8Array(0), reason: 'malformed', message: 'does not start with the Kubernetes magic' },
    { name: 'wrong magic', body: Uint8Array.from([0x6b, 0x38, 0x73, 0x01, 0x0a, 0x00]), reason: 'malformed', message: 'does not start with the Kubernetes magic' },
    { name: 'a JSON body', body: new TextEncoder().encode('{"kind":"Service"}'), reason: 'malformed', message: 'does not start with the Kubernetes magic' },
    { name: 'magic only: no kind', body: Uint8Array.from(magic), reason: 'malformed', message: 'Unknown.typeMeta: the envelope names no kind' },
    { name: 'core kind not covered', body: body('Pod', []), reason: 'unsupported', message: 'protobuf request bodies are decoded for Namespace, Secret, ConfigMap and Service only; send JSON for Pod' },
    { name: 'kind of another group', body: body('Deployment', [], [], 'apps/v1'), reason: 'unsupported', message: 'send JSON for apps/v1 Deployment' },
    { name: 'a covered kind in another group version', body: body('Service', [], [], 'example.com/v1'), reason: 'unsupported', message: 'send JSON for example.com/v1 Service' },
    { name: 'gzip content encoding', body: body('Service', [], [str(3, 'gzip')]), reason: 'malformed', message: 'content encoding "gzip" is not supported' },
    { name: 'raw content type other than protobuf', body: body('Service', [], [str(4, 'application/json')]), reason: 'malformed', message: 'raw content type "application/json"' },
    { name: 'group start (wire type 3)', body: body('Service', [[...key(50, 3)]]), reason: 'malformed', message: 'Service: field 50 has unsupported wire type 3' },
    { name: 'wire type 7', body: body('Service', [[...key(1, 7)]]), reason: 'malformed', message: 'unsupported wire type 7' },
    { name: 'field number 0', body: body('Service', [[0x02, 0x00]]), reason: 'malformed', message: 'invalid field number 0' },
    { name: 'varint longer than 10 bytes', body: body('Service', [[...key(99, 0), ...Array<number>(10).fill(0xff), 0x01]]), reason: 'malformed', message: 'longer than 10 bytes' },
    { name: 'length past the end of a nested message', body: body('Service', [msg(1, [...key(1, 2), 0x05, 0x61])]), reason: 'malformed', message: 'Service.metadata: 5-byte field at byte 2 runs past the end' },
    { name: 'known string field sent as a varint', body: body('Service', [msg(1, int(1, 5))]), reason: 'malformed', message: 'Service.metadata.name: expected a length-delimited field, got wire type 0' },
    { name: 'known int field sent length-delimited', body: body('Service', [msg(2, msg(1, str(3, '80')))]), reason: 'malformed', message: 'Service.spec.ports[0].port: expected a varint, got wire type 2' },
    { name: 'IntOrString type 2', body: body('Service', [msg(2, msg(1, msg(4, int(1, 2))))]), reason: 'malformed', message: 'Service.spec.ports[0].targetPort: IntOrString type must be 0 (int) or 1 (string), got 2' },
    { name: 'generation beyond 2^53', body: body('Secret', [msg(1, int(7, 2n ** 60n))]), reason: 'malformed', message: 'Secret.metadata.generation: int64 1152921504606846976 does not fit' },
    { name: 'timestamp after year 9999', body: body('Secret', [msg(1, msg(8, int(1, 253402300800)))]), reason: 'malformed', message: 'Secret.metadata.creationTimestamp: timestamp 253402300800s is outside years 1-9999' },
  ];

  test.each(rows)('$name', ({ body: input, reason, message }) => {
    const error = (() => {
      try {
        decodeKubernetesProtobuf(input);
      } catch (caught) {
        return caught;
      }
      throw new Error('expected decodeKubernetesProtobuf to throw');
    })();
    expect(error).toBeInstanceOf(ProtobufDecodeError);
    expect(error).toBeInstanceOf(KplaneError);
    expect(error).toMatchObject({ code: 'KPLANE_PROTOBUF', reason });
    expect((error as Error).message).toContain(message);
  });
});

/** Decodes, turning a ProtobufDecodeError into a value; any other error fails the test. */
function decodeOrReject(input: Uint8Array): unknown {
  try {
    return decodeKubernetesProtobuf(input);
  } catch (error) {
    if (error instanceof ProtobufDecodeError) return error;
    throw error;
  }
}

describe('decodeKubernetesProtobuf on damaged kubectl bodies', () => {
  // A protobuf message is not self-delimiting: a prefix that ends exactly on
  // an envelope field boundary is itself valid. kubectl's envelope is
  // typeMeta, raw, contentEncoding "", contentType "", so exactly three
  // prefixes decode: typeMeta only (the empty object) and raw with or without
  // the first empty trailer (the full object). Every other cut must be
  // rejected.
  test.each(fixtureRows)('$name: every truncation is rejected or lands on an envelope field boundary', ({ bin, json }) => {
    const kind = (json as { kind: string }).kind;
    const empty = decodeKubernetesProtobuf(body(kind, []));
    const decoded: number[] = [];
    for (let length = 0; length < bin.length; length++) {
      const result = decodeOrReject(bin.subarray(0, length));
      if (result instanceof ProtobufDecodeError) continue;
      decoded.push(length);
      expect([empty, json]).toContainEqual(result);
    }
    expect(decoded).toHaveLength(3);
  });

  // Seeded, so a failure reproduces: overwrite one byte at a time with a
  // pseudo-random value and require a decode or a ProtobufDecodeError.
  test.each(fixtureRows)('$name: 500 single-byte corruptions never escape as another error', ({ bin }) => {
    let seed = 0x9e3779b9;
    const next = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    for (let i = 0; i < 500; i++) {
      const copy = bin.slice();
      copy[next() % copy.length] = next() & 0xff;
      decodeOrReject(copy);
    }
  });
});
