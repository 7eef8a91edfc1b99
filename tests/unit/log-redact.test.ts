/**
 * URL credentials are masked in texts, in nested values and in every line our loggers write:
 * fields, child bindings, error messages and stacks, the message itself.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/log/logger.ts';
import { redactDeep, redactUrlCredentials } from '../../shared/log/redact.ts';

describe('redactUrlCredentials', () => {
  it('keeps the user and masks the password', () => {
    expect(redactUrlCredentials('http://user:pw@host:8000/v1')).toBe('http://user:***@host:8000/v1');
    expect(redactUrlCredentials('tls://alice:s3cr%40t@nats.example:4222')).toBe('tls://alice:***@nats.example:4222');
  });

  it('masks a lone token, every URL of a list, and a password holding an unencoded "@"', () => {
    expect(redactUrlCredentials('nats://t0ken@127.0.0.1:4222')).toBe('nats://***@127.0.0.1:4222');
    expect(redactUrlCredentials('nats://a:1@n1:4222,nats://b:2@n2:4222')).toBe('nats://a:***@n1:4222,nats://b:***@n2:4222');
    expect(redactUrlCredentials('http://u:p@ss@host/x')).toBe('http://u:***@host/x');
    expect(redactUrlCredentials('failed: {"url":"https://k:v@api.example/v1"}\\nhttp://x:y@z')).toBe('failed: {"url":"https://k:***@api.example/v1"}\\nhttp://x:***@z');
  });

  it('leaves texts without URL credentials alone', () => {
    for (const s of ['mail a@b.c', 'http://host/path@v2', 'http://host:8000/v1?to=a@b', 'no url at all']) {
      expect(redactUrlCredentials(s)).toBe(s);
    }
  });
});

describe('redactDeep', () => {
  it('masks strings at any depth and keeps errors as errors', () => {
    const err = Object.assign(new Error('GET http://u:pw@h failed'), { url: 'http://u:pw@h' });
    const out = redactDeep({ a: [{ b: 'nats://x:y@n' }], err, n: 3 });
    expect(out.a[0].b).toBe('nats://x:***@n');
    expect(out.err).toBeInstanceOf(Error);
    expect(out.err.message).toBe('GET http://u:***@h failed');
    expect(out.err.stack).not.toContain(':pw@');
    expect((out.err as Error & { url: string }).url).toBe('http://u:***@h');
    const clean = { a: ['x'], b: { c: 1 } };
    expect(redactDeep(clean)).toBe(clean);
  });
});

describe('createLogger', () => {
  it('writes no URL password in fields, bindings, errors or messages', () => {
    const lines: string[] = [];
    const log = createLogger('t', 'debug', { write: (l: string) => void lines.push(l) });
    const child = log.child({ endpoint: 'http://bob:pw-binding@model:8000/v1' });
    child.info({ url: 'nats://svc:pw-field@nats:4222' }, 'connecting to http://svc:pw-msg@nats:4222');
    child.error({ err: new Error('refused by http://bob:pw-error@model') }, 'model call failed');
    child.warn(new Error('only an error http://bob:pw-arg@model'));
    log.info({ password: 'pw-named' }, 'named secret');
    const all = lines.join('');
    expect(lines).toHaveLength(4);
    for (const secret of ['pw-binding', 'pw-field', 'pw-msg', 'pw-error', 'pw-arg', 'pw-named']) expect(all).not.toContain(secret);
    expect(all).toContain('http://bob:***@model:8000/v1');
    expect(all).toContain('nats://svc:***@nats:4222');
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
  });
});
