import { describe, expect, test } from 'vitest';
import {
  matchesFields,
  matchesLabels,
  matchesSelectorMap,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
  selectorFromSet,
} from '../../../../controlplane/api/selectors.ts';
import type { LabelRequirement } from '../../../../controlplane/api/selectors.ts';
import type { KubeObject } from '../../../../controlplane/api/types.ts';

function caught(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

const long = 'a'.repeat(64);

describe('parseLabelSelector', () => {
  test.each<{ name: string; text: string; want: LabelRequirement[] }>([
    { name: 'the empty string selects everything', text: '', want: [] },
    { name: 'whitespace alone selects everything', text: '  \t ', want: [] },
    { name: 'equality', text: 'app=web', want: [{ key: 'app', operator: '=', values: ['web'] }] },
    { name: 'double equals', text: 'app==web', want: [{ key: 'app', operator: '==', values: ['web'] }] },
    { name: 'inequality', text: 'app!=web', want: [{ key: 'app', operator: '!=', values: ['web'] }] },
    { name: 'an empty value after =', text: 'app=', want: [{ key: 'app', operator: '=', values: [''] }] },
    { name: 'set membership, values sorted', text: 'env in (prod, dev)', want: [{ key: 'env', operator: 'in', values: ['dev', 'prod'] }] },
    { name: 'set exclusion', text: 'env notin (qa)', want: [{ key: 'env', operator: 'notin', values: ['qa'] }] },
    { name: 'empty set entries mean the empty value', text: 'env in (a,,b)', want: [{ key: 'env', operator: 'in', values: ['', 'a', 'b'] }] },
    { name: 'an empty set holds the empty value', text: 'env in ()', want: [{ key: 'env', operator: 'in', values: [''] }] },
    { name: 'a trailing comma in a set adds the empty value', text: 'env in (a,)', want: [{ key: 'env', operator: 'in', values: ['', 'a'] }] },
    { name: 'keywords are plain words in value position', text: 'in in (in,notin)', want: [{ key: 'in', operator: 'in', values: ['in', 'notin'] }] },
    { name: 'a bare key means exists', text: 'tier', want: [{ key: 'tier', operator: 'exists', values: [] }] },
    { name: 'a ! prefix means does not exist', text: '!canary', want: [{ key: 'canary', operator: '!', values: [] }] },
    {
      name: 'commas AND requirements, sorted by key',
      text: 'tier=fe,app=web,!canary',
      want: [
        { key: 'app', operator: '=', values: ['web'] },
        { key: 'canary', operator: '!', values: [] },
        { key: 'tier', operator: '=', values: ['fe'] },
      ],
    },
    {
      name: 'whitespace around tokens is ignored',
      text: '  app =  web ,\ttier  ',
      want: [
        { key: 'app', operator: '=', values: ['web'] },
        { key: 'tier', operator: 'exists', values: [] },
      ],
    },
    { name: 'a DNS-subdomain prefix on the key', text: 'app.kubernetes.io/name=web', want: [{ key: 'app.kubernetes.io/name', operator: '=', values: ['web'] }] },
    { name: 'greater than an integer', text: 'replicas>2', want: [{ key: 'replicas', operator: 'gt', values: ['2'] }] },
    { name: 'less than an integer', text: 'replicas<10', want: [{ key: 'replicas', operator: 'lt', values: ['10'] }] },
  ])('parses $name: "$text"', ({ text, want }) => {
    expect(parseLabelSelector(text).requirements).toEqual(want);
  });

  test.each([
    { name: 'a leading comma', text: ',app', message: "found ',', expected: !, identifier, or 'end of string'" },
    { name: 'a trailing comma', text: 'app=web,', message: "found '', expected: identifier after ','" },
    { name: 'two words without an operator', text: 'app web', message: "unable to parse requirement: found 'web', expected: in, notin, =, ==, !=, gt, lt" },
    { name: 'a set without parentheses', text: 'env in prod', message: "unable to parse requirement: found 'prod' expected: '('" },
    { name: 'an unclosed set', text: 'env in (a', message: "unable to parse requirement: found '', expected: ',' or ')'" },
    { name: 'set values without a comma', text: 'env in (a b)', message: "unable to parse requirement: found 'b', expected: ',' or ')'" },
    { name: 'a value after !key', text: '!app=web', message: "found '=', expected: ',' or 'end of string'" },
    { name: 'an operator with no key', text: '=web', message: "found '=', expected: !, identifier, or 'end of string'" },
    { name: 'a bad character in the key', text: 'a$=b', message: 'unable to parse requirement: key: Invalid value: "a$": name part must consist of alphanumeric characters' },
    { name: 'a key name over 63 characters', text: `${long}=x`, message: 'name part must be no more than 63 characters' },
    { name: 'an empty key prefix', text: '/app=x', message: 'prefix part must be non-empty' },
    { name: 'an upper-case key prefix', text: 'Example.com/app=x', message: 'prefix part a lowercase RFC 1123 subdomain' },
    { name: 'two slashes in a key', text: 'a/b/c=x', message: "a qualified name must consist of alphanumeric characters, '-', '_' or '.'" },
    { name: 'a bad character in a value', text: 'app=we$b', message: 'values[0]: Invalid value: "we$b": a valid label must be an empty string' },
    { name: 'a value over 63 characters', text: `app=${long}`, message: 'must be no more than 63 characters' },
    { name: 'a value ending in a dash', text: 'app in (ok, bad-)', message: 'values[1]: Invalid value: "bad-"' },
    { name: 'a non-integer after >', text: 'replicas>two', message: "for 'Gt', 'Lt' operators, the value must be an integer" },
  ])('rejects $name: "$text"', ({ text, message }) => {
    const error = caught(() => parseLabelSelector(text));
    expect(error).toBeInstanceOf(SelectorError);
    expect(error).toMatchObject({ code: 'KPLANE_SELECTOR' });
    expect((error as SelectorError).message).toContain(message);
  });
});

describe('matchesLabels', () => {
  test.each<{ name: string; selector: string; labels: Record<string, string> | undefined; want: boolean }>([
    { name: 'an empty selector matches an object without labels', selector: '', labels: undefined, want: true },
    { name: '= matches an equal value', selector: 'app=web', labels: { app: 'web' }, want: true },
    { name: '= rejects another value', selector: 'app=web', labels: { app: 'db' }, want: false },
    { name: '= rejects a missing key', selector: 'app=web', labels: {}, want: false },
    { name: '!= rejects an equal value', selector: 'app!=web', labels: { app: 'web' }, want: false },
    { name: '!= matches another value', selector: 'app!=web', labels: { app: 'db' }, want: true },
    { name: '!= matches a missing key', selector: 'app!=web', labels: { tier: 'fe' }, want: true },
    { name: '!= matches an object without labels', selector: 'app!=web', labels: undefined, want: true },
    { name: 'in matches a listed value', selector: 'env in (prod,dev)', labels: { env: 'dev' }, want: true },
    { name: 'in rejects a missing key', selector: 'env in (prod,dev)', labels: {}, want: false },
    { name: 'notin rejects a listed value', selector: 'env notin (prod,dev)', labels: { env: 'prod' }, want: false },
    { name: 'notin matches an unlisted value', selector: 'env notin (prod,dev)', labels: { env: 'qa' }, want: true },
    { name: 'notin matches a missing key', selector: 'env notin (prod,dev)', labels: {}, want: true },
    { name: 'in () matches an empty value', selector: 'env in ()', labels: { env: '' }, want: true },
    { name: 'exists matches any value', selector: 'tier', labels: { tier: '' }, want: true },
    { name: 'exists rejects a missing key', selector: 'tier', labels: { app: 'web' }, want: false },
    { name: '!key rejects a present key', selector: '!canary', labels: { canary: 'true' }, want: false },
    { name: '!key matches a missing key', selector: '!canary', labels: { app: 'web' }, want: true },
    { name: 'all requirements must hold', selector: 'app=web,tier=fe', labels: { app: 'web', tier: 'be' }, want: false },
    { name: 'all requirements holding matches', selector: 'app=web,tier=fe,!canary', labels: { app: 'web', tier: 'fe' }, want: true },
    { name: 'gt compares integers', selector: 'replicas>2', labels: { replicas: '10' }, want: true },
    { name: 'gt rejects an equal integer', selector: 'replicas>2', labels: { replicas: '2' }, want: false },
    { name: 'gt rejects a non-integer label', selector: 'replicas>2', labels: { replicas: 'ten' }, want: false },
    { name: 'lt rejects a missing key', selector: 'replicas<2', labels: {}, want: false },
    { name: 'a key that is an Object.prototype name is still just a key', selector: 'constructor', labels: {}, want: false },
  ])('$name: "$selector" on $labels → $want', ({ selector, labels, want }) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(want);
  });
});

