/**
 * Forwarding for names the cluster does not own, as CoreDNS's forward and
 * cache plugins do it together:
 *
 * - Upstreams come from --upstream or resolv.conf (parseResolvConf). One is
 *   picked at random among the healthy; an upstream that fails maxFails
 *   exchanges in a row is taken out and probed with ". IN NS" until it
 *   answers. When all are down, a random one is still tried.
 * - UDP first; a truncated reply is asked again over TCP, so the cache holds
 *   whole answers and each client gets them cut to its own size.
 * - Replies are cached (NOERROR and NXDOMAIN) for their TTL, capped
 *   separately for positive and negative answers, with TTLs counted down
 *   when served. Identical questions in flight share one exchange.
 * - Past maxConcurrent exchanges in flight, queries are REFUSED.
 * - Loops: upstreams that are this server's own address are dropped at
 *   start (selfAddresses); a loop through another resolver is found by a
 *   probe name sent upstream that must never come back (probeForLoops), after
 *   which forwarding is disabled and queries are REFUSED.
 */
import { randomBytes, randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { Packet, type Resource } from 'dns2';
import { canonicalIp } from './ip.ts';
import { nameKey, ownBuffer, type Encoded } from './packet.ts';
import { Rcode, rcodeName, RRClass, RRType } from './rr.ts';

export interface Upstream {
  host: string;
  port: number;
}

export interface ForwardOptions {
  upstreams: readonly Upstream[];
  /** How long one attempt waits for a reply. */
  timeoutMs: number;
  /** Exchanges in flight past which queries are REFUSED (CoreDNS max_concurrent). */
  maxConcurrent: number;
  /** Consecutive failures that take an upstream out until a health check passes. */
  maxFails: number;
  healthCheckMs: number;
  cacheCapacity: number;
  /** Caps on how long answers are cached: positive, negative, and the floor for both. */
  maxTtl: number;
  maxNegativeTtl: number;
  minTtl: number;
  /** The EDNS UDP size sent upstream. */
  udpSize: number;
}

/** CoreDNS's forward defaults, and the cache of the default Kubernetes Corefile ("cache 30"). */
export const forwardDefaults = {
  timeoutMs: 2000,
  maxConcurrent: 1000,
  maxFails: 2,
  healthCheckMs: 500,
  cacheCapacity: 10_000,
  maxTtl: 30,
  maxNegativeTtl: 30,
  minTtl: 5,
  udpSize: 1232,
} as const satisfies Omit<ForwardOptions, 'upstreams'>;

export interface ForwardHooks {
  /** One upstream exchange finished: rcode is the reply's, or "timeout"/"error". */
  exchange?(upstream: string, rcode: string, seconds: number): void;
  /** A cache lookup; denial: the hit was NXDOMAIN or no data. */
  cache?(hit: boolean, denial: boolean): void;
  refused?(): void;
}

/** The question part of a query, as sent on the wire. */
export interface WireQuestion {
  /** Name, type and class bytes. */
  bytes: Buffer;
  /** Type, class and the folded name (questionKey): identifies the question. */
  key: string;
  dnssecOk: boolean;
  checkingDisabled: boolean;
}

export type ForwardResult = { kind: 'reply'; encoded: Encoded; age: number } | { kind: 'refused' } | { kind: 'failed' };

/** Nameserver addresses from resolv.conf text, in order, at most 15 (CoreDNS's limit). */
export function parseResolvConf(text: string): Upstream[] {
  const upstreams: Upstream[] = [];
  for (const line of text.split('\n')) {
    const [keyword, address] = line.trim().split(/\s+/);
    if (keyword !== 'nameserver' || address === undefined) continue;
    const ip = canonicalIp(address.replace(/%.*$/, ''));
    if (ip !== undefined) upstreams.push({ host: ip, port: 53 });
  }
  return upstreams.slice(0, 15);
}

/**
 * Splits upstreams into usable ones and those that are this server itself:
 * same port, and the same address or one of `localAddresses` when the
 * server listens on a wildcard address.
 */
export function withoutSelf(upstreams: readonly Upstream[], listen: Upstream, localAddresses: readonly string[]): { usable: Upstream[]; self: Upstream[] } {
  const wildcard = listen.host === '0.0.0.0' || listen.host === '::';
  const own = new Set(wildcard ? localAddresses.map((ip) => canonicalIp(ip) ?? ip) : [canonicalIp(listen.host) ?? listen.host]);
  const usable: Upstream[] = [];
  const self: Upstream[] = [];
  for (const upstream of upstreams) (upstream.port === listen.port && own.has(canonicalIp(upstream.host) ?? upstream.host) ? self : usable).push(upstream);
  return { usable, self };
}

/** "type/class/folded wire name" for the question at the start of `bytes` (after the header in a message). */
export function questionKey(bytes: Buffer, start: number): string | undefined {
  const nameEnd = skipName(bytes, start);
  if (nameEnd < 0 || nameEnd + 4 > bytes.length) return undefined;
  return `${bytes.readUInt16BE(nameEnd)}/${bytes.readUInt16BE(nameEnd + 2)}/${nameKey(bytes, start, nameEnd)}`;
}

/** A question in wire form for a name in text form (lower case, no trailing dot). */
export function wireQuestion(name: string, type: number, dnssecOk = false, checkingDisabled = false): WireQuestion {
  const labels = name === '' ? [] : name.split('.');
  const bytes = Buffer.alloc(labels.reduce((sum, label) => sum + 1 + Buffer.byteLength(label, 'latin1'), 1) + 4);
  let offset = 0;
  for (const label of labels) {
    bytes[offset] = Buffer.byteLength(label, 'latin1');
    offset += 1 + bytes.write(label, offset + 1, 'latin1');
  }
  bytes[offset] = 0;
  bytes.writeUInt16BE(type, offset + 1);
  bytes.writeUInt16BE(RRClass.IN, offset + 3);
  return { bytes, key: `${type}/${RRClass.IN}/${nameKey(bytes, 0, offset + 1)}`, dnssecOk, checkingDisabled };
}

function queryMessage(id: number, question: WireQuestion, udpSize: number): Buffer {
  const message = Buffer.alloc(12 + question.bytes.length + 11);
  message.writeUInt16BE(id, 0);
  message[2] = 0x01; // RD: upstreams are recursive resolvers
  message[3] = question.checkingDisabled ? 0x10 : 0;
  message.writeUInt16BE(1, 4);
  message.writeUInt16BE(1, 10);
  question.bytes.copy(message, 12);
  const opt = 12 + question.bytes.length;
  message.writeUInt16BE(RRType.OPT, opt + 1);
  message.writeUInt16BE(udpSize, opt + 3);
  message[opt + 7] = question.dnssecOk ? 0x80 : 0;
  return message;
}

function skipName(buffer: Buffer, offset: number): number {
  let position = offset;
  for (let guard = 0; guard < 128 && position < buffer.length; guard++) {
    const length = buffer[position] as number;
    if (length === 0) return position + 1;
    if ((length & 0xc0) === 0xc0) return position + 2;
    if ((length & 0xc0) !== 0) return -1;
    position += 1 + length;
  }
  return -1;
}

interface Stored {
  encoded: Encoded;
  /** How long the reply may be served from the cache, in seconds. */
  lifetime: number;
}

/**
 * An upstream reply as a cacheable encoding: the OPT record cut off (each
 * client gets its own), counts fixed, TTL positions noted. Undefined when
 * the reply does not answer `question` or cannot be walked.
 */
export function storedReply(reply: Buffer, question: WireQuestion, options: Pick<ForwardOptions, 'maxTtl' | 'maxNegativeTtl' | 'minTtl'>): Stored | undefined {
  if (reply.length < 12 || reply.readUInt16BE(4) !== 1) return undefined;
  const questionEnd = 12 + question.bytes.length;
  if (questionKey(reply, 12) !== question.key) return undefined;
  const counts: [number, number, number] = [reply.readUInt16BE(6), reply.readUInt16BE(8), reply.readUInt16BE(10)];
  const rcode = (reply[3] as number) & 0xf;
  const ends: number[] = [];
  const offsets: number[] = [];
  const ttls: number[] = [];
  let answerTtl = Infinity;
  let negativeTtl = Infinity;
  let position = questionEnd;
  let kept = 0;
  const total = counts[0] + counts[1] + counts[2];
  for (let index = 0; index < total; index++) {
    const nameEnd = skipName(reply, position);
    if (nameEnd < 0 || nameEnd + 10 > reply.length) return undefined;
    const type = reply.readUInt16BE(nameEnd);
    const end = nameEnd + 10 + reply.readUInt16BE(nameEnd + 8);
    if (end > reply.length) return undefined;
    // The OPT record belongs to this exchange; it ends the records kept.
    if (type === RRType.OPT) break;
    const ttl = reply.readUInt32BE(nameEnd + 4);
    if (index < counts[0]) answerTtl = Math.min(answerTtl, ttl);
    else if (index < counts[0] + counts[1] && type === RRType.SOA) negativeTtl = Math.min(ttl, reply.readUInt32BE(end - 4));
    offsets.push(nameEnd + 4);
    ttls.push(ttl);
    ends.push(end);
    kept += 1;
    position = end;
  }
  const negative = rcode === Rcode.NXDOMAIN || counts[0] === 0;
  const ttl = negative ? Math.min(negativeTtl, options.maxNegativeTtl) : Math.min(answerTtl, options.maxTtl);
  const lifetime = Math.max(options.minTtl, Number.isFinite(ttl) ? ttl : 0);
  const cut = kept === 0 ? questionEnd : (ends[kept - 1] as number);
  const bytes = ownBuffer(reply.subarray(0, cut));
  const answers = Math.min(kept, counts[0]);
  const authority = Math.min(kept - answers, counts[1]);
  const kept3: [number, number, number] = [answers, authority, kept - answers - authority];
  bytes.writeUInt16BE(kept3[0], 6);
  bytes.writeUInt16BE(kept3[1], 8);
  bytes.writeUInt16BE(kept3[2], 10);
  return {
    lifetime,
    encoded: {
      bytes,
      questionEnd,
      ends,
      counts: kept3,
      rcode,
      // AA, RA and AD as the upstream set them.
      flags: reply.readUInt16BE(2) & 0x04a0,
      serialOffsets: [],
      ttls: { offsets, values: ttls.map((value) => Math.min(value, lifetime)) },
    },
  };
}

interface UpstreamState {
  upstream: Upstream;
  label: string;
  fails: number;
  healthy: boolean;
  healthTimer: NodeJS.Timeout | undefined;
}

interface Pending {
  upstream: UpstreamState;
  question: WireQuestion;
  resolve(reply: Buffer | undefined): void;
  timer: NodeJS.Timeout;
}

export class Forwarder {
  readonly #options: ForwardOptions;
  readonly #hooks: ForwardHooks;
  readonly #now: () => number;
  readonly #upstreams: UpstreamState[];
  readonly #cache = new Map<string, { stored: Stored; at: number }>();
  readonly #inFlight = new Map<string, Promise<ForwardResult>>();
  readonly #pending = new Map<number, Pending>();
  #sockets: { udp4?: dgram.Socket; udp6?: dgram.Socket } = {};
  #exchanges = 0;
  #disabled = false;
  #closed = false;

  constructor(options: ForwardOptions, hooks: ForwardHooks = {}, now: () => number = Date.now) {
    this.#options = options;
    this.#hooks = hooks;
    this.#now = now;
    this.#upstreams = options.upstreams.map((upstream) => ({
      upstream,
      label: upstream.host.includes(':') ? `[${upstream.host}]:${upstream.port}` : `${upstream.host}:${upstream.port}`,
      fails: 0,
      healthy: true,
      healthTimer: undefined,
    }));
  }

  /** A forwarding loop was found: from now on every query is refused. */
  disable(): void {
    this.#disabled = true;
  }

  get disabled(): boolean {
    return this.#disabled;
  }

  async resolve(question: WireQuestion): Promise<ForwardResult> {
    if (this.#disabled || this.#upstreams.length === 0) return { kind: 'refused' };
    const key = `${question.dnssecOk ? 1 : 0}${question.checkingDisabled ? 1 : 0}${question.key}`;
    const cached = this.#cache.get(key);
    if (cached) {
      const age = Math.floor((this.#now() - cached.at) / 1000);
      if (age < cached.stored.lifetime) {
        const encoded = cached.stored.encoded;
        this.#hooks.cache?.(true, encoded.rcode !== Rcode.NOERROR || encoded.counts[0] === 0);
        return { kind: 'reply', encoded: cached.stored.encoded, age };
      }
      this.#cache.delete(key);
    }
    this.#hooks.cache?.(false, false);
    const joined = this.#inFlight.get(key);
    if (joined) return joined;
    if (this.#exchanges >= this.#options.maxConcurrent) {
      this.#hooks.refused?.();
      return { kind: 'refused' };
    }
    const exchange = this.#exchange(question).then((stored): ForwardResult => {
      this.#inFlight.delete(key);
      if (!stored) return { kind: 'failed' };
      const rcode = stored.encoded.rcode;
      if (rcode === Rcode.NOERROR || rcode === Rcode.NXDOMAIN) {
        if (this.#cache.size >= this.#options.cacheCapacity) {
          const oldest = this.#cache.keys().next();
          if (!oldest.done) this.#cache.delete(oldest.value);
        }
        this.#cache.set(key, { stored, at: this.#now() });
      }
      return { kind: 'reply', encoded: stored.encoded, age: 0 };
    });
    this.#inFlight.set(key, exchange);
    return exchange;
  }

  /**
   * The answer records for a name, from the cache or upstream, as an
   * ExternalName target needs them; undefined when the lookup fails.
   */
  async lookup(name: string, type: number): Promise<Resource[] | undefined> {
    const result = await this.resolve(wireQuestion(name, type));
    if (result.kind !== 'reply') return undefined;
    const packet = Packet.parse(result.encoded.bytes);
    const ttls = result.encoded.ttls?.values ?? [];
    return packet.answers.map((record, index) => ({ ...record, ttl: Math.max(0, (ttls[index] ?? record.ttl) - result.age) }));
  }

  close(): void {
    this.#closed = true;
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.resolve(undefined);
    }
    this.#pending.clear();
    for (const state of this.#upstreams) clearInterval(state.healthTimer);
    this.#sockets.udp4?.close();
    this.#sockets.udp6?.close();
    this.#sockets = {};
  }

  /** Up to three upstreams in turn; a reply of any rcode ends it. */
  async #exchange(question: WireQuestion): Promise<Stored | undefined> {
    this.#exchanges += 1;
    try {
      const tried = new Set<UpstreamState>();
      for (let attempt = 0; attempt < Math.min(3, this.#upstreams.length) && !this.#closed; attempt++) {
        const state = this.#pick(tried);
        tried.add(state);
        const started = performance.now();
        let reply = await this.#udp(state, question);
        if (reply && ((reply[2] as number) & 0x02) !== 0) reply = await this.#tcp(state, question);
        const stored = reply && storedReply(reply, question, this.#options);
        const seconds = (performance.now() - started) / 1000;
        if (!stored) {
          this.#hooks.exchange?.(state.label, reply ? 'error' : 'timeout', seconds);
          this.#failed(state);
          continue;
        }
        this.#hooks.exchange?.(state.label, rcodeName(stored.encoded.rcode), seconds);
        state.fails = 0;
        return stored;
      }
      return undefined;
    } finally {
      this.#exchanges -= 1;
    }
  }

  #pick(tried: Set<UpstreamState>): UpstreamState {
    const untried = this.#upstreams.filter((state) => !tried.has(state));
    const healthy = untried.filter((state) => state.healthy);
    const from = healthy.length > 0 ? healthy : untried;
    return from[randomInt(from.length)] as UpstreamState;
  }

  #failed(state: UpstreamState): void {
    state.fails += 1;
    if (state.fails < this.#options.maxFails || !state.healthy) return;
    state.healthy = false;
    state.healthTimer = setInterval(() => {
      void this.#udp(state, wireQuestion('', RRType.NS)).then((reply) => {
        if (!reply || state.healthy) return;
        state.healthy = true;
        state.fails = 0;
        clearInterval(state.healthTimer);
        state.healthTimer = undefined;
      });
    }, this.#options.healthCheckMs);
    state.healthTimer.unref();
  }

  #socket(family: 'udp4' | 'udp6'): dgram.Socket {
    const existing = this.#sockets[family];
    if (existing) return existing;
    const socket = dgram.createSocket(family);
    socket.on('message', (message, remote) => this.#onReply(message, remote));
    // A send error (unreachable upstream) surfaces as the attempt's timeout.
    socket.on('error', () => undefined);
    socket.unref();
    this.#sockets[family] = socket;
    return socket;
  }

  #onReply(message: Buffer, remote: dgram.RemoteInfo): void {
    if (message.length < 12) return;
    const pending = this.#pending.get(message.readUInt16BE(0));
    if (!pending) return;
    const upstream = pending.upstream.upstream;
    // Only the upstream asked may answer, and only for the question asked.
    if (remote.port !== upstream.port || (canonicalIp(remote.address) ?? remote.address) !== upstream.host) return;
    if (questionKey(message, 12) !== pending.question.key) return;
    this.#pending.delete(message.readUInt16BE(0));
    clearTimeout(pending.timer);
    pending.resolve(message);
  }

  #udp(state: UpstreamState, question: WireQuestion): Promise<Buffer | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    let id = randomInt(0x10000);
    while (this.#pending.has(id)) id = (id + 1) & 0xffff;
    const message = queryMessage(id, question, this.#options.udpSize);
    const { promise, resolve } = Promise.withResolvers<Buffer | undefined>();
    const timer = setTimeout(() => {
      this.#pending.delete(id);
      resolve(undefined);
    }, this.#options.timeoutMs);
    this.#pending.set(id, { upstream: state, question, resolve, timer });
    const upstream = state.upstream;
    this.#socket(net.isIPv6(upstream.host) ? 'udp6' : 'udp4').send(message, upstream.port, upstream.host);
    return promise;
  }

  #tcp(state: UpstreamState, question: WireQuestion): Promise<Buffer | undefined> {
    const message = queryMessage(randomInt(0x10000), question, this.#options.udpSize);
    const { promise, resolve } = Promise.withResolvers<Buffer | undefined>();
    const socket = net.connect({ host: state.upstream.host, port: state.upstream.port });
    let received = Buffer.alloc(0);
    const finish = (reply: Buffer | undefined) => {
      socket.destroy();
      resolve(reply);
    };
    socket.setTimeout(this.#options.timeoutMs, () => finish(undefined));
    socket.on('error', () => finish(undefined));
    socket.on('close', () => finish(undefined));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) finish(received.subarray(2, 2 + received.readUInt16BE(0)));
    });
    const length = Buffer.alloc(2);
    length.writeUInt16BE(message.length);
    socket.write(Buffer.concat([length, message]));
    return promise;
  }
}

