// XEP-0484 Fast Authentication Streamlining Tokens, inside SASL2: the HT-* mechanisms offered in
// <fast/>, a token issued when <request-token/> asks (one per device: the hash of the XEP-0388
// user-agent id), replaced when it passed half its life, revoked on <fast invalidate='true'/>.
// Tokens live in the shared FastTokenStore, so any node accepts them; a failed token goes
// through the same throttling, logs and metrics as a failed password (sasl-exchange.ts).
import { createHash } from 'node:crypto';
import { Element } from 'ltx';
import { randomId } from '../random-id.js';
import { HT_MECHANISMS, HtMechanism, type FastCandidate, type SaslServerMechanism } from '../sasl/index.js';
import type { FastToken } from '../state/fast-tokens.js';
import { NS_FAST } from '../xmpp/ns.js';
import type { UserAgent } from './inline.js';
import type { NegotiatingConnection } from './negotiating-connection.js';
import type { SaslExchange, Success } from './sasl-exchange.js';

/** A device's key in the store: the user-agent id is not kept as the client sent it. */
function deviceOf(agent: UserAgent | undefined): string | undefined {
  return agent?.id === undefined ? undefined : createHash('sha256').update(agent.id).digest('base64url').slice(0, 22);
}

export class Fast {
  /** The token this login used, once it was accepted (for its rotation). */
  private used: FastToken | undefined;

  constructor(
    private readonly connection: NegotiatingConnection,
    private readonly exchange: SaslExchange,
  ) {}

  private get host() {
    return this.connection.host;
  }

  /** The HT-* mechanisms this connection can run, channel-bound ones first. */
  mechanisms(): string[] {
    const types: readonly string[] = this.exchange.bindingTypes();
    return Object.entries(HT_MECHANISMS).filter(([, binding]) => binding === 'none' || types.includes(binding)).map(([name]) => name);
  }

  /** XEP-0484 §2: <fast/> in the SASL2 <inline/>, over TLS only (a token is a password). */
  advertise(inline: Element): void {
    if (!this.connection.secure) return;
    const fast = inline.c('fast', { xmlns: NS_FAST });
    for (const name of this.mechanisms()) fast.c('mechanism').t(name);
  }

  /** The mechanism for an <authenticate/> naming an HT-* one; undefined when not offered here or without a user-agent id. */
  mechanism(name: string, request: Element, agent: UserAgent | undefined): SaslServerMechanism | undefined {
    const device = deviceOf(agent);
    if (!this.connection.secure || device === undefined || !this.mechanisms().includes(name)) return undefined;
    const countText = request.getChild('fast', NS_FAST)?.attrs.count;
    const count = countText === undefined ? undefined : Number(countText);
    const store = this.host.state.fastTokens;
    const bare = (username: string): string => `${username}@${this.host.domain}`;
    let tokens: Partial<Record<FastCandidate['slot'], FastToken>> = {};
    return new HtMechanism(name, this.exchange.context(), {
      candidates: async (username, mechanism) => {
        // A deleted account's tokens are gone with it; this covers a deletion racing the login.
        // Both reads are sent at once: one round trip to the store, not two.
        const [exists, stored] = await Promise.all([this.host.state.accounts.exists(bare(username)), store.get(bare(username), device, Date.now())]);
        if (!exists) return [];
        tokens = stored;
        return (['current', 'previous'] as const).flatMap((slot) => {
          const token = tokens[slot];
          return token && token.mechanism === mechanism ? [{ slot, secret: token.secret }] : [];
        });
      },
      use: async (username, candidate) => {
        if (count !== undefined && !Number.isSafeInteger(count)) return false;
        const accepted = await store.use(bare(username), device, candidate.slot, candidate.secret, count, Date.now());
        if (accepted) this.used = tokens[candidate.slot];
        return accepted;
      },
    });
  }

  /**
   * After a success: a token revoked, or issued (asked for, or the one used is past half its
   * life), as a <token/> to nest in <success/>.
   */
  async afterSuccess(step: Success, request: Element, agent: UserAgent | undefined): Promise<Element | undefined> {
    const device = deviceOf(agent);
    const user = this.connection.session.bare_jid;
    if (device === undefined || user === undefined || !this.connection.secure) return undefined;
    const store = this.host.state.fastTokens;
    const fast = request.getChild('fast', NS_FAST);
    if (step.mechanism in HT_MECHANISMS && (fast?.attrs.invalidate === 'true' || fast?.attrs.invalidate === '1')) {
      await store.revoke(user, device);
      return undefined;
    }
    const asked = request.getChild('request-token', NS_FAST)?.attrs.mechanism;
    const ttl = this.host.config.fastTokenTtlSeconds * 1000;
    const now = Date.now();
    let mechanism: string | undefined;
    if (asked !== undefined && this.mechanisms().includes(String(asked))) mechanism = String(asked);
    else if (this.used && now - this.used.issuedAt > ttl / 2) mechanism = this.used.mechanism;
    if (mechanism === undefined) return undefined;
    const token: FastToken = { mechanism, secret: `fast-${randomId(24)}`, issuedAt: now, expiresAt: now + ttl, count: 0 };
    await store.issue(user, device, token, this.host.config.fastTokensPerAccount);
    this.host.log.info({ event: 'fast_token_issued', jid: user, mechanism, session: this.connection.session.id });
    return new Element('token', { xmlns: NS_FAST, expiry: new Date(token.expiresAt).toISOString(), token: token.secret });
  }
}