describe('selectorFromSet', () => {
  test.each<{ name: string; set: Record<string, string>; labels: Record<string, string>; want: boolean }>([
    { name: 'an empty set selects everything', set: {}, labels: { app: 'web' }, want: true },
    { name: 'every pair must be equal', set: { app: 'web', tier: 'fe' }, labels: { app: 'web', tier: 'fe', x: 'y' }, want: true },
    { name: 'one differing pair rejects', set: { app: 'web', tier: 'fe' }, labels: { app: 'web', tier: 'be' }, want: false },
  ])('$name', ({ set, labels, want }) => {
    expect(matchesLabels(selectorFromSet(set), labels)).toBe(want);
  });

  test('builds one = requirement per key, sorted by key', () => {
    expect(selectorFromSet({ tier: 'fe', app: 'web' }).requirements).toEqual([
      { key: 'app', operator: '=', values: ['web'] },
      { key: 'tier', operator: '=', values: ['fe'] },
    ]);
  });
});

describe('matchesSelectorMap', () => {
  test.each<{ name: string; selector: Record<string, string> | undefined; labels: Record<string, string> | undefined; want: boolean }>([
    { name: 'a service without a selector selects nothing', selector: undefined, labels: { app: 'web' }, want: false },
    { name: 'an empty selector map selects nothing', selector: {}, labels: { app: 'web' }, want: false },
    { name: 'all keys equal selects the pod', selector: { app: 'web' }, labels: { app: 'web', tier: 'fe' }, want: true },
    { name: 'a differing value rejects the pod', selector: { app: 'web', tier: 'fe' }, labels: { app: 'web', tier: 'be' }, want: false },
    { name: 'a missing key rejects the pod', selector: { app: 'web', tier: 'fe' }, labels: { app: 'web' }, want: false },
    { name: 'a pod without labels is rejected', selector: { app: 'web' }, labels: undefined, want: false },
  ])('$name', ({ selector, labels, want }) => {
    expect(matchesSelectorMap(selector, labels)).toBe(want);
  });
});

