/**
 * ROUGE-Lsum as InfiniteBench's En.Sum scoring computes it (HF `evaluate` "rouge" on top of
 * Google's `rouge_score`, no stemmer): lower-cased `[a-z0-9]+` tokens, sentences split on
 * "\n", summary-level union-LCS with the reference's back-tracking rule, F-measure, best
 * reference by F. Pure.
 */

export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

const ZERO: RougeScore = { precision: 0, recall: 0, fmeasure: 0 };

/** Lower-case, turn every run outside [a-z0-9] into a separator, keep the non-empty pieces. */
export function rougeTokens(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((t) => t.length > 0);
}

/** Non-empty "\n"-separated lines, each tokenized (a line may tokenize to nothing and still count as a sentence). */
export function rougeSentences(text: string): string[][] {
  return text
    .split('\n')
    .filter((s) => s.length > 0)
    .map(rougeTokens);
}

/** (|ref|+1) x (|can|+1) LCS length table, row-major. */
function lcsTable(ref: readonly string[], can: readonly string[]): Int32Array {
  const cols = can.length + 1;
  const t = new Int32Array((ref.length + 1) * cols);
  for (let i = 1; i <= ref.length; i++) {
    for (let j = 1; j <= can.length; j++) {
      t[i * cols + j] =
        ref[i - 1] === can[j - 1] ? t[(i - 1) * cols + j - 1] + 1 : Math.max(t[(i - 1) * cols + j], t[i * cols + j - 1]);
    }
  }
  return t;
}

/**
 * Indices into `ref` of one longest common subsequence, read back from the bottom-right
 * corner. On a mismatch it steps left only when the cell to the left is strictly larger
 * than the cell above; on a tie it steps up. Which LCS is chosen changes union-LCS hits,
 * so this rule is part of the metric.
 */
export function lcsIndices(ref: readonly string[], can: readonly string[]): number[] {
  const cols = can.length + 1;
  const t = lcsTable(ref, can);
  const out: number[] = [];
  let i = ref.length;
  let j = can.length;
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      out.push(i - 1);
      i--;
      j--;
    } else if (t[i * cols + j - 1] > t[(i - 1) * cols + j]) {
      j--;
    } else {
      i--;
    }
  }
  return out.reverse();
}

/** Tokens of `ref` (in order) at the union of its LCS positions against every candidate sentence. */
export function unionLcs(ref: readonly string[], candidates: readonly (readonly string[])[]): string[] {
  const at = new Set<number>();
  for (const c of candidates) for (const k of lcsIndices(ref, c)) at.add(k);
  return [...at].sort((a, b) => a - b).map((k) => ref[k]);
}

function counts(sents: readonly (readonly string[])[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of sents) for (const t of s) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

export function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

/** Summary-level LCS between tokenized reference and candidate sentences; a token is counted at most as often as it occurs on both sides. */
export function summaryLevelLcs(refSents: readonly (readonly string[])[], canSents: readonly (readonly string[])[]): RougeScore {
  if (refSents.length === 0 || canSents.length === 0) return { ...ZERO };
  const m = refSents.reduce((s, x) => s + x.length, 0);
  const n = canSents.reduce((s, x) => s + x.length, 0);
  if (m === 0 || n === 0) return { ...ZERO };
  const leftR = counts(refSents);
  const leftC = counts(canSents);
  let hits = 0;
  for (const r of refSents) {
    for (const tok of unionLcs(r, canSents)) {
      const c = leftC.get(tok) ?? 0;
      const rr = leftR.get(tok) ?? 0;
      if (c > 0 && rr > 0) {
        hits++;
        leftC.set(tok, c - 1);
        leftR.set(tok, rr - 1);
      }
    }
  }
  const recall = hits / m;
  const precision = hits / n;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** ROUGE-Lsum of a prediction against one reference. */
export function rougeLsum(prediction: string, reference: string): RougeScore {
  return summaryLevelLcs(rougeSentences(reference), rougeSentences(prediction));
}

/** ROUGE-Lsum against several references: the score of the reference with the highest F (the first one on ties). */
export function rougeLsumBest(prediction: string, references: string | readonly string[]): RougeScore {
  const refs = typeof references === 'string' ? [references] : references;
  let best: RougeScore | undefined;
  for (const r of refs) {
    const s = rougeLsum(prediction, r);
    if (!best || s.fmeasure > best.fmeasure) best = s;
  }
  return best ?? { ...ZERO };
}
