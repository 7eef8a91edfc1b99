/**
 * Sources → the V2 input record's papers (the format `--input` takes), with provenance kept on
 * each paper; and the provenance list of a finished survey, by paper id.
 */
import type { Provenance, SourceDoc } from './types.ts';

export interface SourcePaper {
  title: string;
  txt: string;
  abstract?: string;
  authors: string[];
  year: number | null;
  doi: string | null;
  arxiv_id: string | null;
  url: string | null;
  venue: string | null;
  provenance: Provenance;
}

export function toPaper(d: SourceDoc): SourcePaper {
  return {
    title: d.title,
    txt: d.text,
    ...(d.abstract ? { abstract: d.abstract } : {}),
    authors: d.authors,
    year: d.year,
    doi: d.doi,
    arxiv_id: d.arxivId,
    url: d.url ?? (d.provenance.url && /^https?:/i.test(d.provenance.url) ? d.provenance.url : null),
    venue: d.venue ?? null,
    provenance: d.provenance,
  };
}

/**
 * Provenance by paper id: `ids` are the prepared papers' ids with their positions in the input's
 * papers array (PreparedPaper.index), so skipped papers do not shift the pairing.
 */
export function provenanceById(papers: readonly { provenance?: Provenance }[], prepared: readonly { id: string; index: number }[]): { id: string; provenance: Provenance }[] {
  return prepared.flatMap(({ id, index }) => (papers[index]?.provenance ? [{ id, provenance: papers[index].provenance! }] : []));
}
