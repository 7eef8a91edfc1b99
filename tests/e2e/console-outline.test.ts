/**
 * Outline review in the console (Debian's Chromium, real cluster on the offline engine, real
 * gateway): a survey submitted from the form with "review the outline" pauses; the person
 * renames, moves, adds sections and edits guidance, saves and resumes; the survey is written
 * with the edited outline (its renamed section is a heading of the survey). Then "Edit outline and rerun" on the finished survey starts a rerun.
 */
import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { until } from '../helpers/cluster.ts';
import { consoleStackPerFile } from '../helpers/console-stack.ts';
import { surveyRecord } from '../helpers/console-data.ts';

const stack = consoleStackPerFile();

const badge = (page: Page) => page.getAttribute('h1 .badge', 'data-state').catch(() => null);
const titles = (page: Page) => page.$$eval('#outline-tree input.section-title', (els) => els.map((e) => (e as unknown as { value: string }).value));

it('pauses a survey submitted for review, takes the edited outline, resumes and writes it', async () => {
  const page = await stack.browser.page();
  page.on('dialog', (d) => void (d.type() === 'prompt' ? d.accept('Open questions for orchard ecology') : d.accept()));
  await page.goto(`${stack.base}/#/jobs`);
  await page.selectOption('#pipeline', 'v2');
  await page.fill('#v2-record', JSON.stringify(surveyRecord()));
  await page.check('#v2-review');
  await page.click('#submit-job');
  await page.waitForURL(/#\/job\/[\w-]+$/);
  const jobId = decodeURIComponent(page.url().split('#/job/')[1]);

  await until('the pause at the drafted outline', async () => (await badge(page)) === 'paused', 120_000);
  await page.waitForSelector('#outline-tree li');
  const before = await titles(page);
  expect(before.length).toBeGreaterThanOrEqual(2);

  // Rename the first top-level section, move the second one up, add one at the end, edit a guidance.
  const renamed = 'Flowering hedgerows and wild bees';
  const first = page.locator('#outline-tree > li').first();
  await first.locator('> .section-row input.section-title').fill(renamed);
  await first.locator('> .section-row input.section-title').press('Tab');
  await page.locator('#outline-tree > li').nth(1).locator('> .section-row button[title="move up"]').click();
  await page.locator('#outline-tree > li').last().locator('> .section-row button[title="add a section after"]').click();
  await page.locator('#outline-tree > li').first().locator('> details > summary').click();
  await page.locator('#outline-tree > li').first().locator('> details textarea').fill('Extract which flowers and distances the study measured.');
  await page.locator('#outline-tree > li').first().locator('> details textarea').press('Tab');
  const top = await page.$$eval('#outline-tree > li > .section-row input.section-title', (els) => els.map((e) => (e as unknown as { value: string }).value));
  expect(top[1]).toBe(renamed); // moved below the former second section
  expect(top.at(-1)).toBe('Open questions for orchard ecology');
  expect(await page.textContent('#outline-state')).toBe('unsaved changes');

  await page.click('#outline-save');
  await expect.poll(() => page.textContent('#outline-state')).toBe('saved');
  const stored = (await (await fetch(`${stack.base}/api/jobs/${jobId}/outline`)).json()) as { edited: boolean; outline: { children: { title: string; construction: string }[] } };
  expect(stored.edited).toBe(true);
  expect(stored.outline.children.map((c) => c.title)).toEqual(top);
  expect(stored.outline.children[0].construction).toBe('Extract which flowers and distances the study measured.');

  await page.click('#outline-resume');
  await page.waitForSelector('#outline-resumed');
  // A second pause follows after refinement: go on with the outline as it is.
  await until(
    'the survey to end',
    async () => {
      const s = await badge(page);
      if (s === 'paused' && (await page.$('#outline-resume:not([disabled])'))) await page.click('#outline-resume');
      return s === 'succeeded' || s === 'failed';
    },
    180_000,
  );
  expect(await badge(page)).toBe('succeeded');
  await page.waitForSelector('#survey h2');
  const heads = await page.$$eval('#survey h2, #survey h3', (els) => els.map((e) => e.textContent ?? ''));
  expect(heads.some((h) => h.includes(renamed))).toBe(true);

  // The finished survey: rename its first section again and rerun.
  await page.click('#edit-rerun');
  await page.waitForSelector('#outline-tree li');
  const input = page.locator('#outline-tree > li').first().locator('> .section-row input.section-title');
  await input.fill('Orchard pollinators revisited');
  await input.press('Tab');
  await page.click('#outline-rerun');
  await page.waitForURL((u) => !u.hash.endsWith(jobId));
  const rerun = decodeURIComponent(page.url().split('#/job/')[1]);
  expect(rerun).not.toBe(jobId);
  await until('the rerun to succeed', async () => (await badge(page)) === 'succeeded', 180_000);
  await page.waitForSelector('#survey h2');
  expect(await page.$$eval('#survey h2', (els) => els.map((e) => e.textContent ?? ''))).toEqual(expect.arrayContaining([expect.stringContaining('Orchard pollinators revisited')]));
  expect(stack.browser.errors).toEqual([]);
  await page.close();
});
