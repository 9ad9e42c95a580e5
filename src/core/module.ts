// Feature modules: each registers hooks and IQ handlers through its ModuleApi, and everything
// it registered is removed again when it is unloaded (after Prosody's core/modulemanager.lua).
import type { Element } from 'ltx';
import type { Logger } from '../log.js';
import type { HookCatalogue } from './events.js';
import type { HookHandler } from './hooks.js';
import type { Host } from './host.js';
import type { IqHandler, IqScope, IqType } from './iq.js';

export interface ModuleApi {
  readonly host: Host;
  readonly log: Logger;
  hook<K extends keyof HookCatalogue>(name: K, handler: HookHandler<HookCatalogue[K]>, priority?: number): void;
  iq(scope: IqScope | IqScope[], type: IqType, xmlns: string, name: string, handler: IqHandler): void;
  /** Advertises a XEP-0030 feature of the server. */
  feature(namespace: string): void;
  /** Advertises a XEP-0030 feature of every account's bare JID. */
  accountFeature(namespace: string): void;
  /** Adds a XEP-0128 data form (`jabber:x:data`, type result, with a FORM_TYPE) to the server's disco#info. */
  infoForm(formType: string, form: Element): void;
  /** Runs when the module is unloaded, after its hooks are gone. */
  onUnload(cleanup: () => void): void;
}

export interface Module {
  readonly name: string;
  load(api: ModuleApi): void;
}

export class ModuleManager {
  private readonly loaded = new Map<string, Array<() => void>>();

  constructor(private readonly host: Host) {}

  load(module: Module): void {
    if (this.loaded.has(module.name)) throw new Error(`module ${module.name} is already loaded`);
    const teardown: Array<() => void> = [];
    const host = this.host;
    const api: ModuleApi = {
      host,
      log: host.log.child({ module: module.name }),
      hook: (name, handler, priority) => teardown.push(host.hooks.on(name, handler, priority)),
      iq: (scopes, type, xmlns, name, handler) => {
        for (const scope of Array.isArray(scopes) ? scopes : [scopes]) teardown.push(host.iq.register(scope, type, xmlns, name, handler));
      },
      feature: (namespace) => {
        host.features.add(namespace);
        teardown.push(() => host.features.delete(namespace));
      },
      accountFeature: (namespace) => {
        host.accountDisco.features.add(namespace);
        teardown.push(() => host.accountDisco.features.delete(namespace));
      },
      infoForm: (formType, form) => {
        host.infoForms.set(formType, form);
        teardown.push(() => host.infoForms.delete(formType));
      },
      onUnload: (cleanup) => teardown.push(cleanup),
    };
    this.loaded.set(module.name, teardown);
    module.load(api);
  }

  unload(name: string): void {
    const teardown = this.loaded.get(name);
    if (!teardown) return;
    this.loaded.delete(name);
    for (const remove of teardown) remove();
  }

  unloadAll(): void {
    for (const name of [...this.loaded.keys()].reverse()) this.unload(name);
  }

  isLoaded(name: string): boolean {
    return this.loaded.has(name);
  }
}
