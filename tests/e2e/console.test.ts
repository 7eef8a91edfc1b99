/**
 * The web console in Debian's Chromium against a real cluster (offline engine) and the real
 * gateway: a survey submitted from the form runs to done while its progress bars fill, its
 * citations show the cited work's title on hover and jump to the entry; the jobs list shows it;
 * a dead letter is sent back to work from the cluster page; the token is asked for on 401.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { encode } from '../../shared/protocol/codec.ts';
import { listDeadLetters } from '../../shared/client/dead-letters.ts';
import { buildGateway } from '../../services/gateway/server.ts';
import { until } from '../helpers/cluster.ts';
import { listenLoopback, consoleStackPerFile } from '../helpers/console-stack.ts';
import { surveyRecord } from '../helpers/console-data.ts';

const stack = consoleStackPerFile();

/** Every stage bar of the job page as [name, state, percent]. */
const bars = (page: Page) =>
  page.$$eval('#stages .stage', (els) => els.map((e) => [e.getAttribute('data-stage'), e.getAttribute('data-state'), Number(e.querySelector('.bar')?.getAttribute('aria-valuenow'))] as [string, string, number]));

/** In the page: keep a snapshot of the stage bars each time they are drawn. */
const RECORD_BARS = `
  window.__barRenders = [];
  new MutationObserver(() => {
    const box = document.getElementById('stages');
    if (!box) return;
    const snap = [...box.querySelectorAll('.stage')].map((e) => [e.dataset.stage, e.dataset.state, Number(e.querySelector('.bar').getAttribute('aria-valuenow'))]);
    const last = window.__barRenders.at(-1);
    if (snap.length && JSON.stringify(snap) !== JSON.stringify(last)) window.__barRenders.push(snap);
  }).observe(document, { subtree: true, childList: true });
`;

