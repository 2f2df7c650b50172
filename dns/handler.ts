/**
 * One query in, one reply out: what CoreDNS's server and handler.go do
 * between them. Checks the message (FORMERR, NOTIMP, BADVERS, REFUSED for
 * classes other than IN), serves cluster names from pre-encoded answers
 * (building and caching them on a miss), and hands everything else to the
 * forwarder. Counts each query in QueryStats. Never throws: a fault while
 * answering becomes SERVFAIL and a panic count.
 */
import { answer, type AnswerOptions, type Outcome } from './answer.ts';
import { AnswerCache, trackingView } from './answer-cache.ts';
import type { Forwarder, ForwardResult } from './forward.ts';
import type { QueryStats } from './stats.ts';
import { encodeResponse, errorResponse, finishResponse, questionLabels, readQuery, rejectResponse, type Encoded, type Query } from './packet.ts';
import type { ClusterView } from './records.ts';
import { Rcode, RRClass, RRType } from './rr.ts';

export type Proto = 'udp' | 'tcp';
export type Reply = Buffer | Promise<Buffer | undefined> | undefined;

export interface HandlerOptions {
  answer: AnswerOptions;
  /** The largest UDP reply sent, and the size advertised in OPT records (DNS flag day 2020: 1232). */
  maxUdpSize: number;
  /** The loop probe's name (forward.ts): receiving it means our forwarded queries come back. */
  loopProbeName: string;
  /** Called once when the probe comes back; forwarding is already disabled here. */
  onLoop(): void;
}

function isDenial(encoded: Encoded): boolean {
  return encoded.rcode !== Rcode.NOERROR || encoded.counts[0] === 0;
}

export class QueryHandler {
  readonly #view: ClusterView;
  readonly #options: HandlerOptions;
  readonly #cache: AnswerCache;
  readonly #forwarder: Forwarder;
  readonly #stats: QueryStats;
  readonly #zone: string;
  readonly #zoneLabels: number;

  constructor(view: ClusterView, options: HandlerOptions, cache: AnswerCache, forwarder: Forwarder, stats: QueryStats) {
    this.#view = view;
    this.#options = options;
    this.#cache = cache;
    this.#forwarder = forwarder;
    this.#stats = stats;
    this.#zone = `.${options.answer.zone}`;
    this.#zoneLabels = options.answer.zone.split('.').length;
  }

  /** How many trailing labels of a name answered here are its zone: the cluster zone, or a two-label reverse zone. */
  #zoneLabelsOf(name: string): number {
    return name.endsWith(this.#zone) || name === this.#zone.slice(1) ? this.#zoneLabels : 2;
  }

  handle(message: Buffer, proto: Proto, family: 1 | 2): Reply {
    const started = performance.now();
    const read = readQuery(message);
    if (read.kind === 'drop') return undefined;
    if (read.kind === 'reject') {
      this.#stats.response(read.rcode, '', 0, (performance.now() - started) / 1000);
      return rejectResponse(read.id, read.flags, read.rcode);
    }
    const query = read.query;
    this.#stats.request(proto, family, query.type);
    try {
      const reply = this.#respond(query, proto);
      if (!(reply instanceof Promise)) {
        this.#stats.response(replyRcode(reply, query), 'kubernetes', query.type, (performance.now() - started) / 1000);
        return reply;
      }
      return reply.then(
        (buffer) => {
          this.#stats.response(replyRcode(buffer, query), 'forward', query.type, (performance.now() - started) / 1000);
          return buffer;
        },
        () => this.#fault(query, started),
      );
    } catch {
      return this.#fault(query, started);
    }
  }

  #fault(query: Query, started: number): Buffer {
    this.#stats.panics += 1;
    this.#stats.response(Rcode.SERVFAIL, '', query.type, (performance.now() - started) / 1000);
    return errorResponse(query, Rcode.SERVFAIL, this.#options.maxUdpSize);
  }

  #respond(query: Query, proto: Proto): Buffer | Promise<Buffer> {
    const size = this.#options.maxUdpSize;
    if (query.edns && query.edns.version > 0) return errorResponse(query, Rcode.BADVERS, size);
    if (query.class !== RRClass.IN) return errorResponse(query, Rcode.REFUSED, size);
    const limit = proto === 'tcp' ? 65535 : query.edns ? Math.min(Math.max(query.edns.udpSize, 512), size) : 512;
    const finish = { limit, advertisedSize: size, serial: this.#view.serial };
    const key = `${query.type}/${query.wireKey}`;
    const cached = this.#cache.get(key);
    if (cached) {
      this.#stats.cache('answers', true, isDenial(cached));
      return finishResponse(cached, query, finish);
    }
    const name = questionLabels(query).join('.');
    if (query.type === RRType.HINFO && name === this.#options.loopProbeName) {
      if (!this.#forwarder.disabled) {
        this.#forwarder.disable();
        this.#stats.loopDetected = true;
        this.#options.onLoop();
      }
      return errorResponse(query, Rcode.REFUSED, size);
    }
    const deps = new Set<string>();
    const outcome = answer(trackingView(this.#view, deps), { name, type: query.type }, this.#options.answer);
    switch (outcome.kind) {
      case 'response': {
        this.#stats.cache('answers', false, false);
        const encoded = encodeResponse(query, outcome.response, this.#zoneLabelsOf(name));
        // Before the first sync every name is "not found yet": nothing worth keeping.
        if (this.#view.synced) this.#cache.set(key, encoded, deps);
        return finishResponse(encoded, query, finish);
      }
      case 'forward':
        return this.#forward(query, limit);
      case 'external':
        return this.#external(query, outcome, this.#zoneLabelsOf(name), finish);
    }
  }

  async #forward(query: Query, limit: number): Promise<Buffer> {
    const result: ForwardResult = await this.#forwarder.resolve({
      bytes: query.buffer.subarray(12, query.questionEnd),
      key: `${query.type}/${query.class}/${query.wireKey}`,
      dnssecOk: query.edns?.dnssecOk === true,
      checkingDisabled: query.cd,
    });
    const size = this.#options.maxUdpSize;
    if (result.kind === 'refused') return errorResponse(query, Rcode.REFUSED, size);
    if (result.kind === 'failed') return errorResponse(query, Rcode.SERVFAIL, size);
    return finishResponse(result.encoded, query, { limit, advertisedSize: size, serial: 0, age: result.age });
  }

  /** An ExternalName leaving the zone: the CNAME chain, then the upstream's answer for its target. */
  async #external(query: Query, outcome: Extract<Outcome, { kind: 'external' }>, zoneLabels: number, finish: { limit: number; advertisedSize: number; serial: number }): Promise<Buffer> {
    const upstream = await this.#forwarder.lookup(outcome.target, outcome.type);
    const response = upstream === undefined ? outcome.fallback : { rcode: Rcode.NOERROR, authoritative: true, answer: outcome.records, authority: [], additional: [] };
    return finishResponse(encodeResponse(query, response, zoneLabels, upstream ?? []), query, finish);
  }
}

/** The rcode a reply carries, BADVERS included (its upper bits live in the OPT record). */
function replyRcode(reply: Buffer | undefined, query: Query): number {
  if (!reply) return Rcode.SERVFAIL;
  const low = (reply[3] as number) & 0xf;
  return query.edns && query.edns.version > 0 ? Rcode.BADVERS : low;
}
