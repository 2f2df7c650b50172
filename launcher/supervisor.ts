/**
 * Runs kplane's own commands (`bin/main.ts apiserver|dns|ingress|proxy …`)
 * as child processes of the launcher, on the same Node with the same flags.
 *
 * - Each child writes stdout and stderr straight into its own log file (no
 *   pipe through us), truncated at start unless `append`.
 * - Each child leads its own process group, so a Ctrl-C on the terminal
 *   reaches only the launcher, which then stops the children in the order it
 *   chooses, each once (a second signal would make a kplane command exit at
 *   once instead of cleanly).
 * - An exit nobody asked for is reported through `onUnexpectedExit`.
 * - If the launcher itself exits without stopping them (a crash, a second
 *   Ctrl-C), an exit hook SIGKILLs every child still running.
 */
import { join } from 'node:path';
import { spawnLogged, type ExitInfo } from '../common/logged-child.ts';

export const mainScript = join(import.meta.dirname, '..', 'bin', 'main.ts');

export interface ChildSpec {
  /** Short name used in messages and as the log file's name ("dns"). */
  name: string;
  /** Arguments after bin/main.ts: the subcommand and its flags. */
  args: readonly string[];
  logFile: string;
  /** The child's complete environment. */
  env: Record<string, string | undefined>;
  /** Append to the log instead of starting it afresh (a one-shot command after a long-running one). */
  append?: boolean;
}

export type { ExitInfo };

export interface SupervisedChild {
  readonly name: string;
  readonly pid: number;
  readonly args: readonly string[];
  readonly logFile: string;
  /** Set once the process has exited. */
  readonly exit: ExitInfo | undefined;
  readonly exited: Promise<ExitInfo>;
}

/** "exited with code 1", "was killed by SIGKILL". */
export function describeExit(exit: ExitInfo): string {
  if (exit.signal) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code ?? 'unknown'}`;
}

interface Entry extends SupervisedChild {
  expected: boolean;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // gone already
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export interface SupervisorOptions {
  /** A child exited without being asked to (not called once stopAll has begun). */
  onUnexpectedExit(child: SupervisedChild, exit: ExitInfo): void;
  /** The Node binary and its flags (default: this process's). */
  execPath?: string;
  execArgv?: readonly string[];
}

export class Supervisor {
  readonly #children = new Map<string, Entry>();
  readonly #options: SupervisorOptions;
  #stopping = false;
  readonly #exitHook = () => {
    for (const child of this.#children.values()) if (!child.exit) signalGroup(child.pid, 'SIGKILL');
  };

  constructor(options: SupervisorOptions) {
    this.#options = options;
    process.on('exit', this.#exitHook);
  }

  get children(): SupervisedChild[] {
    return [...this.#children.values()];
  }

  get(name: string): SupervisedChild | undefined {
    return this.#children.get(name);
  }

  /** Starts `node bin/main.ts …args`; its output goes to spec.logFile. */
  start(spec: ChildSpec): SupervisedChild {
    const running = this.#children.get(spec.name);
    if (running && !running.exit) throw new Error(`${spec.name} is already running`);
    const { child, exit, exited } = spawnLogged(this.#options.execPath ?? process.execPath, [...(this.#options.execArgv ?? process.execArgv), mainScript, ...spec.args], {
      logFile: spec.logFile,
      ...(spec.append !== undefined ? { append: spec.append } : {}),
      env: spec.env,
    });
    const pid = child.pid ?? -1;
    const entry: Entry = {
      name: spec.name,
      pid,
      args: spec.args,
      logFile: spec.logFile,
      get exit() {
        return exit();
      },
      exited,
      expected: false,
    };
    this.#children.set(spec.name, entry);
    void exited.then((info) => {
      if (!entry.expected && !this.#stopping) this.#options.onUnexpectedExit(entry, info);
    });
    return entry;
  }

  /**
   * Runs a one-shot command to completion (bounded: SIGKILL after
   * timeoutMs) and returns how it exited.
   */
  async run(spec: ChildSpec, timeoutMs: number): Promise<ExitInfo> {
    const child = this.start(spec);
    (this.#children.get(spec.name) as Entry).expected = true;
    const result = await Promise.race([child.exited, delay(timeoutMs).then(() => undefined)]);
    if (result) return result;
    signalGroup(child.pid, 'SIGKILL');
    return (await Promise.race([child.exited, delay(2_000).then(() => undefined)])) ?? { code: null, signal: 'SIGKILL' };
  }

  /** SIGTERM to each named child (its process group), SIGKILL after graceMs; resolves when they are gone. */
  async stop(names: readonly string[], graceMs: number): Promise<void> {
    const entries = names.map((name) => this.#children.get(name)).filter((entry): entry is Entry => entry !== undefined);
    await Promise.all(
      entries.map(async (entry) => {
        entry.expected = true;
        if (entry.exit) return;
        signalGroup(entry.pid, 'SIGTERM');
        const done = await Promise.race([entry.exited, delay(graceMs).then(() => undefined)]);
        if (done) return;
        signalGroup(entry.pid, 'SIGKILL');
        await Promise.race([entry.exited, delay(2_000)]);
      }),
    );
  }

  /**
   * Stops every child, stage by stage (each stage's children together;
   * children no stage names go first). Exits from here on are expected.
   */
  async stopAll(stages: readonly (readonly string[])[], graceMs: number): Promise<void> {
    this.#stopping = true;
    const named = new Set(stages.flat());
    const rest = [...this.#children.keys()].filter((name) => !named.has(name));
    for (const stage of [rest, ...stages]) await this.stop(stage, graceMs);
  }

  /** Drops the exit hook, once every child is gone. */
  dispose(): void {
    process.off('exit', this.#exitHook);
  }
}
