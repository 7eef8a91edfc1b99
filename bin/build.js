#!/usr/bin/env node
/**
 * Builds the CLI into one script, dist/cli/main.cjs, so that `llmxmr` starts without
 * transpiling TypeScript or resolving hundreds of module files: run by `npm ci` / `npm install`
 * through the `prepare` script, and by bin/llmxmr.js itself when a source is newer than the
 * build. Our modules and most packages are bundled (a few stay external: pdfjs-dist is loaded on
 * demand, pino and msgpackr load optional helpers by name): one file to read instead of hundreds
 * of modules to resolve, about a third of the start-up CPU time of tsx.
 *
 * The bundle is CommonJS, loaded with require (a V8 code cache through vm.Script saved another
 * ~15% but lost import()'s loader on Node 20); cli/main.ts's top-level `await` is wrapped in an
 * async function for it. The bundle
 * sits two levels below the repository root, like every source file, so URLs built from
 * `import.meta.url` (the package.json the metrics read) resolve the same as from the sources.
 *
 * The bundle's modification time is set to the moment the build started, and the list of the
 * sources it holds is written next to it: a source saved during the build is newer than the
 * bundle, so the next start builds again.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(ROOT, 'dist', 'cli');
export const OUT = join(DIST, 'main.cjs');
export const INPUTS = join(DIST, 'inputs.json');
export const CODE_CACHE = join(DIST, 'main.cjs.v8cache');
const ENTRY = join(ROOT, 'cli', 'main.ts');
// Left out of the bundle and loaded from node_modules on first use (shared/lazy-module.ts, or an
// import() at the use site): large packages that most commands never need. Parsing them at
// every start cost more than half of the bundle's load time.
const LAZY = ['gpt-tokenizer', 'linkedom', '@mozilla/readability', 'mammoth', 'fastify'];
const EXTERNAL = ['pdfjs-dist', 'pino', 'msgpackr', 'msgpackr-extract', 'thread-stream', ...LAZY];

/** Write a file whole or not at all (readers in other processes never see half a file). */
export function writeAtomic(path, data) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/**
 * cli/main.ts registers the commands and then awaits the parse at the top level, which a
 * CommonJS bundle cannot hold: keep its imports and run the rest inside an async function.
 */
function wrapTopLevelAwait(source) {
  const lines = source.split('\n');
  let lastImport = -1;
  lines.forEach((l, i) => {
    if (/^import\s.*from\s+['"][^'"]+['"];?\s*$/.test(l)) lastImport = i;
  });
  const head = lines.slice(0, lastImport + 1).join('\n');
  const body = lines.slice(lastImport + 1).join('\n');
  return `${head}\nvoid (async () => {\n${body}\n})();\n`;
}

/** Build the bundle; returns the number of source files it holds. Throws on a build error. */
export async function build({ quiet = false } = {}) {
  const started = new Date();
  const esbuild = await import('esbuild');
  mkdirSync(DIST, { recursive: true });
  const tmp = `${OUT}.${process.pid}.tmp`;
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: EXTERNAL,
    metafile: true,
    logLevel: quiet ? 'silent' : 'warning',
    define: { 'import.meta.url': '__llmxmrModuleUrl', 'import.meta.dirname': '__dirname', 'import.meta.filename': '__filename' },
    banner: { js: "const __llmxmrModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
    plugins: [
      {
        name: 'top-level-await',
        setup(b) {
          b.onLoad({ filter: /[\\/]cli[\\/]main\.ts$/ }, (args) => ({ contents: wrapTopLevelAwait(readFileSync(args.path, 'utf8')), loader: 'ts' }));
        },
      },
    ],
  });
  const inputs = Object.keys(result.metafile.inputs)
    .map((p) => relative(ROOT, join(process.cwd(), p)))
    .filter((p) => !p.startsWith('node_modules'));
  // Inputs first, bundle last: a reader that sees the new bundle also sees its inputs. A code
  // cache left by an earlier version of bin/llmxmr.js belongs to the old bundle: removed.
  writeAtomic(INPUTS, JSON.stringify(inputs));
  rmSync(CODE_CACHE, { force: true });
  utimesSync(tmp, started, started);
  renameSync(tmp, OUT);
  return inputs.length;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const t0 = Date.now();
  try {
    const n = await build();
    process.stderr.write(`llmxmr: built dist/cli/main.cjs from ${n} of our sources in ${Date.now() - t0} ms\n`);
  } catch (e) {
    process.stderr.write(`llmxmr: build failed: ${e.message}\n`);
    process.exit(1);
  }
}