/** A name no one else would ask: two random labels under the root, as CoreDNS's loop plugin uses. */
export function loopProbeName(): string {
  return `${randomBytes(6).readUIntBE(0, 6)}.${randomBytes(6).readUIntBE(0, 6)}`;
}

/**
 * Sends `HINFO <name>` to each upstream every intervalMs until each has
 * replied or maxMs passed. If the server ever receives that name itself,
 * its queries come back to it: a forwarding loop.
 */
export async function probeForLoops(upstreams: readonly Upstream[], name: string, signal: AbortSignal, intervalMs = 1000, maxMs = 30_000): Promise<void> {
  if (upstreams.length === 0) return;
  const waiting = new Set(upstreams.map((upstream) => `${upstream.host}/${upstream.port}`));
  const sockets = { udp4: dgram.createSocket('udp4'), udp6: dgram.createSocket('udp6') };
  for (const socket of Object.values(sockets)) {
    socket.on('error', () => undefined);
    socket.on('message', (_message, remote) => waiting.delete(`${canonicalIp(remote.address) ?? remote.address}/${remote.port}`));
  }
  const message = queryMessage(randomInt(0x10000), wireQuestion(name, RRType.HINFO), forwardDefaults.udpSize);
  const deadline = Date.now() + maxMs;
  try {
    while (waiting.size > 0 && !signal.aborted && Date.now() < deadline) {
      for (const upstream of upstreams) {
        if (waiting.has(`${upstream.host}/${upstream.port}`)) sockets[net.isIPv6(upstream.host) ? 'udp6' : 'udp4'].send(message, upstream.port, upstream.host);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
    }
  } finally {
    sockets.udp4.close();
    sockets.udp6.close();
  }
}
