/**
 * Credentials inside URLs, removed from anything we print or log: `http://user:pw@host` becomes
 * `http://user:***@host`, and a lone token (`nats://s3cret@host`, how NATS takes a token)
 * becomes `nats://***@host`. Works on whole texts (a log line, an error message, a list of
 * servers), not only on a string that is exactly one URL. Pure: no I/O.
 */

/**
 * scheme://userinfo@ — userinfo stops at whitespace, "/", "?", "#" and quotes; it runs to the
 * last "@" before those, so an unencoded "@" inside a password does not leave its tail. No
 * word boundary before the scheme: in a JSON line a URL may follow an escape such as "\n".
 */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)([^\s/?#"'<>]*)@/gi;

export const MASK = '***';

/** Every URL credential in `text` masked; the user name stays (it tells which account was used). */
export function redactUrlCredentials(text: string): string {
  if (!text.includes('@')) return text;
  return text.replace(URL_CREDENTIALS, (_all, scheme: string, userinfo: string) => {
    if (userinfo === '' || userinfo === MASK) return `${scheme}${userinfo}@`;
    const colon = userinfo.indexOf(':');
    if (colon < 0) return `${scheme}${MASK}@`;
    const user = userinfo.slice(0, colon);
    return `${scheme}${user}:${MASK}@`;
  });
}

const MAX_DEPTH = 8;

/**
 * A copy of `value` with URL credentials masked in every string it holds (object keys
 * included). Errors are copied with their class. Values with nothing to mask are returned as
 * they are.
 */
export function redactDeep<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redactUrlCredentials(value) as T;
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (value instanceof Error) {
    // Same class (serializers name it), message and stack masked, own fields masked.
    const copy = Object.create(Object.getPrototypeOf(value) as object) as Error;
    Object.defineProperty(copy, 'message', { value: redactUrlCredentials(value.message), enumerable: false, writable: true, configurable: true });
    Object.defineProperty(copy, 'stack', { value: value.stack && redactUrlCredentials(value.stack), enumerable: false, writable: true, configurable: true });
    for (const [k, v] of Object.entries(value)) (copy as unknown as Record<string, unknown>)[redactUrlCredentials(k)] = redactDeep(v, depth + 1);
    if (value.cause !== undefined) copy.cause = redactDeep(value.cause, depth + 1);
    return copy as T;
  }
  if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof Map || value instanceof Set) return value;
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      const r = redactDeep(v, depth + 1);
      if (r !== v) changed = true;
      return r;
    });
    return (changed ? out : value) as T;
  }
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const key = redactUrlCredentials(k);
    const r = redactDeep(v, depth + 1);
    if (r !== v || key !== k) changed = true;
    out[key] = r;
  }
  return (changed ? out : value) as T;
}
