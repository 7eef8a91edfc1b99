/**
 * The submit form: V1 (a document as text or file, a question, a profile) or V2 (a topic record
 * as a JSON / JSONL file or pasted JSON, the number of refinement blocks, and whether to pause
 * for a review of the outline).
 */
import { h, notice } from './dom.ts';
import { apiJson } from './api.ts';

const PROFILES = ['qa', 'sum', 'mc', 'code', 'math', 'retrieval', 'qa_zh'];

/** Records of a pasted or loaded text: one JSON object, a JSON array of them, or JSON lines. */
export function parseRecords(text: string): { title: string; papers: unknown[] }[] {
  const t = text.trim();
  if (!t) throw new Error('the record is empty: paste a JSON record or choose a file');
  let values: unknown[];
  try {
    const v = JSON.parse(t);
    values = Array.isArray(v) ? v : [v];
  } catch {
    values = t.split(/\r?\n/).filter((l) => l.trim()).map((l, i) => {
      try {
        return JSON.parse(l);
      } catch {
        throw new Error(`line ${i + 1} is not JSON; give one record object, or one record per line`);
      }
    });
  }
  return values.map((v, i) => {
    const r = v as { title?: unknown; papers?: unknown };
    if (!r || typeof r.title !== 'string' || !Array.isArray(r.papers)) throw new Error(`record ${i + 1} needs a "title" and a "papers" array`);
    return r as { title: string; papers: unknown[] };
  });
}

function readFileInto(input: HTMLInputElement, target: HTMLTextAreaElement, after?: () => void) {
  input.addEventListener('change', async () => {
    const f = input.files?.[0];
    if (!f) return;
    target.value = await f.text();
    after?.();
  });
}

/** Navigate to a job after submitting it. */
function openJob(jobId: string): void {
  notice(`submitted ${jobId}`);
  location.hash = `#/job/${encodeURIComponent(jobId)}`;
}

export function submitForm(): HTMLElement {
  const doc = h('textarea', { id: 'v1-document', rows: 6 });
  const docFile = h('input', { type: 'file', id: 'v1-file', accept: '.txt,.md,text/plain' });
  readFileInto(docFile, doc);
  const question = h('input', { type: 'text', id: 'v1-question' });
  const profile = h('select', { id: 'v1-profile' }, ...PROFILES.map((p) => h('option', { value: p }, p)));

  const record = h('textarea', { id: 'v2-record', rows: 6 });
  const recordFile = h('input', { type: 'file', id: 'v2-file', accept: '.json,.jsonl,application/json' });
  const pick = h('select', { id: 'v2-pick', hidden: true });
  const updatePick = () => {
    try {
      const recs = parseRecords(record.value);
      pick.replaceChildren(...recs.map((r, i) => h('option', { value: i }, `${i + 1}. ${r.title} (${r.papers.length} papers)`)));
      pick.hidden = recs.length < 2;
    } catch {
      pick.hidden = true;
    }
  };
  readFileInto(recordFile, record, updatePick);
  record.addEventListener('change', updatePick);
  const blocks = h('input', { type: 'number', id: 'v2-blocks', min: 0, max: 8, value: 0 });
  const review = h('input', { type: 'checkbox', id: 'v2-review' });

  const v1 = h('fieldset', { id: 'v1-fields' }, h('legend', {}, 'V1: long document'), h('label', {}, 'Document ', h('small', { class: 'muted' }, 'paste the text, or choose a file below'), doc), h('label', {}, 'or file ', docFile), h('label', {}, 'Question', question), h('label', {}, 'Profile ', profile));
  const v2 = h(
    'fieldset',
    { id: 'v2-fields', hidden: true },
    h('legend', {}, 'V2: survey'),
    h('label', {}, 'Topic record (JSON) ', h('small', { class: 'muted' }, '{"title": "…", "papers": [{"title": "…", "abstract": "…", "txt": "…"}, …]}'), record),
    h('label', {}, 'or JSON / JSONL file ', recordFile, pick),
    h('label', {}, 'Refinement blocks ', blocks),
    h('label', { class: 'check' }, review, ' review the outline (pause after drafting and after refinement)'),
  );
  const pipeline = h('select', { id: 'pipeline' }, h('option', { value: 'v1' }, 'V1: answer over a long document'), h('option', { value: 'v2' }, 'V2: survey from papers'));
  pipeline.addEventListener('change', () => {
    v1.hidden = pipeline.value !== 'v1';
    v2.hidden = pipeline.value !== 'v2';
  });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'submit-job' }, 'Submit');
  const form = h('form', { id: 'submit-form' }, h('label', {}, 'Pipeline ', pipeline), v1, v2, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let body: unknown;
    try {
      if (pipeline.value === 'v1') {
        if (!doc.value.trim()) throw new Error('the document is empty: paste text or choose a file');
        if (!question.value.trim()) throw new Error('the question is empty');
        body = { pipeline: 'v1', document: doc.value, question: question.value.trim(), profile: profile.value };
      } else {
        const recs = parseRecords(record.value);
        const params: Record<string, unknown> = { blocks: Number(blocks.value) || 0 };
        if (review.checked) params.reviewOutline = true;
        body = { pipeline: 'v2', record: recs[Number(pick.value) || 0], params };
      }
    } catch (err) {
      notice((err as Error).message, 'error');
      return;
    }
    submit.disabled = true;
    try {
      const { jobId } = await apiJson<{ jobId: string }>('POST', '/api/jobs', body);
      openJob(jobId);
    } catch (err) {
      notice(`not submitted: ${(err as Error).message}`, 'error');
    } finally {
      submit.disabled = false;
    }
  });
  return h('section', { class: 'card' }, h('h2', {}, 'Submit a job'), form);
}
