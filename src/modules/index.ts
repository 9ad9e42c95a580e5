// The feature modules every node loads, in load order.
import type { Config } from '../config.js';
import { parseUris } from '../config/types.js';
import type { Module } from '../core/module.js';
import { blockingModule } from './blocking.js';
import { capsModule } from './disco/caps.js';
import { carbonsModule } from './carbons.js';
import { CONTACT_KINDS, type ContactAddresses, contactInfoModule } from './contact-info.js';
import { csiModule } from './csi.js';
import { discoModule } from './disco/index.js';
import { extdiscoModule } from './extdisco.js';
import { iqRoutingModule } from './iq-routing.js';
import { legacySessionModule } from './legacy-session.js';
import { mamModule } from './mam/index.js';
import { messageModule } from './message.js';
import { mucModule } from './muc/index.js';
import { offlineModule } from './offline.js';
import { pepModule } from './pep/index.js';
import { pingModule } from './ping.js';
import { presenceModule } from './presence/index.js';
import { privateModule } from './private.js';
import { pushModule } from './push/index.js';
import { registerModule } from './register.js';
import { rosterModule } from './roster/index.js';
import { smacksModule } from './smacks/index.js';
import { vcardModule } from './vcard.js';
import { versionModule } from './version.js';
import { uploadModule } from './upload.js';
import type { UploadService } from '../upload/service.js';

/** XEP-0157: the addresses of each kind configured (contactAbuse, contactAdmin…). */
function contactAddresses(config: Config): ContactAddresses {
  const settings = { abuse: config.contactAbuse, admin: config.contactAdmin, feedback: config.contactFeedback, sales: config.contactSales, security: config.contactSecurity, support: config.contactSupport };
  return Object.fromEntries(CONTACT_KINDS.flatMap((kind) => (settings[kind] === undefined ? [] : [[kind, parseUris(settings[kind])]])));
}

/** `upload`: the HTTP upload service, when the composition root opened one (src/upload/). */
export function defaultModules(config: Config, services: { upload?: UploadService } = {}): Module[] {
  const contacts = contactAddresses(config);
  return [
    iqRoutingModule,
    messageModule,
    offlineModule,
    rosterModule,
    presenceModule,
    discoModule,
    capsModule,
    pingModule,
    versionModule,
    legacySessionModule,
    carbonsModule,
    mamModule,
    blockingModule,
    vcardModule,
    privateModule,
    mucModule,
    pepModule,
    pushModule,
    csiModule({ maxHeld: config.limits.csiMaxHeld }),
    smacksModule({ hibernationSeconds: config.smHibernationSeconds, maxQueue: config.limits.smMaxQueue }),
    ...(config.allowRegistration ? [registerModule] : []),
    ...(config.turnHost !== undefined
      ? [extdiscoModule({ host: config.turnHost, port: config.turnPort, tlsPort: config.turnTlsPort, secret: config.turnSecret, credentialSeconds: config.turnCredentialSeconds })]
      : []),
    ...(services.upload ? [uploadModule(services.upload)] : []),
    ...(Object.keys(contacts).length > 0 ? [contactInfoModule(contacts)] : []),
  ];
}
