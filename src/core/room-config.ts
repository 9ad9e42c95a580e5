// The muc#roomconfig form (XEP-0045 §10.2, XEP-0004 data forms): the room's configuration as a
// form for its owner, and a submitted form read back into a configuration. The group chat
// service and the XEP-0227 export of rooms share it.
import { Element } from 'ltx';
import type { Limits } from '../config.js';
import { archives, type RoomConfig } from '../state/muc.js';
import { StanzaError } from '../xmpp/errors.js';

export const NS_DATA = 'jabber:x:data';
const FORM_TYPE = 'http://jabber.org/protocol/muc#roomconfig';
const PM_VALUES = ['anyone', 'participants', 'moderators', 'none'] as const;

/** A new room's configuration, within the limits. */
export function defaultConfig(limits: Limits): RoomConfig {
  return {
    name: '', description: '', persistent: false, public: true, membersOnly: false, password: '', moderated: false,
    maxOccupants: limits.mucOccupants, whois: 'moderators', historyLength: Math.min(20, limits.mucHistoryMessages),
    allowPrivateMessages: 'anyone', changeSubject: false, allowInvites: false, archiving: true,
  };
}

type Field = { var: string; type: string; label: string; value: string; options?: readonly string[] };

function fields(config: RoomConfig): Field[] {
  const flag = (value: boolean): string => (value ? '1' : '0');
  return [
    { var: 'muc#roomconfig_roomname', type: 'text-single', label: 'Name', value: config.name },
    { var: 'muc#roomconfig_roomdesc', type: 'text-single', label: 'Description', value: config.description },
    { var: 'muc#roomconfig_persistentroom', type: 'boolean', label: 'Persistent (kept when empty)', value: flag(config.persistent) },
    { var: 'muc#roomconfig_publicroom', type: 'boolean', label: 'Listed in the directory of rooms', value: flag(config.public) },
    { var: 'muc#roomconfig_membersonly', type: 'boolean', label: 'Members only', value: flag(config.membersOnly) },
    { var: 'muc#roomconfig_passwordprotectedroom', type: 'boolean', label: 'Password protected', value: flag(config.password !== '') },
    { var: 'muc#roomconfig_roomsecret', type: 'text-private', label: 'Password', value: config.password },
    { var: 'muc#roomconfig_moderatedroom', type: 'boolean', label: 'Moderated (only occupants with voice speak)', value: flag(config.moderated) },
    { var: 'muc#roomconfig_maxusers', type: 'text-single', label: 'Most occupants', value: String(config.maxOccupants) },
    { var: 'muc#roomconfig_whois', type: 'list-single', label: 'Who sees real JIDs', value: config.whois, options: ['moderators', 'anyone'] },
    { var: 'muc#roomconfig_historylength', type: 'text-single', label: 'Messages of history kept', value: String(config.historyLength) },
    { var: 'muc#roomconfig_allowpm', type: 'list-single', label: 'Who may send private messages', value: config.allowPrivateMessages, options: PM_VALUES },
    { var: 'muc#roomconfig_changesubject', type: 'boolean', label: 'Occupants may change the subject', value: flag(config.changeSubject) },
    { var: 'muc#roomconfig_allowinvites', type: 'boolean', label: 'Occupants may invite', value: flag(config.allowInvites) },
    // Prosody's name (mod_muc_mam): XEP-0045 registers none for a message archive.
    { var: 'muc#roomconfig_enablearchiving', type: 'boolean', label: 'Archive chat on server', value: flag(archives(config)) },
  ];
}

/** The configuration as a submitted form: values only (how an export carries it). */
export function submittedForm(config: RoomConfig): Element {
  const x = new Element('x', { xmlns: NS_DATA, type: 'submit' });
  x.c('field', { var: 'FORM_TYPE', type: 'hidden' }).c('value').t(FORM_TYPE);
  for (const field of fields(config)) x.c('field', { var: field.var }).c('value').t(field.value);
  return x;
}

export function configForm(config: RoomConfig): Element {
  const x = new Element('x', { xmlns: NS_DATA, type: 'form' });
  x.c('title').t('Room configuration');
  x.c('field', { var: 'FORM_TYPE', type: 'hidden' }).c('value').t(FORM_TYPE);
  for (const field of fields(config)) {
    const element = x.c('field', { var: field.var, type: field.type, label: field.label });
    element.c('value').t(field.value);
    for (const option of field.options ?? []) element.c('option', { label: option }).c('value').t(option);
  }
  return x;
}

/** The configuration a submitted form gives; fields left out keep their value (§10.2). */
export function readForm(form: Element, config: RoomConfig, limits: Limits): RoomConfig {
  const values = new Map<string, string>();
  for (const field of form.getChildren('field')) values.set(String(field.attrs.var ?? ''), field.getChildText('value') ?? '');
  const type = values.get('FORM_TYPE');
  if (type !== undefined && type !== FORM_TYPE) throw new StanzaError('bad-request', 'Not a muc#roomconfig form');
  const text = (name: string, current: string): string => values.get(name) ?? current;
  const flag = (name: string, current: boolean): boolean => {
    const value = values.get(name);
    if (value === undefined) return current;
    if (value === '1' || value === 'true') return true;
    if (value === '0' || value === 'false' || value === '') return false;
    throw new StanzaError('bad-request', `${name} is a boolean`);
  };
  const count = (name: string, current: number, most: number): number => {
    const value = values.get(name);
    if (value === undefined) return current;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 0) throw new StanzaError('bad-request', `${name} is a non-negative integer`);
    return Math.min(parsed, most);
  };
  const choice = <T extends string>(name: string, current: T, allowed: readonly T[]): T => {
    const value = values.get(name);
    if (value === undefined) return current;
    if (!(allowed as readonly string[]).includes(value)) throw new StanzaError('bad-request', `${name} is one of ${allowed.join(', ')}`);
    return value as T;
  };
  const protectedRoom = flag('muc#roomconfig_passwordprotectedroom', config.password !== '');
  return {
    name: text('muc#roomconfig_roomname', config.name),
    description: text('muc#roomconfig_roomdesc', config.description),
    persistent: flag('muc#roomconfig_persistentroom', config.persistent),
    public: flag('muc#roomconfig_publicroom', config.public),
    membersOnly: flag('muc#roomconfig_membersonly', config.membersOnly),
    password: protectedRoom ? text('muc#roomconfig_roomsecret', config.password) : '',
    moderated: flag('muc#roomconfig_moderatedroom', config.moderated),
    maxOccupants: Math.max(1, count('muc#roomconfig_maxusers', config.maxOccupants, limits.mucOccupants)),
    whois: choice('muc#roomconfig_whois', config.whois, ['moderators', 'anyone'] as const),
    historyLength: count('muc#roomconfig_historylength', config.historyLength, limits.mucHistoryMessages),
    allowPrivateMessages: choice('muc#roomconfig_allowpm', config.allowPrivateMessages, PM_VALUES),
    changeSubject: flag('muc#roomconfig_changesubject', config.changeSubject),
    allowInvites: flag('muc#roomconfig_allowinvites', config.allowInvites),
    archiving: flag('muc#roomconfig_enablearchiving', archives(config)),
  };
}
