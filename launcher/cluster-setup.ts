/**
 * The objects an installation creates once, as an operator (or a cluster
 * installer) would: the IngressClass the ingress controller serves, and the
 * Node object of a machine whose proxy runs without a kubelet. Each is
 * created only when absent; an existing one is left exactly as it is.
 */
import type { IngressClass, Node, NodeAddress } from '../controlplane/api/types.ts';
import { ApiStatusError, refs, type ApiClient } from '../controlplane/client/types.ts';
import { ingressClassName, ingressController } from './up-plan.ts';

/** Creates; true when created, false when it already existed. */
async function createIfAbsent<T extends IngressClass | Node>(api: ApiClient, ref: (typeof refs)[keyof typeof refs], object: T): Promise<boolean> {
  try {
    await api.create(ref, object);
    return true;
  } catch (error) {
    if (error instanceof ApiStatusError && error.code === 409) return false;
    throw error;
  }
}

/** IngressClass "kplane" for kplane ingress, annotated as the cluster's default class. */
export function ensureIngressClass(api: ApiClient): Promise<boolean> {
  const object: IngressClass = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: {
      name: ingressClassName,
      labels: { 'app.kubernetes.io/name': 'kplane-ingress' },
      annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' },
    },
    spec: { controller: ingressController },
  };
  return createIfAbsent(api, refs.ingressclasses, object);
}

/**
 * The Node this machine's proxy runs as. There is no kubelet here, so no
 * Ready condition is claimed; the status only lists the addresses.
 */
export async function ensureNode(api: ApiClient, name: string, addresses: readonly NodeAddress[]): Promise<boolean> {
  const node: Node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
    spec: {},
  };
  const created = await createIfAbsent(api, refs.nodes, node);
  if (created) await api.patch(refs.nodes, name, 'merge', { status: { addresses } }, { subresource: 'status' });
  return created;
}
