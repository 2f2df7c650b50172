/**
 * Which endpoints a service port's traffic may go to from this node:
 * kube-proxy's CategorizeEndpoints (pkg/proxy/topology.go) without topology
 * hints.
 */
import type { EndpointInfo, ServicePortInfo } from './model.ts';
import { usesClusterEndpoints, usesLocalEndpoints } from './model.ts';

export interface CategorizedEndpoints {
  /**
   * Endpoints for Cluster traffic policy: every ready endpoint, or, when none
   * is ready anywhere, every serving-and-terminating one (so connections keep
   * working through a rolling update). Empty when no traffic to the port uses
   * the Cluster policy.
   */
  cluster: EndpointInfo[];
  /**
   * Endpoints for Local traffic policy: this node's ready endpoints, or its
   * serving-and-terminating ones when none is ready. Empty when no traffic to
   * the port uses the Local policy.
   */
  local: EndpointInfo[];
  /** Every endpoint some traffic from this node can reach: the SEP chains to write. In address order. */
  allReachable: EndpointInfo[];
  /**
   * Whether the port has any usable endpoint anywhere in the cluster. False
   * means connections are rejected outright; true with an empty `local` means
   * Local-policy traffic is dropped instead.
   */
  hasAnyEndpoints: boolean;
}

const isReady = (endpoint: EndpointInfo) => endpoint.ready;
const isServingTerminating = (endpoint: EndpointInfo) => endpoint.serving && endpoint.terminating;

export function categorizeEndpoints(endpoints: readonly EndpointInfo[], info: ServicePortInfo): CategorizedEndpoints {
  let cluster: EndpointInfo[] = [];
  let hasAnyEndpoints = false;
  if (usesClusterEndpoints(info)) {
    cluster = endpoints.filter(isReady);
    if (cluster.length === 0) cluster = endpoints.filter(isServingTerminating);
    hasAnyEndpoints = cluster.length > 0;
  }
  if (!usesLocalEndpoints(info)) return { cluster, local: [], allReachable: cluster, hasAnyEndpoints };

  let usesTerminating = false;
  let local = endpoints.filter((endpoint) => endpoint.local && isReady(endpoint));
  if (local.length === 0) {
    local = endpoints.filter((endpoint) => endpoint.local && isServingTerminating(endpoint));
    usesTerminating = local.length > 0;
  }
  if (!hasAnyEndpoints) hasAnyEndpoints = endpoints.some((endpoint) => isReady(endpoint) || isServingTerminating(endpoint));
  if (!usesClusterEndpoints(info)) return { cluster, local, allReachable: local, hasAnyEndpoints };
  // Ready local endpoints are all in `cluster` already; terminating ones may not be.
  if (!usesTerminating) return { cluster, local, allReachable: cluster, hasAnyEndpoints };
  const reachable = new Set([...cluster, ...local]);
  return { cluster, local, allReachable: endpoints.filter((endpoint) => reachable.has(endpoint)), hasAnyEndpoints };
}
