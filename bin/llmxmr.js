#!/usr/bin/env node
// Entry point for `npx llmxmr`. Runs the compiled CLI, dist/cli/main.cjs (built by `npm ci`
// through the `prepare` script, see bin/build.js), compiled with a V8 code cache kept next to
// it, so that no TypeScript is transpiled and little is parsed at start-up. In a checkout where
// one of our sources is newer than the build it builds again first (a second or two, once);
// when it cannot (no esbuild, a syntax error being fixed) it runs the sources through tsx, as
// does LLMXMR_FROM_SOURCE=1.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist', 'cli');
const OUT = join(DIST, 'main.cjs');
const CODE_CACHE = join(DIST, 'main.cjs.v8cache');

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

/** Run the CommonJS bundle as a module would run, with the code cache when it matches. */
async function runBundle() {
  const code = readFileSync(OUT, 'utf8');
  let cachedData;
  try {
    cachedData = readFileSync(CODE_CACHE);
  } catch {
    cachedData = undefined;
  }
  const wrapper = `(function (exports, require, module, __filename, __dirname) {${code}\n})`;
  const script = new vm.Script(wrapper, {
    filename: OUT,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (!cachedData || script.cachedDataRejected) {
    // Written when the process ends (most commands end with process.exit), so the functions
    // compiled while it ran are in the cache too.
    const { writeAtomic } = await import('./build.js');
    process.once('exit', () => {
      try {
        writeAtomic(CODE_CACHE, script.createCachedData());
      } catch {
        // a read-only install: start without the cache
      }
    });
  }
  const fn = script.runInThisContext();
  const module = { exports: {} };
  fn.call(module.exports, module.exports, createRequire(OUT), module, OUT, DIST);
}

/**
 * Build again, one process at a time: commands started together (tests start several) wait for
 * the one that holds the lock instead of all building at once.
 */
async function rebuild() {
  const lock = join(DIST, 'build.lock');
  mkdirSync(DIST, { recursive: true });
  const end = Date.now() + 120_000;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { force: true }); // left by a killed build
      } catch {
        // gone already
      }
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 100));
      if (buildIsCurrent()) return true;
    }
  }
  try {
    if (!buildIsCurrent()) await (await import('./build.js')).build({ quiet: true });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(lock, { force: true });
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
