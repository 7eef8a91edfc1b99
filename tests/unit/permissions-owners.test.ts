/** Per-user subjects, the job API's messages and the files `auth init` writes, without a server. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownerNames, ownerOfSubmission, userOfApiSubject, userToken } from '../../shared/security/owners.ts';
import { decodeReply, decodeRequest, encodeJson, mayAccess, publicStatus } from '../../shared/security/job-api.ts';
import { K8S_USERS, authInitFiles, checkPublisherNames, k8sAuthConf, k8sNatsEnvPatch, k8sPasswordVar, k8sSecrets } from '../../shared/security/auth-init.ts';
import { rolePermissions } from '../../shared/security/permissions.ts';
import { findNatsServer } from '../../shared/bus/nats-server.ts';
import { REPO_ROOT } from '../helpers/k8s-checks.ts';

describe('per-user subjects', () => {
  it('names the owner by the submission subject token, and only there', () => {
    const o = ownerNames('mr');
    expect(o.submitAs('alice')).toBe('mr.jobs.submit.alice');
    expect(ownerOfSubmission('mr', 'mr.jobs.submit.alice')).toBe('alice');
    expect(ownerOfSubmission('mr', 'mr.jobs.submit')).toBeUndefined();
    expect(ownerOfSubmission('mr', 'mr.jobs.submit.a.b')).toBeUndefined();
    expect(userOfApiSubject('mr', 'mr.api.bob.status')).toBe('bob');
    expect(userOfApiSubject('mr', 'mr.api.bob.events.j1')).toBeUndefined();
    expect(userOfApiSubject('mr', 'xx.api.bob.status')).toBeUndefined();
    expect(userToken('team.a*')).toBe('team_a_');
  });

  it('gives a publisher only its own subjects, and workers no write to any store', () => {
    const alice = rolePermissions('mr', 'client', '_INBOX.alice', 'alice');
    expect(alice.publish.allow).toEqual(expect.arrayContaining(['mr.jobs.submit.alice', 'mr.uploads.alice.>', 'mr.api.alice.status', 'mr.api.alice.result', 'mr.api.alice.cancel']));
    const beyondInfo = alice.publish.allow.filter((s) => !s.startsWith('$JS.API.STREAM.INFO.') && s !== '$JS.API.INFO');
    expect(beyondInfo.join(' ')).not.toMatch(/bob|KV_mr_jobs|KV_mr_results|KV_mr_llmcache|OBJ_mr_/);
    expect(beyondInfo.filter((s) => s.startsWith('$KV.') || s.startsWith('$O.'))).toEqual([]);
    expect(alice.publish.deny).toEqual(expect.arrayContaining(['$KV.>', '$O.>', '$JS.API.STREAM.PURGE.>']));
    expect(alice.subscribe.allow).toEqual(['_INBOX.alice.>', 'mr.api.alice.events.>']);
    for (const w of ['mapper', 'convolver', 'reducer'] as const) {
      const p = rolePermissions('mr', w, `_INBOX.${w}`);
      const grants = p.publish.allow.filter((s) => !s.startsWith('$JS.API.STREAM.INFO.'));
      expect(grants.filter((s) => s.startsWith('$O.') || s.includes('STREAM.PURGE') || s.includes('OBJ_mr_final'))).toEqual([]);
      expect(p.publish.deny).toEqual(expect.arrayContaining(['$O.>', '$JS.API.STREAM.PURGE.>', '$JS.API.STREAM.MSG.DELETE.>']));
    }
    expect(rolePermissions('mr', 'coordinator', '_INBOX.coordinator').allowResponses).toBe(true);
  });
});

describe('job API messages', () => {
  it('validates requests and replies, and shows a job only to its owner or an administrator', () => {
    expect(decodeRequest(encodeJson({ jobId: 'j-1' }))).toEqual({ jobId: 'j-1' });
    expect(decodeRequest(encodeJson({ jobId: 'bad id!' }))).toHaveProperty('error');
    expect(decodeRequest(new TextEncoder().encode('{'))).toEqual({ error: 'the request is not JSON' });
    expect(() => decodeReply(encodeJson({ ok: true, parts: 0, part: 0, data: '' }))).toThrow(/unexpected reply/);
    const st = { jobId: 'j', pipeline: 'v1', state: 'running' as const, attempts: 1, owner: 'alice', coordinator: 'c-1' };
    expect(mayAccess(st, 'alice')).toBe(true);
    expect(mayAccess(st, 'bob')).toBe(false);
    expect(mayAccess({ ...st, owner: undefined }, 'alice')).toBe(false);
    expect(mayAccess(st, undefined)).toBe(true);
    expect(publicStatus(st)).not.toHaveProperty('coordinator');
  });
});

describe('auth init', () => {
  const files = authInitFiles({ prefix: 'mr', users: ['alice', 'bob'], password: (n) => `pw-${n}`, storeDir: '/var/js', url: 'nats://h:4222' });

  it('writes a config with every role, the admin and each publisher, and one env file each', () => {
    expect([...files.keys()].sort()).toEqual(['admin.env', 'alice.env', 'bob.env', 'convolver.env', 'coordinator.env', 'gateway.env', 'http-users.json', 'mapper.env', 'nats.conf', 'reducer.env']);
    const conf = files.get('nats.conf')!;
    for (const u of ['admin', 'coordinator', 'mapper', 'convolver', 'reducer', 'gateway', 'alice', 'bob']) expect(conf).toContain(`user: "${u}", password: "pw-${u}"`);
    expect(conf).toContain('"mr.jobs.submit.alice"');
    expect(conf).toContain('store_dir: "/var/js"');
    expect(files.get('alice.env')).toMatch(/^NATS_URL=nats:\/\/h:4222\nNATS_USER=alice\nNATS_PASS=pw-alice\nMR_PREFIX=mr\n$/m);
    const bin = findNatsServer();
    if (!bin) return;
    const file = join(mkdtempSync(join(tmpdir(), 'llmxmr-authinit-')), 'nats.conf');
    writeFileSync(file, conf);
    const check = spawnSync(bin, ['-c', file, '-t'], { encoding: 'utf8' });
    expect(check.stderr + check.stdout).toMatch(/configuration file .* is valid/);
  });

  it('refuses publisher names that clash with roles, repeat or are not tokens', () => {
    expect(() => checkPublisherNames(['mapper'])).toThrow(/service role/);
    expect(() => checkPublisherNames(['a', 'a'])).toThrow(/twice/);
    expect(() => checkPublisherNames(['Alice.B'])).toThrow(/lowercase/);
    expect(checkPublisherNames([' alice ', ''])).toEqual(['alice']);
  });
});

describe('deploy/k8s from the same generator', () => {
  it('the checked-in server users and password variables are current (`llmxmr auth k8s` renders them)', () => {
    expect(readFileSync(join(REPO_ROOT, 'deploy/k8s/base/nats-auth.conf'), 'utf8')).toBe(k8sAuthConf('mr'));
    expect(readFileSync(join(REPO_ROOT, 'deploy/k8s/base/nats-auth-env.yaml'), 'utf8')).toBe(k8sNatsEnvPatch());
  });

  it('nats-server accepts the base and dev configurations with the generated users included', () => {
    const bin = findNatsServer();
    if (!bin) return;
    const env = { ...process.env, POD_NAME: 'nats-0', ...Object.fromEntries(K8S_USERS.map((u) => [k8sPasswordVar(u), `"pw-${u}"`])) };
    for (const conf of ['deploy/k8s/base/nats.conf', 'deploy/k8s/overlays/dev/nats.conf']) {
      const dir = mkdtempSync(join(tmpdir(), 'llmxmr-k8sconf-'));
      writeFileSync(join(dir, 'nats.conf'), readFileSync(join(REPO_ROOT, conf), 'utf8'));
      writeFileSync(join(dir, 'nats-auth.conf'), k8sAuthConf('mr'));
      const check = spawnSync(bin, ['-c', join(dir, 'nats.conf'), '-t'], { encoding: 'utf8', env });
      expect(check.stderr + check.stdout, conf).toMatch(/configuration file .* is valid/);
    }
  });

  it('holds no secret in the config and renders one Secret per user', () => {
    const conf = k8sAuthConf('mr');
    expect(conf).toContain('user: "mapper", password: $NATS_PASS_MAPPER');
    expect(conf).toContain('user: "publisher", password: $NATS_PASS_PUBLISHER');
    const secrets = k8sSecrets((u) => `s-${u}`, 'ns');
    expect(secrets.match(/kind: Secret/g)).toHaveLength(7);
    expect(secrets).toContain('name: llmxmr-nats-gateway');
    expect(secrets).toContain('name: llmxmr-nats-reducer');
    expect(secrets).toContain('password: "s-reducer"');
  });
});
