// XEP-0363 HTTP File Upload, served by the server's own domain (as ejabberd can, and as clients
// find it: Conversations and Converse.js look at the server's disco#info first). A slot request
// is answered with a PUT and a GET URL from the upload service (src/upload/), which any node can
// honour; the disco#info form tells clients the largest file allowed.
import { Element } from 'ltx';
import type { Module } from '../core/module.js';
import { UploadRefusal, type UploadService } from '../upload/service.js';
import { StanzaError } from '../xmpp/errors.js';

export const NS_UPLOAD = 'urn:xmpp:http:upload:0';

function sizeForm(maxFileBytes: number): Element {
  const form = new Element('x', { xmlns: 'jabber:x:data', type: 'result' });
  form.c('field', { var: 'FORM_TYPE', type: 'hidden' }).c('value').t(NS_UPLOAD);
  form.c('field', { var: 'max-file-size' }).c('value').t(String(maxFileBytes));
  return form;
}

/** XEP-0363 §4.1: too large is not-acceptable with <file-too-large/>; a spent quota resource-constraint, to retry later. */
function refusal(error: UploadRefusal): StanzaError {
  let tooLarge: Element | undefined;
  if (error.maxFileBytes !== undefined) {
    tooLarge = new Element('file-too-large', { xmlns: NS_UPLOAD });
    tooLarge.c('max-file-size').t(String(error.maxFileBytes));
  }
  return new StanzaError(error.condition, error.message, error.condition === 'resource-constraint' ? 'wait' : 'modify', tooLarge);
}

export function uploadModule(upload: UploadService): Module {
  return {
    name: 'upload',
    load(api) {
      api.feature(NS_UPLOAD);
      api.infoForm(NS_UPLOAD, sizeForm(upload.maxFileBytes));
      api.iq('host', 'get', NS_UPLOAD, 'request', async (request) => {
        const { filename, size, 'content-type': type } = request.payload.attrs as Record<string, string | undefined>;
        if (filename === undefined || size === undefined || !/^\d{1,16}$/.test(size)) {
          throw new StanzaError('bad-request', 'A slot request needs a filename and a size in bytes');
        }
        try {
          const offer = await upload.requestSlot(request.from.bare, { filename, size: Number(size), type: type ?? '' });
          const slot = new Element('slot', { xmlns: NS_UPLOAD });
          const put = slot.c('put', { url: offer.put.url });
          for (const [name, value] of Object.entries(offer.put.headers)) put.c('header', { name }).t(value);
          slot.c('get', { url: offer.get });
          return slot;
        } catch (error) {
          if (error instanceof UploadRefusal) throw refusal(error);
          throw error;
        }
      });
    },
  };
}
