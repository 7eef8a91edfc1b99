/**
 * SurveyEval (upstream-v2.md §6): the nine metrics of the V2 table for one survey, with
 * upstream's evaluator bugs fixed (§8.3):
 * - the survey text is read from `content` or `txt` (and `markdown`), papers' text from `txt`
 *   or `content`;
 * - every (claim, cited paper) support check is made once;
 * - a citation number outside the reference list is counted as an unsupported pair, no crash;
 * - scores come from structured output, or a labelled score in free text, never the first
 *   integer of the reply; a section whose judgement failed is reported as missing, and a real
 *   zero is averaged like any score.
 * Judge-based metrics run as tasks of the eval ops (shared/ops/eval) through an `OpRunner`;
 * the judge-free ones are computed here.
 */
import { prepareInput } from '../protocol/v2-input.ts';
import { dedupOp, factsOp, rubricOp, sectionOp, supportOp } from '../ops/eval/index.ts';
import type { Family } from '../ops/eval/judge.ts';
import type { Usage } from '../protocol/schemas.ts';
import { freeMetrics, mean, planSupport, supportScores, type EvalPaper, type FreeMetrics, type SupportScores, type SurveySubject } from './surveyeval-metrics.ts';
import { cutReferences, level2Sections } from './surveyeval-text.ts';
import type { OpRunner } from './tasks.ts';

/** The nine columns of the published V2 table, in its order. */
export const JUDGE_METRICS = [
  { key: 'structure', column: 'Struct.', what: 'whole-survey 1-5 structure rating × 20' },
  { key: 'faithfulness', column: 'Fait.', what: 'cited claims supported by at least one of their citations, %' },
  { key: 'relevance', column: 'Rele.', what: 'whole-survey 1-5 topic-relevance rating × 20' },
  { key: 'language', column: 'Lang.', what: 'mean over level-2 sections of formality, clarity and economy (0-100)' },
  { key: 'critical', column: 'Crit.', what: 'mean over level-2 sections of critique, insight and future directions (0-100)' },
  { key: 'numClaims', column: 'Num.', what: 'atomic claims left after deduplication (a count)' },
  { key: 'density', column: 'Dens.', what: 'unique claims / extracted claims, %' },
  { key: 'precision', column: 'Prec.', what: 'supported (claim, citation) pairs / all pairs, %' },
  { key: 'recall', column: 'Recall', what: 'input papers that support at least one claim, %' },
] as const;
export type JudgeMetric = (typeof JUDGE_METRICS)[number]['key'];

/** Judge-free columns shown beside the nine. */
export const FREE_METRICS = [
  { key: 'citationValidity', column: 'Cite valid %' },
  { key: 'sourceCoverage', column: 'Coverage %' },
  { key: 'sectionBalance', column: 'Balance' },
  { key: 'words', column: 'Words' },
  { key: 'precisionProxy', column: 'Prec. proxy' },
  { key: 'recallProxy', column: 'Recall proxy' },
] as const;

export interface EvalOptions {
  /** Object Store prefix for the survey and paper texts of this evaluation. */
  keyPrefix: string;
  /** Characters of the survey the whole-survey judge sees. */
  judgeMaxChars?: number;
  /** Characters of a cited paper the support judge sees. */
  maxSourceChars?: number;
  /** Claims per deduplication call (upstream: 300). */
  dedupGroup?: number;
}

export interface SurveyScores {
  metrics: Record<JudgeMetric, number | null>;
  free: FreeMetrics;
  support: SupportScores;
  detail: {
    rationale: { structure?: string; relevance?: string };
    sections: { title: string; language: number | null; critical: number | null }[];
    claimsExtracted: number;
    claimsUnique: number;
    dedupCalls: number;
  };
  /** Judgements that failed (op and reason); their metrics are computed without them. */
  failures: string[];
  usage: Usage & { tasks: number };
}

const text = (v: unknown) => (typeof v === 'string' ? v : '');

/** A dataset entry with papers' `content` accepted for `txt` (SurveyEval's two spellings). */
export function normaliseEntry(raw: Record<string, unknown>): Record<string, unknown> {
  const papers = Array.isArray(raw.papers) ? raw.papers : [];
  return {
    ...raw,
    papers: papers.map((p) => {
      if (!p || typeof p !== 'object') return p;
      const q = p as Record<string, unknown>;
      return text(q.txt).trim() || !text(q.content).trim() ? q : { ...q, txt: q.content };
    }),
  };
}

/** A survey this system wrote: [n] is the n-th reference, whose id names a prepared paper. */
export function subjectFromSurvey(entry: Record<string, unknown>, markdown: string, references: readonly { id: string }[]): SurveySubject {
  const prep = prepareInput(normaliseEntry(entry));
  const byId = new Map(prep.papers.map((p, i) => [p.id, i]));
  return {
    title: prep.title,
    content: cutReferences(markdown),
    papers: prep.papers.map((p, i): EvalPaper => ({ title: p.title, text: prep.texts[i] })),
    refs: references.map((r) => byId.get(r.id) ?? null),
  };
}

/** An upstream-style output record: {title, papers[{title, txt|content}], content|txt}; [n] is papers[n-1]. */
export function subjectFromRecord(rec: Record<string, unknown>): SurveySubject {
  const papers = (Array.isArray(rec.papers) ? rec.papers : []).map((p): EvalPaper => {
    const q = (p && typeof p === 'object' ? p : {}) as Record<string, unknown>;
    return { title: text(q.title), text: text(q.txt) || text(q.content) || text(q.abstract) };
  });
  return { title: text(rec.title), content: cutReferences(text(rec.content) || text(rec.txt) || text(rec.markdown)), papers };
}

