/**
 * `llmxmr survey --sources` and `ask --doc` on local files, through the cluster on the offline
 * engine: a folder of PDFs made from ../shared/data/v2/kv_cache.jsonl gives a survey citing the
 * same papers as the JSONL itself; a folder mixing every format with broken files uses the good
 * ones and names each bad one with its reason; an empty folder is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, closeSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testCluster, testEnv, type TestCluster } from '../helpers/cluster.ts';
import { cli, papers } from '../helpers/bad-input.ts';
import { makeArticleHtml, makeDocx, makeEncryptedPdf, makePdf, makeScannedPdf } from '../helpers/fake-docs.ts';

const DATA = join(import.meta.dirname, '../../../shared/data/v2/kv_cache.jsonl');
const tmp = mkdtempSync(join(tmpdir(), 'llmxmr-sources-'));
let cluster: TestCluster;
beforeAll(async () => {
  cluster = await testCluster(testEnv({ MR_CONCURRENCY: '8' }));
  for (const r of ['coordinator', 'mapper', 'convolver', 'reducer'] as const) await cluster.start(r);
});
afterAll(async () => {
  await cluster?.close();
  rmSync(tmp, { recursive: true, force: true });
});
const conn = () => ['--nats', cluster.env.NATS_URL, '--prefix', cluster.env.MR_PREFIX, '--engine', 'extractive'];

function parseAuthors(a: unknown): string[] {
  if (Array.isArray(a)) return a.map(String);
  return String(a ?? '').replace(/^\[|\]$/g, '').split(/',\s*'/).map((s) => s.replace(/^'|'$/g, '')).filter(Boolean);
}

describe.runIf(existsSync(DATA))('a folder of PDFs made from kv_cache.jsonl', () => {
  it('gives a survey that cites the same papers as the JSONL run', async () => {
    const rec = JSON.parse(readFileSync(DATA, 'utf8').split('\n')[0]);
    // The first 24 papers keep the test short on two cores; their text goes into PDFs with the record's metadata.
    const subset = { title: rec.title, papers: rec.papers.slice(0, 24) };
    const jsonl = join(tmp, 'subset.jsonl');
    writeFileSync(jsonl, `${JSON.stringify(subset)}\n`);
    const pdfs = join(tmp, 'papers');
    mkdirSync(pdfs);
    for (const [i, p] of subset.papers.entries()) {
      const body = `${p.title}\n\n${p.txt || p.abstract}`;
      writeFileSync(join(pdfs, `paper-${String(i).padStart(3, '0')}.pdf`), await makePdf(body, { title: p.title, authors: parseAuthors(p.authors), date: p.date, subject: p.arxiv_id ? `arXiv:${p.arxiv_id}` : undefined }));
    }
    const topic = 'KV cache compression';
    const a = await cli(['survey', '--topic', topic, '--input', jsonl, '--seed', '5', '--out', join(tmp, 'out-jsonl'), '--json', '--quiet', ...conn()]);
    expect(a.code, a.stderr).toBe(0);
    const b = await cli(['survey', '--topic', topic, '--sources', `${pdfs}/`, '--seed', '5', '--out', join(tmp, 'out-pdf'), '--json', ...conn()]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/local sources: 24 found, 24 used, 0 skipped/);
    const ra = JSON.parse(readFileSync(JSON.parse(a.stdout).record, 'utf8'));
    const rb = JSON.parse(readFileSync(JSON.parse(b.stdout).record, 'utf8'));
    const cited = (r: any) => r.references.map((x: any) => x.title).sort();
    expect(cited(rb)).toEqual(cited(ra));
    expect(rb.references.length).toBeGreaterThanOrEqual(12);
    // Real metadata from the PDFs: authors, year, and the arXiv link.
    const first = rb.references.find((x: any) => x.title === subset.papers[0].title);
    if (first) expect(first).toMatchObject({ authors: parseAuthors(subset.papers[0].authors), year: 2025, url: `https://arxiv.org/abs/${subset.papers[0].arxiv_id}` });
    expect(rb.sources.provenance).toHaveLength(24);
    expect(rb.sources.provenance[0].provenance).toMatchObject({ origin: 'local', path: 'paper-000.pdf', format: 'pdf', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(rb.sources.cited).toBe(rb.references.length);
    for (const ref of rb.references) expect(ref.provenance).toMatchObject({ origin: 'local', path: expect.stringMatching(/^paper-\d{3}\.pdf$/), sha256: expect.any(String), retrievedAt: expect.any(String) });
  }, 600_000);
});

describe('a folder mixing formats and broken files', () => {
  it('uses every good file, skips each bad one with its reason on stderr and in the record, and takes BibTeX metadata', async () => {
    const d = join(tmp, 'mixed');
    mkdirSync(join(d, 'pdf'), { recursive: true });
    const t = papers(6).map((p) => `${p.txt} ${p.txt}`);
    writeFileSync(join(d, 'pdf', 'quant.pdf'), await makePdf(t[0], { title: 'Cache quantization for long inputs' }));
    writeFileSync(join(d, 'pdf', 'evict.pdf'), await makePdf(t[1], { title: 'Token eviction under a budget' }));
    writeFileSync(join(d, 'paged.docx'), await makeDocx('Paged cache memory', [t[2]]));
    writeFileSync(join(d, 'offload.html'), makeArticleHtml({ title: 'Host offloading of the cache', authors: ['Grace Hopper'], doi: '10.5555/offload.2024', date: '2024-06-01', paragraphs: [t[3], t[3]] }));
    writeFileSync(join(d, 'prefix.md'), `# Prefix sharing across requests\n\n${t[4]}\n`);
    writeFileSync(join(d, 'lowrank.txt'), `Low-rank keys\n\n${t[5]}\n`);
    writeFileSync(join(d, 'refs.bib'), `@inproceedings{hopper2023,\n  title = {Eviction Policies Revisited},\n  author = {Hopper, Grace and Lovelace, Ada},\n  year = {2023},\n  doi = {10.5555/evict.2023},\n  file = {:pdf/evict.pdf:PDF}\n}\n@article{gone, title = {A Missing File}, file = {:pdf/nothere.pdf:PDF}}\n`);
    writeFileSync(join(d, 'locked.pdf'), makeEncryptedPdf());
    writeFileSync(join(d, 'broken.pdf'), '%PDF-1.7\n1 0 obj <<< this is not a PDF');
    writeFileSync(join(d, 'scan.pdf'), await makeScannedPdf());
    writeFileSync(join(d, 'photo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]));
    // A 200 MB HTML page (sparse: no disk used); refused from its size before it is read.
    closeSync(openSync(join(d, 'huge.html'), 'w'));
    truncateSync(join(d, 'huge.html'), 200 * 1024 * 1024);
    const r = await cli(['survey', '--topic', 'Memory of the KV cache', '--sources', d, '--bibtex', '--keep-partial', '--out', join(tmp, 'out-mixed'), '--json', ...conn()]);
    expect(r.code, r.stderr).toBe(0);
    for (const [name, why] of [['locked.pdf', /encrypted/], ['broken.pdf', /corrupt PDF/], ['scan.pdf', /no text layer/], ['photo.png', /unsupported file type/], ['huge.html', /200\.0 MB is over the 16 MB limit for html files; not read/], ['refs.bib#gone', /does not exist/]] as const)
      expect(r.stderr).toMatch(new RegExp(`skipped ${name.replace('.', '\\.')}: .*${why.source}`));
    expect(r.stderr).toMatch(/local sources: 12 found, 6 used, 6 skipped/);
    const rec = JSON.parse(readFileSync(JSON.parse(r.stdout).record, 'utf8'));
    expect(rec.counts.papers).toBe(6);
    expect(rec.sources.skipped).toHaveLength(6);
    expect(rec.sources.provenance.map((p: any) => p.provenance.path).sort()).toEqual(['lowrank.txt', 'offload.html', 'paged.docx', 'pdf/evict.pdf', 'pdf/quant.pdf', 'prefix.md']);
    const evict = rec.papers.find((p: any) => p.title === 'Eviction Policies Revisited');
    expect(evict).toMatchObject({ authors: ['Grace Hopper', 'Ada Lovelace'], year: 2023 });
    const bib = readFileSync(join(tmp, 'out-mixed', `${JSON.parse(r.stdout).markdown.split('/').pop().replace(/\.md$/, '')}.bib`), 'utf8');
    if (rec.references.some((x: any) => x.title === 'Host offloading of the cache')) expect(bib).toContain('10.5555/offload.2024');
  }, 300_000);

  it('refuses an empty folder, naming it', async () => {
    mkdirSync(join(tmp, 'empty'));
    const r = await cli(['survey', '--topic', 'x y', '--sources', join(tmp, 'empty'), '--out', join(tmp, 'o'), ...conn()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/skipped .*empty: the folder holds no files/);
    expect(r.stderr).toMatch(/no usable source in/);
  }, 60_000);

  it('ask --doc reads a PDF, and refuses an encrypted one with its reason', async () => {
    const doc = join(tmp, 'manual.pdf');
    writeFileSync(doc, await makePdf(`Operating notes.\n\n${'The cooling pump runs at night. '.repeat(40)}\nThe access code for the archive room is 7319.\n\n${'Filters are changed monthly. '.repeat(40)}`));
    const ok = await cli(['ask', '--doc', doc, '--question', 'What is the access code for the archive room?', '--profile', 'retrieval', '--json', ...conn()]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).answer).toContain('7319');
    writeFileSync(join(tmp, 'locked2.pdf'), makeEncryptedPdf());
    const bad = await cli(['ask', '--doc', join(tmp, 'locked2.pdf'), '--question', 'q?', ...conn()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cannot be used: the PDF is encrypted/);
  }, 120_000);
});
