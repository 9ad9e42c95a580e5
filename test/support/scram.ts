// The client side of SCRAM (RFC 5802) in legacy SASL (RFC 6120 §6) over the raw test client.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { Element } from 'ltx';
import type { RawClient } from './client.js';

const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const base64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');

/** Resolves with the final <success/> (the parser then ready for the restart) or <failure/>. */
export async function authScram(client: RawClient, user: string, password: string, hash: 'sha1' | 'sha256' = 'sha1'): Promise<Element> {
  const mechanism = hash === 'sha256' ? 'SCRAM-SHA-256' : 'SCRAM-SHA-1';
  const hmac = (key: Buffer, text: string): Buffer => createHmac(hash, key).update(text).digest();
  const clientFirstBare = `n=${user},r=${randomBytes(18).toString('base64')}`;
  client.send(`<auth xmlns='${NS_SASL}' mechanism='${mechanism}'>${base64(`n,,${clientFirstBare}`)}</auth>`);
  const challenge = await client.expect((element) => element.name === 'challenge' || element.name === 'failure');
  if (challenge.name === 'failure') return challenge;
  const serverFirst = Buffer.from(challenge.getText(), 'base64').toString();
  const fields = new Map(serverFirst.split(',').map((field) => [field.slice(0, 1), field.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(String(fields.get('s')), 'base64'), Number(fields.get('i')), hash === 'sha256' ? 32 : 20, hash);
  const clientKey = hmac(salted, 'Client Key');
  const withoutProof = `c=${base64('n,,')},r=${fields.get('r')}`;
  const signature = hmac(createHash(hash).update(clientKey).digest(), `${clientFirstBare},${serverFirst},${withoutProof}`);
  const proof = Buffer.from(clientKey.map((byte, i) => byte ^ (signature[i] ?? 0)));
  client.send(`<response xmlns='${NS_SASL}'>${base64(`${withoutProof},p=${proof.toString('base64')}`)}</response>`);
  const outcome = await client.expect((element) => element.name === 'success' || element.name === 'failure');
  if (outcome.name === 'success') client.restartParser();
  return outcome;
}
