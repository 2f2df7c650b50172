/**
 * The app every harness pod runs: a standalone Node 24 script (built-ins only)
 * started inside a pod's network namespace:
 *
 *   ip netns exec <pod-ns> node --disable-warning=ExperimentalWarning test/e2e/harness/pod-app.ts \
 *     --name web-1 --namespace default --node node-1 --http 8080 --tcp-echo 9000 --udp-echo 9001 --state-dir DIR
 *
 * HTTP (each --http port):
 *   GET /healthz       200 "ok"
 *   GET /ready         200, or 503 while DIR/not-ready exists (the readiness control)
 *   GET /status/<code> answers that status code with the usual JSON body
 *   anything else      200 JSON {pod, namespace, node, podIP, client, clientIP, clientPort, server,
 *                      path, method, headers, body, env}; `client` is the remote address:port as
 *                      seen by the pod, `env` the environment the kubelet gave the app (service vars)
 * TCP echo (each --tcp-echo port): writes back every byte it receives.
 * UDP echo (each --udp-echo port): answers each datagram with JSON {pod, namespace, node, client, data}.
 *
 * Once every socket listens it writes DIR/listening (JSON with its pid and
 * ports) and a JSON line on stdout. SIGTERM/SIGINT close the sockets and exit 0.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    namespace: { type: 'string', default: 'default' },
    node: { type: 'string', default: '' },
    http: { type: 'string', multiple: true, default: [] },
    'tcp-echo': { type: 'string', multiple: true, default: [] },
    'udp-echo': { type: 'string', multiple: true, default: [] },
    'state-dir': { type: 'string' },
    bind: { type: 'string', default: '0.0.0.0' },
  },
  strict: true,
});

function fail(message: string): never {
  process.stderr.write(`pod-app: ${message}\n`);
  process.exit(2);
}

function ports(flag: string, list: string[]): number[] {
  return list.map((value) => {
    const port = Number(value);
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`--${flag}: not a port: "${value}"`);
    return port;
  });
}

const pod = values.name ?? fail('--name is required');
const namespace = values.namespace;
const node = values.node;
const bind = values.bind;
const stateDir = values['state-dir'];
const httpPorts = ports('http', values.http);
const tcpPorts = ports('tcp-echo', values['tcp-echo']);
const udpPorts = ports('udp-echo', values['udp-echo']);
if (httpPorts.length + tcpPorts.length + udpPorts.length === 0) fail('nothing to serve: give --http, --tcp-echo or --udp-echo');

/** The environment the kubelet gave the app, less the plumbing. */
const env: Record<string, string> = {};
for (const [key, value] of Object.entries(process.env)) {
  if (value !== undefined && key !== 'PATH' && !key.startsWith('NODE_')) env[key] = value;
}

function notReady(): boolean {
  return stateDir !== undefined && existsSync(join(stateDir, 'not-ready'));
}

function address(ip: string | undefined, port: number | undefined): string {
  const host = ip?.startsWith('::ffff:') ? ip.slice(7) : (ip ?? '');
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function plainIp(ip: string | undefined): string {
  return ip?.startsWith('::ffff:') ? ip.slice(7) : (ip ?? '');
}

const MAX_BODY = 64 * 1024;

function answer(req: IncomingMessage, res: ServerResponse, body: string): void {
  const url = req.url ?? '/';
  const path = url.split('?')[0] ?? '/';
  const send = (status: number, payload: string, type = 'application/json') => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(payload), 'x-pod': pod });
    res.end(payload);
  };
  if (path === '/healthz') return send(200, 'ok\n', 'text/plain');
  if (path === '/ready') {
    const ready = !notReady();
    return send(ready ? 200 : 503, JSON.stringify({ pod, ready }) + '\n');
  }
  const statusMatch = /^\/status\/(\d{3})$/.exec(path);
  const status = statusMatch ? Number(statusMatch[1]) : 200;
  const socket = req.socket;
  const report = {
    pod,
    namespace,
    node,
    podIP: plainIp(socket.localAddress),
    client: address(socket.remoteAddress, socket.remotePort),
    clientIP: plainIp(socket.remoteAddress),
    clientPort: socket.remotePort,
    server: address(socket.localAddress, socket.localPort),
    path: url,
    method: req.method,
    headers: req.headers,
    body,
    env,
  };
  send(status, JSON.stringify(report) + '\n');
}

function listenHttp(port: number): Promise<HttpServer> {
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => answer(req, res, Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => res.destroy());
  });
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, bind, () => resolve(server));
  });
}

function listenTcpEcho(port: number): Promise<TcpServer> {
  const server = createTcpServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.setTimeout(60_000, () => socket.destroy());
    socket.pipe(socket);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, bind, () => resolve(server));
  });
}

function listenUdpEcho(port: number): Promise<UdpSocket> {
  const socket = createSocket('udp4');
  socket.on('message', (message, remote) => {
    const reply = JSON.stringify({ pod, namespace, node, client: address(remote.address, remote.port), data: message.toString('utf8') });
    socket.send(reply, remote.port, remote.address);
  });
  socket.on('error', (error) => process.stderr.write(`pod-app: udp ${port}: ${error.message}\n`));
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, bind, () => resolve(socket));
  });
}

async function main(): Promise<void> {
  const servers: (HttpServer | TcpServer)[] = [];
  const sockets: UdpSocket[] = [];
  try {
    for (const port of httpPorts) servers.push(await listenHttp(port));
    for (const port of tcpPorts) servers.push(await listenTcpEcho(port));
    for (const port of udpPorts) sockets.push(await listenUdpEcho(port));
  } catch (error) {
    fail(`cannot listen: ${error instanceof Error ? error.message : String(error)}`);
  }
  const stop = (signal: string) => {
    process.stdout.write(JSON.stringify({ msg: 'stopping', pod, signal }) + '\n');
    for (const server of servers) {
      server.close();
      if ('closeAllConnections' in server) server.closeAllConnections();
    }
    for (const socket of sockets) socket.close();
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  const listening = { msg: 'listening', pod, namespace, node, pid: process.pid, http: httpPorts, tcpEcho: tcpPorts, udpEcho: udpPorts };
  if (stateDir !== undefined) {
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(join(stateDir, 'listening'), JSON.stringify(listening) + '\n');
  }
  process.stdout.write(JSON.stringify(listening) + '\n');
}

await main();
