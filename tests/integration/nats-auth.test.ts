/**
 * The ways to authenticate to NATS besides user/password, against real servers: an nkey seed
 * file (with the role permissions of the generated config) and mutual TLS with a client
 * certificate; plus clear errors for credentials that are wrong before the server is asked.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { authOptions, connectNats, inboxPrefix } from '../../shared/bus/connect.ts';
import { provision } from '../../shared/bus/provision.ts';
import { findNatsServer, freePort } from '../../shared/bus/nats-server.ts';
import { names } from '../../shared/protocol/names.ts';
import { startSecureNats, type SecureNats } from '../helpers/secure-nats.ts';

const dir = mkdtempSync(join(tmpdir(), 'llmxmr-auth-'));
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

describe('nkey authentication', () => {
  it('a service authenticates with an nkey seed file and gets its role’s permissions', async () => {
    const user = nkeys.createUser();
    const pub = user.getPublicKey();
    const seedFile = join(dir, 'mapper.nk');
    writeFileSync(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`);
    chmodSync(seedFile, 0o600);
    const s: SecureNats = await startSecureNats('nk', [{ nkey: pub, role: 'mapper' }]);
    cleanup.push(() => s.stop());
    const admin = await connectNats(s.env('admin'), { reconnect: false });
    cleanup.push(() => admin.close());
    await provision(admin, names('nk'), { maxDeliver: 2, ackWaitMs: 1_000 });

    const auth = { NATS_URL: s.url, NATS_NKEY_SEED: seedFile };
    expect(inboxPrefix(auth)).toBe(`_INBOX.${pub}`);
    const nc = await connectNats(auth, { reconnect: false });
    cleanup.push(() => nc.close());
    const js = jetstream(nc);
    const consumer = await js.consumers.get('NK_TASKS', 'mapper');
    expect((await consumer.info()).name).toBe('mapper');
    await expect(js.publish('nk.jobs.submit', new Uint8Array(1))).rejects.toThrow(/permissions violation/i);
    await expect(js.consumers.get('NK_TASKS', 'reducer')).rejects.toThrow(/permissions violation/i);

    // an unknown key is refused
    const stranger = join(dir, 'stranger.nk');
    writeFileSync(stranger, new TextDecoder().decode(nkeys.createUser().getSeed()));
    await expect(connectNats({ NATS_URL: s.url, NATS_NKEY_SEED: stranger }, { reconnect: false })).rejects.toThrow(/refused these credentials/);
  });

  it('a seed file that is missing or holds something else gets a clear error naming the variable', () => {
    expect(() => authOptions({ NATS_URL: 'nats://x', NATS_NKEY_SEED: join(dir, 'nope.nk') })).toThrow(/NATS_NKEY_SEED: cannot read .*ENOENT/);
    const bad = join(dir, 'bad.nk');
    writeFileSync(bad, 'not a seed');
    expect(() => authOptions({ NATS_URL: 'nats://x', NATS_NKEY_SEED: bad })).toThrow(/does not hold a user nkey seed/);
    expect(() => authOptions({ NATS_URL: 'nats://x', NATS_USER: 'a', NATS_PASS: 'b', NATS_TOKEN: 'c' })).toThrow(/choose one way/);
    expect(() => authOptions({ NATS_URL: 'nats://x', NATS_TLS_CERT: bad })).toThrow(/NATS_TLS_CERT and NATS_TLS_KEY go together/);
  });
});

function openssl(args: string[]) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A throwaway CA, a server certificate for 127.0.0.1 and a client certificate. */
function makeCerts() {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=llmxmr test CA']);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    openssl(['req', ...ec, '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who === 'server' ? '127.0.0.1' : 'mapper'}`]);
    openssl(['x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '1', '-extfile', `${who}.ext`]);
  }
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key') };
}

describe('TLS', () => {
  it('connects with the CA and a client certificate; a client without a certificate is refused', async () => {
    const certs = makeCerts();
    const port = await freePort();
    const tlsArgs = ['--tls', '--tlscert', join(dir, 'server.pem'), '--tlskey', join(dir, 'server.key'), '--tlscacert', certs.ca, '--tlsverify'];
    const child: ChildProcess = spawn(findNatsServer()!, ['-a', '127.0.0.1', '-p', String(port), ...tlsArgs], { stdio: 'ignore' });
    cleanup.push(() => void child.kill('SIGKILL'));
    const auth = { NATS_URL: `tls://127.0.0.1:${port}`, NATS_TLS_CA: certs.ca, NATS_TLS_CERT: certs.cert, NATS_TLS_KEY: certs.key };
    const end = Date.now() + 10_000;
    let nc;
    for (;;) {
      try {
        nc = await connectNats(auth, { reconnect: false, timeoutMs: 1_000 });
        break;
      } catch (e) {
        if (Date.now() > end) throw e;
        await new Promise((r) => setTimeout(r, 150));
      }
    }
    cleanup.push(() => nc.close());
    const info = nc.info;
    expect(info?.tls_required).toBe(true);
    const sub = nc.subscribe('hello.tls', { max: 1 });
    nc.publish('hello.tls', 'x');
    for await (const m of sub) expect(m.string()).toBe('x');
    await expect(connectNats({ NATS_URL: auth.NATS_URL, NATS_TLS_CA: certs.ca }, { reconnect: false, timeoutMs: 2_000 })).rejects.toThrow();
    // a server certificate the client cannot verify is an error that names TLS
    await expect(connectNats({ NATS_URL: auth.NATS_URL, NATS_TLS_CERT: certs.cert, NATS_TLS_KEY: certs.key }, { reconnect: false, timeoutMs: 2_000 })).rejects.toThrow(
      /TLS with NATS at tls:\/\/127\.0\.0\.1:\d+ failed .*NATS_TLS_CA/,
    );
  });
});
