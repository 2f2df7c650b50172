import { describe, expect, it } from 'vitest';
import { buildPodStatus, effectiveReady } from './kubelet.ts';

const running = { exit: undefined };
const probed = { readinessProbe: { tcpSocket: { port: 1 } } };

describe('effectiveReady', () => {
  it.each([
    { name: 'no probe and running: ready', entry: { container: running, probe: { ready: false, successes: 0, failures: 0 }, override: undefined, pod: { readinessProbe: undefined } }, ready: true },
    { name: 'a probe that has not passed: not ready', entry: { container: running, probe: { ready: false, successes: 0, failures: 0 }, override: undefined, pod: probed }, ready: false },
    { name: 'a passing probe: ready', entry: { container: running, probe: { ready: true, successes: 1, failures: 0 }, override: undefined, pod: probed }, ready: true },
    { name: 'marked not ready wins over the probe', entry: { container: running, probe: { ready: true, successes: 1, failures: 0 }, override: false, pod: probed }, ready: false },
    { name: 'an exited container is never ready', entry: { container: { exit: { code: 1 } }, probe: { ready: true, successes: 1, failures: 0 }, override: true, pod: probed }, ready: false },
  ])('$name', ({ entry, ready }) => {
    expect(effectiveReady(entry)).toBe(ready);
  });
});

describe('buildPodStatus', () => {
  it('reports IPs, Running and the Ready condition, keeping transition times while unchanged', () => {
    const transitions = new Map();
    const input = { podIp: '10.244.1.2', hostIp: '172.30.0.11', ready: false, running: true, startTime: 't0', image: 'img', transitions };
    const first = buildPodStatus({ ...input, now: 't1' });
    expect(first).toMatchObject({ phase: 'Running', podIP: '10.244.1.2', podIPs: [{ ip: '10.244.1.2' }], hostIP: '172.30.0.11' });
    expect(first.conditions?.find((c) => c.type === 'Ready')).toEqual({ type: 'Ready', status: 'False', lastTransitionTime: 't1' });
    const second = buildPodStatus({ ...input, ready: true, now: 't2' });
    expect(second.conditions?.find((c) => c.type === 'Ready')).toEqual({ type: 'Ready', status: 'True', lastTransitionTime: 't2' });
    expect(second.conditions?.find((c) => c.type === 'PodScheduled')?.lastTransitionTime).toBe('t1');
  });
});
