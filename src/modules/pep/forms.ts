// XEP-0004 data forms of PEP: publish-options (XEP-0223) and node configuration (XEP-0060 §8.2),
// read into the store's PepNodeConfig and written back from it.
import { Element } from 'ltx';
import { type AccessModel, type PepNodeConfig, type PepPreconditions, type SendLastPublished } from '../../state/pep.js';
import { StanzaError } from '../../xmpp/errors.js';

export const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
export const NS_PUBSUB_EVENT = 'http://jabber.org/protocol/pubsub#event';
export const NS_PUBSUB_OWNER = 'http://jabber.org/protocol/pubsub#owner';
export const NS_PUBSUB_ERRORS = 'http://jabber.org/protocol/pubsub#errors';
export const NS_DATA = 'jabber:x:data';
export const FORM_PUBLISH_OPTIONS = 'http://jabber.org/protocol/pubsub#publish-options';
export const FORM_NODE_CONFIG = 'http://jabber.org/protocol/pubsub#node_config';

const ACCESS_MODELS = new Set<AccessModel>(['presence', 'open', 'roster', 'whitelist']);
const SEND_LAST = new Set<SendLastPublished>(['never', 'on_sub', 'on_sub_and_presence']);

/** A stanza error with a pubsub#errors condition (XEP-0060 §7.1.3 and the like). */
export function pubsubError(condition: ConstructorParameters<typeof StanzaError>[0], pubsubCondition: string, text?: string, attrs: Record<string, string> = {}): StanzaError {
  return new StanzaError(condition, text, undefined, new Element(pubsubCondition, { xmlns: NS_PUBSUB_ERRORS, ...attrs }));
}

/** The fields of a submitted form by var, each with its values; undefined without a form. */
export function formFields(parent: Element | undefined, formType: string): Map<string, string[]> | undefined {
  const form = parent?.getChild('x', NS_DATA);
  if (!form) return undefined;
  const fields = new Map<string, string[]>();
  for (const field of form.getChildren('field')) {
    const name = field.attrs.var;
    if (typeof name !== 'string') continue;
    fields.set(name, field.getChildren('value').map((value) => value.getText()));
  }
  const type = fields.get('FORM_TYPE')?.[0];
  if (type !== undefined && type !== formType) throw new StanzaError('bad-request', `FORM_TYPE ${type} is not ${formType}`);
  return fields;
}

function parseBoolean(value: string | undefined, field: string): boolean {
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw new StanzaError('bad-request', `${field} is not a boolean`);
}

/** Applies submitted fields onto `base`; `max` of pubsub#max_items means itemsPerNode. */
export function applyFields(base: PepNodeConfig, fields: Map<string, string[]>, itemsPerNode: number): { config: PepNodeConfig; changed: PepPreconditions } {
  const config: PepNodeConfig = { ...base };
  const changed: PepPreconditions = {};
  const first = (name: string): string | undefined => fields.get(name)?.[0];
  if (fields.has('pubsub#access_model')) {
    const model = first('pubsub#access_model') as AccessModel;
    if (!ACCESS_MODELS.has(model)) throw pubsubError('not-acceptable', 'unsupported', `Access model ${model} is not supported`, { feature: 'access-authorize' });
    config.access_model = changed.access_model = model;
  }
  if (fields.has('pubsub#max_items')) {
    const raw = first('pubsub#max_items') ?? '';
    const count = raw === 'max' ? itemsPerNode : /^\d{1,9}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(count) || count < 1) throw new StanzaError('bad-request', 'pubsub#max_items is not a positive number or max');
    if (count > itemsPerNode) throw pubsubError('not-acceptable', 'max-items-exceeded', `No more than ${itemsPerNode} items per node`);
    config.max_items = changed.max_items = count;
  }
  if (fields.has('pubsub#persist_items')) config.persist_items = changed.persist_items = parseBoolean(first('pubsub#persist_items'), 'pubsub#persist_items');
  if (fields.has('pubsub#send_last_published_item')) {
    const when = first('pubsub#send_last_published_item') as SendLastPublished;
    if (!SEND_LAST.has(when)) throw new StanzaError('bad-request', `send_last_published_item ${when} is not known`);
    config.send_last_published_item = changed.send_last_published_item = when;
  }
  if (fields.has('pubsub#notify_retract')) config.notify_retract = parseBoolean(first('pubsub#notify_retract'), 'pubsub#notify_retract');
  if (fields.has('pubsub#roster_groups_allowed')) config.roster_groups_allowed = fields.get('pubsub#roster_groups_allowed') ?? [];
  if (fields.has('pubsub#title')) {
    const title = first('pubsub#title') ?? '';
    if (title === '') delete config.title;
    else config.title = title;
  }
  return { config, changed };
}

function field(form: Element, name: string, type: string, values: string[], options?: string[]): void {
  const element = form.c('field', { var: name, type });
  for (const option of options ?? []) element.c('option').c('value').t(option);
  for (const value of values) element.c('value').t(value);
}

/** The node configuration form (XEP-0060 §8.2.1), filled with `config`. */
export function configForm(config: PepNodeConfig): Element {
  const form = new Element('x', { xmlns: NS_DATA, type: 'form' });
  field(form, 'FORM_TYPE', 'hidden', [FORM_NODE_CONFIG]);
  field(form, 'pubsub#title', 'text-single', config.title === undefined ? [] : [config.title]);
  field(form, 'pubsub#access_model', 'list-single', [config.access_model], [...ACCESS_MODELS]);
  field(form, 'pubsub#max_items', 'text-single', [String(config.max_items)]);
  field(form, 'pubsub#persist_items', 'boolean', [config.persist_items ? '1' : '0']);
  field(form, 'pubsub#send_last_published_item', 'list-single', [config.send_last_published_item], [...SEND_LAST]);
  field(form, 'pubsub#notify_retract', 'boolean', [config.notify_retract ? '1' : '0']);
  field(form, 'pubsub#roster_groups_allowed', 'list-multi', config.roster_groups_allowed);
  return form;
}
