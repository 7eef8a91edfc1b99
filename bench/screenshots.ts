/**
 * Screenshots of the web console for the README and docs/console.md: a cluster on the fleet
 * simulator (so jobs have tokens and a cost), a finished survey with a refinement block, a V1
 * answer, a survey paused for outline review and a dead letter, shot in Debian's Chromium.
 *
 *   node --import tsx bench/screenshots.ts [--out docs/img]
 *
 * Writes console-jobs.png, console-job.png, console-cluster.png and console-outline.png.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startFleetSim } from '../shared/sim/fleet.ts';
import { encode } from '../shared/protocol/codec.ts';
import { dropPrefix, testEnv, until, ROOT } from '../tests/helpers/cluster.ts';
import { startConsoleStack } from '../tests/helpers/console-stack.ts';
import { surveyRecord } from '../tests/helpers/console-data.ts';

const { values: a } = parseArgs({ options: { out: { type: 'string', default: join(ROOT, 'docs/img') } } });
const out = resolve(a.out!);
mkdirSync(out, { recursive: true });

const sim = await startFleetSim({ model: 'sim', replicas: 2, slots: 8, baseLatencyMs: 40, prefillTokensPerSec: 0, decodeTokensPerSec: 0, seed: 5 });
const routing = join(mkdtempSync(join(tmpdir(), 'llmxmr-shots-')), 'routing.json');
writeFileSync(routing, JSON.stringify({ defaults: { model: 'sim' }, models: { sim: { endpoints: [sim.url], price: { inputPerMillion: 0.6, outputPerMillion: 2.4 } } } }));
const env = testEnv({ OPENAI_BASE_URL: sim.url, LLM_MODEL: 'sim', LLM_ROUTING_FILE: routing, MR_CONCURRENCY: '16', MR_PREFIX: 'consoledemo' });
await dropPrefix(env); // a run that crashed may have left its streams
const { cluster, base, browser, close } = await startConsoleStack({ env, gateway: { defaultEngine: 'openai' }, viewport: { width: 1280, height: 960 } });

const post = async (path: string, body: unknown) => {
  const r = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as { jobId: string };
};
const state = async (id: string) => ((await (await fetch(`${base}/api/jobs/${id}`)).json()) as { state: string }).state;

try {
  const conv = { convLayer: 2, resultNum: 2, topK: 2, selfRefineCount: 1, selfRefineBestOf: 2 };
  const survey = await post('/api/jobs', { pipeline: 'v2', record: surveyRecord(), params: { groupSize: 3, blocks: 1, conv } });
  const doc = Array.from({ length: 60 }, (_, i) => `Day ${i + 1}. The orchard log notes ${i % 7 === 0 ? 'a swarm of wild bees on the pear trees' : 'routine mowing and checks of the traps'}.`).join('\n');
  const answer = await post('/api/jobs', { pipeline: 'v1', document: doc, question: 'On which days were wild bees seen?', profile: 'qa' });
  const review = await post('/api/jobs', { pipeline: 'v2', record: { ...surveyRecord(), title: 'Orchard Ecology Under Review' }, params: { groupSize: 3, reviewOutline: true } });
  await cluster.bus.js.publish(cluster.bus.names.subjects.task('map', 'v1.map'), encode({ malformed: true }));
  await until('the jobs', async () => ['succeeded', 'failed'].includes(await state(survey.jobId)) && ['succeeded', 'failed'].includes(await state(answer.jobId)) && (await state(review.jobId)) === 'paused', 300_000);

  const page = await browser.page();
  /** `height`: shoot the page's top this tall (the viewport when absent). */
  const shot = async (hash: string, ready: string, file: string, height?: number) => {
    await page.goto(`${base}/${hash}`);
    await page.waitForSelector(ready);
    await page.waitForTimeout(400);
    await page.screenshot({ path: join(out, file), ...(height ? { fullPage: true, clip: { x: 0, y: 0, width: 1280, height } } : {}) });
    console.log(`wrote ${join(out, file)}`);
  };
  await shot('#/jobs', '#jobs-table tr[data-job]', 'console-jobs.png');
  await shot(`#/job/${survey.jobId}`, '#survey a.cite', 'console-job.png', 1700);
  await page.screenshot({ path: join(tmpdir(), 'console-job-full.png'), fullPage: true });
  await shot('#/cluster', '#dlq-table', 'console-cluster.png', 1010);
  await shot(`#/job/${review.jobId}`, '#outline-tree li', 'console-outline.png');
  if (browser.errors.length) console.error(browser.errors.join('\n'));
} finally {
  await close();
  await sim.close();
}
