/**
 * Stale UDP conntrack entries. A UDP "connection" is only a conntrack entry,
 * and it keeps its DNAT to an endpoint for as long as the client keeps
 * sending (kubernetes#19029, #125467): when the endpoint goes away, the
 * client keeps talking to nothing. After each successful sync the proxy
 * compares what UDP traffic could reach before and after and deletes:
 *
 * - entries DNATed to an endpoint IP that is no longer reachable, for each
 *   of the port's service IPs and its NodePort;
 * - every entry of a port that had no endpoint and now has one: while it had
 *   none, packets were rejected, and the entries they left behind (no DNAT)
 *   would keep the client away from the new endpoint.
 *
 * Planning is pure; `deleteEntries` runs `conntrack -D` for each plan line.
 */
import type { CommandRunner } from './exec.ts';
import type { EndpointInfo, ServicePortInfo } from './model.ts';
import { categorizeEndpoints } from './topology.ts';

/** What UDP traffic could reach after a sync, per service port key. */
export type UdpState = Map<string, { readonly destinations: readonly string[]; readonly nodePort: number; readonly endpointIPs: ReadonlySet<string> }>;

export function udpState(servicePorts: ReadonlyMap<string, ServicePortInfo>, endpoints: ReadonlyMap<string, readonly EndpointInfo[]>): UdpState {
  const state: UdpState = new Map();
  for (const [key, info] of servicePorts) {
    if (info.protocol !== 'UDP') continue;
    const { allReachable } = categorizeEndpoints(endpoints.get(key) ?? [], info);
    state.set(key, {
      destinations: [info.clusterIP, ...info.externalIPs, ...info.loadBalancerIPs],
      nodePort: info.nodePort,
      endpointIPs: new Set(allReachable.map((endpoint) => endpoint.ip)),
    });
  }
  return state;
}

/** The `conntrack` argument lists that remove entries made stale between two states. */
export function planConntrackCleanup(previous: UdpState, current: UdpState): string[][] {
  const plan: string[][] = [];
  const seen = new Set<string>();
  const add = (args: string[]) => {
    const key = args.join(' ');
    if (seen.has(key)) return;
    seen.add(key);
    plan.push(args);
  };
  for (const [key, before] of previous) {
    const after = current.get(key);
    for (const ip of before.endpointIPs) {
      if (after?.endpointIPs.has(ip)) continue;
      for (const destination of before.destinations) add(['-D', '-p', 'udp', '--orig-dst', destination, '--dst-nat', ip]);
      if (before.nodePort !== 0) add(['-D', '-p', 'udp', '--orig-port-dst', String(before.nodePort), '--dst-nat', ip]);
    }
  }
  for (const [key, after] of current) {
    if (after.endpointIPs.size === 0 || (previous.get(key)?.endpointIPs.size ?? 0) > 0) continue;
    for (const destination of after.destinations) add(['-D', '-p', 'udp', '--orig-dst', destination]);
    if (after.nodePort !== 0) add(['-D', '-p', 'udp', '--orig-port-dst', String(after.nodePort)]);
  }
  return plan;
}

export interface ConntrackResult {
  deleted: number;
  /** Commands that failed for another reason than finding nothing to delete. */
  failures: { args: string[]; error: string }[];
}

/** Runs each plan line; "0 flow entries have been deleted" (exit 1) is the usual, harmless outcome. */
export async function deleteEntries(run: CommandRunner, plan: readonly string[][]): Promise<ConntrackResult> {
  const result: ConntrackResult = { deleted: 0, failures: [] };
  for (const args of plan) {
    const outcome = await run('conntrack', args);
    const match = /(\d+) flow entries have been deleted/.exec(outcome.stderr);
    if (match) result.deleted += Number(match[1]);
    else if (outcome.exitCode !== 0) result.failures.push({ args: [...args], error: outcome.stderr.trim() || `exit ${String(outcome.exitCode)}` });
  }
  return result;
}
