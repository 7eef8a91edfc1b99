import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { countTokens } from '../../shared/algo/tokens.ts';
import { extractHtml } from '../../shared/sources/extract-html.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const LAZY = ['gpt-tokenizer', 'linkedom', '@mozilla/readability', 'mammoth', 'openai'];
const dir = mkdtempSync(join(tmpdir(), 'cli-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The packages (from LAZY) a command loaded before it exited, read from the CommonJS module cache. */
function loadedBy(args: string[]): string[] {
  const preload = join(dir, 'report.cjs');
  writeFileSync(
    preload,
    `process.on('exit', () => { const ids = Object.keys(require.cache); require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'loaded.json'))}, JSON.stringify(${JSON.stringify(LAZY)}.filter((p) => ids.some((id) => id.includes('/node_modules/' + p + '/'))))); });`,
  );
  execFileSync(process.execPath, ['-r', preload, join(ROOT, 'bin', 'llmxmr.js'), ...args], { cwd: ROOT, stdio: 'ignore', timeout: 120_000 });
  return JSON.parse(execFileSync(process.execPath, ['-e', `process.stdout.write(require('node:fs').readFileSync(${JSON.stringify(join(dir, 'loaded.json'))}, 'utf8'))`], { encoding: 'utf8' }));
}

describe('CLI start-up loads the large packages only when a command uses them', () => {
  it('llmxmr --help loads none of the tokenizer, HTML, DOCX and OpenAI client packages', () => {
    expect(loadedBy(['--help'])).toEqual([]);
  }, 180_000);

  it('the bundle leaves those packages out (they are loaded from node_modules on first use)', () => {
    const bundle = readFileSync(join(ROOT, 'dist', 'cli', 'main.cjs'), 'utf8');
    for (const p of LAZY) expect(bundle.includes(`// node_modules/${p}/`), p).toBe(false);
    expect(bundle).toContain('// node_modules/commander/'); // the comments this test reads are there
  });

  it('the lazily loaded packages answer as before when used from the sources', () => {
    expect(countTokens('hello world')).toBe(2);
    const page = `<html><head><meta name="citation_title" content="A Title"></head><body><article><p>${'Some words of the article body. '.repeat(20)}</p></article></body></html>`;
    const r = extractHtml(page);
    expect(r.ok && r.doc.title).toBe('A Title');
    expect(r.ok && r.doc.text).toContain('Some words of the article body.');
  });
});
