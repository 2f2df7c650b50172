/**
 * Collects iptables-restore lines: joins words with spaces and counts lines,
 * so a renderer writes rules without string bookkeeping and the counts
 * become the rule-count metrics.
 */
export class LineBuffer {
  readonly #lines: string[] = [];

  /** Writes one line made of `words` (nested arrays are flattened, as argument lists are spliced in). */
  write(...words: (string | readonly string[])[]): void {
    this.#lines.push(words.flat().join(' '));
  }

  /** Appends lines written earlier (by another buffer). */
  writeLines(lines: readonly string[]): void {
    for (const line of lines) this.#lines.push(line);
  }

  get lines(): number {
    return this.#lines.length;
  }

  lineList(): readonly string[] {
    return this.#lines;
  }

  /** The buffered lines, each ending in a newline. */
  text(): string {
    return this.#lines.length === 0 ? '' : this.#lines.join('\n') + '\n';
  }
}
