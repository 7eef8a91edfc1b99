/**
 * Who may use the API: a bearer token when one is configured (LLMXMR_HTTP_TOKEN), compared in
 * constant time; without one, only this machine, so the server refuses to listen anywhere but
 * on a loopback address.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** Loopback addresses and names: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (h.startsWith('::ffff:')) return isLoopback(h.slice('::ffff:'.length));
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Throws, saying what to do, when serving on `host` without a token would expose the API. */
export function checkBind(host: string, token: string | undefined): void {
  if (token) {
    if (token.length < 16) throw new Error('LLMXMR_HTTP_TOKEN is shorter than 16 characters: use a long random token (e.g. `openssl rand -hex 32`)');
    return;
  }
  if (!isLoopback(host)) {
    throw new Error(
      `refusing to serve the HTTP API on ${host} without a token: anyone who can reach it could submit and cancel jobs. ` +
        'Set LLMXMR_HTTP_TOKEN (e.g. `export LLMXMR_HTTP_TOKEN=$(openssl rand -hex 32)`), or listen on 127.0.0.1',
    );
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * A checker for the Authorization header: true when no token is configured, or when the header
 * is `Bearer <token>`. Both sides are hashed first, so the comparison takes the same time
 * whatever the length or content of the guess.
 */
export function bearerCheck(token: string | undefined): (authorization: string | undefined) => boolean {
  if (!token) return () => true;
  const want = digest(token);
  return (authorization) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    return timingSafeEqual(digest(m ? m[1] : ''), want) && Boolean(m);
  };
}
