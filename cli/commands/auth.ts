/**
 * `llmxmr auth …`: credentials for a cluster.
 *   init --dir D --users alice,bob   nats.conf (one user per role + admin + each publisher), D/<name>.env
 *                                    (publishers and admin: an HTTP API token too) and the gateway's http-users.json
 *   provision                         create or update the streams (run once with the admin credential)
 *   k8s [--out DIR]                   the checked-in deploy/k8s server users and password variables
 *   k8s-secrets [--namespace NS]      per-role Secrets with fresh passwords, to apply (never commit them)
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadEnv } from '../../shared/config/env.ts';
import { connectNats } from '../../shared/bus/connect.ts';
import { provision } from '../../shared/bus/provision.ts';
import { retentionFrom } from '../../shared/bus/limits.ts';
import { names } from '../../shared/protocol/names.ts';
import { HTTP_USERS_FILE, authInitFiles, k8sAuthConf, k8sNatsEnvPatch, k8sSecrets } from '../../shared/security/auth-init.ts';
import { UsageError } from '../common.ts';

/** A password of 24 random bytes, URL-safe (no quoting trouble in env files or configs). */
export const newPassword = () => randomBytes(24).toString('base64url');

export interface InitOptions {
  dir: string;
  users?: string;
  prefix?: string;
  url?: string;
  force?: boolean;
}

/** Write the files of `auth init`; returns their paths. */
export function authInit(o: InitOptions): string[] {
  const dir = resolve(o.dir);
  if (existsSync(join(dir, 'nats.conf')) && !o.force) throw new UsageError(`${join(dir, 'nats.conf')} exists: pass --force to replace every credential in ${dir}`);
  let files: Map<string, string>;
  try {
    files = authInitFiles({
      prefix: o.prefix ?? process.env.MR_PREFIX ?? 'mr',
      users: (o.users ?? '').split(','),
      password: newPassword,
      storeDir: join(dir, 'jetstream'),
      url: o.url ?? 'nats://127.0.0.1:4222',
      httpUsersPath: join(dir, HTTP_USERS_FILE),
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out: string[] = [];
  for (const [name, text] of files) {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    chmodSync(path, 0o600); // also when the file existed with wider permissions
    out.push(path);
  }
  return out;
}

export function registerAuth(program: Command): void {
  const auth = program.command('auth').description('NATS credentials: one user per role and per publisher, least privilege');
  auth
    .command('init')
    .description('write DIR/nats.conf (JetStream, one user per role, admin, one per publisher), DIR/<name>.env for each, and the HTTP gateway\'s DIR/http-users.json')
    .requiredOption('--dir <dir>', 'where to write the files (created mode 0700; files are 0600)')
    .option('--users <names>', 'publishers, comma-separated (e.g. alice,bob)', '')
    .option('--prefix <prefix>', 'name prefix of the cluster (default: $MR_PREFIX, else "mr")')
    .option('--url <url>', 'server address written into the .env files', 'nats://127.0.0.1:4222')
    .option('--force', 'replace existing files')
    .action((o: InitOptions) => {
      const paths = authInit(o);
      const dir = resolve(o.dir);
      process.stdout.write(
        `${paths.map((p) => `wrote ${p}`).join('\n')}\n` +
          `next: nats-server -c ${join(dir, 'nats.conf')}\n` +
          `      (set -a; . ${join(dir, 'admin.env')}; llmxmr auth provision)    # once, as administrator\n` +
          `      (set -a; . ${join(dir, 'mapper.env')}; llmxmr service mapper)   # each service with its own file\n` +
          `      (set -a; . ${join(dir, 'gateway.env')}; llmxmr service gateway) # HTTP API: each publisher's LLMXMR_HTTP_TOKEN acts as that user\n`,
      );
    });

  auth
    .command('provision')
    .description('create or update every stream, bucket and store of the prefix (needs the admin credential)')
    .action(async () => {
      const env = loadEnv();
      const nc = await connectNats(env, { name: 'llmxmr-provision', reconnect: false });
      try {
        const r = await provision(nc, names(env.MR_PREFIX), { maxDeliver: env.MR_MAX_DELIVER, ackWaitMs: env.MR_ACK_WAIT_MS, replicas: env.MR_REPLICAS, retention: retentionFrom(env) });
        if (!r.provisioned) throw new Error(`these credentials may not manage streams (${r.reason}): use the admin credential`);
        process.stdout.write(`provisioned prefix "${env.MR_PREFIX}" on ${env.NATS_URL.replace(/\/\/[^/@\s]*@/g, '//[redacted]@')}\n`);
      } finally {
        await nc.close();
      }
    });

  auth
    .command('k8s')
    .description("render deploy/k8s's NATS users (nats-auth.conf) and password variables (nats-auth-env.yaml)")
    .option('--out <dir>', 'directory', 'deploy/k8s/base')
    .option('--prefix <prefix>', 'name prefix', 'mr')
    .action((o: { out: string; prefix: string }) => {
      writeFileSync(join(o.out, 'nats-auth.conf'), k8sAuthConf(o.prefix));
      writeFileSync(join(o.out, 'nats-auth-env.yaml'), k8sNatsEnvPatch());
      process.stdout.write(`wrote ${join(o.out, 'nats-auth.conf')} and ${join(o.out, 'nats-auth-env.yaml')}\n`);
    });

  auth
    .command('k8s-secrets')
    .description('print one Secret per role and for the publisher, with fresh passwords (pipe to kubectl apply -f -)')
    .option('--namespace <ns>', 'namespace of the Secrets')
    .action((o: { namespace?: string }) => {
      process.stdout.write(k8sSecrets(newPassword, o.namespace));
    });
}
