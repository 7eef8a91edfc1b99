/**
 * The main text of an HTML page: Mozilla's Readability (Firefox Reader View) over a linkedom DOM,
 * and the scholarly meta tags (citation_title, citation_author, citation_doi, …) that publishers
 * and arXiv put in the head. Pages Readability finds no article in fall back to the body text.
 */
import type { ExtractResult } from './extract.ts';
import { findArxivId, findDoi, findYear } from './ids.ts';
import { lazyModule } from '../lazy-module.ts';

// Both loaded on first use: large packages that most commands never need.
const linkedom = lazyModule<typeof import('linkedom')>('linkedom');
const readability = lazyModule<typeof import('@mozilla/readability')>('@mozilla/readability');
const parseHTML = (html: string) => linkedom().parseHTML(html);
type Document = ReturnType<typeof parseHTML>['document'];

function metas(document: Document, name: string): string[] {
  const out: string[] = [];
  for (const el of document.querySelectorAll('meta')) {
    const key = (el.getAttribute('name') ?? el.getAttribute('property') ?? '').toLowerCase();
    const v = el.getAttribute('content');
    if (key === name && v?.trim()) out.push(v.trim());
  }
  return out;
}

export function extractHtml(html: string): ExtractResult {
  let document: Document;
  try {
    ({ document } = parseHTML(html));
  } catch (e) {
    return { ok: false, reason: `unparsable HTML (${(e as Error).message})` };
  }
  const title = metas(document, 'citation_title')[0] ?? metas(document, 'og:title')[0];
  const authors = metas(document, 'citation_author');
  const date = metas(document, 'citation_publication_date')[0] ?? metas(document, 'citation_date')[0];
  const doi = findDoi(metas(document, 'citation_doi')[0] ?? metas(document, 'dc.identifier')[0] ?? '');
  const arxivId = findArxivId(`arXiv:${metas(document, 'citation_arxiv_id')[0] ?? ''}`);
  const abstract = metas(document, 'citation_abstract')[0] ?? metas(document, 'description')[0];
  let text = '';
  let articleTitle: string | undefined;
  try {
    const article = new (readability().Readability)(document as never, { charThreshold: 200 }).parse();
    text = article?.textContent ?? '';
    articleTitle = article?.title ?? undefined;
  } catch {
    text = '';
  }
  if (text.replace(/\s+/g, '').length < 200) {
    const { document: again } = parseHTML(html);
    for (const el of again.querySelectorAll('script, style, noscript, nav, header, footer')) el.remove();
    text = again.body?.textContent ?? again.documentElement?.textContent ?? '';
    articleTitle ??= again.title;
  }
  text = text.replace(/[ \t\u00a0]+/g, ' ').replace(/\n\s*\n\s*/g, '\n\n').replace(/^ +| +$/gm, '').trim();
  return {
    ok: true,
    doc: {
      format: 'html',
      text,
      title: (title ?? articleTitle ?? document.title ?? '').replace(/<[^>]*>/g, '').replace(/\s+/g, ' ').trim() || undefined,
      authors,
      year: findYear(date),
      doi,
      arxivId,
      ...(abstract ? { abstract } : {}),
    },
  };
}
