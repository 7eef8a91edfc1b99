/**
 * The job's result: a survey (or an answer) rendered from Markdown, whose numbered citations
 * show the cited work's title on hover and jump to its reference entry; plus downloads.
 */
import { h, fill, notice } from './dom.ts';
import { apiText, ApiError } from './api.ts';
import { renderMarkdown } from '../lib/markdown.ts';

function download(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export async function resultView(section: HTMLElement, jobId: string, pipeline: string): Promise<void> {
  const enc = encodeURIComponent(jobId);
  let md: string;
  try {
    md = await apiText(`/api/jobs/${enc}/result?format=md`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return; // no result (failed or cancelled before one)
    notice(`result: ${(err as Error).message}`, 'error');
    return;
  }
  const body = h('article', { class: 'survey', id: 'survey' });
  body.innerHTML = renderMarkdown(md); // the renderer escapes every piece of source text
  body.addEventListener('click', (ev) => {
    const a = (ev.target as Element).closest('a.cite');
    if (!a) return;
    ev.preventDefault();
    const entry = body.querySelector<HTMLElement>(`#ref-${a.getAttribute('data-ref')}`);
    if (!entry) return;
    entry.scrollIntoView({ block: 'center' });
    entry.classList.remove('flash');
    void entry.offsetWidth; // restart the highlight
    entry.classList.add('flash');
  });
  const formats: [string, string, string][] = pipeline === 'v2' ? [['md', 'text/markdown', 'Markdown'], ['json', 'application/json', 'JSON'], ['bibtex', 'application/x-bibtex', 'BibTeX']] : [['md', 'text/markdown', 'Markdown'], ['json', 'application/json', 'JSON']];
  const buttons = formats.map(([fmt, type, label]) =>
    h('button', {
      onclick: async () => {
        try {
          const text = fmt === 'md' ? md : await apiText(`/api/jobs/${enc}/result?format=${fmt}`);
          download(`${jobId}.${fmt === 'bibtex' ? 'bib' : fmt}`, text, type);
        } catch (err) {
          notice(`download: ${(err as Error).message}`, 'error');
        }
      },
    }, label),
  );
  fill(section, h('h2', {}, pipeline === 'v2' ? 'Survey' : 'Result'), h('div', { class: 'actions' }, 'Download: ', ...buttons), body);
  section.hidden = false;
}
