// The pure parts of the WebSocket endpoint: the URL host-meta announces, the origin policy, when
// a WebSocket counts as encrypted, and how an element is made to stand alone (RFC 7395 §3.3.3).
import { describe, expect, it } from 'vitest';
import { standalone } from '../../src/c2s/link.js';
import { originPolicy, webSocketSecure, webSocketUrl } from '../../src/c2s/websocket.js';
import { type Config, defaultConfig } from '../../src/config.js';
import { originListProblem } from '../../src/config/types.js';
import type { HttpRequestHead } from '../../src/http.js';

const config = (extra: Partial<Config> = {}): Config => ({ ...defaultConfig(), ...extra });
const request = (host?: string): HttpRequestHead => ({ method: 'GET', path: '/.well-known/host-meta', params: {}, remoteAddress: '10.0.0.1', headers: host === undefined ? {} : { host } });

describe('the WebSocket URL of host-meta (XEP-0156)', () => {
  it('is wss:// under the path of an https:// httpPublicUrl, whatever the Host', () => {
    expect(webSocketUrl(config({ httpPublicUrl: 'https://chat.example.org/xmpp/' }), request('10.0.0.5:5280'))).toBe('wss://chat.example.org/xmpp/xmpp-websocket');
  });

  it('is ws:// for an http:// httpPublicUrl', () => {
    expect(webSocketUrl(config({ httpPublicUrl: 'http://chat.example.org:8080' }), request())).toBe('ws://chat.example.org:8080/xmpp-websocket');
  });

  it("is built from the request's Host without httpPublicUrl, and not from a malformed one", () => {
    expect(webSocketUrl(config(), request('example.org:5280'))).toBe('ws://example.org:5280/xmpp-websocket');
    expect(webSocketUrl(config(), request('evil.example/path?'))).toBeUndefined();
    expect(webSocketUrl(config(), request())).toBeUndefined();
  });
});

describe('the origin policy of the WebSocket', () => {
  it('allows only the listed origins, or any with *', () => {
    const listed = originPolicy(config({ webOrigins: 'https://a.example, https://b.example:8443' }));
    expect([listed('https://a.example', 'x'), listed('https://b.example:8443', 'x'), listed('https://c.example', 'x')]).toEqual([true, true, false]);
    expect(originPolicy(config({ webOrigins: '*' }))('https://anything.example', undefined)).toBe(true);
  });

  it("allows by default the origin of httpPublicUrl, else the request's own origin", () => {
    expect(originPolicy(config({ httpPublicUrl: 'https://chat.example.org/xmpp' }))('https://chat.example.org', 'internal:5280')).toBe(true);
    expect(originPolicy(config({ httpPublicUrl: 'https://chat.example.org/xmpp' }))('http://chat.example.org', 'chat.example.org')).toBe(false);
    expect(originPolicy(config())('https://chat.example.org', 'chat.example.org')).toBe(true);
    expect(originPolicy(config())('https://evil.example', 'chat.example.org')).toBe(false);
  });

  it('validates webOrigins as origins without a path, or *', () => {
    expect(originListProblem('https://a.example, http://[::1]:8080, *')).toBeUndefined();
    expect(originListProblem('https://a.example/app')).toMatch(/without a path/);
    expect(originListProblem(' , ')).toMatch(/comma-separated/);
  });
});

describe('when a WebSocket counts as encrypted', () => {
  it('is on loopback, or behind an https:// httpPublicUrl, and not otherwise', () => {
    expect(webSocketSecure(config(), '127.0.0.1')).toBe(true);
    expect(webSocketSecure(config(), '::1')).toBe(true);
    expect(webSocketSecure(config(), '203.0.113.9')).toBe(false);
    expect(webSocketSecure(config({ httpPublicUrl: 'https://chat.example.org' }), '203.0.113.9')).toBe(true);
    expect(webSocketSecure(config({ httpPublicUrl: 'http://chat.example.org' }), '203.0.113.9')).toBe(false);
  });
});

describe('an element standing alone in a WebSocket message (RFC 7395 §3.3.3)', () => {
  it('declares jabber:client on a stanza that does not declare a namespace', () => {
    expect(standalone("<message to='a@b' id='1'><body>hi</body></message>")).toBe("<message to='a@b' id='1' xmlns='jabber:client'><body>hi</body></message>");
    expect(standalone('<presence/>')).toBe("<presence xmlns='jabber:client'/>");
    expect(standalone("<iq xmlns='jabber:client' type='result' id='x'/>")).toBe("<iq xmlns='jabber:client' type='result' id='x'/>");
  });

  it('declares the stream prefix on stream features and errors', () => {
    expect(standalone('<stream:features><bind/></stream:features>')).toBe("<stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind/></stream:features>");
    expect(standalone("<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>")).toMatch(/^<stream:error xmlns:stream='http:\/\/etherx\.jabber\.org\/streams'>/);
  });

  it('leaves other elements as they are', () => {
    expect(standalone("<r xmlns='urn:xmpp:sm:3'/>")).toBe("<r xmlns='urn:xmpp:sm:3'/>");
    expect(standalone("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")).toBe("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  });
});
