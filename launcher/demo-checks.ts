/**
 * Pure: the demo's verdicts. Each takes what was observed (who answered,
 * what DNS said) and returns pass or fail with the reason in words, so the
 * traffic code only gathers and the rules live here, table-tested.
 */

/** How many replies came from each pod; failures are counted under their error code (ECONNREFUSED, HTTP 503, …). */
export type Tally = Readonly<Record<string, number>>;

export interface Verdict {
  ok: boolean;
  /** Why it failed, in one line (absent on a pass). */
  why?: string;
}

const pass: Verdict = { ok: true };
const fail = (why: string): Verdict => ({ ok: false, why });

/** "web-1 ×11, web-2 ×9" in a stable order. */
export function formatTally(tally: Tally): string {
  const entries = Object.entries(tally).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? 'nothing' : entries.map(([who, count]) => `${who} ×${count}`).join(', ');
}

function strangers(tally: Tally, pods: readonly string[]): string[] {
  return Object.keys(tally).filter((who) => !pods.includes(who)).sort();
}

/** Every reply came from one of `pods`, and each of them answered at least once. */
export function spreadVerdict(tally: Tally, pods: readonly string[]): Verdict {
  const others = strangers(tally, pods);
  if (others.length > 0) return fail(`replies not from the Service's pods: ${others.map((o) => `${o} ×${tally[o]}`).join(', ')}`);
  const silent = pods.filter((pod) => !tally[pod]);
  if (silent.length > 0) return fail(`never answered: ${silent.join(', ')} (${formatTally(tally)})`);
  return pass;
}

/** Every reply came from one of `pods` (which need not all answer). */
export function servedByVerdict(tally: Tally, pods: readonly string[]): Verdict {
  const others = strangers(tally, pods);
  if (others.length > 0) return fail(`replies not from ${pods.join('/')}: ${others.map((o) => `${o} ×${tally[o]}`).join(', ')}`);
  if (Object.keys(tally).length === 0) return fail('no replies');
  return pass;
}

/** ClientIP affinity: each source's replies all came from a single pod of `pods`. */
export function affinityVerdict(bySource: Readonly<Record<string, Tally>>, pods: readonly string[]): Verdict {
  for (const [source, tally] of Object.entries(bySource)) {
    const served = servedByVerdict(tally, pods);
    if (!served.ok) return fail(`from ${source}: ${served.why}`);
    const answered = Object.keys(tally);
    if (answered.length !== 1) return fail(`from ${source} the replies came from ${answered.length} pods (${formatTally(tally)}), not one`);
  }
  return pass;
}

/** externalTrafficPolicy Local: every pod saw the client's own address. */
export function clientAddressVerdict(seen: readonly string[], clientIp: string): Verdict {
  if (seen.length === 0) return fail('no replies');
  const other = seen.filter((address) => address !== clientIp);
  if (other.length > 0) return fail(`${other.length} of ${seen.length} replies saw ${[...new Set(other)].join(', ')} instead of the client's ${clientIp}`);
  return pass;
}

/** The lines of `dig +short`, trimmed, without blanks or comments. */
export function digLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith(';'));
}

/** `dig +short` answers equal `expected` as a set. */
export function answersVerdict(text: string, expected: readonly string[]): Verdict {
  const got = [...new Set(digLines(text))].sort();
  const want = [...new Set(expected)].sort();
  if (got.join(',') === want.join(',')) return pass;
  return fail(`expected ${want.join(', ') || 'no answer'}, got ${got.join(', ') || 'no answer'}`);
}

export interface SrvRecord {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

/** `dig +short SRV` lines: "0 33 8080 web-1.web-headless.default.svc.cluster.local." */
export function parseSrv(text: string): SrvRecord[] {
  const records: SrvRecord[] = [];
  for (const line of digLines(text)) {
    const match = /^(\d+) (\d+) (\d+) (\S+)$/.exec(line);
    if (match) records.push({ priority: Number(match[1]), weight: Number(match[2]), port: Number(match[3]), target: match[4] as string });
  }
  return records;
}

/** One SRV record per expected target, each with `port`. */
export function srvVerdict(records: readonly SrvRecord[], port: number, targets: readonly string[]): Verdict {
  const got = records.map((record) => record.target).sort();
  const want = [...targets].sort();
  if (got.join(',') !== want.join(',')) return fail(`expected targets ${want.join(', ')}, got ${got.join(', ') || 'none'}`);
  const wrong = records.filter((record) => record.port !== port);
  if (wrong.length > 0) return fail(`ports ${wrong.map((record) => record.port).join(', ')} instead of ${port}`);
  return pass;
}

/** All verdicts must pass; the first failure is the reason. */
export function allOf(...verdicts: Verdict[]): Verdict {
  return verdicts.find((verdict) => !verdict.ok) ?? pass;
}
