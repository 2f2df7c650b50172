/**
 * The proxy benchmark's probe, run inside a pod's network namespace
 * (`ip netns exec <pod> node bench/proxy/probe.ts <mode>`), so its packets
 * cross the node's rules as any pod's do. Two modes, both bounded in count
 * and time:
 *
 *   connect --targets IP:PORT,IP:PORT --count N
 *     N new TCP connections to each target, round-robin, each timed from
 *     connect() to the SYN-ACK (the 'connect' event) and closed at once.
 *     Prints one JSON line: { targets: { "IP:PORT": { samplesUs, failures } } }.
 *
 *   watch
 *     Reads JSON lines { id, url, expect, deadlineMs } on stdin. For each it
 *     sends HTTP GETs, each on a new connection, until the answering pod
 *     (the pod app's "pod" field) is `expect`, and prints
 *     { id, seenAt, attempts } with seenAt in epoch milliseconds
 *     (performance.timeOrigin + now(), comparable across processes on this
 *     machine), or { id, error } at the deadline.
 */
import { get } from 'node:http';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const CONNECT_TIMEOUT_MS = 2_000;
const MAX_COUNT = 100_000;

function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

function connectOnce(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      const micros = Number(process.hrtime.bigint() - started) / 1000;
      clearTimeout(timer);
      socket.destroy();
      resolve(micros);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(undefined);
    });
  });
}

async function connectMode(args: string[]): Promise<void> {
  const targets = (args[args.indexOf('--targets') + 1] ?? '').split(',').filter(Boolean);
  const count = Math.min(MAX_COUNT, Number(args[args.indexOf('--count') + 1] ?? '100'));
  const results: Record<string, { samplesUs: number[]; failures: number }> = {};
  for (const target of targets) results[target] = { samplesUs: [], failures: 0 };
  for (let i = 0; i < count; i++) {
    for (const target of targets) {
      const [host = '', port = '0'] = target.split(':');
      const micros = await connectOnce(host, Number(port));
      const entry = results[target] as { samplesUs: number[]; failures: number };
      if (micros === undefined) entry.failures += 1;
      else entry.samplesUs.push(Math.round(micros * 10) / 10);
    }
  }
  process.stdout.write(JSON.stringify({ targets: results }) + '\n');
}

function httpPod(url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const request = get(url, { agent: false, timeout: 1_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        try {
          resolve((JSON.parse(body) as { pod?: string }).pod);
        } catch {
          resolve(undefined);
        }
      });
      response.on('error', () => resolve(undefined));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}

async function watchMode(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const { id, url, expect, deadlineMs } = JSON.parse(line) as { id: number; url: string; expect: string; deadlineMs: number };
    const deadline = Date.now() + Math.min(deadlineMs, 120_000);
    let attempts = 0;
    let seenAt: number | undefined;
    while (Date.now() < deadline) {
      attempts += 1;
      const pod = await httpPod(url);
      if (pod === expect) {
        seenAt = epochMs();
        break;
      }
    }
    process.stdout.write(JSON.stringify(seenAt === undefined ? { id, error: `no answer from ${expect} before the deadline`, attempts } : { id, seenAt, attempts }) + '\n');
  }
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'connect') await connectMode(rest);
else if (mode === 'watch') await watchMode();
else {
  process.stderr.write('usage: probe.ts connect --targets IP:PORT,... --count N | probe.ts watch\n');
  process.exit(2);
}
