// Per-account personal XML: the vCard (XEP-0054 vcard-temp) and private XML storage (XEP-0049,
// where legacy XEP-0048 bookmarks live). Each item is one element as XML, under a key naming
// what it is (personalKey); the stores do not parse it.

/** The key of a stored item: the vCard, or a private XML element by its name and namespace. */
export type PersonalItem = { kind: 'vcard' } | { kind: 'private'; name: string; namespace: string };

/** `vcard`, or `private <name> <namespace>` (an element name holds no space, so the split is unique). */
export function personalKey(item: PersonalItem): string {
  return item.kind === 'vcard' ? 'vcard' : `private ${item.name} ${item.namespace}`;
}

/** The inverse of personalKey; undefined for a key no release writes. */
export function parsePersonalKey(key: string): PersonalItem | undefined {
  if (key === 'vcard') return { kind: 'vcard' };
  const match = /^private ([^ ]+) (.*)$/s.exec(key);
  return match ? { kind: 'private', name: match[1] as string, namespace: match[2] as string } : undefined;
}

/** The bounds of one account's personal data (limits.personalItemBytes, limits.personalItems). */
export interface PersonalLimits {
  /** Largest item, in UTF-8 bytes of its XML. */
  itemBytes: number;
  /** Items one account may hold (the vCard and each private XML element count one each). */
  items: number;
}

/** stored; too-large: the item exceeds itemBytes; full: a new key would exceed items. */
export type PersonalSetResult = 'stored' | 'too-large' | 'full';

/**
 * Guarantees: `set` checks both limits and writes in one atomic step per account (two racing
 * sets of new keys never take the account past `items`; replacing an existing key never counts
 * as a new one). Every method is linearizable per account; nothing expires.
 */
export interface PersonalStore {
  get(user: string, key: string): Promise<string | undefined>;
  set(user: string, key: string, xml: string, limits: PersonalLimits): Promise<PersonalSetResult>;
  /** false when there was nothing under the key. */
  remove(user: string, key: string): Promise<boolean>;
  /** Every item of the account (for export), key → XML. */
  all(user: string): Promise<Map<string, string>>;
  deleteAll(user: string): Promise<void>;
}

export function byteLength(xml: string): number {
  return Buffer.byteLength(xml, 'utf8');
}
