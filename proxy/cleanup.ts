/**
 * --cleanup: removes everything kplane put in the kernel, whatever version
 * wrote it, by reading the rules back rather than trusting a list: every
 * rule in a foreign chain (built-in or not) that jumps to a KPLANE- chain is
 * deleted, then every KPLANE- chain is flushed and deleted, in every table,
 * in one iptables-restore transaction.
 */
import type { CommandRunner } from './exec.ts';
import { CHAIN_PREFIX } from './iptables/chain-names.ts';
import { parseIptables, ruleTarget } from './iptables/parse.ts';
import { restoreRules, saveRules } from './iptables/apply.ts';

export interface CleanupPlan {
  /** The restore payload; empty when there is nothing to remove. */
  readonly text: string;
  readonly chains: number;
  readonly jumps: number;
}

const ours = (chain: string | undefined) => chain !== undefined && chain.startsWith(CHAIN_PREFIX);

/** Pure: iptables-save output → the payload that removes kplane's chains and the jumps into them. */
export function planCleanup(saved: string): CleanupPlan {
  const out: string[] = [];
  let chains = 0;
  let jumps = 0;
  for (const table of parseIptables(saved).values()) {
    const owned = [...table.chains.keys()].filter(ours);
    const jumpsIn = table.rules.filter((rule) => !ours(rule.chain) && ours(ruleTarget(rule)));
    if (owned.length === 0 && jumpsIn.length === 0) continue;
    out.push(`*${table.name}`);
    // Declaring a chain flushes it, which also drops the references between kplane's own chains.
    for (const chain of owned) out.push(`:${chain} - [0:0]`);
    for (const rule of jumpsIn) out.push(`-D ${rule.chain} ${rule.spec}`);
    for (const chain of owned) out.push(`-X ${chain}`);
    out.push('COMMIT');
    chains += owned.length;
    jumps += jumpsIn.length;
  }
  return { text: out.length === 0 ? '' : out.join('\n') + '\n', chains, jumps };
}

/** Reads the kernel's rules and removes kplane's; returns what it removed. */
export async function cleanup(run: CommandRunner): Promise<CleanupPlan> {
  const plan = planCleanup(await saveRules(run));
  if (plan.text !== '') await restoreRules(run, plan.text);
  return plan;
}
