/**
 * The proxy's failures, each with a stable code (listed in proxy/README.md).
 * They travel as values up to the sync loop, which counts them, keeps the
 * last good rules and retries; none of them stops the agent.
 */
import { KplaneError } from '../common/errors.ts';

/** iptables-restore refused a payload; nothing of it was applied. */
export class IptablesRestoreError extends KplaneError {
  /** The payload line iptables-restore named, 1-based, when it named one. */
  readonly line: number | undefined;
  /** The payload lines around `line`, numbered, the failing one marked with ">". */
  readonly context: string;
  readonly stderr: string;

  constructor(message: string, details: { line: number | undefined; context: string; stderr: string }) {
    super('KPLANE_IPTABLES_RESTORE', message);
    this.line = details.line;
    this.context = details.context;
    this.stderr = details.stderr;
  }
}

/** A helper program (iptables-save, iptables, conntrack) could not run or failed. */
export class ProxyCommandError extends KplaneError {
  readonly stderr: string;

  constructor(message: string, stderr: string, options?: { cause?: unknown }) {
    super('KPLANE_PROXY_COMMAND', message, options);
    this.stderr = stderr;
  }
}
