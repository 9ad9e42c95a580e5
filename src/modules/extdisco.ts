// XEP-0215 External Service Discovery: the STUN/TURN server of the operator, so that clients can
// place audio and video calls through NATs. Credentials follow the TURN REST API convention that
// coturn's `use-auth-secret` checks (as Prosody's mod_turn_external): the username is the expiry
// (Unix time) and the account, the password base64(HMAC-SHA1(shared secret, username)). Nothing
// is stored: every node derives the same credentials from the configured secret.
import { createHmac } from 'node:crypto';
import { Element } from 'ltx';
import type { Module } from '../core/module.js';
import { StanzaError } from '../xmpp/errors.js';
import { NS_EXTDISCO } from '../xmpp/ns.js';

export interface TurnOptions {
  host: string;
  port: number;
  /** TURN over TLS (`turns`), when the server listens for it. */
  tlsPort: number | undefined;
  /** coturn's static-auth-secret; without it only STUN is announced (TURN needs credentials). */
  secret: string | undefined;
  credentialSeconds: number;
}

interface Service {
  type: 'stun' | 'turn' | 'turns';
  transport: 'udp' | 'tcp';
  host: string;
  port: number;
  restricted: boolean;
}

function servicesOf(options: TurnOptions): Service[] {
  const { host, port } = options;
  const services: Service[] = [{ type: 'stun', transport: 'udp', host, port, restricted: false }];
  if (options.secret === undefined) return services;
  services.push({ type: 'turn', transport: 'udp', host, port, restricted: true }, { type: 'turn', transport: 'tcp', host, port, restricted: true });
  if (options.tlsPort !== undefined) services.push({ type: 'turns', transport: 'tcp', host, port: options.tlsPort, restricted: true });
  return services;
}

/** TURN REST API credentials for `user`, valid until `expires` (Unix seconds). */
export function turnCredentials(secret: string, user: string, expires: number): { username: string; password: string } {
  const username = `${expires}:${user}`;
  return { username, password: createHmac('sha1', secret).update(username).digest('base64') };
}

function serviceElement(service: Service, credentials: { username: string; password: string; expires: number } | undefined): Element {
  const attrs: Record<string, string> = { type: service.type, transport: service.transport, host: service.host, port: String(service.port) };
  if (service.restricted) attrs.restricted = '1';
  if (service.restricted && credentials) {
    attrs.username = credentials.username;
    attrs.password = credentials.password;
    attrs.expires = new Date(credentials.expires * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return new Element('service', attrs);
}

export function extdiscoModule(options: TurnOptions): Module {
  const all = servicesOf(options);
  return {
    name: 'extdisco',
    load(api) {
      api.feature(NS_EXTDISCO);
      const credentialsFor = (user: string): { username: string; password: string; expires: number } | undefined => {
        if (options.secret === undefined) return undefined;
        const expires = Math.floor(Date.now() / 1000) + options.credentialSeconds;
        return { ...turnCredentials(options.secret, user, expires), expires };
      };
      // §3.1: every service (of one type if asked), with credentials, as Prosody includes them.
      api.iq('host', 'get', NS_EXTDISCO, 'services', ({ payload, from }) => {
        const type = payload.attrs.type as string | undefined;
        const credentials = credentialsFor(from.bare);
        const services = new Element('services', { xmlns: NS_EXTDISCO, ...(type !== undefined ? { type } : {}) });
        for (const service of all) if (type === undefined || service.type === type) services.cnode(serviceElement(service, credentials));
        return services;
      });
      // §3.3: credentials for the services named by host and type (and port, if given).
      api.iq('host', 'get', NS_EXTDISCO, 'credentials', ({ payload, from }) => {
        const wanted = payload.getChildren('service');
        if (wanted.length === 0) throw new StanzaError('bad-request', 'Name a <service/> by host and type');
        const credentials = credentialsFor(from.bare);
        const answer = new Element('credentials', { xmlns: NS_EXTDISCO });
        for (const service of all) {
          const asked = wanted.some((w) => w.attrs.host === service.host && w.attrs.type === service.type && (w.attrs.port === undefined || w.attrs.port === String(service.port)));
          if (asked && service.restricted) answer.cnode(serviceElement(service, credentials));
        }
        if (answer.children.length === 0) throw new StanzaError('item-not-found', 'No such service with credentials');
        return answer;
      });
    },
  };
}
