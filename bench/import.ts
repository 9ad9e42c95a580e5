// XEP-0227 import into Redis: 10,000 generated accounts (each with SCRAM-SHA-1 keys, 5 roster
// contacts, an offline message and a vCard), read, checked and written by src/xep0227/ as
// `rookery import` does, on a redis-server of its own. Prints the time; the goal is ≤ 60 s.
//   node --import tsx bench/import.ts [accounts] [--passwords]
// --passwords gives plaintext passwords instead, so both SCRAM hashes are derived (PBKDF2, 4096
// iterations each) during the import.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedisBackend } from '../cluster/redis/index.js';
import { DEFAULT_LIMITS } from '../src/config.js';
import { deriveScramKeys } from '../src/sasl/credentials.js';
import { importAccounts, readImport } from '../src/xep0227/transfer.js';
import { startRedisServer } from '../test/support/redis-server.js';

const count = Number(process.argv.slice(2).find((arg) => /^\d+$/.test(arg)) ?? 10_000);
const passwords = process.argv.includes('--passwords');
const domain = 'bench.example';

const keys = await deriveScramKeys('password', 'SHA-1', randomBytes(16), 4096);
const credentials = `<scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1'><iter-count>4096</iter-count><salt>${keys.salt}</salt><server-key>${keys.serverKey}</server-key><stored-key>${keys.storedKey}</stored-key></scram-credentials>`;
const users: string[] = [];
for (let i = 0; i < count; i++) {
  const contacts = Array.from({ length: 5 }, (_, k) => `<item jid='user${(i + k + 1) % count}@${domain}' subscription='both' name='Contact ${k}'><group>Friends</group></item>`).join('');
  users.push(
    `<user name='user${i}'${passwords ? ` password='password-${i}'` : ''}>${passwords ? '' : credentials}<query xmlns='jabber:iq:roster'>${contacts}</query>`
      + `<offline-messages><message xmlns='jabber:client' from='user${(i + 1) % count}@${domain}' to='user${i}@${domain}' type='chat'><body>hello ${i}</body></message></offline-messages>`
      + `<vCard xmlns='vcard-temp'><FN>User ${i}</FN><NICKNAME>u${i}</NICKNAME></vCard></user>`,
  );
}
const dir = mkdtempSync(join(tmpdir(), 'rookery-import-bench-'));
const file = join(dir, 'accounts.xml');
writeFileSync(file, `<?xml version='1.0' encoding='UTF-8'?>\n<server-data xmlns='urn:xmpp:pie:0'><host jid='${domain}'>\n${users.join('\n')}\n</host></server-data>\n`);

const redis = await startRedisServer();
const state = await createRedisBackend({ url: redis.url, prefix: `bench${randomBytes(3).toString('hex')}` });
try {
  const options = { domain, limits: DEFAULT_LIMITS, iterations: 4096 };
  const start = performance.now();
  const accounts = readImport([file], options);
  const read = performance.now();
  const report = await importAccounts(state, accounts, options);
  const end = performance.now();
  const total = (end - start) / 1000;
  console.log(JSON.stringify({
    accounts: report.imported.length,
    mode: passwords ? 'plaintext passwords (SCRAM derived)' : 'SCRAM-SHA-1 keys',
    fileBytes: statSync(file).size,
    readAndCheckSeconds: Number(((read - start) / 1000).toFixed(2)),
    writeSeconds: Number(((end - read) / 1000).toFixed(2)),
    totalSeconds: Number(total.toFixed(2)),
    accountsPerSecond: Math.round(report.imported.length / total),
    accountsInRedis: await state.accounts.count(),
    cpus: cpus().length,
  }));
} finally {
  await state.close();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
