// ltx escapes & < > " ' in attribute values but writes tab, LF and CR as they are; a parser then
// normalises each to a space (XML 1.0 §3.3.3), so a value holding them would not survive the trip
// to the client or through the node bus. Every Element is written by ltx's Element.write, so the
// fix goes there, once, for every stanza this process serialises.
import { Element, escapeXML } from 'ltx';

const WHITESPACE_REFERENCES: Record<string, string> = { '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' };

/** An attribute value as it must appear between quotes. */
export function escapeAttribute(value: string): string {
  const escaped = escapeXML(value);
  return /[\t\n\r]/.test(escaped) ? escaped.replace(/[\t\n\r]/g, (ch) => WHITESPACE_REFERENCES[ch] as string) : escaped;
}

interface Writable {
  name: string;
  attrs: Record<string, unknown>;
  children: unknown[];
  _addChildren(writer: (text: string) => void): void;
}

// The same output as ltx's own write, but for the attribute escape.
(Element.prototype as unknown as { write(this: Writable, writer: (text: string) => void): void }).write = function write(writer) {
  writer('<');
  writer(this.name);
  for (const key in this.attrs) {
    const value = this.attrs[key];
    if (value === null || value === undefined) continue;
    writer(' ');
    writer(key);
    writer('="');
    writer(escapeAttribute(typeof value === 'string' ? value : String(value)));
    writer('"');
  }
  if (this.children.length === 0) writer('/>');
  else this._addChildren(writer);
};
