#!/usr/bin/env node
// Entry point for `npx llmxmr`. Runs the compiled CLI, dist/cli/main.cjs (built by `npm ci`
// through the `prepare` script, see bin/build.js), so that no TypeScript is transpiled at
// start-up. In a checkout where
// one of our sources is newer than the build it builds again first (a second or two, once);
// when it cannot (no esbuild, a syntax error being fixed) it runs the sources through tsx, as
// does LLMXMR_FROM_SOURCE=1.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist', 'cli');
const OUT = join(DIST, 'main.cjs');
const LOCK = join(DIST, '.build.lock');

/** Whether the bundle exists and none of our sources in it changed after its build started. */
function buildIsCurrent() {
  try {
    const built = statSync(OUT).mtimeMs;
    const inputs = JSON.parse(readFileSync(join(DIST, 'inputs.json'), 'utf8'));
    return inputs.every((rel) => statSync(join(ROOT, rel)).mtimeMs <= built);
  } catch {
    return false; // no build, or a source was removed or renamed since
  }
}

/**
 * Run the CommonJS bundle. A plain require, not a vm.Script with a V8 code cache: on Node 20 a
 * script compiled through vm cannot use dynamic import() without --experimental-vm-modules, and
 * the bundle imports ESM-only packages (pdfjs-dist) that way.
 */
async function runBundle() {
  createRequire(import.meta.url)(OUT);
}

/**
 * Build again, one process at a time: many CLI processes may start at once after a source
 * changed (the tests do). The first takes the lock file and builds; the others wait for it
 * (up to a minute; a lock older than that is stale) and then use its build.
 */
async function rebuild() {
  mkdirSync(DIST, { recursive: true });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      closeSync(openSync(LOCK, 'wx'));
      break;
    } catch {
      if (buildIsCurrent()) return true;
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 60_000) rmSync(LOCK, { force: true });
      } catch {
        // the lock went away meanwhile
      }
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    if (buildIsCurrent()) return true;
    await (await import('./build.js')).build({ quiet: true });
    return true;
  } finally {
    rmSync(LOCK, { force: true });
  }
}

let built = false;
if (process.env.LLMXMR_FROM_SOURCE !== '1') {
  if (buildIsCurrent()) built = true;
  else if (existsSync(join(ROOT, 'cli', 'main.ts'))) {
    try {
      built = await rebuild();
    } catch {
      built = false; // a read-only install: run the sources
    }
  } else built = existsSync(OUT);
}
if (built) {
  await runBundle();
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
