/**
 * What a request and its response look like on either side of the proxy:
 * the request target and Host as the client sent them, the headers sent
 * upstream, and the response headers sent back. Pure: plain values in and out.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * Headers that describe one connection, not the message (RFC 9110 7.6.1,
 * plus the older Keep-Alive/Proxy-Connection/Trailer names).
 */
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

/**
 * Never passed upstream: the forwarding headers the proxy sets from the
 * connection (so a client cannot forge them), Expect (the server already
 * answered 100-continue) and Proxy, which CGI backends would read as
 * HTTP_PROXY (httpoxy).
 */
const notForwarded = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-real-ip', 'expect', 'proxy']);

export interface RequestTarget {
  /** Lower case, without port or trailing dot; '' when the request has no Host. */
  host: string;
  /** The Host header value to pass on, port included. */
  authority: string;
  path: string;
  /** '' or `?…`. */
  query: string;
}

const hostCharacters = /^[a-z0-9._~!$&'()*+,;=%-]*$/;

/** The host a Host header (or :authority) names, for routing; undefined when it is not a host. */
export function routingHost(authority: string): string | undefined {
  let host = authority.toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end < 0) return undefined;
    const rest = host.slice(end + 1);
    if (rest !== '' && !/^:\d*$/.test(rest)) return undefined;
    return host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  if (colon >= 0) {
    if (!/^\d*$/.test(host.slice(colon + 1))) return undefined;
    host = host.slice(0, colon);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  return hostCharacters.test(host) ? host : undefined;
}

/**
 * Splits a request line's target. Origin form (`/path?q`) is the usual one;
 * absolute form (`http://host/path`) names the host itself, which then wins
 * over the Host header (RFC 9112 3.2.2). Anything else (`*`, authority form)
 * is not something to route: undefined, answered with 400.
 */
export function requestTarget(url: string, authority: string | undefined): RequestTarget | undefined {
  let hostText = authority ?? '';
  let pathAndQuery = url;
  if (!url.startsWith('/')) {
    if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) return undefined;
    const parsed = new URL(url);
    hostText = parsed.host;
    pathAndQuery = `${parsed.pathname}${parsed.search}`;
  }
  const host = routingHost(hostText);
  if (host === undefined) return undefined;
  const mark = pathAndQuery.indexOf('?');
  return mark < 0
    ? { host, authority: hostText, path: pathAndQuery, query: '' }
    : { host, authority: hostText, path: pathAndQuery.slice(0, mark), query: pathAndQuery.slice(mark) };
}

export interface ForwardedFor {
  clientAddress: string;
  /** http or https: the scheme the client used. */
  proto: string;
  /** The port the client connected to. */
  port: number;
}

/** `::ffff:10.0.0.1` is how an IPv4 client looks on a dual-stack listener. */
export function clientAddress(remoteAddress: string | undefined): string {
  if (!remoteAddress) return '';
  return remoteAddress.startsWith('::ffff:') && remoteAddress.includes('.') ? remoteAddress.slice(7) : remoteAddress;
}

/**
 * The upstream request headers from the client's raw headers (a flat
 * name, value list): hop-by-hop headers, the ones the Connection header
 * names, HTTP/2 pseudo-headers and the notForwarded ones are dropped, Host
 * is kept as sent, HTTP/2's split Cookie headers are joined, and
 * X-Forwarded-For/-Proto/-Host/-Port and X-Real-IP are set from the
 * connection. Like ingress-nginx without use-forwarded-headers,
 * X-Forwarded-For is the client address alone, never a client-supplied chain.
 */
export function upstreamHeaders(rawHeaders: readonly string[], authority: string, forwarded: ForwardedFor, upgrade?: string): string[] {
  const out: string[] = [];
  let connectionTokens: Set<string> | undefined;
  let cookies: string[] | undefined;
  let hasHost = false;
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] as string;
    const value = rawHeaders[index + 1] as string;
    const lower = name.toLowerCase();
    if (lower.charCodeAt(0) === 58 /* ":" */ || notForwarded.has(lower)) continue;
    if (hopByHop.has(lower)) {
      if (lower === 'connection') for (const token of value.split(',')) (connectionTokens ??= new Set()).add(token.trim().toLowerCase());
      continue;
    }
    if (lower === 'cookie') {
      (cookies ??= []).push(value);
      continue;
    }
    if (lower === 'host') hasHost = true;
    out.push(name, value);
  }
  let headers = out;
  if (connectionTokens) {
    const named = connectionTokens;
    // Host routes the request upstream; a client must not strip it this way.
    named.delete('host');
    headers = [];
    for (let index = 0; index + 1 < out.length; index += 2) {
      if (!named.has((out[index] as string).toLowerCase())) headers.push(out[index] as string, out[index + 1] as string);
    }
  }
  if (!hasHost && authority !== '') headers.push('host', authority);
  if (cookies) headers.push('cookie', cookies.join('; '));
  if (upgrade !== undefined) headers.push('connection', 'upgrade', 'upgrade', upgrade);
  headers.push(
    'x-forwarded-for', forwarded.clientAddress,
    'x-real-ip', forwarded.clientAddress,
    'x-forwarded-proto', forwarded.proto,
    'x-forwarded-host', authority,
    'x-forwarded-port', String(forwarded.port),
  );
  return headers;
}

/**
 * The response headers to send the client: hop-by-hop headers dropped (the
 * server frames the body itself; Content-Length stays, so a sized body is
 * not re-chunked), a Server header added when the backend sent none, and
 * extra Set-Cookie values appended.
 */
export function responseHeaders(upstream: IncomingHttpHeaders, serverName: string, setCookie?: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  let named: string[] | undefined;
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined) continue;
    if (hopByHop.has(name)) {
      if (name === 'connection') named = String(value).split(',').map((token) => token.trim().toLowerCase());
      continue;
    }
    out[name] = value;
  }
  if (named) for (const name of named) delete out[name];
  if (out['server'] === undefined) out['server'] = serverName;
  if (setCookie !== undefined) {
    const existing = out['set-cookie'];
    out['set-cookie'] = existing === undefined ? [setCookie] : [...(Array.isArray(existing) ? existing : [String(existing)]), setCookie];
  }
  return out;
}

/** The value of one cookie in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
