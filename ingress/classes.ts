/**
 * Which Ingresses this controller owns. The rules are ingress-nginx's
 * `GetIngressClass`, with the default class standing in for its
 * --watch-ingress-without-class:
 *
 * 1. `spec.ingressClassName` names our class, and that IngressClass exists
 *    with our controller. A name that resolves to another controller, or to
 *    nothing, is never ours.
 * 2. Otherwise the legacy `kubernetes.io/ingress.class` annotation equals our
 *    class name (it needs no IngressClass object, as before IngressClass existed).
 * 3. Otherwise, with neither set, our IngressClass is the one and only class
 *    marked `ingressclass.kubernetes.io/is-default-class: "true"`. Admission
 *    normally writes the default into new Ingresses; this covers Ingresses
 *    created before the class became the default, or on stores without that
 *    admission step. Two default classes make the choice ambiguous, and
 *    admission would have rejected such an Ingress, so neither owns it.
 */
import type { Ingress, IngressClass } from '../controlplane/api/types.ts';

export const controllerName = 'kplane.io/ingress-controller';
export const defaultClassAnnotation = 'ingressclass.kubernetes.io/is-default-class';
export const legacyClassAnnotation = 'kubernetes.io/ingress.class';

export type Ownership =
  | { owned: true; via: 'ingressClassName' | 'annotation' | 'default-class' }
  | { owned: false; reason: string };

function isDefault(ingressClass: IngressClass): boolean {
  return ingressClass.metadata.annotations?.[defaultClassAnnotation] === 'true';
}

export function ownership(ingress: Ingress, classes: readonly IngressClass[], className: string): Ownership {
  const ours = classes.find((candidate) => candidate.metadata.name === className && candidate.spec?.controller === controllerName);
  const named = ingress.spec?.ingressClassName;
  if (named) {
    if (named !== className) return { owned: false, reason: `ingressClassName is "${named}"` };
    return ours ? { owned: true, via: 'ingressClassName' } : { owned: false, reason: `IngressClass "${named}" does not exist with controller ${controllerName}` };
  }
  const annotated = ingress.metadata.annotations?.[legacyClassAnnotation];
  if (annotated !== undefined) {
    return annotated === className ? { owned: true, via: 'annotation' } : { owned: false, reason: `${legacyClassAnnotation} is "${annotated}"` };
  }
  const defaults = classes.filter(isDefault);
  if (ours && defaults.length === 1 && defaults[0] === ours) return { owned: true, via: 'default-class' };
  return { owned: false, reason: defaults.length > 1 ? 'no class given and more than one IngressClass is the default' : 'no class given and our IngressClass is not the default' };
}

/** The Ingresses this controller serves, in precedence order (see byAge). */
export function ownedIngresses(ingresses: readonly Ingress[], classes: readonly IngressClass[], className: string): Ingress[] {
  return ingresses.filter((ingress) => ownership(ingress, classes, className).owned).sort(byAge);
}

/**
 * ingress-nginx's `sortIngressSlice`: the oldest Ingress first, then by
 * namespace/name, so when two Ingresses claim the same host and path the one
 * that was there first keeps it.
 */
export function byAge(a: Ingress, b: Ingress): number {
  const at = a.metadata.creationTimestamp ?? '';
  const bt = b.metadata.creationTimestamp ?? '';
  if (at !== bt) return at < bt ? -1 : 1;
  const ak = `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`;
  const bk = `${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`;
  return ak < bk ? -1 : ak > bk ? 1 : 0;
}
