/**
 * arXiv's API (export.arxiv.org/api/query): an Atom 1.0 feed. Each <entry> has <id>
 * (http://arxiv.org/abs/<id>v<n>), <title>, <summary>, <published>, <author><name>, links with
 * rel="alternate" (abstract page) and title="pdf" (the PDF), and arxiv:doi when the paper has one.
 */
import { lazyModule } from '../../lazy-module.ts';
import { findArxivId, findDoi, findYear } from '../ids.ts';
import { MalformedResponse, str, type Hit, type ProviderRequest } from './types.ts';

const linkedom = lazyModule<typeof import('linkedom')>('linkedom'); // loaded on first use (a large package)

export function arxivRequest(base: string, query: string, n: number): ProviderRequest {
  const terms = query.split(/\s+/).filter(Boolean).map((w) => `all:${w.replace(/[^\p{L}\p{N}-]/gu, '')}`).filter((t) => t.length > 4);
  const u = new URL(base);
  u.searchParams.set('search_query', terms.join(' AND ') || `all:${query}`);
  u.searchParams.set('start', '0');
  u.searchParams.set('max_results', String(n));
  return { url: u.href, headers: { accept: 'application/atom+xml' } };
}

export function parseArxiv(xml: string): Hit[] {
  if (!/<feed[\s>]/.test(xml)) throw new MalformedResponse('arXiv answered with something that is not an Atom feed');
  const doc = new (linkedom().DOMParser)().parseFromString(xml, 'text/xml');
  const out: Hit[] = [];
  for (const e of doc.getElementsByTagName('entry')) {
    const text = (tag: string) => str(e.getElementsByTagName(tag)[0]?.textContent);
    const id = text('id');
    const title = text('title');
    if (!title || /^error$/i.test(title)) continue;
    let pdf: string | null = null;
    let page: string | null = null;
    for (const l of e.getElementsByTagName('link')) {
      if (l.getAttribute('title') === 'pdf' || l.getAttribute('type') === 'application/pdf') pdf = l.getAttribute('href');
      else if (l.getAttribute('rel') === 'alternate') page = l.getAttribute('href');
    }
    out.push({
      title,
      url: page ?? id ?? null,
      pdfUrl: pdf,
      abstract: text('summary'),
      authors: [...e.getElementsByTagName('author')].map((a) => str(a.getElementsByTagName('name')[0]?.textContent)).filter(Boolean),
      year: findYear(text('published')),
      doi: findDoi(text('arxiv:doi')),
      arxivId: findArxivId(id),
      venue: text('arxiv:journal_ref') || null,
    });
  }
  return out;
}
