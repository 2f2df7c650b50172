/**
 * The serving threads, from the primary's side. Worker 0 binds first (so a
 * port of 0 becomes a real one), the rest bind the same address with
 * SO_REUSEPORT and the kernel spreads clients over them. The primary runs
 * the informers once and posts every view batch to all workers, in order:
 * one watch on the API whatever the number of workers, and each worker holds
 * only the slim view.
 */
import { Worker } from 'node:worker_threads';
import { UsageError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { StatsSnapshot } from './stats.ts';
import type { ServeConfig } from './serve.ts';
import type { ViewBatch } from './records.ts';

export type ToWorker = { type: 'batch'; batch: ViewBatch } | { type: 'stats'; id: number } | { type: 'loop' } | { type: 'close' };
export type ToPrimary =
  | { type: 'listening'; port: number }
  | { type: 'stats'; id: number; snapshot: StatsSnapshot }
  | { type: 'loop' }
  | { type: 'error'; message: string };

export interface PoolHooks {
  /** A worker saw the loop probe; the others have been told to stop forwarding. */
  onLoop(): void;
  /** A worker died: the server cannot keep its promise to answer, so the caller should stop. */
  onExit(error: Error): void;
}

const statsTimeoutMs = 2000;
/**
 * A worker's young generation. V8's default lets it grow to tens of MiB
 * per thread, and encoding an answer with dns2 makes much short-lived
 * garbage; a small one keeps RSS about 50 MiB lower per worker at the same
 * query rate (bench/dns/README.md).
 */
const youngGenerationMb = 6;

export class WorkerPool {
  readonly port: number;
  readonly #workers: Worker[];
  #statsId = 0;
  #closing = false;

  private constructor(port: number, workers: Worker[]) {
    this.port = port;
    this.#workers = workers;
  }

  static async start(count: number, config: ServeConfig, logger: Logger, hooks: PoolHooks): Promise<WorkerPool> {
    const workers: Worker[] = [];
    let pool: WorkerPool | undefined;
    const spawn = (index: number, port: number) =>
      new Promise<number>((resolve, reject) => {
        const worker = new Worker(new URL('./worker.ts', import.meta.url), {
          workerData: { ...config, port, reusePort: count > 1 } satisfies ServeConfig,
          resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb },
        });
        workers.push(worker);
        worker.on('message', (message: ToPrimary) => {
          if (message.type === 'listening') resolve(message.port);
          else if (message.type === 'error') logger.warn({ worker: index, err: message.message }, 'DNS socket error');
          else if (message.type === 'loop') {
            for (const other of workers) other.postMessage({ type: 'loop' } satisfies ToWorker);
            hooks.onLoop();
          }
        });
        worker.once('error', reject);
        worker.once('exit', (code) => {
          const error = new Error(`DNS worker ${index} exited with code ${code}`);
          reject(error);
          if (pool && !pool.#closing) hooks.onExit(error);
        });
      });
    try {
      const port = await spawn(0, config.port);
      for (let index = 1; index < count; index++) await spawn(index, port);
      pool = new WorkerPool(port, workers);
      return pool;
    } catch (error) {
      await Promise.all(workers.map((worker) => worker.terminate()));
      // A port taken or an address not ours is a problem with --listen: say so in one line.
      const message = (error as Error).message;
      if (/EADDRINUSE|EADDRNOTAVAIL|EACCES/.test(message)) throw new UsageError(`kplane dns: --listen ${config.host}:${config.port}: ${message}`);
      throw error;
    }
  }

  broadcast(batch: ViewBatch): void {
    for (const worker of this.#workers) worker.postMessage({ type: 'batch', batch } satisfies ToWorker);
  }

  /** Every worker's counters; a worker that does not answer in time is left out of this scrape. */
  async stats(): Promise<StatsSnapshot[]> {
    const id = ++this.#statsId;
    const replies = this.#workers.map(
      (worker) =>
        new Promise<StatsSnapshot | undefined>((resolve) => {
          const timer = setTimeout(() => finish(undefined), statsTimeoutMs);
          const onMessage = (message: ToPrimary) => {
            if (message.type === 'stats' && message.id === id) finish(message.snapshot);
          };
          const finish = (snapshot: StatsSnapshot | undefined) => {
            clearTimeout(timer);
            worker.off('message', onMessage);
            resolve(snapshot);
          };
          worker.on('message', onMessage);
          worker.postMessage({ type: 'stats', id } satisfies ToWorker);
        }),
    );
    return (await Promise.all(replies)).filter((snapshot) => snapshot !== undefined);
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(
      this.#workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            // A worker that cannot close its sockets in time is stopped anyway.
            const timer = setTimeout(() => void worker.terminate(), 5000);
            worker.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            worker.postMessage({ type: 'close' } satisfies ToWorker);
          }),
      ),
    );
  }
}
