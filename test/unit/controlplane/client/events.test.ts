import { pino } from 'pino';
import { describe, expect, onTestFinished, test, vi } from 'vitest';
import type { Event, KubeObject } from '../../../../controlplane/api/types.ts';
import { EventRecorder, type EventRecorderOptions } from '../../../../controlplane/client/events.ts';
import { createHttpClient } from '../../../../controlplane/client/http-client.ts';
import { replyJson, startServer, type RecordedRequest } from './fake-api-server.ts';

const web: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'shop', name: 'web', uid: 'uid-web', resourceVersion: '7' } };
const node: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', uid: 'uid-node-1', resourceVersion: '3' } };

const notFound = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'NotFound', code: 404 };

/** The wall clock the recorder sees, moved by the test; timers stay real so sockets work. */
function fakeClock(start: string) {
  vi.useFakeTimers({ toFake: ['Date'] });
  onTestFinished(() => void vi.useRealTimers());
  vi.setSystemTime(new Date(start));
  return (to: string) => vi.setSystemTime(new Date(to));
}

async function setup(reply: (request: RecordedRequest) => [number, unknown] = (request) => [201, JSON.parse(request.body)], options: Partial<EventRecorderOptions> = {}) {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const server = await startServer((request, response) => replyJson(response, ...reply(request)));
  const client = createHttpClient({ server: server.server });
  onTestFinished(() => client.close());
  const recorder = new EventRecorder(client, { component: 'kplane-proxy', host: 'node-1', logger, repeatIntervalMs: 60_000, ...options });
  const writes = () => server.requests.map((request) => `${request.method} ${request.path}`);
  return { recorder, server, writes, lines };
}

describe('EventRecorder', () => {
  test('creates one Warning Event for a burst of identical warnings', async () => {
    fakeClock('2025-03-01T10:00:00.250Z');
    const { recorder, server, writes } = await setup();
    for (let i = 0; i < 50; i += 1) recorder.warn(web, 'InvalidPort', 'port 0 is not valid');
    await recorder.flush();
    expect(writes()).toEqual(['POST /api/v1/namespaces/shop/events']);
    const event = JSON.parse(server.requests[0]?.body ?? '') as Event;
    expect(event.metadata.name).toMatch(/^web\.[0-9a-f]{16}$/);
    expect(event).toEqual({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: event.metadata.name, namespace: 'shop' },
      involvedObject: { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'web', uid: 'uid-web', resourceVersion: '7' },
      reason: 'InvalidPort',
      message: 'port 0 is not valid',
      type: 'Warning',
      source: { component: 'kplane-proxy', host: 'node-1' },
      firstTimestamp: '2025-03-01T10:00:00Z',
      lastTimestamp: '2025-03-01T10:00:00Z',
      count: 1,
      reportingComponent: 'kplane-proxy',
      reportingInstance: 'node-1',
    });
  });

  test('after the repeat interval, patches the same Event with the count of every repeat', async () => {
    const moveClock = fakeClock('2025-03-01T10:00:00Z');
    const { recorder, server, writes } = await setup();
    for (let i = 0; i < 5; i += 1) recorder.warn(web, 'InvalidPort', 'port 0 is not valid');
    await recorder.flush();
    moveClock('2025-03-01T10:00:59Z');
    recorder.warn(web, 'InvalidPort', 'port 0 is not valid');
    await recorder.flush();
    moveClock('2025-03-01T10:01:00Z');
    recorder.warn(web, 'InvalidPort', 'port 0 is not valid');
    await recorder.flush();
    const name = (JSON.parse(server.requests[0]?.body ?? '') as Event).metadata.name;
    expect(writes()).toEqual(['POST /api/v1/namespaces/shop/events', `PATCH /api/v1/namespaces/shop/events/${name}`]);
    expect(server.requests[1]?.headers['content-type']).toBe('application/merge-patch+json');
    expect(JSON.parse(server.requests[1]?.body ?? '')).toEqual({ count: 7, lastTimestamp: '2025-03-01T10:01:00Z' });
  });

  test('keeps separate Events per reason and message, and puts cluster-scoped objects in default', async () => {
    const { recorder, server, writes } = await setup();
    recorder.warn(web, 'InvalidPort', 'port 0 is not valid');
    recorder.warn(web, 'InvalidPort', 'port 70000 is not valid');
    recorder.warn(web, 'NoEndpoints', 'port 0 is not valid');
    recorder.warn(node, 'NoPodCIDR', 'node has no podCIDR');
    await recorder.flush();
    expect(writes()).toEqual([
      'POST /api/v1/namespaces/shop/events',
      'POST /api/v1/namespaces/shop/events',
      'POST /api/v1/namespaces/shop/events',
      'POST /api/v1/namespaces/default/events',
    ]);
    expect((JSON.parse(server.requests[3]?.body ?? '') as Event).involvedObject).toEqual({ apiVersion: 'v1', kind: 'Node', name: 'node-1', uid: 'uid-node-1', resourceVersion: '3' });
  });

  test('logs a failed write instead of throwing, and creates the Event on a later repeat', async () => {
    const moveClock = fakeClock('2025-03-01T10:00:00Z');
    let fail = true;
    const { recorder, writes, lines } = await setup((request) => (fail ? [500, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'InternalError', message: 'disk full', code: 500 }] : [201, JSON.parse(request.body)]));
    expect(() => recorder.warn(web, 'InvalidPort', 'port 0 is not valid')).not.toThrow();
    await recorder.flush();
    expect(lines.filter((line) => line['msg'] === 'cannot record event').map((line) => (line['err'] as { message: string }).message)).toEqual(['disk full']);
    fail = false;
    moveClock('2025-03-01T10:01:00Z');
    recorder.warn(web, 'InvalidPort', 'port 0 is not valid');
    await recorder.flush();
    expect(writes()).toEqual(['POST /api/v1/namespaces/shop/events', 'POST /api/v1/namespaces/shop/events']);
  });

  test('recreates an Event that expired on the server', async () => {
    const moveClock = fakeClock('2025-03-01T10:00:00Z');
    const { recorder, server, writes } = await setup((request) => (request.method === 'PATCH' ? [404, notFound] : [201, JSON.parse(request.body)]));
    recorder.warn(web, 'InvalidPort', 'port 0 is not valid');
    await recorder.flush();
    moveClock('2025-03-01T11:30:00Z');
    recorder.warn(web, 'InvalidPort', 'port 0 is not valid');
    await recorder.flush();
    expect(writes().map((write) => write.split('/events')[0])).toEqual(['POST /api/v1/namespaces/shop', 'PATCH /api/v1/namespaces/shop', 'POST /api/v1/namespaces/shop']);
    expect(JSON.parse(server.requests[2]?.body ?? '')).toMatchObject({ count: 2, firstTimestamp: '2025-03-01T10:00:00Z', lastTimestamp: '2025-03-01T11:30:00Z' });
  });

  test('forgets the least recently used warning beyond maxTracked', async () => {
    const { recorder, writes } = await setup(undefined, { maxTracked: 2 });
    recorder.warn(web, 'A', 'a');
    recorder.warn(web, 'B', 'b');
    recorder.warn(web, 'A', 'a');
    recorder.warn(web, 'C', 'c');
    recorder.warn(web, 'A', 'a');
    recorder.warn(web, 'B', 'b');
    await recorder.flush();
    // A stayed in use and was remembered; B was evicted by C, so it is reported afresh.
    expect(writes()).toHaveLength(4);
  });
});
