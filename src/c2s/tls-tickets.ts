// TLS session tickets every node accepts (RFC 8446 §4.6.1, RFC 5077): a client that reconnects
// (after a drain, on another node) resumes its TLS session instead of a full handshake. The
// ticket keys are derived from a secret the nodes share and change every period, so a ticket
// stolen today is worth nothing tomorrow; a ticket from the previous period just means a full
// handshake.
import { createHmac } from 'node:crypto';
import type { SecureContext } from 'node:tls';

/** How long one set of ticket keys is used. */
export const TICKET_PERIOD_MS = 12 * 60 * 60 * 1000;

/** The 48 bytes OpenSSL wants (name, HMAC key, AES key) for the period `now` falls in. */
export function ticketKeys(secret: Buffer, now = Date.now()): Buffer {
  const period = Math.floor(now / TICKET_PERIOD_MS);
  const hmac = (label: string) => createHmac('sha256', secret).update(`${label} ${period}`).digest();
  return Buffer.concat([hmac('name').subarray(0, 16), hmac('hmac').subarray(0, 16), hmac('aes').subarray(0, 16)]);
}

/** What holds ticket keys: a SecureContext, or a tls.Server. */
type TicketHolder = { setTicketKeys(keys: Buffer): void };

export function contextTickets(context: SecureContext): TicketHolder {
  // node's SecureContext keeps its native handle in `context`; tls.Server exposes the same call.
  return (context as unknown as { context: TicketHolder }).context;
}

/** Sets the current keys on every holder now and at each period's start; returns the stop. */
export function rotateTicketKeys(secret: Buffer, holders: TicketHolder[]): () => void {
  let timer: NodeJS.Timeout | undefined;
  const apply = (): void => {
    const keys = ticketKeys(secret);
    for (const holder of holders) holder.setTicketKeys(keys);
    timer = setTimeout(apply, TICKET_PERIOD_MS - (Date.now() % TICKET_PERIOD_MS) + 1000);
    timer.unref();
  };
  apply();
  return () => clearTimeout(timer);
}
