// Ids of envelopes between nodes: unique across the cluster without coordination.
import { randomBytes } from 'node:crypto';

const nodePart = randomBytes(6).toString('base64url');
let sequence = 0;

export function newEnvelopeId(): string {
  sequence += 1;
  return `${nodePart}.${sequence.toString(36)}`;
}
