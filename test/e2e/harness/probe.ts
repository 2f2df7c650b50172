/**
 * Readiness probes as the kubelet runs them, split into pure pieces: the
 * timing defaults, the command a probe becomes (run inside the pod's network
 * namespace by the kubelet), and the threshold state machine that turns
 * results into the Ready condition.
 *
 * Timings follow the Pod spec (seconds). The harness also accepts fractions
 * (periodSeconds: 0.2) so tests can flip readiness quickly; whole seconds
 * keep the object valid for a real API server.
 */
import type { ContainerPort, Probe } from '../../../controlplane/api/types.ts';

export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

/** Kubernetes defaults: no delay, every 10 s, 1 s timeout, 1 success, 3 failures. */
export function probeTiming(probe: Probe): ProbeTiming {
  const seconds = (value: number | undefined, fallback: number, min: number) =>
    Math.round(1000 * Math.max(min, value === undefined || !Number.isFinite(value) ? fallback : value));
  return {
    initialDelayMs: seconds(probe.initialDelaySeconds, 0, 0),
    periodMs: seconds(probe.periodSeconds, 10, 0.05),
    timeoutMs: seconds(probe.timeoutSeconds, 1, 0.05),
    successThreshold: Math.max(1, Math.floor(probe.successThreshold ?? 1)),
    failureThreshold: Math.max(1, Math.floor(probe.failureThreshold ?? 3)),
  };
}

export interface ProbeState {
  ready: boolean;
  /** Consecutive results of the current kind. */
  successes: number;
  failures: number;
}

/** A container with a readiness probe starts not ready. */
export const initialProbeState: ProbeState = Object.freeze({ ready: false, successes: 0, failures: 0 });

/** Folds one probe result into the state; `ready` flips after successThreshold successes or failureThreshold failures in a row. */
export function recordProbeResult(state: ProbeState, ok: boolean, timing: Pick<ProbeTiming, 'successThreshold' | 'failureThreshold'>): ProbeState {
  if (ok) {
    const successes = state.successes + 1;
    return { ready: state.ready || successes >= timing.successThreshold, successes, failures: 0 };
  }
  const failures = state.failures + 1;
  return { ready: state.ready && failures < timing.failureThreshold, successes: 0, failures };
}

/** A probe port: a number, or the name of one of the container's ports. */
export function resolveProbePort(port: number | string, ports: readonly ContainerPort[]): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = ports.find((p) => p.name === port);
  if (!named) throw new Error(`probe port "${port}" names no container port`);
  return named.containerPort;
}

export interface ProbeCommand {
  /** Run inside the pod's network namespace. */
  argv: string[];
  /** How to read the result: exit code 0, or an HTTP status written to stdout by curl. */
  check: 'exit-code' | 'http-status';
  timeoutMs: number;
}

/**
 * The command a probe becomes. httpGet runs curl (2xx and 3xx succeed, like
 * the kubelet), tcpSocket runs `nc -z`, exec runs the command itself. The
 * default host is the pod's IP, as for the kubelet.
 */
export function probeCommand(probe: Probe, podIp: string, ports: readonly ContainerPort[]): ProbeCommand {
  const timing = probeTiming(probe);
  const seconds = (timing.timeoutMs / 1000).toFixed(3);
  if (probe.httpGet) {
    const get = probe.httpGet;
    const scheme = (get.scheme ?? 'HTTP').toLowerCase();
    const host = get.host ?? podIp;
    let path = get.path ?? '/';
    if (!path.startsWith('/')) path = `/${path}`;
    const port = resolveProbePort(get.port, ports);
    const argv = ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', seconds, '--noproxy', '*'];
    if (scheme === 'https') argv.push('-k');
    const headers = get.httpHeaders ?? [];
    if (!headers.some((h) => h.name.toLowerCase() === 'user-agent')) argv.push('-H', 'User-Agent: kube-probe/1.33');
    for (const header of headers) argv.push('-H', `${header.name}: ${header.value}`);
    argv.push(`${scheme}://${host}:${port}${path}`);
    return { argv, check: 'http-status', timeoutMs: timing.timeoutMs };
  }
  if (probe.tcpSocket) {
    const port = resolveProbePort(probe.tcpSocket.port, ports);
    const wait = String(Math.max(1, Math.ceil(timing.timeoutMs / 1000)));
    return { argv: ['nc', '-z', '-w', wait, probe.tcpSocket.host ?? podIp, String(port)], check: 'exit-code', timeoutMs: timing.timeoutMs };
  }
  if (probe.exec && probe.exec.command.length > 0) {
    return { argv: [...probe.exec.command], check: 'exit-code', timeoutMs: timing.timeoutMs };
  }
  throw new Error('probe has no httpGet, tcpSocket or exec handler');
}

/** Did the probe succeed, given the command's exit code and stdout? */
export function probeSucceeded(command: Pick<ProbeCommand, 'check'>, exitCode: number | undefined, stdout: string): boolean {
  if (exitCode !== 0) return false;
  if (command.check === 'exit-code') return true;
  const status = Number(stdout.trim());
  return status >= 200 && status < 400;
}
