// Secrets every node of a deployment must share without an operator having to set them: the
// key that signs upload slots (any node checks a slot another node issued), and the one TLS
// session-ticket keys are derived from (a client resumes its TLS session on any node).

export type SecretName = 'upload' | 'tls-tickets';

/**
 * Guarantees: `obtain` returns the same 32 random bytes for a name on every node and across
 * restarts, for as long as the store keeps its data; the first call anywhere creates them, and
 * racing first calls agree on one value.
 */
export interface SharedSecrets {
  obtain(name: SecretName): Promise<Buffer>;
}
