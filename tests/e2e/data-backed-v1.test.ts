/**
 * V1 on real documents from ../shared/data (skipped, with a notice, when the folder is absent):
 * a pass key hidden in Jane Austen's Emma, an L-Eval contract question, an L-Eval report summary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { submitJob, waitForJob, fetchResult } from '../../shared/client/client.ts';
import { scoreQaEn } from '../../shared/eval/infinitebench-score.ts';
import { rougeLsumBest } from '../../shared/eval/rouge.ts';
import { ROOT, testCluster, testEnv, type TestCluster } from '../helpers/cluster.ts';

const DATA = join(ROOT, '..', 'shared', 'data');
const have = existsSync(DATA);
if (!have) console.warn(`NOTICE: ${DATA} is absent; data-backed V1 tests are skipped`);

let cluster: TestCluster;
beforeAll(async () => {
  if (!have) return;
  cluster = await testCluster(testEnv({ MR_CONCURRENCY: '8' }));
  await cluster.start('coordinator');
  await cluster.start('mapper');
  await cluster.start('reducer');
});
afterAll(async () => cluster?.close());

async function ask(jobId: string, doc: string, question: string, profile: 'qa' | 'sum' | 'retrieval') {
  await cluster.bus.putBlob(`docs/${jobId}`, doc);
  await submitJob(cluster.bus, { jobId, pipeline: 'v1', params: { docKey: `docs/${jobId}`, question, profile } });
  const st = await waitForJob(cluster.bus, jobId);
  if (st.state !== 'succeeded') throw new Error(`${jobId}: ${st.error}`);
  return (await fetchResult(cluster.bus, st)) as Record<string, any>;
}

function leval(file: string) {
  return JSON.parse(readFileSync(join(DATA, 'v1', 'leval', file), 'utf8').split('\n')[0]) as {
    input: string; instructions: string[]; outputs: string[];
  };
}

describe.runIf(have)('V1 on real documents (data-backed)', () => {
  it('finds a pass key hidden 40% into Jane Austen\'s Emma (~200k tokens)', async () => {
    const emma = readFileSync(join(DATA, 'text', 'austen_emma.txt'), 'utf8');
    const at = emma.indexOf('\n', Math.floor(emma.length * 0.4)) + 1;
    const doc = `${emma.slice(0, at)}The pass key is 58213. Remember it. 58213 is the pass key.\n${emma.slice(at)}`;
    const r = await ask('emma-pk', doc, 'What is the pass key?', 'retrieval');
    expect(r.answer).toContain('58213');
    expect(r.stats.chunks).toBeGreaterThan(50);
  });

  it('answers an L-Eval contract question with the clause a lawyer marked (token F1 ≥ 0.5)', async () => {
    const d = leval('legal_contract_qa.jsonl');
    const r = await ask('legal-0', d.input, d.instructions[0], 'qa');
    expect(scoreQaEn(r.answer, [d.outputs[0]])).toBeGreaterThanOrEqual(0.5);
  });

  it('summarises an L-Eval government report with sentences taken from it, overlapping the reference', async () => {
    const d = leval('gov_report_summ.jsonl');
    const r = await ask('gov-0', d.input, d.instructions[0], 'sum');
    const rouge = rougeLsumBest(r.answer, d.outputs);
    console.info(`gov_report_summ[0]: ROUGE-Lsum F ${(rouge.fmeasure * 100).toFixed(2)} over ${r.stats.chunks} chunks`);
    expect(rouge.fmeasure).toBeGreaterThan(0.15);
    const squash = (s: string) => s.replace(/\s+/g, ' ');
    const doc = squash(d.input);
    const firstSentence = squash(r.answer).split(/(?<=[.!?])\s/)[0];
    expect(doc).toContain(firstSentence.trim());
  });
});
