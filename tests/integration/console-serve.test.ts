/**
 * The console's files as the gateway serves them (inject, no browser): the page, its script
 * bundled from the TypeScript modules and its style sheet, each with a Content-Security-Policy
 * that keeps everything on this origin; and the browser modules type-check against the DOM
 * (the root project leaves them out).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerConsole } from '../../services/gateway/console/index.ts';
import { ROOT } from '../helpers/cluster.ts';

let app: FastifyInstance;
beforeAll(async () => {
  app = Fastify();
  await registerConsole(app);
});
afterAll(async () => app?.close());

it('serves the page, script and styles with a same-origin-only policy', async () => {
  const page = await app.inject({ method: 'GET', url: '/' });
  expect(page.statusCode).toBe(200);
  expect(page.headers['content-type']).toMatch(/^text\/html/);
  expect(page.body).toContain('<script type="module" src="/console/app.js"></script>');
  expect(page.body).not.toMatch(/https?:\/\//); // nothing from elsewhere
  const csp = String(page.headers['content-security-policy']);
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("connect-src 'self'");
  expect(page.headers['x-content-type-options']).toBe('nosniff');

  const js = await app.inject({ method: 'GET', url: '/console/app.js' });
  expect(js.statusCode).toBe(200);
  expect(js.headers['content-type']).toMatch(/^text\/javascript/);
  expect(js.body.length).toBeGreaterThan(10_000);
  expect(js.body.length).toBeLessThan(100_000); // no zod or other server-side library bundled in
  expect(js.body).toContain('/api/jobs');

  const css = await app.inject({ method: 'GET', url: '/console/style.css' });
  expect(css.statusCode).toBe(200);
  expect(css.headers['content-type']).toMatch(/^text\/css/);
});

it('type-checks the browser modules against the DOM library', async () => {
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const r = await new Promise<{ code: number; out: string }>((resolve) =>
    execFile(process.execPath, [tsc, '--noEmit', '-p', join(ROOT, 'services/gateway/console/tsconfig.json')], { timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? 1 : 0, out: stdout + stderr }),
    ),
  );
  expect(r.out).toBe('');
  expect(r.code).toBe(0);
});
