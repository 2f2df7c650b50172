/**
 * A recording CommandRunner: every call is kept (program, args, stdin) and
 * answered by the first responder that claims it, else with success and no
 * output. Tests script failures and iptables-save output through responders.
 */
import type { CommandResult, CommandRunner } from '../../../proxy/exec.ts';

export interface RecordedCall {
  readonly file: string;
  readonly args: readonly string[];
  readonly input: string | undefined;
}

export type Responder = (call: RecordedCall) => CommandResult | undefined;

export class FakeRunner {
  readonly calls: RecordedCall[] = [];
  readonly #responders: Responder[] = [];

  readonly run: CommandRunner = async (file, args, options = {}) => {
    const call = { file, args: [...args], input: options.input };
    this.calls.push(call);
    for (const responder of this.#responders) {
      const answer = responder(call);
      if (answer) return answer;
    }
    return { exitCode: 0, stdout: '', stderr: '' };
  };

  /** Adds a responder; returns its removal. */
  respond(responder: Responder): () => void {
    this.#responders.unshift(responder);
    return () => {
      const index = this.#responders.indexOf(responder);
      if (index !== -1) this.#responders.splice(index, 1);
    };
  }

  /** Calls of one program, e.g. "iptables-restore". */
  of(file: string): RecordedCall[] {
    return this.calls.filter((call) => call.file === file);
  }

  clear(): void {
    this.calls.length = 0;
  }
}
