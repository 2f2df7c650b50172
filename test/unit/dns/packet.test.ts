import { describe, expect, test } from 'vitest';
import { finishResponse, questionLabels, readQuery, type Encoded, type Query } from '../../../dns/packet.ts';
import { RRType } from '../../../dns/rr.ts';
import { queryBytes } from './wire-client.ts';

function query(spec: Parameters<typeof queryBytes>[0]): Query {
  const read = readQuery(queryBytes(spec));
  if (read.kind !== 'query') throw new Error(`not a query: ${read.kind}`);
  return read.query;
}

describe('readQuery', () => {
  test('reads the question, flags and EDNS', () => {
    const read = query({ name: 'Web.NS1.svc.cluster.local', type: RRType.SRV, id: 77, edns: { udpSize: 4096, dnssecOk: true } });
    expect(read).toMatchObject({ id: 77, rd: true, cd: false, type: RRType.SRV, class: 1, edns: { udpSize: 4096, version: 0, dnssecOk: true } });
    expect(read.wireKey).toBe('\x03web\x03ns1\x03svc\x07cluster\x05local\x00');
  });

  test('escapes label bytes that would make the text form ambiguous', () => {
    expect(questionLabels(query({ name: 'a b.Ex\\ample', type: RRType.A }))).toEqual(['a\\032b', 'ex\\\\ample']);
  });

  test('rejects a second OPT record', () => {
    const bytes = queryBytes({ name: 'x', type: RRType.A, edns: {} });
    const twice = Buffer.concat([bytes, bytes.subarray(bytes.length - 11)]);
    twice.writeUInt16BE(2, 10);
    expect(readQuery(twice)).toMatchObject({ kind: 'reject' });
  });
});

describe('finishResponse', () => {
  // Question "x." A IN, then three A records of 16 bytes each (a pointer owner), TTL 100.
  const question = queryBytes({ name: 'x', type: RRType.A });
  const record = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 100, 0, 4, 10, 0, 0, 1]);
  const encoded: Encoded = {
    bytes: Buffer.concat([question, record, record, record]),
    questionEnd: question.length,
    ends: [question.length + 16, question.length + 32, question.length + 48],
    counts: [2, 0, 1],
    rcode: 0,
    flags: 0x0080,
    serialOffsets: [],
    ttls: { offsets: [question.length + 6, question.length + 22, question.length + 38], values: [100, 100, 30] },
  };

  test('counts TTLs down by the age of a stored reply, never below zero', () => {
    const out = finishResponse(encoded, query({ name: 'X', type: RRType.A, id: 5 }), { limit: 512, advertisedSize: 1232, serial: 0, age: 40 });
    expect([out.readUInt32BE(question.length + 6), out.readUInt32BE(question.length + 38)]).toEqual([60, 0]);
    expect(out.toString('latin1', 13, 14)).toBe('X');
    expect(out.readUInt16BE(0)).toBe(5);
    expect((out[3] as number) & 0x80).toBe(0x80);
  });

  test('cuts at the last record boundary that fits, recounting each section', () => {
    const out = finishResponse(encoded, query({ name: 'x', type: RRType.A }), { limit: question.length + 40, advertisedSize: 1232, serial: 0 });
    expect(out.length).toBe(question.length + 32);
    expect([out.readUInt16BE(6), out.readUInt16BE(8), out.readUInt16BE(10)]).toEqual([2, 0, 0]);
    expect((out[2] as number) & 0x02).toBe(0x02);
  });

  test('keeps room for the OPT record when cutting', () => {
    const out = finishResponse(encoded, query({ name: 'x', type: RRType.A, edns: {} }), { limit: question.length + 11 + 47, advertisedSize: 1232, serial: 0 });
    expect([out.readUInt16BE(6), out.readUInt16BE(10)]).toEqual([2, 1]);
    expect(out.length).toBe(question.length + 32 + 11);
  });
});
