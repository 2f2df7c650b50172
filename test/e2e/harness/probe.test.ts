import { describe, expect, it } from 'vitest';
import { initialProbeState, probeCommand, probeSucceeded, probeTiming, recordProbeResult, resolveProbePort, type ProbeState } from './probe.ts';

const ports = [{ name: 'http', containerPort: 8080 }, { name: 'echo', containerPort: 9000 }];

describe('probe timing', () => {
  it('uses the Kubernetes defaults', () => {
    expect(probeTiming({ tcpSocket: { port: 1 } })).toEqual({ initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1_000, successThreshold: 1, failureThreshold: 3 });
  });
  it('accepts fractional seconds for quick tests', () => {
    expect(probeTiming({ tcpSocket: { port: 1 }, periodSeconds: 0.2, initialDelaySeconds: 0.5 })).toMatchObject({ periodMs: 200, initialDelayMs: 500 });
  });
});

describe('recordProbeResult', () => {
  const timing = { successThreshold: 2, failureThreshold: 3 };
  const run = (results: boolean[], from: ProbeState = initialProbeState) => results.reduce((state, ok) => recordProbeResult(state, ok, timing), from).ready;
  it.each([
    { name: 'one success is not enough with successThreshold 2', results: [true], ready: false },
    { name: 'two successes in a row make it ready', results: [true, true], ready: true },
    { name: 'a failure in between resets the count', results: [true, false, true], ready: false },
    { name: 'two failures keep it ready with failureThreshold 3', results: [true, true, false, false], ready: true },
    { name: 'three failures in a row make it not ready', results: [true, true, false, false, false], ready: false },
    { name: 'a success resets the failures', results: [true, true, false, false, true, false, false], ready: true },
  ])('$name', ({ results, ready }) => {
    expect(run(results)).toBe(ready);
  });
});

describe('probeCommand', () => {
  it('turns httpGet into curl against the pod IP, named port resolved', () => {
    const command = probeCommand({ httpGet: { path: 'ready', port: 'http', httpHeaders: [{ name: 'X-A', value: 'b' }] }, timeoutSeconds: 2 }, '10.244.1.5', ports);
    expect(command).toEqual({
      argv: ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2.000', '--noproxy', '*', '-H', 'User-Agent: kube-probe/1.33', '-H', 'X-A: b', 'http://10.244.1.5:8080/ready'],
      check: 'http-status',
      timeoutMs: 2_000,
    });
  });
  it('turns tcpSocket into nc -z', () => {
    expect(probeCommand({ tcpSocket: { port: 'echo' } }, '10.244.1.5', ports).argv).toEqual(['nc', '-z', '-w', '1', '10.244.1.5', '9000']);
  });
  it('runs exec commands as given', () => {
    expect(probeCommand({ exec: { command: ['test', '-f', '/tmp/x'] } }, '10.244.1.5', ports).argv).toEqual(['test', '-f', '/tmp/x']);
  });
  it('rejects a port name the container does not have', () => {
    expect(() => resolveProbePort('metrics', ports)).toThrow(/names no container port/);
  });
  it.each([
    { name: '200 succeeds', check: 'http-status' as const, exit: 0, out: '200', ok: true },
    { name: '302 succeeds', check: 'http-status' as const, exit: 0, out: '302', ok: true },
    { name: '503 fails', check: 'http-status' as const, exit: 0, out: '503', ok: false },
    { name: 'curl failing (000) fails', check: 'http-status' as const, exit: 7, out: '000', ok: false },
    { name: 'exit 0 succeeds', check: 'exit-code' as const, exit: 0, out: '', ok: true },
    { name: 'exit 1 fails', check: 'exit-code' as const, exit: 1, out: '', ok: false },
    { name: 'a killed command fails', check: 'exit-code' as const, exit: undefined, out: '', ok: false },
  ])('probe result: $name', ({ check, exit, out, ok }) => {
    expect(probeSucceeded({ check }, exit, out)).toBe(ok);
  });
});
