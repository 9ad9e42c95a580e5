// Names used across the server, each defined here once: the three stanza kinds (RFC 6120 §8),
// how a client connection is carried (RFC 6120 §5.3 STARTTLS, or TLS from the first byte as
// XEP-0368 describes, or WebSocket as RFC 7395 describes), and the stages of a client session
// (doc/session-model.md). Plain values.

export type StanzaKind = 'message' | 'presence' | 'iq';

export type Transport = 'plain' | 'starttls' | 'directtls' | 'websocket';

/** A client session's stage: before SASL, authenticated but not bound, bound (a connected resource). */
export type SessionType = 'c2s_unauthed' | 'c2s_unbound' | 'c2s';
