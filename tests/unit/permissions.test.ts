/** The permission sets and the generated server configuration, without a server. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inboxPrefixFor, natsServerConfig, rolePermissions, SECURITY_ROLES } from '../../shared/security/permissions.ts';
import { findNatsServer } from '../../shared/bus/nats-server.ts';

describe('rolePermissions', () => {
  it('gives each worker only its own consumer and its own dead-letter subject', () => {
    for (const [role, consumer, kind] of [['mapper', 'mapper', 'map'], ['convolver', 'convolver', 'convolve'], ['reducer', 'reducer', 'reduce']] as const) {
      const pub = rolePermissions('mr', role, '_INBOX.x').publish.allow;
      const nexts = pub.filter((s) => s.startsWith('$JS.API.CONSUMER.MSG.NEXT.MR_TASKS.'));
      expect(nexts).toEqual([`$JS.API.CONSUMER.MSG.NEXT.MR_TASKS.${consumer}`]);
      expect(pub.filter((s) => s.startsWith('$JS.ACK.'))).toEqual([`$JS.ACK.MR_TASKS.${consumer}.>`]);
      expect(pub.filter((s) => s.startsWith('mr.dlq.'))).toEqual([`mr.dlq.${kind}`]);
      expect(pub.some((s) => s.startsWith('$JS.API.CONSUMER.CREATE.MR_'))).toBe(false);
      expect(pub).not.toContain('mr.jobs.submit');
      expect(pub.some((s) => s.startsWith('$KV.mr_jobs'))).toBe(false);
    }
  });

  it('never lets anyone but admin manage streams, and scopes every inbox to its user', () => {
    for (const role of SECURITY_ROLES.filter((r) => r !== 'admin')) {
      const p = rolePermissions('mr', role, '_INBOX.u1');
      expect(p.publish.allow.some((s) => /STREAM\.(CREATE|UPDATE|DELETE)|^>$/.test(s))).toBe(false);
      expect(p.publish.deny).toContain('$JS.API.STREAM.DELETE.>');
      expect(p.subscribe.allow).toContain('_INBOX.u1.>');
      expect(p.subscribe.allow.some((s) => s === '_INBOX.>' || s === '>')).toBe(false);
    }
    expect(rolePermissions('mr', 'admin').publish.allow).toEqual(['>']);
  });

  it('follows the prefix', () => {
    const p = rolePermissions('blue', 'client', '_INBOX.c');
    expect(p.publish.allow).toContain('blue.jobs.submit.c');
    expect(p.publish.allow).not.toContain('blue.jobs.submit');
    expect(p.publish.allow.join(' ')).not.toMatch(/\bmr[._]/);
  });

  it('derives an inbox prefix that is a valid subject token', () => {
    expect(inboxPrefixFor('mapper')).toBe('_INBOX.mapper');
    expect(inboxPrefixFor('team.a b*>')).toBe('_INBOX.team_a_b__');
    expect(() => inboxPrefixFor('')).toThrow();
  });
});

describe('natsServerConfig', () => {
  it('rejects unusable user lists', () => {
    expect(() => natsServerConfig({ prefix: 'mr', users: [] })).toThrow(/at least one user/);
    expect(() => natsServerConfig({ prefix: 'mr', users: [{ user: 'a', role: 'mapper' }] })).toThrow(/no password/);
    expect(() => natsServerConfig({ prefix: 'mr', users: [{ user: 'a', password: 'x', role: 'root' as never }] })).toThrow(/unknown role/);
    expect(() => natsServerConfig({ prefix: 'mr', users: [{ user: 'a', password: 'x', role: 'mapper' }, { user: 'a', password: 'y', role: 'client' }] })).toThrow(/twice/);
    expect(() => natsServerConfig({ prefix: 'mr', users: [{ nkey: 'SUAAA', role: 'mapper' }] })).toThrow(/not a user nkey/);
    expect(() => natsServerConfig({ prefix: 'Bad Prefix', users: [{ user: 'a', password: 'x', role: 'mapper' }] })).toThrow(/invalid name prefix/);
  });

  it('writes a configuration nats-server accepts, with quotes and backslashes in passwords kept intact', () => {
    const text = natsServerConfig({
      prefix: 'mr',
      users: [
        { user: 'admin', password: 'p"w\\1$HOME', role: 'admin' },
        { user: 'mapper', password: 'm', role: 'mapper' },
      ],
    });
    expect(text).toContain('password: "p\\"w\\\\1$HOME"');
    expect(text).toContain('"$JS.ACK.MR_TASKS.mapper.>"');
    const bin = findNatsServer();
    if (!bin) return; // the integration tests need the server anyway
    const file = join(mkdtempSync(join(tmpdir(), 'llmxmr-conf-')), 'nats.conf');
    writeFileSync(file, text);
    const check = spawnSync(bin, ['-c', file, '-t'], { encoding: 'utf8' });
    expect(check.status).toBe(0);
    expect(check.stderr + check.stdout).toMatch(/configuration file .* is valid/);
  });
});
