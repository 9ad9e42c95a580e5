// The client side of SASL2 (XEP-0388) over the raw test client: PLAIN and SCRAM in
// <authenticate/>, with whatever inline requests the test adds.
import { createHash, createHmac, pbkdf2Sync, randomBytes, randomUUID } from 'node:crypto';
import type { Element } from 'ltx';
import type { RawClient } from './client.js';
import type { TestServer } from './server.js';
import type { ConnectOptions } from './client.js';

export const NS_SASL2 = 'urn:xmpp:sasl:2';
export const NS_BIND2 = 'urn:xmpp:bind:0';
export const NS_SM = 'urn:xmpp:sm:3';
export const NS_FAST = 'urn:xmpp:fast:0';
export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';

const base64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');

/** Header, STARTTLS, header again: resolves with the features offered for authentication. */
export async function readyForSasl2(server: TestServer, options: Partial<ConnectOptions> = {}): Promise<{ client: RawClient; features: Element }> {
  const client = await server.connect(options);
  await client.openStream();
  if (!client.encrypted) await client.startTls();
  const features = await client.openStream();
  return { client, features };
}

export function userAgent(id: string = randomUUID(), software = 'rookery-test'): string {
  return `<user-agent id='${id}'><software>${software}</software><device>test bench</device></user-agent>`;
}

const isOutcome = (element: Element): boolean => element.attrs.xmlns === NS_SASL2 && ['success', 'failure', 'continue'].includes(element.name);

/** PLAIN in one <authenticate/>; resolves with <success/> or <failure/>. */
export async function plain2(client: RawClient, user: string, password: string, inline = ''): Promise<Element> {
  const response = base64(`\0${user}\0${password}`);
  client.send(`<authenticate xmlns='${NS_SASL2}' mechanism='PLAIN'><initial-response>${response}</initial-response>${inline}</authenticate>`);
  return client.expect(isOutcome);
}

export interface ScramOutcome {
  outcome: Element;
  /** The server proved it knows the password (its signature in <additional-data/>). */
  serverVerified: boolean;
}

/** SCRAM-SHA-256 or -SHA-1 in SASL2, with an optional GS2 header (channel binding) and its binding data. */
export async function scram2(
  client: RawClient,
  user: string,
  password: string,
  options: { inline?: string; hash?: 'sha256' | 'sha1'; gs2?: string; cbData?: Buffer; mechanism?: string } = {},
): Promise<ScramOutcome> {
  const hash = options.hash ?? 'sha256';
  const gs2 = options.gs2 ?? 'n,,';
  const mechanism = options.mechanism ?? (hash === 'sha256' ? 'SCRAM-SHA-256' : 'SCRAM-SHA-1');
  const hmac = (key: Buffer, text: string): Buffer => createHmac(hash, key).update(text).digest();
  const clientFirstBare = `n=${user},r=${randomBytes(18).toString('base64')}`;
  client.send(`<authenticate xmlns='${NS_SASL2}' mechanism='${mechanism}'><initial-response>${base64(gs2 + clientFirstBare)}</initial-response>${options.inline ?? ''}</authenticate>`);
  const challenge = await client.expect((element) => element.name === 'challenge' || isOutcome(element));
  if (challenge.name !== 'challenge') return { outcome: challenge, serverVerified: false };
  const serverFirst = Buffer.from(challenge.getText(), 'base64').toString();
  const fields = new Map(serverFirst.split(',').map((field) => [field.slice(0, 1), field.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(String(fields.get('s')), 'base64'), Number(fields.get('i')), hash === 'sha256' ? 32 : 20, hash);
  const clientKey = hmac(salted, 'Client Key');
  const cbind = Buffer.concat([Buffer.from(gs2), options.cbData ?? Buffer.alloc(0)]);
  const withoutProof = `c=${cbind.toString('base64')},r=${fields.get('r')}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = hmac(createHash(hash).update(clientKey).digest(), authMessage);
  const proof = Buffer.from(clientKey.map((byte, i) => byte ^ (signature[i] ?? 0)));
  client.send(`<response xmlns='${NS_SASL2}'>${base64(`${withoutProof},p=${proof.toString('base64')}`)}</response>`);
  const outcome = await client.expect(isOutcome);
  const serverSignature = hmac(hmac(salted, 'Server Key'), authMessage).toString('base64');
  const data = outcome.getChildText('additional-data');
  const serverFinal = data ? Buffer.from(data, 'base64').toString() : '';
  return { outcome, serverVerified: serverFinal === `v=${serverSignature}` };
}

/** The condition of a SASL2 <failure/> (an RFC 6120 SASL condition). */
export function failureCondition(failure: Element): string | undefined {
  return failure.children.find((child): child is Element => typeof child !== 'string' && child.attrs.xmlns === NS_SASL && child.name !== 'text')?.name;
}

/** The client's view of a channel binding (RFC 5929, RFC 9266). */
export function clientBinding(client: RawClient, type: 'tls-exporter' | 'tls-server-end-point' | 'tls-unique'): Buffer {
  const socket = client.tlsSocket;
  if (!socket) throw new Error('not encrypted');
  if (type === 'tls-exporter') return socket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0));
  if (type === 'tls-unique') return socket.getFinished() as Buffer;
  return createHash('sha256').update(socket.getPeerCertificate().raw).digest();
}

/** HT-SHA-256-* (XEP-0484 FAST): one <authenticate/>; resolves with the outcome and whether the server proved the token. */
export async function fast2(
  client: RawClient,
  user: string,
  token: string,
  options: { mechanism?: string; cbData?: Buffer; inline?: string; agent?: string } = {},
): Promise<{ outcome: Element; serverVerified: boolean }> {
  const mechanism = options.mechanism ?? 'HT-SHA-256-NONE';
  const cb = options.cbData ?? Buffer.alloc(0);
  const mac = (label: string): Buffer => createHmac('sha256', Buffer.from(token, 'utf8')).update(Buffer.concat([Buffer.from(label), cb])).digest();
  const response = Buffer.concat([Buffer.from(`${user}\0`), mac('Initiator')]).toString('base64');
  const agent = options.agent === undefined ? '' : userAgent(options.agent);
  client.send(`<authenticate xmlns='${NS_SASL2}' mechanism='${mechanism}'><initial-response>${response}</initial-response>${agent}${options.inline ?? `<fast xmlns='${NS_FAST}'/>`}</authenticate>`);
  const outcome = await client.expect(isOutcome);
  const data = outcome.getChildText('additional-data');
  return { outcome, serverVerified: data !== null && Buffer.from(data, 'base64').equals(mac('Responder')) };
}
