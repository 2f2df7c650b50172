/**
 * Pure: how the demo's report reads. Each step prints a numbered title, its
 * observations indented under it, then PASS or FAIL (with the reason and,
 * on a failure, the agent log lines that explain it). The summary at the end
 * lists every step with its result, one per line, so a script (or the e2e
 * test) can read it with `grep -E '^  (PASS|FAIL) '`.
 */

export interface StepResult {
  title: string;
  ok: boolean;
  why?: string;
}

export interface ReportStyle {
  /** ANSI colours (on a terminal). */
  color: boolean;
}

const paint = (style: ReportStyle, code: number, text: string) => (style.color ? `\u001b[${code}m${text}\u001b[0m` : text);

export function banner(style: ReportStyle): string {
  return [
    paint(style, 1, 'kplane demo: a 2-node cluster built from network namespaces, driven with kubectl and real traffic'),
    '  Everything runs in namespaces of its own and is removed at the end, or on Ctrl-C.',
    '',
  ].join('\n') + '\n';
}

export function stepTitle(index: number, title: string, style: ReportStyle): string {
  return `${paint(style, 1, `[${index}] ${title}`)}\n`;
}

export function detail(text: string): string {
  return text
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n') + '\n';
}

export function stepResult(result: StepResult, style: ReportStyle): string {
  return result.ok ? `    ${paint(style, 32, 'PASS')}\n\n` : `    ${paint(style, 31, 'FAIL')}: ${result.why ?? 'failed'}\n\n`;
}

/** Log lines shown under a failed step, already chosen; each line cut to a readable width. */
export function logExcerpt(name: string, file: string, lines: readonly string[]): string {
  if (lines.length === 0) return detail(`(${name}: nothing relevant in ${file})`);
  return detail([`${name} log (${file}):`, ...lines.map((line) => `  ${line.length > 300 ? `${line.slice(0, 297)}...` : line}`)].join('\n'));
}

/** `total`: how many steps the tour has; fewer results means it was interrupted. */
export function summary(results: readonly StepResult[], style: ReportStyle, total: number): string {
  const passed = results.filter((result) => result.ok).length;
  const lines = results.map((result) => `  ${result.ok ? paint(style, 32, 'PASS') : paint(style, 31, 'FAIL')}  ${result.title}${result.ok ? '' : ` (${result.why ?? 'failed'})`}`);
  const verdict =
    results.length < total
      ? paint(style, 31, `Interrupted: ${results.length} of ${total} steps ran, ${passed} passed.`)
      : passed === total
        ? paint(style, 32, `All ${total} steps passed.`)
        : paint(style, 31, `${passed} of ${total} steps passed.`);
  return [paint(style, 1, 'Summary'), ...lines, verdict, ''].join('\n') + '\n';
}

/**
 * From a JSON-lines log: the warnings and errors (level >= 40) among the last
 * lines, else the last few lines, at most `max`.
 */
export function relevantLogLines(text: string, max = 8): string[] {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const problems = lines.filter((line) => {
    const match = /"level":(\d+)/.exec(line);
    return match ? Number(match[1]) >= 40 : /error|fail|warn/i.test(line);
  });
  return (problems.length > 0 ? problems : lines).slice(-max);
}
