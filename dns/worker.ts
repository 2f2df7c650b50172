/**
 * A serving thread: one `serve` instance on the shared address, fed the
 * view batches the primary posts. It answers the primary's requests for
 * statistics and tells it when the loop probe comes back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { serve, type ServeConfig } from './serve.ts';
import type { ToPrimary, ToWorker } from './workers.ts';

const port = parentPort;
if (!port) throw new Error('dns/worker.ts runs as a worker thread');
const post = (message: ToPrimary) => port.postMessage(message);

// Socket errors can come in storms (ENOBUFS under load): report at most one a second.
let lastError = 0;
const serving = await serve(workerData as ServeConfig, {
  onLoop: () => post({ type: 'loop' }),
  onError: (error) => {
    if (Date.now() - lastError < 1000) return;
    lastError = Date.now();
    post({ type: 'error', message: error.message });
  },
});
port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'batch':
      serving.apply(message.batch);
      break;
    case 'stats':
      post({ type: 'stats', id: message.id, snapshot: serving.stats.snapshot() });
      break;
    case 'loop':
      serving.disableForwarding();
      break;
    case 'close':
      void serving.close().then(() => port.close());
      break;
  }
});
post({ type: 'listening', port: serving.port });
