import { describe, expect, test } from 'vitest';
import type { Tally } from '../../../launcher/demo-checks.ts';
import { affinityVerdict, answersVerdict, clientAddressVerdict, formatTally, parseSrv, servedByVerdict, spreadVerdict, srvVerdict } from '../../../launcher/demo-checks.ts';

const pods = ['web-1', 'web-2', 'web-3'];

describe('spreadVerdict', () => {
  test.each<{ name: string; tally: Tally; ok: boolean; why: string | undefined }>([
    { name: 'every pod answered → pass', tally: { 'web-1': 9, 'web-2': 11, 'web-3': 10 }, ok: true, why: undefined },
    { name: 'a pod never answered → fail naming it', tally: { 'web-1': 15, 'web-2': 15 }, ok: false, why: 'never answered: web-3 (web-1 ×15, web-2 ×15)' },
    { name: 'a failure among the replies → fail naming it', tally: { 'web-1': 10, 'web-2': 10, 'web-3': 9, ECONNREFUSED: 1 }, ok: false, why: "replies not from the Service's pods: ECONNREFUSED ×1" },
    { name: 'no replies at all → fail', tally: {}, ok: false, why: 'never answered: web-1, web-2, web-3 (nothing)' },
  ])('$name', ({ tally, ok, why }) => {
    expect(spreadVerdict(tally, pods)).toEqual(ok ? { ok } : { ok, why });
  });
});

describe('servedByVerdict', () => {
  test.each<{ name: string; tally: Tally; ok: boolean }>([
    { name: 'a subset of the pods → pass', tally: { 'web-1': 4 }, ok: true },
    { name: 'an HTTP error → fail', tally: { 'web-1': 4, 'HTTP 503': 1 }, ok: false },
    { name: 'nothing → fail', tally: {}, ok: false },
  ])('$name', ({ tally, ok }) => {
    expect(servedByVerdict(tally, pods).ok).toBe(ok);
  });
});

describe('affinityVerdict', () => {
  test.each<{ name: string; bySource: Record<string, Tally>; ok: boolean; why: string | undefined }>([
    { name: 'each source on one pod (different pods) → pass', bySource: { a: { 'web-2': 15 }, b: { 'web-1': 15 } }, ok: true, why: undefined },
    { name: 'a source spread over two pods → fail', bySource: { a: { 'web-2': 15 }, b: { 'web-1': 7, 'web-3': 8 } }, ok: false, why: 'from b the replies came from 2 pods (web-1 ×7, web-3 ×8), not one' },
    { name: 'a source with a timeout → fail', bySource: { a: { 'web-2': 14, ETIMEDOUT: 1 } }, ok: false, why: 'from a: replies not from web-1/web-2/web-3: ETIMEDOUT ×1' },
  ])('$name', ({ bySource, ok, why }) => {
    expect(affinityVerdict(bySource, pods)).toEqual(ok ? { ok } : { ok, why });
  });
});

describe('clientAddressVerdict', () => {
  test.each([
    { name: 'every pod saw the client → pass', seen: ['172.30.0.100', '172.30.0.100'], ok: true },
    { name: 'one masqueraded reply → fail', seen: ['172.30.0.100', '172.30.0.11'], ok: false },
    { name: 'no replies → fail', seen: [], ok: false },
  ])('$name', ({ seen, ok }) => {
    expect(clientAddressVerdict(seen, '172.30.0.100').ok).toBe(ok);
  });
});

describe('DNS answers', () => {
  test.each([
    { name: 'same set in another order → pass', text: '10.244.2.3\n10.244.1.3\n', expected: ['10.244.1.3', '10.244.2.3'], ok: true },
    { name: 'a missing address → fail', text: '10.244.1.3\n', expected: ['10.244.1.3', '10.244.2.3'], ok: false },
    { name: 'dig comments and blanks are ignored', text: ';; connection timed out; no servers could be reached\n\n', expected: [], ok: true },
  ])('$name', ({ text, expected, ok }) => {
    expect(answersVerdict(text, expected).ok).toBe(ok);
  });

  test('parses SRV lines and checks targets and port', () => {
    const text = '0 50 8080 web-2.web-headless.default.svc.cluster.local.\n0 50 8080 web-1.web-headless.default.svc.cluster.local.\n';
    const records = parseSrv(text);
    expect(records).toEqual([
      { priority: 0, weight: 50, port: 8080, target: 'web-2.web-headless.default.svc.cluster.local.' },
      { priority: 0, weight: 50, port: 8080, target: 'web-1.web-headless.default.svc.cluster.local.' },
    ]);
    const targets = ['web-1.web-headless.default.svc.cluster.local.', 'web-2.web-headless.default.svc.cluster.local.'];
    expect(srvVerdict(records, 8080, targets)).toEqual({ ok: true });
    expect(srvVerdict(records, 80, targets)).toEqual({ ok: false, why: 'ports 8080, 8080 instead of 80' });
    expect(srvVerdict(records.slice(1), 8080, targets).ok).toBe(false);
  });
});

test('formatTally lists who answered in name order', () => {
  expect(formatTally({ 'web-2': 3, 'web-1': 1 })).toBe('web-1 ×1, web-2 ×3');
  expect(formatTally({})).toBe('nothing');
});
