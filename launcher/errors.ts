/**
 * Why `kplane up` or `kplane demo` stopped short, each with a stable code
 * (listed in launcher/README.md). The CLI prints an error's stack; these
 * carry just their message there, so a user reads one line, not a trace.
 */
import { KplaneError } from '../common/errors.ts';

export class LauncherError extends KplaneError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.stack = message;
  }
}

/** A supervised child process (API store, DNS, ingress, proxy) exited while it should have been running. */
export class ChildExitedError extends LauncherError {
  readonly child: string;
  readonly logFile: string;
  constructor(child: string, how: string, logFile: string) {
    super('KPLANE_UP_CHILD_EXITED', `${child} ${how}; its log is ${logFile}`);
    this.child = child;
    this.logFile = logFile;
  }
}

/** A component did not report ready within the startup deadline. */
export class NotReadyError extends LauncherError {
  constructor(message: string) {
    super('KPLANE_UP_NOT_READY', message);
  }
}

/** `kplane demo` builds network namespaces: it needs root (and iproute2). */
export class DemoNeedsRootError extends LauncherError {
  constructor(reason: string) {
    super('KPLANE_DEMO_NEEDS_ROOT', `${reason}; to run the stack on this machine without root, use "bin/kplane up"`);
  }
}

/** One or more demo steps failed (the report above says which and why). */
export class DemoFailedError extends LauncherError {
  constructor(failed: readonly string[], total: number) {
    super('KPLANE_DEMO_FAILED', `${failed.length} of ${total} steps failed: ${failed.join('; ')}`);
  }
}

/** The demo was stopped by SIGINT/SIGTERM before it finished (everything was torn down). */
export class DemoInterruptedError extends LauncherError {
  constructor() {
    super('KPLANE_DEMO_INTERRUPTED', 'interrupted; the cluster was torn down');
  }
}
