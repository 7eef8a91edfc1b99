/**
 * One source per work: two documents are the same when they share a DOI, an arXiv id, or a
 * normalised title. The first seen stays (its provenance), filled with what the later copy knew
 * (a longer text, authors, year, identifiers); the duplicates are reported.
 */
import { normaliseTitle } from './ids.ts';
import type { SkippedSource, SourceDoc } from './types.ts';

function keysOf(d: SourceDoc): string[] {
  const out: string[] = [];
  if (d.doi) out.push(`doi:${d.doi.toLowerCase()}`);
  if (d.arxivId) out.push(`arxiv:${d.arxivId.replace(/v\d+$/, '')}`);
  const t = normaliseTitle(d.title);
  if (t.length >= 12) out.push(`title:${t}`);
  return out;
}

const label = (d: SourceDoc) => d.provenance.path ?? d.provenance.url ?? d.title;

export function dedupe(docs: readonly SourceDoc[]): { docs: SourceDoc[]; duplicates: SkippedSource[] } {
  const kept: SourceDoc[] = [];
  const index = new Map<string, number>();
  const duplicates: SkippedSource[] = [];
  for (const d of docs) {
    const keys = keysOf(d);
    const hit = keys.map((k) => index.get(k)).find((i) => i !== undefined);
    if (hit === undefined) {
      kept.push({ ...d });
      keys.forEach((k) => index.set(k, kept.length - 1));
      continue;
    }
    const a = kept[hit];
    const by = keys.find((k) => index.get(k) === hit)!.split(':')[0];
    duplicates.push({ source: label(d), reason: `duplicate of ${label(a)} (same ${by === 'doi' ? 'DOI' : by === 'arxiv' ? 'arXiv id' : 'title'})` });
    const merged: SourceDoc = {
      ...a,
      text: d.text.length > a.text.length ? d.text : a.text,
      abstract: a.abstract ?? d.abstract,
      authors: a.authors.length ? a.authors : d.authors,
      year: a.year ?? d.year,
      doi: a.doi ?? d.doi,
      arxivId: a.arxivId ?? d.arxivId,
      url: a.url ?? d.url,
      venue: a.venue ?? d.venue ?? null,
    };
    if (merged.abstract === undefined) delete merged.abstract;
    kept[hit] = merged;
    keysOf(merged).forEach((k) => index.set(k, hit));
  }
  return { docs: kept, duplicates };
}
