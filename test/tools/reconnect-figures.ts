// What a reconnection costs a client in the rolling restart (#21 "Drain uses it"): the time from
// the connection's loss until the resumed session can send again, and the requests the client
// had to wait on after TLS (a SASL2 FAST login with an inline <resume/> is one; legacy SASL,
// the stream restart and a separate <resume/> are three), per kind of client.
import type { Client as XmppClient } from '@xmpp/client';
import type { Element } from 'ltx';

export interface Reconnection {
  /** From the loss of the connection until <resumed/> (ms). */
  ms: number;
  /** Requests answered before the session could send, after TLS (or after the stream header in the clear). */
  requests: number;
  /** The SASL mechanism of the login that resumed. */
  mechanism: string;
}

export interface ReconnectSummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  maxMs: number;
  /** e.g. "1 ×38": how many requests, how often. */
  requests: string;
  /** e.g. "HT-SHA-256-NONE ×38". */
  mechanisms: string;
}

function tally(values: Array<string | number>): string {
  const counts = new Map<string | number, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([value, n]) => `${value} ×${n}`).join(', ');
}

export function summarize(samples: readonly Reconnection[]): ReconnectSummary {
  const ms = samples.map((sample) => sample.ms).sort((a, b) => a - b);
  const at = (p: number): number => ms[Math.min(ms.length - 1, Math.floor(ms.length * p))] ?? 0;
  return { count: ms.length, p50Ms: at(0.5), p90Ms: at(0.9), maxMs: ms[ms.length - 1] ?? 0, requests: tally(samples.map((sample) => sample.requests)), mechanisms: tally(samples.map((sample) => sample.mechanism)) };
}

export function formatSummary(summary: ReconnectSummary): string {
  return `${summary.count} resumes, p50 ${summary.p50Ms} ms, p90 ${summary.p90Ms} ms, max ${summary.maxMs} ms; requests after TLS ${summary.requests || '–'}; ${summary.mechanisms || '–'}`;
}

const STANZAS = new Set(['message', 'presence', 'iq']);

/**
 * Watches an @xmpp/client entity: each resumption after a lost connection becomes a Reconnection.
 * Requests are the non-stanza elements it sent after its last <starttls/> (each waits for its
 * answer: <authenticate/>, a SASL <response/>, a separate <resume/>).
 */
export function watchXmpp(entity: XmppClient): Reconnection[] {
  const samples: Reconnection[] = [];
  let lostAt = 0;
  let requests = 0;
  let mechanism = '';
  entity.on('disconnect', () => {
    if (lostAt === 0) lostAt = Date.now();
  });
  entity.on('send', (element: Element) => {
    // Stanzas and XEP-0198 acks (an <a/> answers the server's <r/>) are nothing the client waits on.
    if (lostAt === 0 || STANZAS.has(element.name) || (element.attrs.xmlns === 'urn:xmpp:sm:3' && (element.name === 'a' || element.name === 'r'))) return;
    if (element.name === 'starttls') {
      requests = 0;
      return;
    }
    if (element.name === 'auth' || element.name === 'authenticate') mechanism = String(element.attrs.mechanism ?? '');
    requests += 1;
  });
  entity.streamManagement.on('resumed', () => {
    if (lostAt === 0) return;
    samples.push({ ms: Date.now() - lostAt, requests, mechanism });
    lostAt = 0;
    requests = 0;
  });
  return samples;
}
