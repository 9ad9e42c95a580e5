// IQ reply rules in one place (RFC 6120 §8.2.3): no handler → service-unavailable; a thrown
// StanzaError → that error; anything else thrown → internal-server-error, logged with the id;
// a returned element → a result wrapping it; nothing returned → an empty result.
import type { Element } from 'ltx';
import type { Logger } from '../log.js';
import { StanzaError } from '../xmpp/errors.js';
import type { Jid } from '../xmpp/jid.js';
import { errorReply, iqResult } from '../xmpp/stanza.js';
import type { C2SSession } from './session.js';

/** self: to the sender's own account (or no `to`); bare: another account; host: the domain. */
export type IqScope = 'self' | 'bare' | 'host';
export type IqType = 'get' | 'set';

export interface IqRequest {
  stanza: Element;
  payload: Element;
  type: IqType;
  from: Jid;
  to: Jid;
  origin?: C2SSession;
  /** Sends the result now, so the handler can send more after it (a roster push after the result). */
  respond(payload?: Element): void;
}

export type IqHandler = (request: IqRequest) => Promise<Element | void> | Element | void;

export class IqRegistry {
  private readonly handlers = new Map<string, IqHandler>();

  constructor(private readonly log: Logger) {}

  /** Registers a handler for a payload element; returns the function that removes it. */
  register(scope: IqScope, type: IqType, xmlns: string, name: string, handler: IqHandler): () => void {
    const key = handlerKey(scope, type, xmlns, name);
    if (this.handlers.has(key)) throw new Error(`duplicate iq handler ${key}`);
    this.handlers.set(key, handler);
    return () => {
      if (this.handlers.get(key) === handler) this.handlers.delete(key);
    };
  }

  has(scope: IqScope, type: IqType, xmlns: string, name: string): boolean {
    return this.handlers.has(handlerKey(scope, type, xmlns, name));
  }

  /** Answers an iq get/set; `reply` receives exactly one result or error. */
  async handle(
    scope: IqScope,
    request: Omit<IqRequest, 'respond'>,
    reply: (stanza: Element) => void,
  ): Promise<void> {
    const { stanza, payload, type } = request;
    const handler = this.handlers.get(handlerKey(scope, type, String(payload.attrs.xmlns ?? ''), payload.name));
    if (!handler) {
      reply(errorReply(stanza, new StanzaError('service-unavailable')));
      return;
    }
    let answered = false;
    const respond = (result?: Element): void => {
      if (answered) return;
      answered = true;
      reply(iqResult(stanza, result));
    };
    try {
      const result = await handler({ ...request, respond });
      respond(result ?? undefined);
    } catch (error) {
      if (answered) {
        this.log.error({ event: 'iq_handler_failed_after_reply', id: stanza.attrs.id, err: error });
        return;
      }
      answered = true;
      if (error instanceof StanzaError) {
        reply(errorReply(stanza, error));
      } else {
        this.log.error({ event: 'iq_handler_failed', id: stanza.attrs.id, xmlns: payload.attrs.xmlns, err: error });
        reply(errorReply(stanza, new StanzaError('internal-server-error')));
      }
    }
  }
}

function handlerKey(scope: IqScope, type: IqType, xmlns: string, name: string): string {
  return `${scope} ${type} ${xmlns} ${name}`;
}
