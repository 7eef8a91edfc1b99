/**
 * The web console's routes: the page at `/`, its script at `/console/app.js` (the TypeScript
 * modules under app/ bundled by esbuild on first request, kept in memory) and its style sheet.
 * Nothing is fetched from elsewhere at run time; the page talks only to this server's /api.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * Where the console's files are: beside this module when it runs from the sources, or at
 * services/gateway/console below the repository when it runs from the CLI bundle (dist/cli).
 */
export function consoleDir(): string {
  const here = import.meta.dirname;
  const candidates = [here, join(here, '..', '..', 'services', 'gateway', 'console')];
  const dir = candidates.find((d) => existsSync(join(d, 'app', 'main.ts')));
  if (!dir) throw new Error(`the console's sources are missing (looked in ${candidates.join(', ')}); reinstall the package`);
  return dir;
}

interface EsbuildLike {
  build(o: Record<string, unknown>): Promise<{ outputFiles?: { text: string }[] }>;
}

/** Bundle the front end into one ES module (minified unless `debug`). */
export async function buildConsoleScript(dir = consoleDir(), debug = false): Promise<string> {
  // Required by name at run time, so the CLI bundle does not try to include esbuild itself.
  const esbuild = createRequire(import.meta.url)('esbuild') as EsbuildLike;
  const out = await esbuild.build({
    entryPoints: [join(dir, 'app', 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    write: false,
    minify: !debug,
    sourcemap: debug ? 'inline' : false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const text = out.outputFiles?.[0]?.text;
  if (!text) throw new Error('esbuild produced no console script');
  return text;
}

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function send(reply: FastifyReply, type: string, body: string) {
  return reply.headers(SECURITY_HEADERS).header('content-type', type).header('cache-control', 'no-cache').send(body);
}

/** Register the console's routes on the gateway (the /api routes are registered elsewhere). */
export async function registerConsole(app: FastifyInstance): Promise<void> {
  const dir = consoleDir();
  const html = readFileSync(join(dir, 'static', 'index.html'), 'utf8');
  const css = readFileSync(join(dir, 'static', 'style.css'), 'utf8');
  let script: Promise<string> | undefined;
  const scriptOnce = () => {
    script ??= buildConsoleScript(dir, process.env.LLMXMR_CONSOLE_DEBUG === '1').catch((err: unknown) => {
      script = undefined; // try again on the next request (a source being fixed)
      throw err;
    });
    return script;
  };
  app.get('/', (_req, reply) => send(reply, 'text/html; charset=utf-8', html));
  app.get('/console/style.css', (_req, reply) => send(reply, 'text/css; charset=utf-8', css));
  app.get('/console/app.js', async (req, reply) => {
    try {
      return send(reply, 'text/javascript; charset=utf-8', await scriptOnce());
    } catch (err) {
      req.log.error({ err }, 'console script build failed');
      return reply.code(500).send({ error: `the console script could not be built: ${(err as Error).message}` });
    }
  });
}
