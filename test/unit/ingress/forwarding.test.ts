import { describe, expect, test } from 'vitest';
import { clientAddress, cookieValue, requestTarget, responseHeaders, routingHost, upstreamHeaders } from '../../../ingress/forwarding.ts';

describe('the host a request routes by', () => {
  test.each([
    ['www.example.com', 'www.example.com'],
    ['WWW.Example.COM:8080', 'www.example.com'],
    ['example.com.', 'example.com'],
    ['example.com.:443', 'example.com'],
    ['10.0.0.1:80', '10.0.0.1'],
    ['[::1]:8443', '[::1]'],
    ['[fd00::1]', '[fd00::1]'],
    ['', ''],
    ['bad host', undefined],
    ['a.test:http', undefined],
    ['[::1', undefined],
    ['[::1]x', undefined],
    ['a/b', undefined],
  ])('%j → %j', (authority, expected) => {
    expect(routingHost(authority)).toBe(expected);
  });
});

describe('the request target', () => {
  test.each([
    { url: '/a/b?x=1&y', authority: 'a.test', expected: { host: 'a.test', authority: 'a.test', path: '/a/b', query: '?x=1&y' } },
    { url: '/', authority: undefined, expected: { host: '', authority: '', path: '/', query: '' } },
    { url: 'http://Abs.Test:8080/p?q', authority: 'ignored.test', expected: { host: 'abs.test', authority: 'abs.test:8080', path: '/p', query: '?q' } },
    { url: '*', authority: 'a.test', expected: undefined },
    { url: 'a.test:443', authority: 'a.test', expected: undefined },
    { url: '/x', authority: 'bad host', expected: undefined },
  ])('$url with Host $authority', ({ url, authority, expected }) => {
    expect(requestTarget(url, authority)).toEqual(expected);
  });
});

describe('headers sent upstream', () => {
  const forwarded = { clientAddress: '192.0.2.7', proto: 'https', port: 8443 };
  test('hop-by-hop, Connection-named, pseudo, Expect, Proxy and client-forged forwarding headers are dropped; X-Forwarded-* set', () => {
    const raw = [
      ':authority', 'a.test',
      'Host', 'a.test',
      'User-Agent', 'curl',
      'Connection', 'keep-alive, X-Secret',
      'Keep-Alive', 'timeout=5',
      'X-Secret', 'hop',
      'Transfer-Encoding', 'chunked',
      'TE', 'trailers',
      'Upgrade', 'h2c',
      'Proxy-Connection', 'keep-alive',
      'Proxy', 'http://evil',
      'Expect', '100-continue',
      'X-Forwarded-For', '6.6.6.6',
      'X-Real-IP', '6.6.6.6',
      'Content-Length', '5',
      'Accept', 'a',
      'Accept', 'b',
    ];
    expect(upstreamHeaders(raw, 'a.test:8443', forwarded)).toEqual([
      'Host', 'a.test',
      'User-Agent', 'curl',
      'Content-Length', '5',
      'Accept', 'a',
      'Accept', 'b',
      'x-forwarded-for', '192.0.2.7',
      'x-real-ip', '192.0.2.7',
      'x-forwarded-proto', 'https',
      'x-forwarded-host', 'a.test:8443',
      'x-forwarded-port', '8443',
    ]);
  });

  test('HTTP/2 requests get a Host from :authority and one joined Cookie header', () => {
    const raw = [':method', 'GET', ':authority', 'a.test', ':path', '/', 'cookie', 'a=1', 'cookie', 'b=2'];
    expect(upstreamHeaders(raw, 'a.test', forwarded)).toEqual([
      'host', 'a.test',
      'cookie', 'a=1; b=2',
      'x-forwarded-for', '192.0.2.7',
      'x-real-ip', '192.0.2.7',
      'x-forwarded-proto', 'https',
      'x-forwarded-host', 'a.test',
      'x-forwarded-port', '8443',
    ]);
  });

  test('an upgrade keeps its Connection and Upgrade headers', () => {
    const raw = ['Host', 'a.test', 'Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k'];
    expect(upstreamHeaders(raw, 'a.test', { ...forwarded, proto: 'http', port: 80 }, 'websocket').slice(0, 8)).toEqual(['Host', 'a.test', 'Sec-WebSocket-Key', 'k', 'connection', 'upgrade', 'upgrade', 'websocket']);
  });


  test('Connection cannot name Host away', () => {
    expect(upstreamHeaders(['Host', 'a.test', 'Connection', 'host'], 'a.test', forwarded).slice(0, 2)).toEqual(['Host', 'a.test']);
  });
});

describe('headers sent back to the client', () => {
  test('hop-by-hop dropped, Content-Length kept, Server added when absent, Set-Cookie appended', () => {
    expect(
      responseHeaders(
        { 'content-length': '12', 'content-type': 'text/plain', connection: 'keep-alive, x-internal', 'keep-alive': 'timeout=5', 'x-internal': '1', 'transfer-encoding': 'chunked', 'set-cookie': ['a=1'] },
        'kplane',
        'INGRESSCOOKIE=abc; Path=/; HttpOnly',
      ),
    ).toEqual({ 'content-length': '12', 'content-type': 'text/plain', 'set-cookie': ['a=1', 'INGRESSCOOKIE=abc; Path=/; HttpOnly'], server: 'kplane' });
  });

  test("the backend's own Server header is kept", () => {
    expect(responseHeaders({ server: 'nginx' }, 'kplane')).toEqual({ server: 'nginx' });
  });
});

describe('small parsers', () => {
  test.each([
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['10.0.0.1', '10.0.0.1'],
    ['fd00::1', 'fd00::1'],
    [undefined, ''],
  ])('client address %j → %j', (remote, expected) => {
    expect(clientAddress(remote)).toBe(expected);
  });

  test.each([
    ['a=1; INGRESSCOOKIE=abc; b=2', 'abc'],
    ['INGRESSCOOKIE=', ''],
    ['XINGRESSCOOKIE=abc', undefined],
    [undefined, undefined],
  ])('cookie header %j → %j', (header, expected) => {
    expect(cookieValue(header, 'INGRESSCOOKIE')).toBe(expected);
  });
});
