/**
 * What the DNS benchmarks share: a seeded random source, filling an API
 * store with services, a free port, process memory, and timing a change
 * made through the API until DNS answers show it.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { HttpApiClient } from '../../controlplane/client/http-client.ts';
import { refs } from '../../controlplane/client/types.ts';
import { RRType } from '../../dns/rr.ts';
import { makeNamespace, makeService, makeSlice } from '../../test/unit/dns/fixtures.ts';
import { decodeReply, queryBytes } from '../../test/unit/dns/wire-client.ts';

export const namespace = 'bench';
export const zone = 'cluster.local';

/** mulberry32, seeded: the same sequence every run. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function inParallel(count: number, concurrency: number, work: (index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await work(next++);
  }));
}

/** `services` ClusterIP services svc-N and `headless` headless services hdl-N with 3 ready endpoints each. */
export async function populate(client: HttpApiClient, services: number, headless: number): Promise<void> {
  await client.create(refs.namespaces, makeNamespace(namespace));
  await inParallel(services, 32, (index) => client.create(refs.services, makeService(namespace, `svc-${index}`, { type: 'ClusterIP', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] })));
  await inParallel(headless, 32, async (index) => {
    await client.create(refs.services, makeService(namespace, `hdl-${index}`, { clusterIP: 'None', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }));
    const ips = [1, 2, 3].map((host) => ({ ip: `10.244.${Math.floor(index / 80)}.${(index % 80) * 3 + host}` }));
    await client.create(refs.endpointslices, makeSlice(namespace, `hdl-${index}`, `hdl-${index}-a`, 'IPv4', ips));
  });
}

export function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/**
 * Asks `name` from `sockets` client sockets at once (distinct source ports,
 * so SO_REUSEPORT spreads them over every worker) until all of them see
 * `done`; returns the milliseconds since `write` started.
 */
export async function visibility(port: number, name: string, sockets: number, write: () => Promise<unknown>, done: (rcode: number, answers: number) => boolean): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: sockets }, () => new Promise<dgram.Socket>((resolve) => {
      const socket = dgram.createSocket('udp4');
      socket.bind(0, '127.0.0.1', () => resolve(socket));
    })),
  );
  const seen = new Set<dgram.Socket>();
  for (const socket of clients) {
    socket.on('message', (reply) => {
      const decoded = decodeReply(reply);
      if (done(decoded.rcode, decoded.answer.length)) seen.add(socket);
    });
  }
  const started = performance.now();
  try {
    await write();
    while (seen.size < clients.length) {
      if (performance.now() - started > 10_000) throw new Error(`${name} did not change within 10 s`);
      for (const socket of clients) if (!seen.has(socket)) socket.send(queryBytes({ name, type: RRType.A }), port, '127.0.0.1');
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    return performance.now() - started;
  } finally {
    for (const socket of clients) socket.close();
  }
}
