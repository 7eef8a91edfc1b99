/**
 * Parts of a crowded section. A model writes a section in one reply of bounded length, and a
 * leaf that dozens of papers were filed under cannot cite them all in it: on the simulator, a
 * leaf of 87 papers came back citing 44, and 15 papers of the survey were cited nowhere. Such a
 * leaf is written in parts of at most `max` papers, each a cluster of related papers (so each
 * part has an approach to write about), and the parts are joined. Pure: no I/O; deterministic
 * for a given list of papers.
 */
import { features, kmeans, tfidfVectors } from './tfidf.ts';
import { createRng, seedFromString } from './rng.ts';

/** Papers one write reply is asked to cover at most (a 4,000-token reply: ~100 tokens each). */
export const WRITE_PART_PAPERS = 40;

export interface PartPaper {
  paperId: string;
  paperTitle: string;
  text: string;
}

/**
 * The digests split into parts of at most `max`, each in the input's order and the parts
 * ordered by their first paper; a single part (a copy) when they fit. Clusters of related
 * papers first; a cluster over `max` is cut into even runs; small neighbours are merged while
 * they fit, so no part is needlessly thin.
 */
export function writingParts<D extends PartPaper>(digests: readonly D[], max = WRITE_PART_PAPERS): D[][] {
  if (!(max >= 1)) throw new Error(`a part must hold at least one paper, got ${max}`);
  if (digests.length <= max) return [digests.slice()];
  const want = Math.ceil(digests.length / max);
  const { vectors } = tfidfVectors(digests.map((d) => features(`${d.paperTitle}. ${d.text}`)));
  const rng = createRng(seedFromString(`write-parts|${digests.map((d) => d.paperId).join(',')}`));
  const clusters = kmeans(vectors, want, rng).members.filter((m) => m.length > 0);
  const runs: number[][] = [];
  for (const c of clusters) {
    const sorted = [...c].sort((a, b) => a - b);
    const pieces = Math.ceil(sorted.length / max);
    const size = Math.ceil(sorted.length / pieces);
    for (let i = 0; i < sorted.length; i += size) runs.push(sorted.slice(i, i + size));
  }
  runs.sort((a, b) => a[0] - b[0]);
  // Merge the smallest part into its smallest neighbour while the two fit together.
  for (;;) {
    let best = -1;
    for (let i = 0; i + 1 < runs.length; i++) {
      const n = runs[i].length + runs[i + 1].length;
      if (n <= max && (best < 0 || n < runs[best].length + runs[best + 1].length)) best = i;
    }
    if (best < 0) break;
    runs.splice(best, 2, [...runs[best], ...runs[best + 1]].sort((a, b) => a - b));
  }
  return runs.map((r) => r.map((i) => digests[i]));
}

/**
 * Markdown tables of one section's parts as one table: rows of tables with the same header
 * are appended to the first; a table with another header follows on its own.
 */
export function joinTables(tables: readonly string[]): string {
  const out: { head: string; rows: string[] }[] = [];
  for (const t of tables.map((x) => x.trim()).filter(Boolean)) {
    const lines = t.split('\n');
    const head = lines.slice(0, 2).join('\n');
    const same = out.find((o) => o.head === head);
    if (same) same.rows.push(...lines.slice(2));
    else out.push({ head, rows: lines.slice(2) });
  }
  return out.map((o) => [o.head, ...o.rows].join('\n')).join('\n\n');
}
