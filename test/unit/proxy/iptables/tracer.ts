/**
 * Test helpers over rendered payloads: a jump-consistency check and a small
 * packet tracer (kube-proxy's iptablesTracer). The tracer walks a virtual
 * packet through nat PREROUTING (OUTPUT for a packet from this node), then
 * through kplane's filter chains with the DNATed destination, and reports
 * where it lands and whether it was marked for masquerade. A probabilistic
 * jump is followed and then the walk goes on, so every endpoint the random
 * choice could pick is reported; affinity checks never match (no history).
 */
import { parseIptables, ruleTarget, type ParsedRule, type ParsedTable } from '../../../../proxy/iptables/parse.ts';
import { cidrContains, parseIpv4Cidr } from '../../../../proxy/ipv4.ts';

const builtinTargets = new Set(['ACCEPT', 'DROP', 'REJECT', 'RETURN', 'DNAT', 'MARK', 'MASQUERADE']);

/** Every jump target that is neither a built-in target nor a chain declared in its table (or known to exist). */
export function undeclaredJumps(text: string, existing: ReadonlySet<string> = new Set()): string[] {
  const missing: string[] = [];
  for (const table of parseIptables(text).values()) {
    for (const rule of table.rules) {
      const target = ruleTarget(rule);
      if (target === undefined || builtinTargets.has(target) || table.chains.has(target) || existing.has(target)) continue;
      missing.push(`${table.name}: ${rule.chain} -> ${target}`);
    }
  }
  return missing;
}

export interface Packet {
  readonly source: string;
  readonly destination: string;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  readonly port: number;
}

export interface Trace {
  /** DNAT destinations ("ip:port") and filter verdicts (REJECT, DROP, ACCEPT), in the order reached. */
  readonly outputs: string[];
  readonly masquerade: boolean;
}

function option(args: readonly string[], name: string): { value: string; negated: boolean } | undefined {
  const index = args.indexOf(name);
  if (index === -1) return undefined;
  return { value: args[index + 1] as string, negated: args[index - 1] === '!' };
}

function addressMatches(spec: string, ip: string): boolean {
  const cidr = parseIpv4Cidr(spec.includes('/') ? spec : `${spec}/32`);
  return cidr !== undefined && cidrContains(cidr, ip);
}

class Tracer {
  readonly outputs: string[] = [];
  masquerade = false;
  readonly #tables: Map<string, ParsedTable>;
  readonly #local: ReadonlySet<string>;

  constructor(tables: Map<string, ParsedTable>, localAddresses: readonly string[]) {
    this.#tables = tables;
    this.#local = new Set(localAddresses);
  }

  #matches(rule: ParsedRule, packet: Packet): boolean {
    const { args } = rule;
    const checks: [string, string][] = [['-s', packet.source], ['-d', packet.destination]];
    for (const [name, ip] of checks) {
      const spec = option(args, name);
      if (spec && addressMatches(spec.value, ip) === spec.negated) return false;
    }
    const protocol = option(args, '-p');
    if (protocol && protocol.value !== packet.protocol) return false;
    const port = option(args, '--dport');
    if (port && Number(port.value) !== packet.port) return false;
    for (const [name, ip] of [['--dst-type', packet.destination], ['--src-type', packet.source]] as const) {
      const type = option(args, name);
      if (type && type.value === 'LOCAL' && this.#local.has(ip) === type.negated) return false;
    }
    if (args.includes('--rcheck')) return false;
    return true;
  }

  /** Returns true when the chain ended in a terminal target. */
  run(tableName: string, chain: string, packet: Packet): boolean {
    const table = this.#tables.get(tableName);
    if (!table) return false;
    for (const rule of table.rules.filter((candidate) => candidate.chain === chain)) {
      if (!this.#matches(rule, packet)) continue;
      const target = ruleTarget(rule);
      if (target === undefined) continue;
      if (target === 'KPLANE-MARK-MASQ') {
        this.masquerade = true;
        continue;
      }
      if (target === 'ACCEPT' || target === 'REJECT' || target === 'DROP') {
        this.outputs.push(target);
        return true;
      }
      if (target === 'DNAT') {
        this.outputs.push(option(rule.args, '--to-destination')?.value ?? '?');
        return true;
      }
      if (target === 'RETURN') return false;
      const terminated = this.run(tableName, target, packet);
      if (terminated && !rule.args.includes('statistic')) return true;
    }
    return false;
  }
}

/** Where a packet ends up after the rendered rules (as applied to an empty kernel). */
export function tracePacket(text: string, packet: Packet, localAddresses: readonly string[]): Trace {
  const tables = parseIptables(text);
  const tracer = new Tracer(tables, localAddresses);
  const fromNode = localAddresses.includes(packet.source);
  tracer.run('nat', fromNode ? 'OUTPUT' : 'PREROUTING', packet);
  const dnat = tracer.outputs[0];
  const destination = dnat === undefined ? packet.destination : (dnat.split(':')[0] as string);
  const port = dnat === undefined ? packet.port : Number(dnat.split(':')[1]);
  for (const chain of ['KPLANE-SERVICES', 'KPLANE-EXTERNAL-SERVICES', 'KPLANE-NODEPORTS', 'KPLANE-PROXY-FIREWALL']) {
    tracer.run('filter', chain, { ...packet, destination, port });
  }
  return { outputs: tracer.outputs, masquerade: tracer.masquerade };
}
