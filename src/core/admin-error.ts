// The failures of the account service (core/accounts.ts) as values the admin API and the CLI map
// to HTTP statuses and exit codes. A module of its own: the CLI's admin client and its failure
// wording need the class, not the SASL and JID code that the account service loads.
export type AdminFailure = 'invalid-jid' | 'wrong-domain' | 'exists' | 'not-found' | 'invalid-password';

export class AdminError extends Error {
  constructor(
    readonly failure: AdminFailure,
    message: string,
  ) {
    super(message);
  }
}
