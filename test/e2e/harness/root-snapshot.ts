/**
 * A read-only picture of the root network namespace (links, addresses,
 * routes, rules, iptables/ip6tables/nft rulesets and the forwarding sysctls),
 * taken before and after a suite so it can assert that nothing changed.
 * Volatile parts (counters, address lifetimes, "generated on" comments) are
 * stripped so only real changes show.
 */
import { readFileSync } from 'node:fs';
import { run } from './netns.ts';

export type RootSnapshot = Record<string, string[]>;

const SYSCTLS = [
  'net/ipv4/ip_forward',
  'net/ipv4/conf/all/forwarding',
  'net/ipv4/conf/all/route_localnet',
  'net/ipv4/conf/all/rp_filter',
  'net/ipv6/conf/all/forwarding',
];

export function normalizeSection(section: string, text: string): string[] {
  const lines = text.split('\n').map((line) => line.trimEnd()).filter((line) => line.trim() !== '');
  switch (section) {
    case 'iptables':
    case 'ip6tables':
      return lines.filter((line) => !line.startsWith('#')).map((line) => line.replace(/\[\d+:\d+\]/g, '[0:0]'));
    case 'nft':
      return lines.map((line) => line.replace(/counter packets \d+ bytes \d+/g, 'counter'));
    case 'addresses':
      return lines.map((line) => line.replace(/\s*valid_lft \S+ preferred_lft \S+/g, '').replace(/\\\s*$/, ''));
    case 'routes':
    case 'routes6':
      return lines.map((line) => line.replace(/ expires \S+/g, '')).sort();
    default:
      return lines;
  }
}

async function section(args: [string, ...string[]]): Promise<string> {
  const [file, ...rest] = args;
  const result = await run(file, rest, { timeoutMs: 10_000 }).catch(() => undefined);
  if (!result) return '<not run>';
  if (result.exitCode !== 0) return `<exit ${result.exitCode ?? 'signal'}> ${result.stderr.trim()}`;
  return result.stdout;
}

export async function snapshotRootNetwork(): Promise<RootSnapshot> {
  const commands: Record<string, [string, ...string[]]> = {
    links: ['ip', '-o', 'link', 'show'],
    addresses: ['ip', '-o', 'addr', 'show'],
    routes: ['ip', 'route', 'show', 'table', 'all'],
    routes6: ['ip', '-6', 'route', 'show', 'table', 'all'],
    rules: ['ip', 'rule', 'show'],
    iptables: ['iptables-save'],
    ip6tables: ['ip6tables-save'],
    nft: ['nft', 'list', 'ruleset'],
  };
  const entries = await Promise.all(
    Object.entries(commands).map(async ([name, argv]) => [name, normalizeSection(name, await section(argv))] as const),
  );
  const snapshot: RootSnapshot = Object.fromEntries(entries);
  snapshot['sysctls'] = SYSCTLS.map((key) => {
    try {
      return `${key}=${readFileSync(`/proc/sys/${key}`, 'utf8').trim()}`;
    } catch {
      return `${key}=<unreadable>`;
    }
  });
  return snapshot;
}

/** Lines added (+) or removed (-) per section; empty when nothing changed. */
export function diffSnapshots(before: RootSnapshot, after: RootSnapshot): string[] {
  const out: string[] = [];
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[name] ?? [];
    const b = after[name] ?? [];
    const inA = new Set(a);
    const inB = new Set(b);
    for (const line of a) if (!inB.has(line)) out.push(`${name}: - ${line}`);
    for (const line of b) if (!inA.has(line)) out.push(`${name}: + ${line}`);
  }
  return out;
}