const podFields = ['spec.nodeName', 'spec.hostname', 'status.phase', 'status.podIP'];
const eventFields = ['involvedObject.kind', 'involvedObject.name', 'involvedObject.uid', 'reason', 'reportingComponent', 'source', 'type'];

describe('parseFieldSelector', () => {
  test.each([
    { name: 'the empty string selects everything', text: '', allowed: [], want: [] },
    { name: 'metadata.name is always allowed', text: 'metadata.name=web', allowed: [], want: [{ field: 'metadata.name', operator: '=', value: 'web' }] },
    { name: '== reads as =', text: 'metadata.namespace==default', allowed: [], want: [{ field: 'metadata.namespace', operator: '=', value: 'default' }] },
    { name: '!= on an allowed field', text: 'spec.nodeName!=node-1', allowed: podFields, want: [{ field: 'spec.nodeName', operator: '!=', value: 'node-1' }] },
    { name: 'an empty value', text: 'spec.nodeName=', allowed: podFields, want: [{ field: 'spec.nodeName', operator: '=', value: '' }] },
    {
      name: 'commas AND terms and a trailing comma is ignored',
      text: 'status.phase=Running,spec.nodeName=node-1,',
      allowed: podFields,
      want: [
        { field: 'status.phase', operator: '=', value: 'Running' },
        { field: 'spec.nodeName', operator: '=', value: 'node-1' },
      ],
    },
    { name: 'an escaped comma stays in the value', text: 'metadata.name=a\\,b,reason=x', allowed: eventFields, want: [{ field: 'metadata.name', operator: '=', value: 'a,b' }, { field: 'reason', operator: '=', value: 'x' }] },
    { name: 'escaped = and backslash', text: 'reason=a\\=b\\\\c', allowed: eventFields, want: [{ field: 'reason', operator: '=', value: 'a=b\\c' }] },
  ])('parses $name: "$text"', ({ text, allowed, want }) => {
    expect(parseFieldSelector(text, allowed).requirements).toEqual(want);
  });

  test.each([
    { name: 'a field the kind does not list', text: 'spec.nodeName=node-1', allowed: [], message: 'field label not supported: spec.nodeName' },
    { name: 'an unknown field next to a known one', text: 'metadata.name=web,spec.foo=bar', allowed: podFields, message: 'field label not supported: spec.foo' },
    { name: 'a term without an operator', text: 'metadata.name', allowed: [], message: "invalid selector: 'metadata.name'; can't understand 'metadata.name'" },
    { name: 'an unescaped = in the value', text: 'metadata.name=a=b', allowed: [], message: 'invalid field selector: unescaped character in value: =' },
    { name: 'an unknown escape', text: 'metadata.name=a\\x', allowed: [], message: 'invalid field selector: invalid escape sequence: \\x' },
    { name: 'a trailing backslash', text: 'metadata.name=a\\', allowed: [], message: 'invalid field selector: invalid escape sequence: \\' },
  ])('rejects $name: "$text"', ({ text, allowed, message }) => {
    const error = caught(() => parseFieldSelector(text, allowed));
    expect(error).toBeInstanceOf(SelectorError);
    expect(error).toMatchObject({ code: 'KPLANE_SELECTOR', message });
  });
});

