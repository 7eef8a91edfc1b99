/**
 * Debian's Chromium, headless, driven by playwright-core: a fresh profile per launch, no
 * network services of its own, and every page error and console error collected so a test can
 * assert there were none.
 */
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  context: BrowserContext;
  /** A new tab; its uncaught errors and console errors go to `errors`. */
  page(): Promise<Page>;
  errors: string[];
  close(): Promise<void>;
}

export async function launchBrowser(o: { width?: number; height?: number } = {}): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH)`);
  const profile = mkdtempSync(join(tmpdir(), 'llmxmr-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: o.width ?? 1280, height: o.height ?? 900 },
  });
  const errors: string[] = [];
  return {
    context,
    errors,
    async page() {
      const p = await context.newPage();
      p.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
      p.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()}`);
      });
      return p;
    },
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
