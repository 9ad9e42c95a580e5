// Where the admin API's bearer token comes from: ROOKERY_ADMIN_TOKEN, or else a file in the data
// directory that the first node to start writes and every later node and the CLI read.
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const TOKEN_FILE = 'admin-token';

export type TokenSource = { token: string; origin: 'config' | 'file-created' | 'file-reused'; file?: string } | { failure: string; file: string };

export function tokenPath(dataDir: string): string {
  return join(dataDir, TOKEN_FILE);
}

/**
 * The configured token, or the one in `<dataDir>/admin-token`, created if missing. The file is
 * written under a private name and then hard-linked into place: link() fails if the name exists,
 * so two nodes starting together agree on one token and neither reads a half-written file.
 */
export async function loadOrCreateAdminToken(configured: string | undefined, dataDir: string): Promise<TokenSource> {
  if (configured !== undefined) return { token: configured, origin: 'config' };
  const file = tokenPath(dataDir);
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const existing = await readToken(file);
    if (existing !== undefined) return { token: existing, origin: 'file-reused', file };
    const token = randomBytes(32).toString('base64url');
    const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(draft, `${token}\n`, { mode: 0o600, flag: 'wx' });
    try {
      await link(draft, file);
      return { token, origin: 'file-created', file };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const winner = await readToken(file);
      if (winner === undefined) return { failure: 'the token file another process created is empty', file };
      return { token: winner, origin: 'file-reused', file };
    } finally {
      await unlink(draft).catch(() => undefined);
    }
  } catch (error) {
    return { failure: (error as Error).message, file };
  }
}

async function readToken(file: string): Promise<string | undefined> {
  try {
    return nonEmpty(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** For the CLI: the token a node of this data directory wrote, if it is readable. */
export function readTokenFileSync(dataDir: string): string | undefined {
  try {
    return nonEmpty(readFileSync(tokenPath(dataDir), 'utf8'));
  } catch {
    return undefined;
  }
}

function nonEmpty(text: string): string | undefined {
  const token = text.trim();
  return token === '' ? undefined : token;
}
