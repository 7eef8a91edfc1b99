/**
 * Who may use the API, and as whom. Two kinds of bearer token:
 * * the operator's (LLMXMR_HTTP_TOKEN): acts as the administrator, sees and does everything;
 * * a publisher's (listed by sha-256 in LLMXMR_HTTP_USERS_FILE, written by `llmxmr auth init`):
 *   acts as that user, who sees and acts on its own jobs only.
 * Tokens are compared in constant time. Without any token configured, only this machine may
 * use the API (as the administrator), so the server refuses to listen anywhere but on loopback.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';

/** The caller of a request: the administrator, or one publisher. */
export type Caller = { admin: true; user?: undefined } | { admin: false; user: string };
export const ADMIN: Caller = { admin: true };

/** Loopback addresses and names: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (h.startsWith('::ffff:')) return isLoopback(h.slice('::ffff:'.length));
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Throws, saying what to do, when serving on `host` without a token would expose the API. */
export function checkBind(host: string, token: string | undefined, httpUsers = 0): void {
  if (token) {
    if (token.length < 16) throw new Error('LLMXMR_HTTP_TOKEN is shorter than 16 characters: use a long random token (e.g. `openssl rand -hex 32`)');
    return;
  }
  if (httpUsers > 0) return;
  if (!isLoopback(host)) {
    throw new Error(
      `refusing to serve the HTTP API on ${host} without a token: anyone who can reach it could submit and cancel jobs. ` +
        'Set LLMXMR_HTTP_TOKEN (e.g. `export LLMXMR_HTTP_TOKEN=$(openssl rand -hex 32)`) or LLMXMR_HTTP_USERS_FILE (from `llmxmr auth init --users …`), or listen on 127.0.0.1',
    );
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();
/** The sha-256 of a token, in hex: what the users file stores. */
export const tokenHash = (token: string) => digest(token).toString('hex');

export const HttpUserSchema = z.object({
  user: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'a publisher name (lowercase letters, digits, "-" or "_")'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'the hex sha-256 of the user\'s token'),
});
export type HttpUser = z.infer<typeof HttpUserSchema>;
export const HttpUsersFileSchema = z.object({ version: z.literal(1), users: z.array(HttpUserSchema) }).strict();

/** Read and check LLMXMR_HTTP_USERS_FILE; errors name the file and what is wrong with it. */
export function loadHttpUsers(path: string): HttpUser[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`LLMXMR_HTTP_USERS_FILE ${path} cannot be read as JSON (${(e as Error).message}): point it at the http-users.json that \`llmxmr auth init --users …\` wrote`);
  }
  const r = HttpUsersFileSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`LLMXMR_HTTP_USERS_FILE ${path}: ${i?.path.join('.') || 'file'}: ${i?.message}; regenerate it with \`llmxmr auth init --users …\``);
  }
  const seen = new Set<string>();
  for (const u of r.data.users) {
    if (seen.has(u.sha256)) throw new Error(`LLMXMR_HTTP_USERS_FILE ${path}: two users share one token; give each its own`);
    seen.add(u.sha256);
  }
  return r.data.users;
}

/**
 * The caller named by an Authorization header, or null when the token is missing or unknown.
 * With no token configured at all, every request is the administrator's (loopback only, see
 * checkBind). Every configured token is compared, each in constant time, so the time taken
 * says nothing about which one (if any) was close.
 */
export function bearerAuth(o: { token?: string; users?: HttpUser[] }): (authorization: string | undefined) => Caller | null {
  const users = o.users ?? [];
  if (!o.token && users.length === 0) return () => ADMIN;
  const admin = o.token ? digest(o.token) : undefined;
  const hashes = users.map((u) => ({ user: u.user, hash: Buffer.from(u.sha256, 'hex') }));
  return (authorization) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const given = digest(m ? m[1] : '');
    let found: Caller | null = null;
    if (admin && timingSafeEqual(given, admin)) found = ADMIN;
    for (const h of hashes) if (timingSafeEqual(given, h.hash) && !found) found = { admin: false, user: h.user };
    return m ? found : null;
  };
}

/** Whether the Authorization header carries the one configured token (true when none is). */
export function bearerCheck(token: string | undefined): (authorization: string | undefined) => boolean {
  const auth = bearerAuth({ token });
  return (authorization) => auth(authorization) !== null;
}