describe('console', () => {
  it('submits a survey from the form, fills its progress bars to done, and titles its citations with the cited work', async () => {
    const page = await stack.browser.page();
    await page.addInitScript(RECORD_BARS);
    await page.goto(`${stack.base}/#/jobs`);
    await page.waitForSelector('#jobs-table');
    await page.selectOption('#pipeline', 'v2');
    await page.fill('#v2-record', JSON.stringify(surveyRecord()));
    await page.fill('#v2-blocks', '1');
    await page.click('#submit-job');
    await page.waitForURL(/#\/job\/[\w-]+$/);
    const jobId = decodeURIComponent(page.url().split('#/job/')[1]);

    // Watch the bars while the job runs (every render of them, recorded in the page): they must
    // be seen part-way, then all full.
    await until('the job page to show success', async () => (await page.getAttribute('h1 .badge', 'data-state').catch(() => null)) === 'succeeded', 180_000);
    const final = await until('every bar full', async () => {
      const b = await bars(page);
      return b.every(([, state]) => state === 'done') && b;
    });
    const seen = (await page.evaluate('window.__barRenders')) as [string, string, number][][];
    expect(final.length).toBeGreaterThanOrEqual(4);
    expect(final.every(([, state, pct]) => state === 'done' && pct === 100)).toBe(true);
    expect(seen.some((snap) => snap.some(([, state, pct]) => state === 'running' || pct < 100))).toBe(true);
    expect(await page.getAttribute('#stages .stage .fill', 'style')).toContain('width:100%');

    // The event log streamed the job from its acceptance to its end.
    const types = await page.$$eval('#event-log li', (els) => els.map((e) => e.getAttribute('data-type')));
    expect(types[0]).toMatch(/^job\.(accepted|started)$/);
    expect(types).toContain('job.succeeded');
    await page.waitForSelector('#events-ended');

    // The refinement block's entropy scores, one chart per block.
    await page.waitForSelector('#refinement svg.entropy-chart');
    expect(await page.$$eval('#refinement svg.entropy-chart circle.best', (c) => c.length)).toBeGreaterThanOrEqual(2);

    // The survey, with citations titled by their reference entry.
    await page.waitForSelector('#survey a.cite');
    const cite = page.locator('#survey a.cite').first();
    const n = await cite.getAttribute('data-ref');
    const title = await cite.getAttribute('title');
    const entry = page.locator(`#survey #ref-${n}`);
    expect(title && title.length).toBeGreaterThan(5);
    expect(await entry.textContent()).toContain(title);
    await cite.hover();
    expect(await page.locator('#survey a.cite:hover').getAttribute('title')).toBe(title);
    await cite.click();
    await expect.poll(() => entry.getAttribute('class')).toContain('flash');
    expect(page.url()).toContain(`#/job/${jobId}`); // jumping to the entry keeps the page

    // The jobs list shows the job with its usage.
    await page.click('nav a[data-nav=jobs]');
    const row = page.locator(`#jobs-table tr[data-job="${jobId}"]`);
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    expect(cells[1]).toBe('succeeded');
    expect(cells[2]).toBe('v2');
    expect(cells[4]).toMatch(/\d+ (ms|s)|min/);
    expect(cells[6]).not.toBe('—');
    expect(stack.browser.errors).toEqual([]);
    await page.close();
  });

  it('sends a dead letter back to work from the cluster page', async () => {
    const n = stack.cluster.bus.names;
    // A task message that is not an envelope: the mapper dead-letters it at once.
    await stack.cluster.bus.js.publish(n.subjects.task('map', 'v1.map'), encode({ not: 'a task' }));
    const first = await until('the dead letter', async () => (await listDeadLetters(stack.cluster.bus))[0]);
    const page = await stack.browser.page();
    page.on('dialog', (d) => void d.accept());
    await page.goto(`${stack.base}/#/cluster`);
    await page.waitForSelector('#workers-table');
    // Every role reports presence on its heartbeat: the page (refreshed every 3 s) shows each one alive.
    const alive = async () => Object.fromEntries(await page.$$eval('#workers-table tbody tr', (rows) => rows.map((r) => [r.cells[0].textContent, Number(r.cells[1].textContent)])));
    const seen = await until('every role alive on the page', async () => {
      const a = await alive();
      return ['coordinator', 'mapper', 'convolver', 'reducer'].every((r) => a[r] === 1) && a;
    });
    expect(seen).toMatchObject({ coordinator: 1, mapper: 1, convolver: 1, reducer: 1 });
    await page.waitForSelector('#consumers-table');
    const retry = page.locator(`#dlq-table button.retry[data-seq="${first.seq}"]`);
    await retry.click();
    // Still malformed, so the mapper dead-letters it again: the old entry goes, a newer one comes.
    await page.locator(`#dlq-table button.retry[data-seq="${first.seq}"]`).waitFor({ state: 'detached' });
    const again = await until('the second dead letter', async () => (await listDeadLetters(stack.cluster.bus)).find((d) => d.seq > first.seq));
    await page.locator(`#dlq-table button.retry[data-seq="${again.seq}"]`).waitFor();
    expect(stack.browser.errors).toEqual([]);
    await page.close();
  });

  it('asks for the bearer token when the API answers 401 and keeps it for the tab', async () => {
    const token = 'console-test-token-0123456789';
    const guarded = await buildGateway({ bus: stack.cluster.bus, token });
    const url = await listenLoopback(guarded);
    try {
      const page = await stack.browser.page();
      await page.goto(`${url}/#/jobs`);
      await page.waitForSelector('#token-dialog[open]');
      await page.fill('#token-input', token);
      await page.click('#token-form button[type=submit]');
      await page.waitForSelector('#jobs-table tr[data-job]');
      expect(await page.evaluate('sessionStorage.getItem("llmxmr.apiToken")')).toBe(token);
      await page.reload();
      await page.waitForSelector('#jobs-table tr[data-job]');
      expect(await page.$('#token-dialog')).toBeNull(); // not asked again in the same tab
      await page.close();
    } finally {
      await guarded.close();
    }
  });
});
