/**
 * The sockets: a UDP socket and a TCP listener on the same address and
 * port, feeding every message to a handler and writing back what it
 * returns. With reusePort, several workers bind the same address and the
 * kernel spreads clients across them (SO_REUSEPORT). Nothing here
 * interprets DNS beyond TCP's two-byte length framing.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Proto, Reply } from './handler.ts';

export type Handle = (message: Buffer, proto: Proto, family: 1 | 2) => Reply;

export interface DnsListenOptions {
  host: string;
  /** 0 picks a port free for both UDP and TCP. */
  port: number;
  reusePort: boolean;
  /** Socket errors other than at bind time; they are reported, never fatal. */
  onError?: (error: Error) => void;
}

export interface DnsListener {
  port: number;
  close(): Promise<void>;
}

/** How long a TCP connection may sit idle between queries (RFC 7766 asks for seconds, not minutes). */
const tcpIdleMs = 10_000;
/** Replies a TCP client may leave unread before it is disconnected. */
const maxUnreadBytes = 1024 * 1024;
/** Room for bursts: a dnsperf-sized burst must not overflow the default socket buffer. */
const udpBufferBytes = 4 * 1024 * 1024;

/**
 * Replies go to the sender's address, always an IP literal; dgram's default
 * lookup would still check it and defer each send a tick (about a tenth of
 * the cost of a reply).
 */
const literalLookup = ((address: string, family: number, callback: (error: Error | null, address: string, family: number) => void) =>
  callback(null, address, family)) as unknown as dgram.SocketOptions['lookup'];

function bindUdp(options: DnsListenOptions, port: number, handle: Handle): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: net.isIPv6(options.host) ? 'udp6' : 'udp4', reusePort: options.reusePort, lookup: literalLookup });
  socket.on('message', (message, remote) => {
    const reply = handle(message, 'udp', remote.family === 'IPv6' ? 2 : 1);
    if (reply === undefined) return;
    if (reply instanceof Promise) {
      void reply.then((buffer) => buffer && socket.send(buffer, remote.port, remote.address));
      return;
    }
    socket.send(reply, remote.port, remote.address);
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, options.host, () => {
      socket.off('error', reject);
      socket.on('error', (error) => options.onError?.(error));
      try {
        socket.setRecvBufferSize(udpBufferBytes);
        socket.setSendBufferSize(udpBufferBytes);
      } catch (error) {
        // The kernel may cap buffer sizes (net.core.rmem_max); the defaults still work.
        options.onError?.(error as Error);
      }
      resolve(socket);
    });
  });
}

function serveTcpConnection(socket: net.Socket, handle: Handle): void {
  const family = socket.remoteFamily === 'IPv6' ? 2 : 1;
  let pending: Buffer = Buffer.alloc(0);
  socket.setTimeout(tcpIdleMs, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  const write = (reply: Buffer | undefined) => {
    if (!reply || socket.destroyed) return;
    // A client that sends queries but never reads its replies would have them pile up here.
    if (socket.writableLength > maxUnreadBytes) {
      socket.destroy();
      return;
    }
    const framed = Buffer.allocUnsafe(2 + reply.length);
    framed.writeUInt16BE(reply.length, 0);
    reply.copy(framed, 2);
    socket.write(framed);
  };
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const length = pending.readUInt16BE(0);
      if (pending.length < 2 + length) break;
      const message = pending.subarray(2, 2 + length);
      pending = pending.subarray(2 + length);
      const reply = handle(message, 'tcp', family);
      if (reply instanceof Promise) void reply.then(write);
      else write(reply);
    }
  });
}

function listenTcp(options: DnsListenOptions, port: number, handle: Handle): Promise<net.Server> {
  const server = net.createServer((socket) => serveTcpConnection(socket, handle));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port, reusePort: options.reusePort }, () => {
      server.off('error', reject);
      server.on('error', (error) => options.onError?.(error));
      resolve(server);
    });
  });
}

export async function listenDns(options: DnsListenOptions, handle: Handle): Promise<DnsListener> {
  // With port 0 the UDP port is picked first; if TCP has that port taken elsewhere, pick again.
  for (let attempt = 0; ; attempt++) {
    const udp = await bindUdp(options, options.port, handle);
    const port = udp.address().port;
    try {
      const tcp = await listenTcp(options, port, handle);
      const connections = new Set<net.Socket>();
      tcp.on('connection', (socket) => {
        connections.add(socket);
        socket.once('close', () => connections.delete(socket));
      });
      return {
        port,
        async close() {
          await new Promise<void>((resolve) => udp.close(() => resolve()));
          for (const socket of connections) socket.destroy();
          await new Promise<void>((resolve) => tcp.close(() => resolve()));
        },
      };
    } catch (error) {
      udp.close();
      if (options.port !== 0 || attempt >= 10 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
}
