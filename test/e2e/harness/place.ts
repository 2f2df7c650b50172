/**
 * A place traffic can start from: a pod, a node or an external client, each
 * one network namespace. Commands run inside it with a timeout (curl, dig,
 * getent, nc, anything), and its TrafficClient sends TCP/UDP/HTTP without a
 * process per request.
 */
import { execIn, type CommandResult, type RunOptions } from './netns.ts';
import { TrafficClient, type HttpRequest, type HttpResponse, type Outcome, type TcpRequest, type TcpResponse, type UdpRequest, type UdpResponse } from './traffic.ts';

export class Place {
  readonly name: string;
  readonly netns: string;
  /** The address other places reach it at (node/client LAN IP, pod IP). */
  readonly ip: string;
  #traffic: TrafficClient | undefined;

  constructor(name: string, netns: string, ip: string) {
    this.name = name;
    this.netns = netns;
    this.ip = ip;
  }

  /** Runs a command inside this namespace (default timeout 10 s); never throws for a non-zero exit. */
  exec(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
    return execIn(this.netns, argv, options);
  }

  /** `curl -sS --max-time <s> …args url` from here. */
  curl(url: string, args: readonly string[] = [], timeoutMs = 5_000): Promise<CommandResult> {
    return this.exec(['curl', '-sS', '--noproxy', '*', '--max-time', String(timeoutMs / 1000), ...args, url], { timeoutMs: timeoutMs + 2_000 });
  }

  /**
   * `dig +short name type` from here. Pods resolve through their resolv.conf
   * (the cluster DNS, search path, ndots:5); pass `@server` in args to pick one.
   */
  dig(name: string, type = 'A', args: readonly string[] = [], timeoutMs = 5_000): Promise<CommandResult> {
    return this.exec(['dig', '+time=1', '+tries=2', ...args, name, type], { timeoutMs: timeoutMs + 2_000 });
  }

  /** `getent hosts name`: the libc resolver with this place's resolv.conf and hosts. */
  getent(name: string, database = 'hosts'): Promise<CommandResult> {
    return this.exec(['getent', database, name], { timeoutMs: 8_000 });
  }

  /** `nc -z -w <s> host port`: does a TCP connection open? */
  nc(host: string, port: number, timeoutSeconds = 2): Promise<CommandResult> {
    return this.exec(['nc', '-z', '-w', String(timeoutSeconds), host, String(port)], { timeoutMs: timeoutSeconds * 1000 + 2_000 });
  }

  get traffic(): TrafficClient {
    this.#traffic ??= new TrafficClient(this.netns);
    return this.#traffic;
  }

  http(request: HttpRequest | string): Promise<Outcome<HttpResponse>> {
    return this.traffic.http(request);
  }

  tcp(request: TcpRequest): Promise<Outcome<TcpResponse>> {
    return this.traffic.tcp(request);
  }

  udp(request: UdpRequest): Promise<Outcome<UdpResponse>> {
    return this.traffic.udp(request);
  }

  connect(host: string, port: number, timeoutMs?: number): ReturnType<TrafficClient['connect']> {
    return this.traffic.connect(host, port, timeoutMs);
  }

  /**
   * Sends `count` HTTP GETs to `url` (one at a time, each with its timeout)
   * and counts which pod answered (the pod app's `pod` field); failures are
   * counted under their error code. For load-balancing and affinity checks.
   */
  async whoAnswers(url: string, count: number, timeoutMs = 2_000): Promise<Record<string, number>> {
    const tally: Record<string, number> = {};
    for (let i = 0; i < Math.min(count, 10_000); i++) {
      const reply = await this.http({ url, timeoutMs });
      const pod = 'status' in reply ? String((reply.json as { pod?: unknown } | undefined)?.pod ?? `HTTP ${reply.status}`) : reply.code;
      tally[pod] = (tally[pod] ?? 0) + 1;
    }
    return tally;
  }

  /** Stops this place's traffic client (the cluster does it on teardown). */
  async closeTraffic(): Promise<void> {
    const traffic = this.#traffic;
    this.#traffic = undefined;
    await traffic?.close();
  }
}
