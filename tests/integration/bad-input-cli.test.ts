/**
 * The bad-input corpus, command-line half: `llmxmr survey` and `llmxmr submit` answer bad files
 * and options with one line on stderr, a non-zero exit and no stack trace; a 50 MB paper is
 * refused before it is read when it is over --max-input-mb, and otherwise cut to the paper limit
 * with a note while the survey completes. (`llmxmr ask` cases are in bad-input.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { testCluster, testEnv, type TestCluster } from '../helpers/cluster.ts';
import { cli, dir, file, oneLineError, papers } from '../helpers/bad-input.ts';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await testCluster(testEnv());
  for (const r of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) await cluster.start(r);
});
afterAll(async () => {
  await cluster?.close();
  rmSync(dir, { recursive: true, force: true });
});

const conn = () => ['--nats', cluster.env.NATS_URL, '--prefix', cluster.env.MR_PREFIX];
const record = (o: unknown) => `${JSON.stringify(o)}\n`;

/** A one-line JSONL record with one paper of `mb` megabytes of text, written in pieces. */
function hugePaperFile(name: string, mb: number): string {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  const small = papers(3).map((p) => JSON.stringify(p)).join(',');
  writeSync(fd, `{"title":"Cache Memory","papers":[${small},{"title":"A very long dump","txt":"`);
  const piece = 'The cache grows with every token of the context and the server runs out of memory. '.repeat(12_000);
  for (let written = 0; written < mb * 1024 * 1024; written += piece.length) writeSync(fd, piece);
  writeSync(fd, '"}]}\n');
  closeSync(fd);
  return path;
}

const SURVEY: Array<[string, () => string[], RegExp]> = [
  ['a file that is not JSON', () => ['--input', file('notjson.jsonl', '{"title": "x", papers: [\n')], /line 1 of .* is not valid JSON/],
  ['a JSON array instead of an object', () => ['--input', file('array.jsonl', '[1, 2, 3]\n')], /line 1 of \S+: the record is not a survey: found an array, expected an object/],
  ['papers of the wrong type', () => ['--input', file('papers-type.jsonl', record({ title: 'x', papers: 'all of them' }))], /papers: expected an array, found text/],
  ['a missing title', () => ['--input', file('notitle.jsonl', record({ papers: papers(3) }))], /title/],
  ['zero papers', () => ['--input', file('zero.jsonl', record({ title: 'x', papers: [] }))], /no paper with text/],
  ['papers without any text', () => ['--input', file('notext.jsonl', record({ title: 'x', papers: [{ title: 'a' }, { title: 'b', txt: '  ' }] }))], /no paper with text/],
  ['20,000 papers', () => ['--input', file('20k.jsonl', record({ title: 'x', papers: Array.from({ length: 20_000 }, (_, i) => ({ title: `p${i}`, abstract: 'a b c' })) }))], /20000 papers; the limit is 5000/],
  ['invalid UTF-8', () => ['--input', file('latin1.jsonl', Buffer.concat([Buffer.from('{"title": "caf'), Buffer.from([0xe9]), Buffer.from('", "papers": []}\n')]))], /not valid UTF-8/],
  ['a --line past the end', () => ['--input', file('one.jsonl', record({ title: 'x', papers: papers(3) })), '--line', '4'], /--line 4 is past the end/],
  ['--blocks 99', () => ['--input', file('b.jsonl', record({ title: 'x', papers: papers(3) })), '--blocks', '99'], /--blocks must be a whole number from 0 to 8/],
  ['a negative --seed', () => ['--input', file('s.jsonl', record({ title: 'x', papers: papers(3) })), '--seed', '-5'], /--seed must be/],
  ['--group-size 0', () => ['--input', file('g.jsonl', record({ title: 'x', papers: papers(3) })), '--group-size', '0'], /--group-size must be/],
  ['--max-input-mb 0', () => ['--input', file('m.jsonl', record({ title: 'x', papers: papers(3) })), '--max-input-mb', '0'], /--max-input-mb must be/],
  ['a directory as input', () => { mkdirSync(join(dir, 'adir'), { recursive: true }); return ['--input', join(dir, 'adir')]; }, /is not a regular file/],
  ['a 50 MB paper over --max-input-mb 8 (refused before reading)', () => ['--input', hugePaperFile('huge-refused.jsonl', 50), '--max-input-mb', '8'], /is 50\.\d MB; the limit is 8\.0 MB \(raise it with --max-input-mb\)/],
];

describe.concurrent('llmxmr survey refuses bad input in one line', () => {
  it.each(SURVEY)('%s', async (_what, args, why) => {
    const r = await cli(['survey', ...args(), '--out', join(dir, 'out'), '--engine', 'extractive', '--quiet']);
    expect(r.code).toBe(2);
    expect(oneLineError(r)).toMatch(why);
  });
});

describe.concurrent('llmxmr submit refuses bad job specs in one line', () => {
  const SUBMIT: Array<[string, () => string, RegExp]> = [
    ['a spec that is not JSON', () => file('spec-bad.json', '{ pipeline: v2 }'), /job spec .* is not valid JSON/],
    ['a spec with an invalid job id', () => file('spec-id.json', JSON.stringify({ jobId: 'has space', pipeline: 'v2', params: { inputKey: 'k' } })), /invalid job: jobId: job ids use/],
    ['a spec for an unknown pipeline', () => file('spec-pipe.json', JSON.stringify({ pipeline: 'v3', params: {} })), /invalid job: pipeline/],
    ['a spec over 1 MiB', () => file('spec-big.json', JSON.stringify({ pipeline: 'v1', params: { docKey: 'd', question: 'q'.repeat(1_500_000) } })), /limited to 1\.00 MiB/],
  ];
  it.each(SUBMIT)('%s', async (_what, spec, why) => {
    const r = await cli(['submit', spec(), ...conn()]);
    expect(r.code).not.toBe(0);
    expect(oneLineError(r)).toMatch(why);
  });
});

describe('a 50 MB paper within the size limit', () => {
  it('is cut to the paper limit with a note on stderr, and the survey completes', async () => {
    const out = join(dir, 'huge-out');
    const r = await cli(['survey', '--input', hugePaperFile('huge-ok.jsonl', 50), '--engine', 'extractive', '--out', out, '--json', ...conn()]);
    expect(r.stderr).toMatch(/note: paper P\d+ "A very long dump" has 5\d{7} characters; only the first \d+ are used \(limit 2000000\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { markdown: string; counts: { truncated: number; papers: number } };
    expect(summary.counts.truncated).toBe(1);
    expect(summary.counts.papers).toBe(4);
    expect(existsSync(summary.markdown)).toBe(true);
  });
});
