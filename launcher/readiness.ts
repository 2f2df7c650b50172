/**
 * Bounded polling of the components' own health endpoints (HTTP GET on
 * loopback or a unix socket), the way a kubelet's readiness probes would,
 * until each says it is ready, a deadline passes or something else gives up
 * first.
 */
import { Agent, request } from 'undici';

export interface ReadinessCheck {
  /** The component, for messages ("dns"). */
  name: string;
  /** http://host:port/path; with socketPath, only the path counts. */
  url: string;
  /** Ask over this unix socket (so the answer comes from our own process, never from whoever holds a TCP port). */
  socketPath?: string;
  /** Whether a reply means ready (default: status 200). */
  accept?: (status: number, body: string) => boolean;
}

export interface WaitReadyOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Ends the wait early (Ctrl-C). */
  signal?: AbortSignal;
  /** Checked before every round: an error ends the wait at once (a child exited). */
  giveUpIf?: () => Error | undefined;
}

export type ReadinessResult = { ready: true } | { ready: false; reason: 'aborted' } | { ready: false; reason: 'timeout'; pending: { name: string; last: string }[] } | { ready: false; reason: 'gave-up'; error: Error };

async function probe(check: ReadinessCheck, dispatcher: Agent): Promise<{ ok: boolean; last: string }> {
  try {
    const response = await request(check.url, { dispatcher, headersTimeout: 2_000, bodyTimeout: 2_000 });
    const body = await response.body.text();
    const ok = check.accept ? check.accept(response.statusCode, body) : response.statusCode === 200;
    return { ok, last: `HTTP ${response.statusCode} ${body.trim().slice(0, 120)}` };
  } catch (error) {
    const code = (error as { code?: string }).code;
    return { ok: false, last: code ?? (error instanceof Error ? error.message : String(error)) };
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

/** Polls every check until all are ready; never throws. */
export async function waitReady(checks: readonly ReadinessCheck[], options: WaitReadyOptions): Promise<ReadinessResult> {
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + options.timeoutMs;
  const maxRounds = Math.ceil(options.timeoutMs / intervalMs) + 1;
  const pending = new Map(checks.map((check) => [check, 'not asked yet']));
  // No keep-alive: each round asks afresh, as a probe does.
  const agents = new Map(checks.map((check) => [check, new Agent({ pipelining: 0, ...(check.socketPath ? { connect: { socketPath: check.socketPath } } : {}) })]));
  try {
    return await poll(pending, agents, options, intervalMs, deadline, maxRounds);
  } finally {
    await Promise.all([...agents.values()].map((agent) => agent.destroy()));
  }
}

async function poll(pending: Map<ReadinessCheck, string>, agents: Map<ReadinessCheck, Agent>, options: WaitReadyOptions, intervalMs: number, deadline: number, maxRounds: number): Promise<ReadinessResult> {
  for (let round = 0; round < maxRounds; round++) {
    if (options.signal?.aborted) return { ready: false, reason: 'aborted' };
    const error = options.giveUpIf?.();
    if (error) return { ready: false, reason: 'gave-up', error };
    const results = await Promise.all([...pending.keys()].map(async (check) => [check, await probe(check, agents.get(check) as Agent)] as const));
    for (const [check, result] of results) {
      if (result.ok) pending.delete(check);
      else pending.set(check, result.last);
    }
    if (pending.size === 0) return { ready: true };
    if (Date.now() + intervalMs > deadline) break;
    await sleep(intervalMs, options.signal);
  }
  if (options.signal?.aborted) return { ready: false, reason: 'aborted' };
  return { ready: false, reason: 'timeout', pending: [...pending].map(([check, last]) => ({ name: check.name, last })) };
}
