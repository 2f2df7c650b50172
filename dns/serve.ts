/**
 * One serving instance: a view, its answer cache, a forwarder, the query
 * handler and the sockets, fed by view batches. Each worker thread runs
 * one (worker.ts); tests run one in process.
 */
import type { AnswerOptions } from './answer.ts';
import { AnswerCache } from './answer-cache.ts';
import { Forwarder, type ForwardOptions } from './forward.ts';
import { QueryHandler } from './handler.ts';
import { applyBatch, Records, type ViewBatch } from './records.ts';
import { listenDns } from './server.ts';
import { QueryStats } from './stats.ts';

export interface ServeConfig {
  host: string;
  port: number;
  /** Share the address with the other workers (SO_REUSEPORT). */
  reusePort: boolean;
  answer: AnswerOptions;
  forward: ForwardOptions;
  maxUdpSize: number;
  /** How many encoded answers to keep. */
  cacheCapacity: number;
  loopProbeName: string;
}

export interface ServeHooks {
  /** The loop probe came back: this instance has stopped forwarding. */
  onLoop(): void;
  onError(error: Error): void;
}

export interface Serving {
  port: number;
  records: Records;
  stats: QueryStats;
  apply(batch: ViewBatch): void;
  /** A loop seen elsewhere: stop forwarding here too. */
  disableForwarding(): void;
  close(): Promise<void>;
}

/** 1232 bytes: the EDNS buffer size of DNS flag day 2020, CoreDNS's bufsize default. */
export const maxUdpSize = 1232;
export const answerCacheCapacity = 100_000;

export async function serve(config: ServeConfig, hooks: ServeHooks): Promise<Serving> {
  const records = new Records();
  const cache = new AnswerCache(config.cacheCapacity);
  const stats = new QueryStats(`${config.answer.zone}.`);
  const forwarder = new Forwarder(config.forward, {
    exchange: (upstream, rcode, seconds) => stats.forward(upstream, rcode, seconds),
    cache: (hit, denial) => stats.cache('forward', hit, denial),
    refused: () => (stats.forwardRejects += 1),
  });
  const handler = new QueryHandler(records, { answer: config.answer, maxUdpSize: config.maxUdpSize, loopProbeName: config.loopProbeName, onLoop: hooks.onLoop }, cache, forwarder, stats);
  const listener = await listenDns({ host: config.host, port: config.port, reusePort: config.reusePort, onError: hooks.onError }, (message, proto, family) =>
    handler.handle(message, proto, family),
  );
  return {
    port: listener.port,
    records,
    stats,
    apply(batch) {
      cache.invalidate(applyBatch(records, batch));
    },
    disableForwarding() {
      forwarder.disable();
      stats.loopDetected = true;
    },
    async close() {
      forwarder.close();
      await listener.close();
    },
  };
}