const pod: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'default' },
  spec: { nodeName: 'node-1', containers: [] },
  status: { phase: 'Running', podIP: '10.0.0.5' },
};
const pendingPod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-2', namespace: 'default' }, spec: { containers: [] } };
const event: KubeObject = {
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: 'web-1.17', namespace: 'default' },
  involvedObject: { kind: 'Pod', name: 'web-1', uid: '5b8e-uid' },
  reason: 'Started',
  type: 'Normal',
  source: { component: 'kubelet' },
};
const newStyleEvent: KubeObject = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e2' }, involvedObject: {}, reportingComponent: 'kplane-endpoints' };
const node: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, spec: {} };
const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tls', namespace: 'default' }, type: 'kubernetes.io/tls' };

describe('matchesFields', () => {
  test.each([
    { name: 'a pod on the named node', object: pod, text: 'spec.nodeName=node-1', allowed: podFields, want: true },
    { name: 'a pod on another node', object: pod, text: 'spec.nodeName=node-2', allowed: podFields, want: false },
    { name: 'an unscheduled pod has an empty node name', object: pendingPod, text: 'spec.nodeName=', allowed: podFields, want: true },
    { name: '!= matches a pod without the field', object: pendingPod, text: 'spec.nodeName!=node-1', allowed: podFields, want: true },
    { name: 'the pod IP', object: pod, text: 'status.podIP=10.0.0.5', allowed: podFields, want: true },
    { name: 'name and namespace together', object: pod, text: 'metadata.name=web-1,metadata.namespace=default', allowed: [], want: true },
    { name: 'one failing term rejects', object: pod, text: 'metadata.name=web-1,status.phase=Pending', allowed: podFields, want: false },
    { name: 'a cluster-scoped object has an empty namespace', object: node, text: 'metadata.namespace=', allowed: [], want: true },
    { name: "an event's involved object uid", object: event, text: 'involvedObject.uid=5b8e-uid', allowed: eventFields, want: true },
    { name: 'an event by involved kind and name', object: event, text: 'involvedObject.kind=Pod,involvedObject.name=web-1', allowed: eventFields, want: true },
    { name: 'an event type', object: event, text: 'type=Warning', allowed: eventFields, want: false },
    { name: 'event source reads source.component', object: event, text: 'source=kubelet', allowed: eventFields, want: true },
    { name: 'event source falls back to reportingComponent', object: newStyleEvent, text: 'source=kplane-endpoints', allowed: eventFields, want: true },
    { name: 'an unset node unschedulable reads false', object: node, text: 'spec.unschedulable=false', allowed: ['spec.unschedulable'], want: true },
    { name: 'a secret type', object: secret, text: 'type=kubernetes.io/tls', allowed: ['type'], want: true },
  ])('$name: "$text" → $want', ({ object, text, allowed, want }) => {
    expect(matchesFields(parseFieldSelector(text, allowed), object)).toBe(want);
  });
});
