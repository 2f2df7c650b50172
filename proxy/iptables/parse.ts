/**
 * Reads iptables-save output (and iptables-restore input, which has the same
 * grammar): tables, their chains and their rules as argument lists. A full
 * sync reads the kernel's state through it, --cleanup finds what to remove,
 * and tests walk packets through rendered rules with it.
 */

export interface ParsedRule {
  /** "-A" (append), "-I" (insert) or "-D" (delete), as written. */
  readonly op: '-A' | '-I' | '-D';
  readonly chain: string;
  /** The arguments after the chain name, quotes removed. */
  readonly args: readonly string[];
  /** The rule as it appears after "-A CHAIN ", quotes kept: re-usable verbatim in a restore payload. */
  readonly spec: string;
}

export interface ParsedTable {
  readonly name: string;
  /** Chains in declaration order; built-in ones carry their policy. */
  readonly chains: Map<string, { policy: string }>;
  readonly rules: ParsedRule[];
  /** Chains deleted with -X, in order. */
  readonly deleted: string[];
}

/** Splits a rule line into words, honouring double quotes and backslash escapes inside them. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i] as string;
    if (quoted) {
      if (char === '\\' && i + 1 < line.length) current += line[++i];
      else if (char === '"') quoted = false;
      else current += char;
    } else if (char === '"') {
      quoted = true;
      inWord = true;
    } else if (char === ' ' || char === '\t') {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += char;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

export function parseIptables(text: string): Map<string, ParsedTable> {
  const tables = new Map<string, ParsedTable>();
  let table: ParsedTable | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      const name = line.slice(1);
      table = tables.get(name) ?? { name, chains: new Map(), rules: [], deleted: [] };
      tables.set(name, table);
      continue;
    }
    if (!table) continue;
    if (line === 'COMMIT') {
      table = undefined;
    } else if (line.startsWith(':')) {
      const [chain = '', policy = '-'] = line.slice(1).split(/\s+/);
      table.chains.set(chain, { policy });
    } else {
      const [op, chain = '', ...args] = splitWords(line);
      if (op === '-X') {
        table.chains.delete(chain);
        table.deleted.push(chain);
      } else if (op === '-A' || op === '-I' || op === '-D') {
        const spec = line.slice(line.indexOf(chain, op.length) + chain.length).trim();
        table.rules.push({ op, chain, args, spec });
      }
    }
  }
  return tables;
}

/** The target of a rule's -j (or -g), if any. */
export function ruleTarget(rule: ParsedRule): string | undefined {
  const index = rule.args.findIndex((arg) => arg === '-j' || arg === '-g');
  return index === -1 ? undefined : rule.args[index + 1];
}
