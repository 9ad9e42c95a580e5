// The HTTP upload workload's generator side (XEP-0363, Rookery's disk store): one logged-in client
// per lane asks the server for slots over XMPP, PUTs each file to the slot's URL and, once every
// file of a size is up, fetches them all back (GET) and checks their length. Each phase is timed
// on its own, with the server's CPU over it, so MB/s are per direction and per size.
import { performance } from 'node:perf_hooks';
import type { LoginOptions, XmppClient } from './lib/client.js';
import { attr } from './lib/framer.js';
import { Histogram } from './lib/hist.js';
import { sumCpu } from './lib/proc.js';
import type { UploadJob, UploadPhase, UploadResult } from './lib/protocol.js';

const NS_UPLOAD = 'urn:xmpp:http:upload:0';

interface Slot {
  put: string;
  headers: Record<string, string>;
  get: string;
}

/** One client's iq replies by id. */
class Requester {
  private next = 0;
  private readonly waiting = new Map<string, (xml: string) => void>();

  constructor(private readonly client: XmppClient, private readonly domain: string) {
    client.onStanza = (xml) => {
      const id = xml.startsWith('<iq') ? attr(xml, 'id') : undefined;
      const waiter = id === undefined ? undefined : this.waiting.get(id);
      if (!waiter || id === undefined) return;
      this.waiting.delete(id);
      waiter(xml);
    };
  }

  slot(filename: string, size: number): Promise<Slot> {
    const id = `slot${++this.next}`;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (xml) => {
        const put = /<put[^>]*\surl=['"]([^'"]+)['"]/.exec(xml)?.[1];
        const get = /<get[^>]*\surl=['"]([^'"]+)['"]/.exec(xml)?.[1];
        if (attr(xml, 'type') !== 'result' || !put || !get) return reject(new Error(`no slot: ${xml.slice(0, 300)}`));
        const headers: Record<string, string> = {};
        for (const match of xml.matchAll(/<header\s+name=['"]([^'"]+)['"]>([^<]*)<\/header>/g)) headers[match[1]!] = unescape(match[2]!);
        resolve({ put: unescape(put), headers, get: unescape(get) });
      });
      this.client.send(`<iq type='get' id='${id}' to='${this.domain}'><request xmlns='${NS_UPLOAD}' filename='${filename}' size='${size}' content-type='application/octet-stream'/></iq>`);
    });
  }
}

function unescape(text: string): string {
  return text.replace(/&apos;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** The slot's URL on the node's own HTTP address (the server names its domain, which may not resolve here). */
function onNode(url: string, httpUrl: string): string {
  const parsed = new URL(url);
  return `${httpUrl.replace(/\/+$/, '')}${parsed.pathname}${parsed.search}`;
}

/** Runs `count` tasks, `lanes` at a time (task i on lane i mod lanes), and times the whole and each. */
async function phase(count: number, lanes: number, serverPids: number[], task: (index: number, lane: number) => Promise<number>): Promise<UploadPhase> {
  const hist = new Histogram();
  let next = 0;
  let bytes = 0;
  const cpu = process.cpuUsage();
  const server0 = sumCpu(serverPids);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(lanes, count) }, async (_, lane) => {
      while (next < count) {
        const index = next++;
        const started = performance.now();
        bytes += await task(index, lane);
        hist.record(performance.now() - started);
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { bytes, files: count, wallMs: performance.now() - t0, hist: hist.toData(), serverCpuSeconds: sumCpu(serverPids) - server0, cpuMs: (used.user + used.system) / 1000 };
}

export async function uploadRun(job: UploadJob, login: (options: LoginOptions) => Promise<XmppClient>): Promise<UploadResult> {
  const { target } = job;
  if (target.httpUrl === undefined) throw new Error('upload: the target has no HTTP URL');
  const httpUrl = target.httpUrl;
  const clients = await Promise.all(
    job.users.map((user) => login({ target, user, password: job.password, mechanism: 'PLAIN', starttls: false, resource: 'upload', presence: false, timeoutMs: 30_000 })),
  );
  const requesters = clients.map((client) => new Requester(client, target.domain));
  const result: UploadResult = { sizes: [] };
  try {
    for (let k = 0; k < job.sizes.length; k++) {
      const size = job.sizes[k]!;
      const files = job.files[k]!;
      const body = new Uint8Array(size).map((_, i) => (i * 31 + k) & 0xff);
      const gets: string[] = new Array<string>(files);
      const put = await phase(files, job.concurrency, job.serverPids, async (index, lane) => {
        const slot = await requesters[lane % requesters.length]!.slot(`f${size}-${index}.bin`, size);
        const response = await fetch(onNode(slot.put, httpUrl), { method: 'PUT', headers: { ...slot.headers, 'content-type': 'application/octet-stream' }, body });
        await response.arrayBuffer();
        if (response.status !== 201 && response.status !== 200) throw new Error(`PUT ${size} bytes: ${response.status}`);
        gets[index] = onNode(slot.get, httpUrl);
        return size;
      });
      let mismatched = 0;
      const get = await phase(files, job.concurrency, job.serverPids, async (index) => {
        const response = await fetch(gets[index]!);
        const received = (await response.arrayBuffer()).byteLength;
        if (response.status !== 200 || received !== size) mismatched++;
        return received;
      });
      result.sizes.push({ size, put, get, mismatched });
    }
  } finally {
    await Promise.all(clients.map((client) => client.close(5000)));
  }
  return result;
}
