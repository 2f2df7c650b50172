import { describe, expect, test } from 'vitest';
import type { IngressClass } from '../../../controlplane/api/types.ts';
import { byAge, controllerName, ownedIngresses, ownership } from '../../../ingress/classes.ts';
import { makeClass, makeIngress } from './builders.ts';

const ours = makeClass('kplane', controllerName);
const oursDefault = makeClass('kplane', controllerName, true);
const nginx = makeClass('nginx', 'k8s.io/ingress-nginx');
const nginxDefault = makeClass('nginx', 'k8s.io/ingress-nginx', true);
const impostor = makeClass('kplane', 'example.com/other-controller');

const legacy = (value: string) => ({ annotations: { 'kubernetes.io/ingress.class': value } });

describe('which Ingresses this controller owns (--class kplane)', () => {
  const cases: { name: string; classes: IngressClass[]; ingress: ReturnType<typeof makeIngress>; expected: string }[] = [
    { name: 'ingressClassName naming our class, with our controller', classes: [ours, nginx], ingress: makeIngress('a', { className: 'kplane' }), expected: 'owned via ingressClassName' },
    { name: 'ingressClassName naming another class', classes: [ours, nginx], ingress: makeIngress('a', { className: 'nginx' }), expected: 'not owned: ingressClassName is "nginx"' },
    {
      name: 'ingressClassName naming our class while no such IngressClass exists',
      classes: [nginx],
      ingress: makeIngress('a', { className: 'kplane' }),
      expected: 'not owned: IngressClass "kplane" does not exist with controller kplane.io/ingress-controller',
    },
    {
      name: 'ingressClassName naming a class of that name run by another controller',
      classes: [impostor],
      ingress: makeIngress('a', { className: 'kplane' }),
      expected: 'not owned: IngressClass "kplane" does not exist with controller kplane.io/ingress-controller',
    },
    { name: 'the legacy annotation naming our class, even without an IngressClass', classes: [], ingress: makeIngress('a', legacy('kplane')), expected: 'owned via annotation' },
    { name: 'the legacy annotation naming another class', classes: [oursDefault], ingress: makeIngress('a', legacy('nginx')), expected: 'not owned: kubernetes.io/ingress.class is "nginx"' },
    { name: 'no class while ours is the only default', classes: [oursDefault, nginx], ingress: makeIngress('a'), expected: 'owned via default-class' },
    { name: 'no class while ours is not the default', classes: [ours, nginxDefault], ingress: makeIngress('a'), expected: 'not owned: no class given and our IngressClass is not the default' },
    {
      name: 'no class while two classes claim the default',
      classes: [oursDefault, nginxDefault],
      ingress: makeIngress('a'),
      expected: 'not owned: no class given and more than one IngressClass is the default',
    },
    { name: 'no class and no classes at all', classes: [], ingress: makeIngress('a'), expected: 'not owned: no class given and our IngressClass is not the default' },
  ];
  test.each(cases)('$name → $expected', ({ classes, ingress, expected }) => {
    const result = ownership(ingress, classes, 'kplane');
    expect(result.owned ? `owned via ${result.via}` : `not owned: ${result.reason}`).toBe(expected);
  });

  test('another --class name selects its own IngressClass', () => {
    const internal = makeClass('kplane-internal', controllerName);
    expect(ownership(makeIngress('a', { className: 'kplane-internal' }), [ours, internal], 'kplane-internal').owned).toBe(true);
    expect(ownership(makeIngress('a', { className: 'kplane' }), [ours, internal], 'kplane-internal').owned).toBe(false);
  });
});

describe('owned Ingresses come oldest first', () => {
  test('by creationTimestamp, then namespace/name', () => {
    const ingresses = [
      makeIngress('c', { className: 'kplane', created: '2026-03-01T00:00:00Z' }),
      makeIngress('b', { className: 'kplane', created: '2026-01-01T00:00:00Z', namespace: 'zeta' }),
      makeIngress('a', { className: 'kplane', created: '2026-01-01T00:00:00Z', namespace: 'alpha' }),
      makeIngress('x', { className: 'nginx', created: '2025-01-01T00:00:00Z' }),
    ];
    expect(ownedIngresses(ingresses, [ours, nginx], 'kplane').map((ingress) => `${ingress.metadata.namespace}/${ingress.metadata.name}`)).toEqual(['alpha/a', 'zeta/b', 'default/c']);
    expect(byAge(ingresses[1]!, ingresses[1]!)).toBe(0);
  });
});
