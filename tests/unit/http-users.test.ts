/**
 * Per-user HTTP tokens: what `auth init` writes for the gateway and each publisher, how the
 * gateway maps a bearer token to a caller, the users file's checks, the Kubernetes Secrets'
 * extra keys, and the gateway's NATS rights to submit for its publishers (and no one else).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authInitFiles, k8sSecrets } from '../../shared/security/auth-init.ts';
import { rolePermissions } from '../../shared/security/permissions.ts';
import { bearerAuth, checkBind, loadHttpUsers, tokenHash } from '../../services/gateway/auth.ts';

const files = authInitFiles({ prefix: 'mr', users: ['alice', 'bob'], password: (n) => `pw-${n}`, httpToken: (n) => `token-of-${n}-0123456789`, storeDir: '/js', url: 'nats://h:4222', httpUsersPath: '/etc/llmxmr/http-users.json' });
const envVar = (file: string, name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(files.get(file)!)?.[1];

describe('auth init for the HTTP API', () => {
  it('gives each publisher its own token and the gateway their hashes, never the tokens', () => {
    expect(envVar('alice.env', 'LLMXMR_HTTP_TOKEN')).toBe('token-of-alice-0123456789');
    expect(envVar('bob.env', 'LLMXMR_HTTP_TOKEN')).toBe('token-of-bob-0123456789');
    expect(envVar('gateway.env', 'LLMXMR_HTTP_USERS_FILE')).toBe('/etc/llmxmr/http-users.json');
    expect(envVar('gateway.env', 'LLMXMR_HTTP_TOKEN')).toBe(envVar('admin.env', 'LLMXMR_HTTP_TOKEN'));
    expect(envVar('mapper.env', 'LLMXMR_HTTP_TOKEN')).toBeUndefined();
    const users = JSON.parse(files.get('http-users.json')!);
    expect(users).toEqual({ version: 1, users: [{ user: 'alice', sha256: tokenHash('token-of-alice-0123456789') }, { user: 'bob', sha256: tokenHash('token-of-bob-0123456789') }] });
    expect(files.get('http-users.json')).not.toContain('token-of');
  });

  it('writes the same random token into the .env file and, hashed, into the users file', () => {
    let n = 0;
    const random = authInitFiles({ prefix: 'mr', users: ['carol'], password: () => `random-${n++}-0123456789`, storeDir: '/js', url: 'nats://h:4222' });
    const token = /^LLMXMR_HTTP_TOKEN=(.*)$/m.exec(random.get('carol.env')!)![1];
    expect(JSON.parse(random.get('http-users.json')!).users).toEqual([{ user: 'carol', sha256: tokenHash(token) }]);
  });

  it('lets the gateway submit and upload for its publishers only', () => {
    const gw = rolePermissions('mr', 'gateway', '_INBOX.gateway', 'gateway', ['alice']);
    expect(gw.publish.allow).toEqual(expect.arrayContaining(['mr.jobs.submit.alice', 'mr.uploads.alice.*']));
    expect(gw.publish.allow.filter((s) => s.includes('bob'))).toEqual([]);
    expect(gw.publish.allow).not.toContain('mr.uploads.>');
    const conf = files.get('nats.conf')!;
    expect(conf).toContain('"mr.uploads.bob.*"');
  });

  it('puts the publisher token in its Secret and only its hash in the gateway Secret', () => {
    const out = k8sSecrets((u) => (u === 'http:publisher' ? 'pub-token-0123456789' : `s-${u}`));
    expect(out).toContain('http-token: "pub-token-0123456789"');
    expect(out).toContain(tokenHash('pub-token-0123456789'));
    expect(out.match(/pub-token-0123456789/g)).toHaveLength(1);
  });
});

describe('bearer tokens', () => {
  const users = [{ user: 'alice', sha256: tokenHash('alice-token-0123456789') }];
  const auth = bearerAuth({ token: 'admin-token-0123456789', users });

  it('maps the admin token to the administrator and a user token to its user', () => {
    expect(auth('Bearer admin-token-0123456789')).toEqual({ admin: true });
    expect(auth('Bearer alice-token-0123456789')).toEqual({ admin: false, user: 'alice' });
    expect(auth('Bearer nobody')).toBeNull();
    expect(auth(undefined)).toBeNull();
    expect(bearerAuth({ users })('Bearer admin-token-0123456789')).toBeNull();
  });

  it('serves on any interface once publisher tokens exist, and not with none', () => {
    expect(() => checkBind('0.0.0.0', undefined, 1)).not.toThrow();
    expect(() => checkBind('0.0.0.0', undefined, 0)).toThrow(/LLMXMR_HTTP_USERS_FILE/);
  });

  it('names the users file and the problem when the file is wrong', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmxmr-hu-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ version: 1, users: [{ user: 'alice', sha256: 'short' }] }));
    expect(() => loadHttpUsers(bad)).toThrow(/bad\.json: users\.0\.sha256: the hex sha-256/);
    writeFileSync(bad, '{');
    expect(() => loadHttpUsers(bad)).toThrow(/cannot be read as JSON/);
    const twice = join(dir, 'twice.json');
    writeFileSync(twice, JSON.stringify({ version: 1, users: [users[0], { ...users[0], user: 'bob' }] }));
    expect(() => loadHttpUsers(twice)).toThrow(/share one token/);
    const good = join(dir, 'good.json');
    writeFileSync(good, files.get('http-users.json')!);
    expect(loadHttpUsers(good).map((u) => u.user)).toEqual(['alice', 'bob']);
  });
});
