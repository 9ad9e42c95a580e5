// XEP-0153 §4: a vCard's photo is known by the SHA-1 (hex) of its binary data.
import { createHash } from 'node:crypto';
import type { Element } from 'ltx';

/** The hash of the <PHOTO><BINVAL/> of a vcard-temp element; undefined without a photo. */
export function photoHash(vcard: Element): string | undefined {
  const binval = vcard.getChild('PHOTO')?.getChildText('BINVAL')?.replace(/\s+/g, '');
  if (!binval) return undefined;
  const bytes = Buffer.from(binval, 'base64');
  return bytes.length === 0 ? undefined : createHash('sha1').update(bytes).digest('hex');
}
