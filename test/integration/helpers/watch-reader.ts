/**
 * Reads a watch response line by line, so a test can wait for the next
 * event with a bounded timeout instead of sleeping.
 */
import { request } from 'undici';

export interface WatchReader {
  status: number;
  contentType: string;
  next(timeoutMs?: number): Promise<{ type: string; object: Record<string, any> }>;
  close(): void;
}

export async function openWatch(url: string, headers: Record<string, string> = {}): Promise<WatchReader> {
  const controller = new AbortController();
  const response = await request(url, { signal: controller.signal, headers });
  const queue: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  let buffer = '';
  response.body.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      const waiter = waiters.shift();
      if (waiter) waiter(line);
      else queue.push(line);
    }
  });
  response.body.on('error', () => {});
  return {
    status: response.statusCode,
    contentType: String(response.headers['content-type']),
    next(timeoutMs = 5000) {
      const queued = queue.shift();
      if (queued !== undefined) return Promise.resolve(JSON.parse(queued));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no watch event within ${timeoutMs} ms`)), timeoutMs);
        waiters.push((line) => {
          clearTimeout(timer);
          resolve(JSON.parse(line));
        });
      });
    },
    close: () => controller.abort(),
  };
}
