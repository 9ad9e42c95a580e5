// An external component of the test's own (XEP-0114) over a raw socket: it opens a
// `jabber:component:accept` stream, answers the handshake with the SHA-1 of the stream id and
// its secret (computed here, not with the server's code), and then plays a push app server
// (XEP-0357): it collects the pubsub publishes it gets and answers them as the test says.
import { createHash } from 'node:crypto';
import { Element } from 'ltx';
import { RawClient } from './client.js';

export const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
export const NS_PUSH = 'urn:xmpp:push:0';

let pings = 0;

export class TestComponent {
  private constructor(
    readonly raw: RawClient,
    readonly domain: string,
  ) {}

  /** Connects and opens the stream; `handshake` false stops before the handshake. */
  static async open(port: number, domain: string): Promise<{ raw: RawClient; streamId: string }> {
    const raw = await RawClient.connect({ port, domain });
    const header = await raw.openComponentStream(domain);
    return { raw, streamId: header.id ?? '' };
  }

  /** Connects, authenticates, and waits for the server's empty <handshake/>. */
  static async connect(port: number, domain: string, secret: string): Promise<TestComponent> {
    const { raw, streamId } = await TestComponent.open(port, domain);
    raw.send(`<handshake>${createHash('sha1').update(streamId + secret).digest('hex')}</handshake>`);
    const answer = await raw.expect((element) => element.name === 'handshake' || element.name === 'stream:error');
    if (answer.name !== 'handshake') throw new Error(`handshake refused: ${answer.toString()}`);
    return new TestComponent(raw, domain);
  }

  /** The next pubsub publish (a push notification) that arrives. */
  publish(timeoutMs = 5000): Promise<Element> {
    return this.raw.expect((element) => element.name === 'iq' && element.attrs.type === 'set' && element.getChild('pubsub', NS_PUBSUB) !== undefined, timeoutMs);
  }

  /** Answers an iq with an empty result. */
  result(iq: Element): void {
    this.raw.send(new Element('iq', { type: 'result', id: iq.attrs.id, from: iq.attrs.to, to: iq.attrs.from }));
  }

  /** Answers an iq with an error of the given type and condition. */
  error(iq: Element, type: string, condition: string): void {
    const reply = new Element('iq', { type: 'error', id: iq.attrs.id, from: iq.attrs.to, to: iq.attrs.from });
    reply.c('error', { type }).c(condition, { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' });
    this.raw.send(reply);
  }

  /** A ping to the server from the component's domain: everything written to it before is in. */
  async barrier(serverDomain: string): Promise<void> {
    const id = `ping-${++pings}`;
    this.raw.send(`<iq type='get' id='${id}' from='${this.domain}' to='${serverDomain}'><ping xmlns='urn:xmpp:ping'/></iq>`);
    await this.raw.expect((element) => element.name === 'iq' && element.attrs.id === id);
  }

  close(): Promise<void> {
    return this.raw.close();
  }
}

/** The fields of the `urn:xmpp:push:summary` form of a notification, by var. */
export function summaryOf(publish: Element): Record<string, string> {
  const form = publish.getChild('pubsub', NS_PUBSUB)?.getChild('publish')?.getChild('item')?.getChild('notification', NS_PUSH)?.getChild('x', 'jabber:x:data');
  const fields: Record<string, string> = {};
  for (const field of form?.getChildren('field') ?? []) fields[String(field.attrs.var)] = field.getChildText('value') ?? '';
  return fields;
}