/** Deduplicate claims in groups, then merge groups pairwise until one is left (upstream's scheme). */
async function dedupClaims(runner: OpRunner, claims: string[], groupSize: number, failures: string[]): Promise<{ unique: string[]; calls: number }> {
  let calls = 0;
  const pass = async (groups: string[][]) => {
    const todo = groups.filter((g) => g.length > 1);
    calls += todo.length;
    const res = await runner.mapSettled(dedupOp, todo.map((claims) => ({ claims })));
    let k = 0;
    return groups.map((g) => {
      if (g.length <= 1) return g;
      const r = res[k++];
      if (!r.ok) {
        failures.push(`eval.dedup: ${r.error}`);
        return g;
      }
      const drop = new Set(r.value.remove);
      return g.filter((_, i) => !drop.has(i + 1));
    });
  };
  let groups: string[][] = [];
  for (let i = 0; i < claims.length; i += groupSize) groups.push(claims.slice(i, i + groupSize));
  if (groups.length === 0) return { unique: [], calls };
  groups = await pass(groups);
  while (groups.length > 1) {
    const merged: string[][] = [];
    for (let i = 0; i < groups.length; i += 2) merged.push(i + 1 < groups.length ? [...groups[i], ...groups[i + 1]] : groups[i]);
    groups = await pass(merged);
  }
  return { unique: groups[0], calls };
}

/** All nine metrics and the judge-free ones for one survey. */
export async function evaluateSurvey(subject: SurveySubject, runner: OpRunner, o: EvalOptions): Promise<SurveyScores> {
  const failures: string[] = [];
  const note = (op: string) => (r: { ok: false; error: string }) => failures.push(`${op}: ${r.error}`);
  const contentKey = `${o.keyPrefix}/survey.md`;
  await runner.putBlob(contentKey, subject.content);
  const sections = level2Sections(subject.content);
  const plan = planSupport(subject);
  const cited = [...new Set(plan.checks.map((c) => c.paper))];
  await Promise.all(cited.map((i) => runner.putBlob(`${o.keyPrefix}/p${i}.txt`, subject.papers[i].text || ' ')));

  const rubric = runner.mapSettled(rubricOp, (['structure', 'relevance'] as const).map((criterion) => ({ title: subject.title, criterion, contentKey, maxChars: o.judgeMaxChars ?? 100_000 })));
  const families: Family[] = ['language', 'critical'];
  const sectionJobs = sections.flatMap((s) => families.map((family) => ({ title: subject.title, family, section: { title: s.title, text: s.text } })));
  const sectionRes = runner.mapSettled(sectionOp, sectionJobs);
  const supportRes = runner.mapSettled(
    supportOp,
    plan.checks.map((c) => ({ claim: plan.claims[c.claim].text, paperTitle: subject.papers[c.paper].title, sourceKey: `${o.keyPrefix}/p${c.paper}.txt`, maxSourceChars: o.maxSourceChars ?? 40_000 })),
  );
  const factsRes = runner.mapSettled(factsOp, sections.map((s) => ({ title: subject.title, section: { title: s.title, text: s.text } })));

  const [rb, sc, sp, fa] = await Promise.all([rubric, sectionRes, supportRes, factsRes]);
  // The texts were only for the judge tasks, which are done (a rerun stores them again).
  if (runner.deleteBlob) await Promise.all([contentKey, ...cited.map((i) => `${o.keyPrefix}/p${i}.txt`)].map((k) => runner.deleteBlob!(k)));
  const [structure, relevance] = rb.map((r) => (r.ok ? r.value : (note('eval.rubric')(r), null)));
  const perSection = sections.map((s, i) => {
    const pick = (j: number) => {
      const r = sc[2 * i + j];
      return r.ok ? r.value.score : (note('eval.section')(r), null);
    };
    return { title: s.title, language: pick(0), critical: pick(1) };
  });
  const verdicts = sp.map((r) => (r.ok ? r.value.supported : (note('eval.support')(r), null)));
  const support = supportScores(plan, verdicts, subject.papers.length);
  const extracted = fa.flatMap((r) => (r.ok ? r.value.claims.map((c) => c.trim()).filter(Boolean) : (note('eval.facts')(r), [])));
  const dedup = await dedupClaims(runner, extracted, o.dedupGroup ?? 150, failures);

  return {
    metrics: {
      structure: structure ? structure.score * 20 : null,
      faithfulness: support.faithfulness,
      relevance: relevance ? relevance.score * 20 : null,
      language: mean(perSection.map((s) => s.language)),
      critical: mean(perSection.map((s) => s.critical)),
      numClaims: fa.some((r) => r.ok) ? dedup.unique.length : null,
      density: extracted.length ? (100 * dedup.unique.length) / extracted.length : null,
      precision: support.precision,
      recall: support.recall,
    },
    free: freeMetrics(subject),
    support,
    detail: {
      rationale: { structure: structure?.rationale, relevance: relevance?.rationale },
      sections: perSection,
      claimsExtracted: extracted.length,
      claimsUnique: dedup.unique.length,
      dedupCalls: dedup.calls,
    },
    failures,
    usage: runner.usage(),
  };
}
